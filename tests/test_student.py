"""Student copies for homework: nbgrader metadata, no solution left, stubs that fail clearly, checks that pass again.

* every notebook's exercises carry nbgrader metadata that nbgrader's own validator accepts;
* ``./course.sh student`` writes copies with no line of any solution in them;
* a student copy runs top to bottom except its exercises: each solution cell stops with
  "your answer goes here" and each check fails, while every other cell runs (executed here for
  the quickest notebook; the rest share the same structure, checked statically, and
  ``python -m course_utils.tools.student --verify notebooks/*.ipynb`` executes them all);
* putting the instructor's solutions back makes every check pass;
* ``nbgrader generate_assignment`` itself turns a course notebook into the same student copy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

from course_utils.tools import student

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
QUICK = "22_licences.ipynb"  # the quickest notebook, run for real (``--verify`` runs any other: see the README)


def _load(path: Path) -> dict[str, Any]:
    nb: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return nb


def _code_lines(nb: dict[str, Any]) -> set[str]:
    return {line.strip() for cell in nb["cells"] for line in "".join(cell["source"]).split("\n")}


def _given_lines(nb: dict[str, Any]) -> set[str]:
    """Lines of ``nb`` outside solution regions and written answers (what a student copy may show)."""
    given: set[str] = set()
    for cell, role in zip(nb["cells"], student.exercise_roles(nb), strict=True):
        lines = "".join(cell["source"]).split("\n")
        if role is not None and role[0] == "answer":
            continue
        if role is not None and role[0] == "solution":
            stripped = [x.strip() for x in lines]
            lines = lines[: stripped.index(student.BEGIN)] + lines[stripped.index(student.END) + 1 :]
        given |= {line.strip() for line in lines}
    return given


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_exercises_are_marked_for_nbgrader(path: Path) -> None:
    from nbgrader.nbgraderformat import MetadataValidator

    nb = _load(path)
    assert student.problems(nb) == [], f"{path.name}: {student.problems(nb)}"
    MetadataValidator().validate_nb(nbformat.reads(path.read_text(encoding="utf-8"), as_version=4))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_student_copy_has_no_solution_and_keeps_every_check(path: Path) -> None:
    nb = _load(path)
    copy = student.student_copy(nb)
    shown = _code_lines(copy)
    leaked = sorted(line for line in set(student.solution_lines(nb)) - _given_lines(nb) if line in shown)
    assert not leaked, f"{path.name}: solution lines left in the student copy: {leaked[:5]}"
    roles = student.exercise_roles(nb)
    for cell, new, role in zip(nb["cells"], copy["cells"], roles, strict=True):
        if role is None or role[0] == "check":
            assert "".join(new["source"]) == "".join(cell["source"])  # everything else untouched
        elif role[0] == "solution":
            assert "your answer goes here" in "".join(new["source"])
        if role is not None and role[0] == "check":
            assert new["metadata"].get("editable") is False  # checks are locked (nbgrader's LockCells)
    assert all(not c.get("outputs") for c in copy["cells"] if c["cell_type"] == "code")
    restored = student.restore_solutions(copy, nb)
    assert ["".join(c["source"]) for c in restored["cells"]] == ["".join(c["source"]) for c in nb["cells"]]


def test_marking_a_notebook_without_delimiters_or_checks_is_refused() -> None:
    nb = {
        "cells": [
            {"cell_type": "code", "metadata": {}, "source": "# Solution 1: no delimiters\nx = 1", "outputs": []},
            {
                "cell_type": "code",
                "metadata": {},
                "source": "# Solution 2: x\n### BEGIN SOLUTION\ny = 2",
                "outputs": [],
            },
        ]
    }
    student.mark(nb)
    found = " | ".join(student.problems(nb))
    assert "needs exactly one '### BEGIN SOLUTION'" in found
    assert "the next cell must be its '# Check' cell" in found
    with pytest.raises(ValueError, match="cannot make a student copy"):
        student.student_copy(nb)


def test_a_going_further_heading_inside_a_written_answer_is_refused() -> None:
    """A student copy replaces a written answer whole: a "Going further" heading inside one would be lost."""
    solution = "# Solution 1: x\nx = 0\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION"
    cells = [
        {"cell_type": "code", "metadata": {}, "source": solution, "outputs": []},
        {"cell_type": "code", "metadata": {}, "source": "# Check 1: x\nassert x == 1", "outputs": []},
        {"cell_type": "markdown", "metadata": {}, "source": "x is 1.\n\n### Going further\n\nRead the paper."},
    ]
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    student.mark(nb)
    assert any("'Going further' heading is inside a written answer" in p for p in student.problems(nb))
    cells[2]["source"] = "x is 1."
    cells.append({"cell_type": "markdown", "metadata": {}, "source": "### Going further\n\nRead the paper."})
    for k, cell in enumerate(cells):
        cell["id"] = f"cell-{k}"
    student.mark(nb)
    assert student.problems(nb) == []
    assert "Read the paper." in "".join(student.student_copy(nb)["cells"][-1]["source"])


@pytest.fixture
def offline_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")


def test_student_copy_runs_except_the_exercises(offline_kernels: None) -> None:
    assert student.verify(ROOT / "notebooks" / QUICK) == []  # other cells run; each stub stops; each check fails


def test_putting_the_solutions_back_makes_every_check_pass(offline_kernels: None) -> None:
    path = ROOT / "notebooks" / QUICK
    nb = _load(path)
    back = student.execute(student.restore_solutions(student.student_copy(nb), nb), path.parent)
    failed = {i: errs for i, errs in enumerate(back) if errs}
    assert not failed, f"{path.name} with the instructor's solutions put back: {failed}"


def test_verify_catches_a_check_that_cannot_fail(tmp_path: Path, offline_kernels: None) -> None:
    cells: list[dict[str, Any]] = [
        {"cell_type": "code", "id": f"toy-{i}", "metadata": {}, "outputs": [], "execution_count": None, "source": src}
        for i, src in enumerate(
            (
                "x = 1",
                "# Solution 1: y is 2\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION",
                "# Check 1: an identity\nassert x == 1",
            )
        )
    ]
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "language": "python"}}, "nbformat": 4}
    nb["nbformat_minor"] = 5
    student.mark(nb)
    path = tmp_path / "01_toy.ipynb"
    path.write_text(json.dumps(nb))
    assert student.verify(path) == ["cell 2 (check-1) passes with no answer given: it cannot fail"]


def test_course_sh_student_writes_every_copy(tmp_path: Path) -> None:
    out = tmp_path / "student"
    done = subprocess.run(
        [str(ROOT / "course.sh"), "student", "--out", str(out)],
        env={**os.environ, "COURSE_NO_SETUP": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
    assert f"{len(NOTEBOOKS)} student copies" in done.stdout


def test_nbgrader_generate_assignment_agrees(tmp_path: Path) -> None:
    name = QUICK
    source = tmp_path / "source" / "homework"
    source.mkdir(parents=True)
    shutil.copy(ROOT / "notebooks" / name, source / name)
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")  # the course's stubs
    bindir = str(Path(sys.executable).parent)
    done = subprocess.run(
        [f"{bindir}/nbgrader", "generate_assignment", "homework", "--no-db", "--force"],
        cwd=tmp_path,
        env={**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    theirs = _load(tmp_path / "release" / "homework" / name)
    ours = student.student_copy(_load(ROOT / "notebooks" / name))
    assert ["".join(c["source"]) for c in theirs["cells"]] == ["".join(c["source"]) for c in ours["cells"]]
