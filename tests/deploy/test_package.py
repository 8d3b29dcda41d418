"""The Lambda package that `sam build` makes (make build-CleanupFunction), without Docker.

The arm64 package is checked for what it holds. Since this machine may not be arm64, the
same recipe is also built for the host's architecture, and that package runs the real
handler in a Python 3.13 that sees nothing but the package, the standard library and the
boto3/botocore that the Lambda runtime provides.
"""

import json
import os
import re
import subprocess
import tomllib
import zipfile
from pathlib import Path

import pytest

from vod_parts_cleanup_dev.package import (
    BARE_LAMBDA_CONTEXT,
    LAMBDA_ARM64,
    ROOT,
    PackageError,
    build_package,
    host_platform,
    lambda_python,
    runtime_provided,
)

PACKAGE = "vod_parts_cleanup"
ELF_MACHINE_AARCH64 = 183
# Lambda's limits for a function's code: 250 MB unzipped; 50 MB for a direct zip upload.
UNZIPPED_LIMIT = 250 * 1024 * 1024
ZIPPED_LIMIT = 50 * 1024 * 1024
# The developer tools left out of the deployed package.
DEV_PACKAGE = "vod_parts_cleanup_dev"


def build(destination: Path, platform_tag: str) -> Path:
    """Run the build target as `sam build` does: ARTIFACTS_DIR set to an empty directory."""
    try:
        return build_package(destination, platform_tag)
    except PackageError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="module")
def arm64_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("arm64") / "CleanupFunction", LAMBDA_ARM64)


@pytest.fixture(scope="module")
def host_package(tmp_path_factory: pytest.TempPathFactory, arm64_package: Path) -> Path:
    try:
        platform_tag = host_platform()
    except PackageError as error:
        pytest.fail(str(error))
    if platform_tag == LAMBDA_ARM64:
        return arm64_package
    return build(tmp_path_factory.mktemp("host") / "CleanupFunction", platform_tag)


def distributions(package: Path) -> dict[str, str]:
    """Normalised name -> version of every distribution installed in the package."""
    found = {}
    for metadata in package.glob("*.dist-info/METADATA"):
        fields = dict(
            line.split(": ", 1)
            for line in metadata.read_text(encoding="utf-8").splitlines()
            if line.startswith(("Name: ", "Version: "))
        )
        found[normalise(fields["Name"])] = fields["Version"]
    return found


def normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def requirement_name(requirement: str) -> str:
    name = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert name is not None, requirement
    return normalise(name.group(0))


def test_the_arm64_package_holds_only_aarch64_or_pure_python_wheels(arm64_package: Path) -> None:
    tags = [
        line.removeprefix("Tag: ")
        for wheel in arm64_package.glob("*.dist-info/WHEEL")
        for line in wheel.read_text(encoding="utf-8").splitlines()
        if line.startswith("Tag: ")
    ]
    assert tags
    for tag in tags:
        python, abi, platform_tag = tag.split("-")
        if platform_tag == "any":
            continue
        assert platform_tag.startswith("manylinux"), tag
        assert platform_tag.endswith("_aarch64"), tag
        assert python == "cp313" or abi == "abi3", tag
    libraries = list(arm64_package.rglob("*.so")) + list(arm64_package.rglob("*.so.*"))
    assert libraries, "pydantic-core, cryptography and aiohttp ship compiled code"
    for library in libraries:
        header = library.read_bytes()[:20]
        assert header[:4] == b"\x7fELF", library
        assert int.from_bytes(header[18:20], "little") == ELF_MACHINE_AARCH64, library


