"""The README's two commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_test_command_is_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    install = re.search(r"^INSTALL_TEST='(.+)'$", ci, re.M).group(1)
    run = re.search(r"^RUN_TESTS='(.+)'$", ci, re.M).group(1)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"{install} && {run}" in readme


def test_readme_run_command_is_what_ci_serves():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    run_line = next(line for line in readme.splitlines() if "flask --app voting demo" in line)
    assert run_line.startswith("python3 -m venv .venv && .venv/bin/pip install -q -e . && ")
    assert "flask --app voting demo --port 5055" in ci
