"""Time figures: the notebooks and the README say what the notebooks' minutes and docs/measurements.json say."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from course_utils.tools import timings

ROOT = Path(__file__).resolve().parents[1]


def test_notebooks_and_readme_agree_with_the_measurements(capsys: pytest.CaptureFixture[str]) -> None:
    code = timings.main(["--check"])
    assert code == 0, "run python -m course_utils.tools.timings to rewrite these:\n" + capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("**Time**: 3 minutes in class, 10 minutes of self-study; more.", timings.Minutes(3, 10)),
        ("**Time**: 5 min in class, 20 min of self-study.", timings.Minutes(5, 20)),
        (
            "**Time**: 30 minutes to teach (**in class: sections 2, 3, about 7 minutes; the rest**).",
            timings.Minutes(7, 23),
        ),
        (
            "**Time**: 10 minutes to teach, 25 more for the self-study parts.\n\nIn class: sections 1–3 (10 min); rest.",
            timings.Minutes(10, 25),
        ),
        (
            "**Time**: 10 minutes to teach (the lecture's share), then the homework.\n\nIn class: sections 1–3 (10 min).",
            timings.Minutes(10, None),
        ),
    ],
)
def test_class_minutes_are_read_from_the_time_line(text: str, want: timings.Minutes) -> None:
    assert timings.class_minutes("# T\n\nIntro.\n\n" + text) == want


def test_a_time_line_without_class_minutes_says_how_to_write_one() -> None:
    with pytest.raises(ValueError, match="min in class"):
        timings.class_minutes("# T\n\n**Time**: a while.")


def _nb(first: str) -> dict[str, Any]:
    return {"cells": [{"cell_type": "markdown", "metadata": {}, "source": first}]}


def test_the_runs_in_line_follows_the_time_paragraph_and_is_replaced_not_repeated() -> None:
    nb = _nb("# T\n\n**Time**: 3 min in class.\n\nIn class: §1.")
    entry = {"seconds": 27.4, "date": "2026-12-02", "workers": 3, "cores": 2}
    assert timings.update_notebook(nb, entry)
    text = "".join(nb["cells"][0]["source"])
    assert text.split("\n\n")[2].startswith("**Runs in**: 27 s offline") and "3 workers, 2026-12-02" in text
    assert not timings.update_notebook(nb, entry)
    assert timings.update_notebook(nb, {**entry, "seconds": 130.0})
    assert "2 min 10 s" in "".join(nb["cells"][0]["source"]) and "".join(nb["cells"][0]["source"]).count("Runs in") == 1
    assert timings.update_notebook(nb, None) and "not measured yet" in "".join(nb["cells"][0]["source"])


README = """## Course map

| 00 | [a](notebooks/00_a.ipynb) | t | m | 1 + 1 | 9 s | CPU | real | ready |
| 01 | [b](notebooks/01_b.ipynb) | t | m | 1 + 1 | 9 s | CPU | real | ready |

## A lesson plan

| start | min | lecture § | show live | homework |
|---|---|---|---|---|
| 0:00 | 1 | §1 | 00 the status line (1); 01 the spectrum (1) | x |
| 0:02 | 2 | §2 | questions (2) | y |
| | **4** | | | |
"""


def test_readme_columns_and_the_plan_follow_the_notebooks() -> None:
    minutes = {"00": timings.Minutes(3, 10), "01": timings.Minutes(10, None)}
    new = timings.update_readme(README, minutes, {"00": "27 s", "01": "not measured"})
    assert "| 00 | [a](notebooks/00_a.ipynb) | t | m | 3 + 10 | 27 s | CPU |" in new
    assert "| 01 | [b](notebooks/01_b.ipynb) | t | m | 10 + homework | not measured | CPU |" in new
    assert "| 0:00 | 13 | §1 | 00 the status line (3); 01 the spectrum (10) | x |" in new
    assert "| 0:13 | 2 | §2 | questions (2) | y |" in new and "| | **15** |" in new


def test_the_command_rewrites_a_copy_of_the_course_and_then_agrees(tmp_path: Path) -> None:
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "docs").mkdir()
    name = "00_setup_check.ipynb"
    shutil.copy(ROOT / "notebooks" / name, tmp_path / "notebooks" / name)
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    entry = {"seconds": 99.0, "date": "2030-01-01", "workers": 1, "cores": 4}
    (tmp_path / "docs" / "measurements.json").write_text(json.dumps({"files": {f"notebooks/{name}": entry}}))
    assert timings.main(["--check", "--root", str(tmp_path)]) == 1
    assert timings.main(["--root", str(tmp_path)]) == 0
    assert timings.main(["--check", "--root", str(tmp_path)]) == 0
    assert "**Runs in**: 99 s offline" in (tmp_path / "notebooks" / name).read_text(encoding="utf-8")
    assert "| 99 s |" in (tmp_path / "README.md").read_text(encoding="utf-8")
