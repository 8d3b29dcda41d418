"""The layout's rules, checked on the source: product code imports at the top of its modules
only (the one lint policy in pyproject.toml), the unit tests and their helpers import
neither moto nor the stand-ins and open no sockets, and no test class takes a product
class's name."""

import ast
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ROOT / "src" / "vod_parts_cleanup"
TESTS = ROOT / "tests"
# What only an integration test may use: moto, and the stand-ins (a running VOD, the local
# runner's embedded AWS).
INTEGRATION_ONLY = (
    "moto",
    "vod_parts_cleanup_dev.vod_server",
    "vod_parts_cleanup_dev.vod_catalog",
    "vod_parts_cleanup_dev.runner",
    "vod_parts_cleanup_dev.moto_server",
)


def trees(*paths: Path) -> Iterator[tuple[Path, ast.Module]]:
    for path in paths:
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def imported(tree: ast.AST) -> Iterator[tuple[ast.stmt, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node, node.module


def test_product_code_imports_at_the_top_of_its_modules_only() -> None:
    local = []
    for path, tree in trees(*sorted(PRODUCT.rglob("*.py"))):
        at_top = {id(node) for node in tree.body}
        local += [
            f"{path.relative_to(ROOT)}:{node.lineno} {name}"
            for node, name in imported(tree)
            if id(node) not in at_top
        ]
    assert local == []


def test_unit_tests_and_their_helpers_import_no_moto_and_no_stand_in() -> None:
    files = [*sorted((TESTS / "unit").glob("*.py")), TESTS / "support.py", TESTS / "conftest.py"]
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno} {name}"
        for path, tree in trees(*files)
        for node, name in imported(tree)
        if name.startswith(INTEGRATION_ONLY)
    ]
    assert found == []


def test_unit_tests_cannot_open_a_socket() -> None:
    with pytest.raises(AssertionError, match="unit tests open no sockets"):
        socket.create_connection(("127.0.0.1", 9), timeout=0.1)
    with socket.socket() as sock, pytest.raises(AssertionError):
        sock.connect(("127.0.0.1", 9))


def test_no_test_class_takes_a_product_class_name() -> None:
    def classes(paths: list[Path]) -> set[str]:
        return {
            node.name
            for _, tree in trees(*paths)
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef)
        }

    product = classes(sorted(PRODUCT.rglob("*.py")))
    tests = classes(sorted(TESTS.rglob("*.py")))
    assert product & tests == set()
