"""requirements.txt and environment.yml pin the same set; the two commands exist as the README says."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^\s*(?:-\s+)?([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s#]+)")


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        m = PIN.match(line)
        if m:
            found[m.group(1).lower().replace("_", "-")] = m.group(2)
    return found


def test_every_requirement_is_pinned_and_commented() -> None:
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            assert "==" in line, f"not pinned: {line}"
            assert "#" in line, f"say what it is for: {line}"


def test_environment_yml_mirrors_requirements() -> None:
    req, conda = pins(ROOT / "requirements.txt"), pins(ROOT / "environment.yml")
    assert len(req) > 30
    assert conda == req, {k: (req.get(k), conda.get(k)) for k in set(req) | set(conda) if req.get(k) != conda.get(k)}
    assert "python=3.11" in (ROOT / "environment.yml").read_text()


def test_readme_gives_the_two_commands_and_ci_runs_the_test_one() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "./course.sh lab" in readme and "./course.sh test" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^\./course\.sh test$", ci, re.M), "CI must run exactly the README's test command"
