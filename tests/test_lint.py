"""The helper package and the tests stay lint-clean, formatted and typed (ruff, ruff format, mypy), as part of the
test command, so a change that breaks them fails where everything else does. Notebooks are excluded (pyproject.toml):
they are teaching code, checked by executing them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ["course_utils", "tests"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(
    "command",
    [("ruff", "check", *TARGETS), ("ruff", "format", "--check", *TARGETS), ("mypy", *TARGETS)],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_lint(command: tuple[str, ...]) -> None:
    out = _run(*command)
    assert out.returncode == 0, f"`python -m {' '.join(command)}` found problems:\n" + (out.stdout + out.stderr)[-4000:]
