"""The domain package stays plain Python: standard library and itself, nothing else."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[1] / "voting" / "domain"
ALLOWED_PACKAGE = "voting.domain"
DYNAMIC_IMPORTERS = {"__import__", "import_module"}


def _allowed(module: str) -> bool:
    if module == ALLOWED_PACKAGE or module.startswith(ALLOWED_PACKAGE + "."):
        return True
    return module.partition(".")[0] in sys.stdlib_module_names


def _dynamic_target(node: ast.Call) -> str | None:
    """The module named by ``__import__("x")`` or ``importlib.import_module("x")``."""
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    if name not in DYNAMIC_IMPORTERS or not node.args:
        return None
    first = node.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    return "<computed>"


def _resolve(node: ast.ImportFrom, package: str) -> str:
    """The absolute module an ``ImportFrom`` names, relative ones resolved in ``package``."""
    if node.level == 0:
        return node.module or ""
    parts = package.split(".")
    if node.level - 1 >= len(parts):
        return "." * node.level + (node.module or "")  # beyond the top: never allowed
    base = parts[: len(parts) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def forbidden_imports(
    source: str, filename: str = "<string>", package: str = ALLOWED_PACKAGE
) -> list[str]:
    """Every import in ``source`` outside the standard library and voting.domain.

    ``package`` is the package the source lives in, for resolving relative imports.
    """
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [_resolve(node, package)]
        elif isinstance(node, ast.Call):
            target = _dynamic_target(node)
            modules = [] if target is None else [target]
        found += [f"{filename}:{node.lineno}: {m}" for m in modules if not _allowed(m)]
    return found


def _package_of(path: Path) -> str:
    relative = path.relative_to(DOMAIN.parent.parent).with_suffix("")
    parts = list(relative.parts)
    return ".".join(parts[:-1])


def domain_files() -> list[Path]:
    return sorted(DOMAIN.rglob("*.py"))


def test_package_of_domain_module_dotted_package():
    assert _package_of(DOMAIN / "tally.py") == "voting.domain"
    assert _package_of(DOMAIN / "__init__.py") == "voting.domain"
    assert _package_of(DOMAIN / "sub" / "rules.py") == "voting.domain.sub"


def test_domain_files_found():
    names = {path.name for path in domain_files()}
    assert {"__init__.py", "ballots.py", "tally.py", "audit.py"} <= names


def test_domain_imports_only_stdlib_and_itself():
    problems = [
        problem
        for path in domain_files()
        for problem in forbidden_imports(
            path.read_text(encoding="utf-8"), path.name, _package_of(path)
        )
    ]
    assert problems == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import flask\n", ["<string>:1: flask"]),
        ("from flask import current_app\n", ["<string>:1: flask"]),
        ("import os, sqlalchemy.orm\n", ["<string>:1: sqlalchemy.orm"]),
        ("from voting import models\n", ["<string>:1: voting"]),
        ("from voting.models import Round\n", ["<string>:1: voting.models"]),
        ("import voting.domainx\n", ["<string>:1: voting.domainx"]),
        ("def f():\n    import flask_login\n", ["<string>:2: flask_login"]),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from flask import Flask\n",
            ["<string>:3: flask"],
        ),
        ("import importlib\nimportlib.import_module('flask')\n", ["<string>:2: flask"]),
        ("__import__('sqlalchemy')\n", ["<string>:1: sqlalchemy"]),
        ("from .. import models\n", ["<string>:1: voting"]),
        ("from ..models import Round\n", ["<string>:1: voting.models"]),
        ("from ...x import y\n", ["<string>:1: ...x"]),  # above the top-level package
        ("import importlib\nimportlib.import_module(name)\n", ["<string>:2: <computed>"]),
    ],
)
def test_forbidden_imports_third_party_reported(source, expected):
    assert forbidden_imports(source) == expected


@pytest.mark.parametrize(
    "source",
    [
        "from __future__ import annotations\n",
        "import hashlib, hmac, unicodedata\n",
        "from collections.abc import Mapping\n",
        "from . import errors\n",
        "from .errors import InvalidInput\n",
        "from ..domain import tally\n",
        "import voting.domain\n",
        "from voting.domain.errors import Conflict\n",
        "import importlib\nimportlib.import_module('json')\n",
    ],
)
def test_forbidden_imports_stdlib_and_domain_allowed(source):
    assert forbidden_imports(source) == []
