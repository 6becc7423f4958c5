"""The ``formatters/`` room rule from DESIGN.md, checked: pure code, no I/O, no other room.

Formatters run inside the outbox transaction and in copilot previews; an import of a network or
database library here would be the first step towards I/O where none may happen.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOM = Path(__file__).parents[2] / "formatters"
ALLOWED_ROOTS = {
    "__future__",
    "collections",
    "dataclasses",
    "datetime",
    "enum",
    "html",
    "re",
    "typing",
    "unicodedata",
    "nh3",
    "markdown_it",
    "formatters",
}
ALLOWED_MODULES = {"store.models", "urllib.parse"}


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", sorted(ROOM.glob("*.py")), ids=lambda path: path.name)
def test_formatters_import_only_pure_code_and_store_models(path: Path) -> None:
    for name in _imports(path):
        assert name in ALLOWED_MODULES or name.split(".")[0] in ALLOWED_ROOTS, f"{path.name} imports {name}"