def test_the_package_holds_the_locked_runtime_dependencies_only(arm64_package: Path) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    locked = {normalise(p["name"]): p["version"] for p in lock["package"]}
    installed = distributions(arm64_package)
    for requirement in project["project"]["dependencies"]:
        assert requirement_name(requirement) in installed, requirement
    for name, version in installed.items():
        assert locked.get(name) == version, f"{name} {version} is not what uv.lock pins"
    dev_only = {requirement_name(r) for r in project["dependency-groups"]["dev"]}
    assert not dev_only & set(installed), "development tools are not deployed"
    assert not {"boto3", "botocore", "s3transfer"} & set(installed), "the runtime provides boto3"


def test_the_package_leaves_the_developer_tools_out(arm64_package: Path) -> None:
    """The product package, whole, by construction: the tools are a distribution apart."""
    source = ROOT / "src" / PACKAGE
    expected = {path.relative_to(source).as_posix() for path in source.rglob("*.py")}
    deployed = {
        path.relative_to(arm64_package / PACKAGE).as_posix()
        for path in (arm64_package / PACKAGE).rglob("*.py")
    }
    assert deployed == expected
    assert not (arm64_package / DEV_PACKAGE).exists()
    assert not (arm64_package / "bin").exists(), "console scripts are of no use on Lambda"


def test_the_package_ships_bytecode_for_python_3_13(arm64_package: Path) -> None:
    # /var/task is read-only: without shipped bytecode every cold start compiles.
    for function in ("receiver", "consumer"):
        compiled = arm64_package / PACKAGE / function / "__pycache__" / "handler.cpython-313.pyc"
        assert compiled.is_file()


def test_the_package_fits_lambdas_size_limits(arm64_package: Path, tmp_path: Path) -> None:
    files = [path for path in arm64_package.rglob("*") if path.is_file()]
    unzipped = sum(path.stat().st_size for path in files)
    archive = tmp_path / "package.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in files:
            zipped.write(path, path.relative_to(arm64_package).as_posix())
    assert unzipped < UNZIPPED_LIMIT
    assert archive.stat().st_size < ZIPPED_LIMIT


RUN_THE_HANDLER = (
    BARE_LAMBDA_CONTEXT
    + """
import json, sys
package, runtime, event_file = sys.argv[1:4]
sys.path[:0] = [package, runtime]

from vod_parts_cleanup.consumer.handler import lambda_handler
with open(event_file, encoding="utf-8") as event:
    result = lambda_handler(json.load(event), Context())

import sysconfig
allowed = (package, runtime, sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib"))
loaded_from = {
    name: file for name, module in list(sys.modules.items())
    if (file := getattr(module, "__file__", None))
}
outside = sorted(name for name, file in loaded_from.items() if not file.startswith(allowed))
print("RESULT " + json.dumps({
    "result": result,
    "outside": outside,
    "handler": loaded_from["vod_parts_cleanup.consumer.handler"],
    "botocore": loaded_from.get("botocore"),
}))
"""
)


def test_the_handler_runs_from_the_package_alone(host_package: Path, tmp_path: Path) -> None:
    try:
        runtime = runtime_provided(tmp_path / "runtime")
        python = lambda_python()
    except PackageError as error:
        pytest.fail(str(error))
    environment = {
        "PATH": os.defpath,
        "LANG": "C.UTF-8",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "vod-parts-cleanup",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "vod-parts-cleanup",
        "POWERTOOLS_METRICS_NAMESPACE": "VodPartsCleanup",
    }
    # -I: no environment or user site; -S: not even the interpreter's own site-packages.
    completed = subprocess.run(
        [
            python,
            "-I",
            "-S",
            "-B",
            "-c",
            RUN_THE_HANDLER,
            str(host_package),
            str(runtime),
            str(ROOT / "events" / "direct-ignored.json"),
        ],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr[-5000:]
    (line,) = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    report = json.loads(line.removeprefix("RESULT "))
    assert report["result"]["status"] == "ignored"
    assert report["outside"] == [], "imported from neither the package nor the runtime"
    assert report["handler"].startswith(str(host_package))
    assert report["botocore"] is None or report["botocore"].startswith(str(runtime))
