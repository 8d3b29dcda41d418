"""What `pip install .` and `pip install '.[cli]'` give: the product package alone, with no
command; or, with the developer tools' distribution beside it, a working `vod-parts-cleanup`.

Built and installed with uv into fresh environments (`--no-sources`: as pip does, from the
path the `cli` extra names, not from uv's workspace).
"""

import email
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from vod_parts_cleanup_dev.package import ROOT, lambda_python

COMMAND = "vod-parts-cleanup"


def uv() -> str:
    bootstrapped = ROOT / ".tools" / "bin" / "uv"
    found = str(bootstrapped) if bootstrapped.is_file() else shutil.which("uv")
    if found is None:
        pytest.fail("uv is needed (make setup bootstraps it)")
    return found


def run(*command: str | Path, cwd: Path = ROOT) -> str:
    completed = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={name: value for name, value in os.environ.items() if name != "VIRTUAL_ENV"}
        | {"UV_PYTHON_DOWNLOADS": "never"},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, zipfile.ZipFile]:
    out = tmp_path_factory.mktemp("wheels")
    run(uv(), "build", "--wheel", "--no-sources", "--out-dir", out, ROOT)
    run(uv(), "build", "--wheel", "--no-sources", "--out-dir", out, ROOT / "tools")
    return {path.name.split("-")[0]: zipfile.ZipFile(path) for path in out.glob("*.whl")}


def metadata(wheel: zipfile.ZipFile) -> email.message.Message:
    [name] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return email.message_from_bytes(wheel.read(name))


def test_the_product_wheel_holds_the_product_package_and_no_command(
    wheels: dict[str, zipfile.ZipFile],
) -> None:
    product = wheels["vod_parts_cleanup"]
    source = ROOT / "src" / "vod_parts_cleanup"
    packaged = {n for n in product.namelist() if not n.split("/")[0].endswith(".dist-info")}
    assert packaged == {path.relative_to(source.parent).as_posix() for path in source.rglob("*.py")}
    assert not any(n.endswith("entry_points.txt") for n in product.namelist())
    requirements = metadata(product).get_all("Requires-Dist") or []
    [cli] = [r for r in requirements if "extra == 'cli'" in r.replace('"', "'")]
    assert cli.startswith("vod-parts-cleanup-dev @ file://")


def test_the_tools_wheel_holds_the_tools_and_the_command(
    wheels: dict[str, zipfile.ZipFile],
) -> None:
    tools = wheels["vod_parts_cleanup_dev"]
    source = ROOT / "src" / "vod_parts_cleanup_dev"
    packaged = {n for n in tools.namelist() if n.endswith(".py")}
    assert packaged == {path.relative_to(source.parent).as_posix() for path in source.rglob("*.py")}
    [entry_points] = [n for n in tools.namelist() if n.endswith("entry_points.txt")]
    assert f"{COMMAND} = vod_parts_cleanup_dev.cli:main" in tools.read(entry_points).decode()
    requirements = " ".join(metadata(tools).get_all("Requires-Dist") or [])
    for needed in ("vod-parts-cleanup", "rich", "moto", "pyyaml", "boto3"):
        assert needed in requirements


def test_install_without_the_extra_gives_no_command_and_with_it_a_working_one(
    tmp_path: Path,
) -> None:
    python = lambda_python()
    bare, with_cli = tmp_path / "bare", tmp_path / "cli"
    for venv, target in ((bare, str(ROOT)), (with_cli, f"{ROOT}[cli]")):
        run(uv(), "venv", "--quiet", "--python", python, venv)
        run(uv(), "pip", "install", "--quiet", "--no-sources", "--python", venv, target)

    assert not (bare / "bin" / COMMAND).exists()
    bare_modules = run(
        bare / "bin" / "python",
        "-c",
        "import pkgutil; print(*(m.name for m in pkgutil.iter_modules()))",
    )
    assert "vod_parts_cleanup" in bare_modules.split()
    assert "vod_parts_cleanup_dev" not in bare_modules.split()
    assert "usage: vod-parts-cleanup" in run(with_cli / "bin" / COMMAND, "--help", cwd=tmp_path)
