"""The course's time figures come from two sources only: the notebooks' own class minutes and the suite's measurement.

* Class and self-study minutes are what each notebook's ``**Time**`` line says (its 🎓 sections);
* run times are the seconds ``pytest --record-times`` wrote into ``docs/measurements.json``.

``python -m course_utils.tools.timings`` writes them where a reader looks: a ``**Runs in**`` line in each notebook's
first cell, the course map's *class + self-study* and *runs in* columns of the README, and the lesson plan's minutes
(each notebook's class minutes, the rows' sums and start times). ``--check`` changes nothing and exits 1 when a
figure disagrees; ``tests/test_timings.py`` runs it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .notebook_files import cell_source, write_notebook

__all__ = ["Minutes", "class_minutes", "main", "notebook_runs_line", "update_notebook", "update_readme"]

ROOT = Path(__file__).resolve().parents[2]
MEASUREMENTS = ROOT / "docs" / "measurements.json"
RUNS_IN = "**Runs in**:"


@dataclass(frozen=True)
class Minutes:
    """A notebook's own estimate: minutes in class, and of self-study (``None``: "the homework", no figure)."""

    in_class: int
    self_study: int | None

    def table_cell(self) -> str:
        return f"{self.in_class} + {'homework' if self.self_study is None else self.self_study}"


_CLASS = (
    re.compile(r"(\d+) min(?:utes)? in class"),  # "3 minutes in class"
    re.compile(r"in class:[^)]*?about (\d+) min", re.I | re.S),  # "(in class: sections 1-3, about 7 minutes; ...)"
    re.compile(r"^In class:[^\n]*?\((?:[^()\d]*?, )?(\d+) min\)", re.M),  # "In class: sections 1–3 (10 min)"
)
_SELF = (
    re.compile(r"(\d+) min(?:utes)? (?:of|as) self-study"),
    re.compile(r"(\d+) more for the self-study"),
    re.compile(r"(\d+) minutes of self-study"),
)
_TOTAL = re.compile(r"(\d+) minutes to teach")


def _time_paragraph(markdown: str) -> str:
    """The ``**Time**`` paragraph and the ``In class:`` line of a notebook's first cell."""
    paragraphs = markdown.split("\n\n")
    keep = [p for p in paragraphs if p.lstrip("*").startswith(("Time**", "In class"))]
    if not keep:
        raise ValueError(
            "no **Time** paragraph in the first cell: write '**Time**: N min in class, M min of self-study'"
        )
    return "\n\n".join(keep)


def class_minutes(markdown: str) -> Minutes:
    """Read the class and self-study minutes from a notebook's first cell (its ``**Time**`` line)."""
    text = _time_paragraph(markdown)
    found = next((m for pattern in _CLASS if (m := pattern.search(text))), None)
    if found is None:
        raise ValueError(
            f"cannot read the class minutes from {text[:120]!r}: write '**Time**: N min in class, M min of self-study'"
        )
    in_class = int(found.group(1))
    study = next((m for pattern in _SELF if (m := pattern.search(text))), None)
    if study is not None:
        return Minutes(in_class, int(study.group(1)))
    total = _TOTAL.search(text)
    rest = int(total.group(1)) - in_class if total else 0
    return Minutes(in_class, rest if rest > 0 else None)  # "10 minutes to teach, then the homework": no figure


def _measured(data: dict[str, Any], path: str) -> dict[str, Any] | None:
    entry = data.get("files", {}).get(path)
    return entry if isinstance(entry, dict) and "seconds" in entry else None


def seconds_text(entry: dict[str, Any] | None) -> str:
    """``27 s``, ``2 min 05 s``, or ``not measured``."""
    if entry is None:
        return "not measured"
    s = round(float(entry["seconds"]))
    return f"{s} s" if s < 120 else f"{s // 60} min {s % 60:02d} s"


def notebook_runs_line(entry: dict[str, Any] | None) -> str:
    """The ``**Runs in**`` line of a notebook: the measured seconds and how they were measured."""
    if entry is None:
        return f"{RUNS_IN} not measured yet (`./course.sh test --record-times`, see [the measurements](../docs/MEASUREMENTS.md))."
    return (
        f"{RUNS_IN} {seconds_text(entry)} offline, its cells added up in the whole test suite "
        f"({entry.get('cores', '?')} cores, {entry.get('workers', '?')} workers, {entry.get('date', '?')}; "
        "see [the measurements](../docs/MEASUREMENTS.md))."
    )


