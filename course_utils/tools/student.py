"""Homework copies: nbgrader's metadata on the course's exercises, and student copies without solutions.

Every notebook ends with exercises written the same way:

* a **solution cell**: a code cell whose first line is ``# Solution N: ...`` and whose answer sits
  between a ``### BEGIN SOLUTION`` line and a ``### END SOLUTION`` line (code before the
  delimiters is given to the student);
* its **check cell** right after it, first line ``# Check N: ...``, which asserts the answer;
* **written answers**: markdown cells between the first solution and the ``## Going further``
  cell, which discuss what the solutions show.

:func:`mark` gives these cells the metadata of `nbgrader <https://nbgrader.readthedocs.io>`_
(schema 3): solution cells, locked autograded test cells worth one point, and manually graded
written answers. So an instructor can put the notebooks into an nbgrader course and use
``nbgrader generate_assignment`` and ``nbgrader autograde`` as they are. Without nbgrader's
database, :func:`student_copy` runs nbgrader's own preprocessors (``ClearSolutions``,
``LockCells``, ``ClearOutput``) to write a copy with each solution replaced by a stub that
raises "your answer goes here"; ``./course.sh student`` does that for every notebook::

    python -m course_utils.tools.student --mark notebooks/*.ipynb        # write the metadata
    python -m course_utils.tools.student --out student notebooks/*.ipynb  # write student copies
    python -m course_utils.tools.student --verify notebooks/19_*.ipynb    # run a student copy: every check must fail
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .notebook_files import cell_source, write_notebook

__all__ = [
    "BEGIN",
    "CODE_STUB",
    "END",
    "TEXT_STUB",
    "execute",
    "exercise_roles",
    "main",
    "mark",
    "problems",
    "restore_solutions",
    "solution_lines",
    "student_copy",
    "verify",
]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
#: What replaces a solution region in a student copy (nbgrader's ``ClearSolutions.code_stub``).
CODE_STUB = (
    "# YOUR CODE HERE\n"
    'raise NotImplementedError("your answer goes here: replace this line with your code, '
    'run the cell, then run the check cell below it")'
)
#: What replaces a written answer in a student copy (nbgrader's ``ClearSolutions.text_stub``).
TEXT_STUB = "**Your answer goes here:** what do the exercises above show? Write it in this cell."

_NUMBER = re.compile(r"#\s*(Solution|Check)\s+([0-9A-Za-z]+)")
#: The heading that ends the exercises, at any level ("## Going further", "### Going further ...").
_GOING_FURTHER = re.compile(r"^#{1,6}\s*Going further\b", re.M)
SCHEMA_VERSION = 3


def _first_line(cell: dict[str, Any]) -> str:
    return cell_source(cell).lstrip().split("\n", 1)[0]


def exercise_roles(nb: dict[str, Any]) -> list[tuple[str, str] | None]:
    """Per cell of ``nb``: ``(role, grade_id)`` for exercise cells, else ``None``.

    Roles are ``"solution"``, ``"check"`` and ``"answer"`` (a written answer in markdown).
    """
    cells = nb.get("cells", [])
    roles: list[tuple[str, str] | None] = [None] * len(cells)
    in_exercises = False
    answers = 0
    for i, cell in enumerate(cells):
        src = cell_source(cell)
        if cell.get("cell_type") == "code":
            match = _NUMBER.match(_first_line(cell))
            if BEGIN in src:
                in_exercises = True
                title = _NUMBER.search(src.split(BEGIN, 1)[0])
                number = title.group(2) if title and title.group(1) == "Solution" else str(i)
                roles[i] = ("solution", f"solution-{number}")
            elif match and match.group(1) == "Check":
                roles[i] = ("check", f"check-{match.group(2)}")
        elif cell.get("cell_type") == "markdown" and in_exercises:
            if _GOING_FURTHER.match(src.lstrip()):
                in_exercises = False
            else:
                answers += 1
                roles[i] = ("answer", f"answer-{answers}")
    return roles


def _metadata(role: str, grade_id: str) -> dict[str, Any]:
    grade = role in ("check", "answer")
    meta: dict[str, Any] = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": role == "check",
        "schema_version": SCHEMA_VERSION,
        "solution": role in ("solution", "answer"),
        "task": False,
    }
    if grade:
        meta["points"] = 1
    return meta


def mark(nb: dict[str, Any]) -> bool:
    """Give the exercise cells of ``nb`` nbgrader metadata (and no other cell any); True if it changed."""
    before = json.dumps(nb, sort_keys=True)
    for cell, role in zip(nb.get("cells", []), exercise_roles(nb), strict=True):
        meta = cell.setdefault("metadata", {})
        if role is None:
            meta.pop("nbgrader", None)
        else:
            meta["nbgrader"] = _metadata(*role)
    return json.dumps(nb, sort_keys=True) != before


def problems(nb: dict[str, Any]) -> list[str]:
    """What keeps ``nb`` from making a good student copy; empty when nothing."""
    out: list[str] = []
    cells = nb.get("cells", [])
    roles = exercise_roles(nb)
    ids = [r[1] for r in roles if r is not None]
    if not any(r is not None and r[0] == "solution" for r in roles):
        out.append(f"no solution cell (a code cell with {BEGIN!r} ... {END!r})")
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        out.append(f"two exercise cells are numbered {dup!r}")
    for i, (cell, role) in enumerate(zip(cells, roles, strict=True)):
        src = cell_source(cell)
        lines = [line.strip() for line in src.split("\n")]
        if role is not None and role[0] == "solution":
            if lines.count(BEGIN) != 1 or lines.count(END) != 1 or lines.index(BEGIN) > lines.index(END):
                out.append(f"cell {i}: needs exactly one {BEGIN!r} line and, after it, one {END!r} line")
            nxt = roles[i + 1] if i + 1 < len(roles) else None
            if nxt is None or nxt[0] != "check":
                out.append(f"cell {i} ({role[1]}): the next cell must be its '# Check' cell")
            title = _NUMBER.search(src.split(BEGIN, 1)[0])
            if not title or title.group(1) != "Solution":
                out.append(f"cell {i}: a solution cell has a '# Solution N: <title>' line before {BEGIN!r}")
        elif role is not None and role[0] == "check":
            prev = roles[i - 1] if i > 0 else None
            if prev is None or prev[0] not in ("solution", "check"):
                out.append(f"cell {i} ({role[1]}): a check cell follows its solution cell")
            elif prev[0] == "solution" and prev[1].split("-", 1)[1] != role[1].split("-", 1)[1]:
                out.append(f"cell {i}: {role[1]} follows {prev[1]}; number them alike")
        elif role is not None and role[0] == "answer" and _GOING_FURTHER.search(src):
            # A student copy replaces a written answer whole, so a heading inside one would vanish with it.
            out.append(f"cell {i}: the 'Going further' heading is inside a written answer; start a new cell with it")
        elif cell.get("cell_type") == "code" and (BEGIN in src or END in src):
            out.append(f"cell {i}: solution delimiters outside a solution cell")
        want = None if role is None else _metadata(*role)
        if cell.get("metadata", {}).get("nbgrader") != want:
            out.append(f"cell {i}: nbgrader metadata out of date (run python -m course_utils.tools.student --mark)")
    first = next((i for i, r in enumerate(roles) if r is not None), len(cells))
    last = next(
        (i for i in range(first, len(cells)) if _GOING_FURTHER.match(cell_source(cells[i]).lstrip())),
        len(cells),
    )
    for i in range(
        first, last
    ):  # after "Going further" a cell may follow (e.g. the run time), if it runs without answers
        if roles[i] is None and cells[i].get("cell_type") == "code":
            out.append(f"cell {i}: a code cell among the exercises that is neither a solution nor a check")
    return out


def solution_lines(nb: dict[str, Any]) -> list[str]:
    """The non-blank lines inside the solution regions (and written answers) of ``nb``."""
    found: list[str] = []
    for cell, role in zip(nb.get("cells", []), exercise_roles(nb), strict=True):
        if role is None or role[0] == "check":
            continue
        lines = cell_source(cell).split("\n")
        if role[0] == "solution":
            start = next(k for k, line in enumerate(lines) if line.strip() == BEGIN)
            end = next(k for k, line in enumerate(lines) if line.strip() == END)
            lines = lines[start + 1 : end]
        found += [line.strip() for line in lines if line.strip()]
    return found


def student_copy(nb: dict[str, Any]) -> dict[str, Any]:
    """A student copy of ``nb``: solutions and written answers replaced by stubs, checks locked, no outputs.

    Runs nbgrader's own ``ClearSolutions``, ``LockCells`` and ``ClearOutput`` preprocessors.
    """
    import nbformat
    from nbgrader.preprocessors import ClearOutput, ClearSolutions, LockCells

    bad = problems(nb)
    if bad:
        raise ValueError("this notebook cannot make a student copy: " + "; ".join(bad))
    node = nbformat.reads(json.dumps(nb), as_version=4)  # joins list sources into strings
    resources: dict[str, Any] = {}
    clear = ClearSolutions(code_stub={"python": CODE_STUB}, text_stub=TEXT_STUB)
    for pre in (clear, LockCells(), ClearOutput()):
        node, resources = pre.preprocess(node, resources)
    out: dict[str, Any] = json.loads(nbformat.writes(node))
    return out


def restore_solutions(student: dict[str, Any], instructor: dict[str, Any]) -> dict[str, Any]:
    """Put the instructor's solution cells back into a student copy (matched by nbgrader ``grade_id``)."""
    by_id = {
        cell["metadata"]["nbgrader"]["grade_id"]: cell_source(cell)
        for cell in instructor["cells"]
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution")
    }
    restored = copy.deepcopy(student)
    for cell in restored["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in by_id:
            cell["source"] = by_id[grade_id]
    return restored


def execute(nb: dict[str, Any], folder: Path, timeout: int = 600) -> list[list[str]]:
    """Run ``nb`` top to bottom in a fresh kernel (errors do not stop it); the errors of each cell, in order."""
    import nbformat
    from nbclient import NotebookClient

    node = nbformat.reads(json.dumps(nb), as_version=4)
    client = NotebookClient(
        node, timeout=timeout, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    return [
        [f"{o['ename']}: {o['evalue']}" for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        for cell in node.cells
    ]


def verify(path: Path) -> list[str]:
    """Run the student copy of notebook ``path``; list what is wrong (empty when all is as it should be).

    In a student copy every cell but the exercises must run, each solution cell must stop with
    "your answer goes here", and each check must fail (a check that passes with no answer cannot
    tell a right answer from none).
    """
    nb = json.loads(path.read_text(encoding="utf-8"))
    errors = execute(student_copy(nb), path.parent)
    found = []
    for i, (errs, role) in enumerate(zip(errors, exercise_roles(nb), strict=True)):
        if role is None and errs:
            found.append(f"cell {i} fails in the student copy: {errs[0][:200]}")
        elif role is not None and role[0] == "solution" and not any("your answer goes here" in e for e in errs):
            found.append(f"cell {i} ({role[1]}) did not stop at its stub: {errs[:1]}")
        elif role is not None and role[0] == "check" and not errs:
            found.append(f"cell {i} ({role[1]}) passes with no answer given: it cannot fail")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m course_utils.tools.student [--mark | --check | --out DIR] NOTEBOOK...``."""
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.tools.student",
        description="Mark exercises with nbgrader metadata, or write student copies without the solutions.",
    )
    parser.add_argument("notebooks", nargs="+", type=Path)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--mark", action="store_true", help="write nbgrader metadata into the notebooks")
    mode.add_argument("--check", action="store_true", help="only report notebooks that need fixing")
    mode.add_argument(
        "--verify", action="store_true", help="run each student copy: every check must fail with no answer given"
    )
    mode.add_argument("--out", type=Path, default=Path("student"), help="folder for the student copies")
    args = parser.parse_args(argv)
    bad = 0
    for path in args.notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        if args.mark:
            if mark(nb):
                write_notebook(nb, path)
                print(f"{path}: marked")
            continue
        issues = problems(nb)
        if args.verify and not issues:
            issues = verify(path)
            print(f"{path}: {'student copy as it should be' if not issues else 'PROBLEMS'}", flush=True)
        if issues:
            bad += 1
            print(f"{path}: {'; '.join(issues)}", file=sys.stderr)
            continue
        if not args.check and not args.verify:
            args.out.mkdir(parents=True, exist_ok=True)
            write_notebook(student_copy(nb), args.out / path.name)
    if not (args.mark or args.check or args.verify) and bad < len(args.notebooks):
        print(f"{len(args.notebooks) - bad} student copies in {args.out}/ (solutions replaced by stubs, checks kept)")
    if bad:
        print(f"{bad} notebook(s) could not be copied: fix what is listed above", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
