"""The packages import one way, as DESIGN.md draws them: `core` is shared by every process and
imports none of the others; the API (`app`) sends tasks by name and never imports the worker;
`render` and `workers` meet only through Redis, and neither pulls in Flask."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "core": {"app", "workers", "render", "flask"},
    "app": {"workers", "render"},
    "workers": {"app", "render", "flask"},
    "render": {"app", "workers", "flask"},
}


def imported_packages(path: Path) -> set[str]:
    """The top-level names a module imports (relative imports stay inside its package)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_only_what_it_may(package: str) -> None:
    wrong = {str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
             for path in sorted((ROOT / package).rglob("*.py"))}
    assert {path: names for path, names in wrong.items() if names} == {}
