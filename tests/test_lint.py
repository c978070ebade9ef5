"""The package, the tests and the notebooks' code stay lint-clean (ruff, one rule set: pyproject.toml), the package and
the tests formatted and typed (ruff format, mypy), as part of the test command, so a change that breaks them fails where
everything else does. Notebooks keep their authors' layout: ruff format does not rewrite them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ["course_utils", "tests", "conftest.py"]
NOTEBOOKS = "notebooks"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(
    "command",
    [("ruff", "check", *TARGETS, NOTEBOOKS), ("ruff", "format", "--check", *TARGETS), ("mypy", *TARGETS)],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_lint(command: tuple[str, ...]) -> None:
    out = _run(*command)
    assert out.returncode == 0, f"`python -m {' '.join(command)}` found problems:\n" + (out.stdout + out.stderr)[-4000:]
