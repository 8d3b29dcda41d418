"""The Lambda package as ``sam build`` makes it, and what a Lambda python3.13 runtime puts
beside it, so that a bare Python 3.13 can run the function the way Lambda does.

Why: the package test and the cold-start benchmark must both run the function exactly as
deployed (the Makefile's recipe, with its shipped bytecode) next to the boto3 the runtime
provides, and nothing from the developer's environment.
"""

import importlib.util
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from vod_parts_cleanup_dev.dynamodb import TEMPLATE

ROOT = TEMPLATE.parent
LAMBDA_ARM64 = "aarch64-manylinux_2_34"
HOST_PLATFORMS = {"x86_64": "x86_64-manylinux_2_34", "aarch64": LAMBDA_ARM64}
# What the python3.13 runtime ships beside the function: boto3 and what it needs.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
# A caller's make (e.g. `make bench`) must not turn the build into its sub-make, and a
# caller's virtual environment must not leak into uv's.
_CALLER_VARIABLES = frozenset({"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "VIRTUAL_ENV"})
_SECONDS_TO_BUILD = 600

# A Lambda context for scripts run in a bare Python (the logger reads these fields).
BARE_LAMBDA_CONTEXT = """
class Context:
    function_name = "vod-parts-cleanup"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:vod-parts-cleanup"
    aws_request_id = "c0ffee00-0000-4000-8000-000000000001"
    log_group_name = "/aws/lambda/vod-parts-cleanup"
    log_stream_name = "2026/11/20/[$LATEST]0123456789abcdef"
    def get_remaining_time_in_millis(self):
        return 60_000
"""


class PackageError(Exception):
    """The package, or a directory beside it, could not be made; the message says why."""


def host_platform() -> str:
    """The Lambda-like platform tag of this machine's architecture, to run a package here."""
    machine = platform.machine()
    if machine not in HOST_PLATFORMS:
        msg = f"no Lambda-like platform to build for on a {machine} machine"
        raise PackageError(msg)
    return HOST_PLATFORMS[machine]


def build_package(destination: Path, platform_tag: str) -> Path:
    """Run the build target as `sam build` does: ARTIFACTS_DIR set to an empty directory."""
    make = shutil.which("make")
    if make is None:
        msg = "GNU make is needed to build the Lambda package (sam build runs it too)"
        raise PackageError(msg)
    destination.mkdir(parents=True)
    completed = subprocess.run(  # noqa: S603 - our own Makefile, no shell
        [
            make,
            "--no-print-directory",
            "build-CleanupFunction",
            f"ARTIFACTS_DIR={destination}",
            f"LAMBDA_PLATFORM={platform_tag}",
        ],
        cwd=ROOT,
        env=_environment_without_caller(),
        capture_output=True,
        text=True,
        check=False,
        timeout=_SECONDS_TO_BUILD,
    )
    if completed.returncode != 0:
        msg = (
            f"make build-CleanupFunction LAMBDA_PLATFORM={platform_tag} failed "
            f"(exit {completed.returncode}); it needs uv (make bootstraps it) and the wheels "
            f"in uv's cache or from PyPI:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
        )
        raise PackageError(msg)
    return destination


def runtime_provided(directory: Path, *, compiled_by: str | None = None) -> Path:
    """boto3 and its dependencies, as the Lambda runtime has them beside the function.

    Linked to this environment's copies; with ``compiled_by`` (a Python) copied and compiled
    instead, as the real runtime ships them, without writing bytecode into this environment.
    """
    directory.mkdir()
    for name in RUNTIME_PROVIDED:
        spec = importlib.util.find_spec(name)
        if spec is None or (spec.origin is None and not spec.submodule_search_locations):
            msg = f"{name} (a dev dependency) is needed to play the runtime"
            raise PackageError(msg)
        if spec.submodule_search_locations:
            source, target = Path(next(iter(spec.submodule_search_locations))), directory / name
        else:
            source, target = Path(str(spec.origin)), directory / f"{name}.py"
        if compiled_by is None:
            target.symlink_to(source)
        elif source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    if compiled_by is not None:
        compile_bytecode(directory, compiled_by)
    return directory


def lambda_python() -> str:
    """This machine's Python 3.13, the runtime's version (scripts/find-python finds it)."""
    found = subprocess.run(  # noqa: S603 - our own script
        [str(ROOT / "scripts" / "find-python")], capture_output=True, text=True, check=False
    )
    if found.returncode != 0:
        msg = f"no Python 3.13, the runtime's version, to run the package: {found.stderr}"
        raise PackageError(msg)
    return found.stdout.strip()


def compile_bytecode(directory: Path, python: str) -> None:
    """Compile as the build target does: Lambda cannot write bytecode, so it ships with the
    code, checked by nothing (the files never change)."""
    options = ["-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]
    subprocess.run(  # noqa: S603 - the Python found by lambda_python
        [python, "-m", "compileall", *options, str(directory)],
        check=True,
        capture_output=True,
    )


def install_locked(destination: Path, requirements: Sequence[str], python: str) -> Path:
    """``requirements`` and everything they need into ``destination``, at uv.lock's versions
    (e.g. a development dependency, to play another function's package)."""
    uv = ROOT / ".tools" / "bin" / "uv"
    uv_command = str(uv) if uv.is_file() else shutil.which("uv")
    if uv_command is None:
        msg = "uv is needed to install from uv.lock (make setup bootstraps it)"
        raise PackageError(msg)
    environment = _environment_without_caller()
    with tempfile.TemporaryDirectory() as scratch:
        pins = Path(scratch) / "pins.txt"
        export = [uv_command, "export", "--frozen", "--all-groups", "--no-emit-workspace"]
        export += ["--no-hashes", "--format", "requirements-txt", "--no-header", "--quiet"]
        install = [uv_command, "pip", "install", "--quiet", "--target", str(destination)]
        install += ["--python", python, "--constraints", str(pins), *requirements]
        for command in ([*export, "--output-file", str(pins)], install):
            completed = subprocess.run(  # noqa: S603 - uv, no shell
                command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False
            )
            if completed.returncode != 0:
                msg = f"{' '.join(command[1:3])} failed: {completed.stderr[-3000:]}"
                raise PackageError(msg)
    return destination


def _environment_without_caller() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name not in _CALLER_VARIABLES}
