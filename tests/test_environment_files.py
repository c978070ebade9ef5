"""The two commands exist as the README says (the lock itself: tests/test_lock.py)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_gives_the_two_commands_and_ci_runs_the_test_one() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "./course.sh lab" in readme and "./course.sh test" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^\./course\.sh test$", ci, re.M), "CI must run exactly the README's test command"