def update_notebook(nb: dict[str, Any], entry: dict[str, Any] | None) -> bool:
    """Put the ``**Runs in**`` line after the ``**Time**`` paragraph of the first cell; True if ``nb`` changed."""
    cell = nb["cells"][0]
    text = cell_source(cell)
    want = notebook_runs_line(entry)
    paragraphs = text.split("\n\n")
    paragraphs = [p for p in paragraphs if not p.startswith(RUNS_IN)]
    at = next((i for i, p in enumerate(paragraphs) if p.startswith("**Time**")), None)
    if at is None:
        raise ValueError("no **Time** paragraph in the first cell")
    paragraphs.insert(at + 1, want)
    new = "\n\n".join(paragraphs)
    if new == text:
        return False
    cell["source"] = new.splitlines(keepends=True)
    return True


_PLAN_ITEM = re.compile(r"\b(\d\d) ([^;|]*?)\((\d+)\)")
_ANY_MINUTES = re.compile(r"\((\d+)\)")


def _clock(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def update_readme(text: str, minutes: dict[str, Minutes], runs: dict[str, str]) -> str:
    """The README with the course map's time columns and the lesson plan's minutes from the notebooks."""
    out, start, in_plan = [], 0, False
    for line in text.split("\n"):
        cells = line.split(" | ")
        if line.startswith("## "):
            in_plan = "lesson plan" in line.lower()
        if re.match(r"^\| \d\d \| \[", line) and len(cells) >= 9:  # a course-map row
            number = cells[0].removeprefix("| ")
            if number in minutes:
                cells[4] = minutes[number].table_cell()
            cells[5] = runs.get(number, "not measured")
            line = " | ".join(cells)
        elif in_plan and re.match(r"^\| \d+:\d\d \| ", line) and len(cells) >= 5:  # a lesson-plan row
            live = _PLAN_ITEM.sub(
                lambda m: (
                    f"{m.group(1)} {m.group(2)}({minutes[m.group(1)].in_class if m.group(1) in minutes else m.group(3)})"
                ),
                cells[3],
            )
            length = sum(int(n) for n in _ANY_MINUTES.findall(live))
            cells[0], cells[1], cells[3] = f"| {_clock(start)}", str(length), live
            start += length
            line = " | ".join(cells)
        elif in_plan and re.match(r"^\| +\| \*\*\d+\*\* \|", line):  # the plan's total
            line = re.sub(r"\*\*\d+\*\*", f"**{start}**", line, count=1)
        out.append(line)
    return "\n".join(out)


def _load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m course_utils.tools.timings [--check]``: write (or check) every time figure of the course."""
    parser = argparse.ArgumentParser(prog="python -m course_utils.tools.timings", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report; change no file")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    root: Path = args.root
    data = _load(root / "docs" / "measurements.json")
    minutes: dict[str, Minutes] = {}
    runs: dict[str, str] = {}
    stale: list[str] = []
    unreadable = 0
    for path in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        number, rel = path.name[:2], path.relative_to(root).as_posix()
        nb = _load(path)
        try:
            minutes[number] = class_minutes(cell_source(nb["cells"][0]))
        except ValueError as exc:
            print(f"{rel}: {exc}")
            unreadable += 1
        entry = _measured(data, rel)
        runs[number] = seconds_text(entry)
        try:
            changed = update_notebook(nb, entry)
        except ValueError as exc:
            print(f"{rel}: {exc}")
            unreadable, changed = unreadable + 1, False
        if changed:
            stale.append(rel)
            if not args.check:
                write_notebook(nb, path)
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    new = update_readme(text, minutes, runs)
    if new != text:
        stale.append("README.md")
        if not args.check:
            readme.write_text(new, encoding="utf-8")
    for name in stale:
        print(f"{name}: {'differs from' if args.check else 'written from'} the notebooks' minutes and the measurements")
    return 1 if unreadable or (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
