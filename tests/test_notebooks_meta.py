"""The course's rules for notebooks that a reading (not a run) can check."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support.notebook_scan import code_cells, notebook_paths

from course_utils.tools.colab import colab_cell

PATHS = notebook_paths()


def test_notebooks_exist_and_are_numbered_uniquely() -> None:
    assert len(PATHS) >= 2
    numbers = [p.name[:2] for p in PATHS]
    assert all(re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", p.name) for p in PATHS), [p.name for p in PATHS]
    assert len(numbers) == len(set(numbers)), numbers


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_stored_without_outputs(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [
        i
        for i, c in enumerate(nb["cells"])
        if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} store outputs; clear them (Edit > Clear Outputs of All Cells) before committing"
    )


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_follows_the_notebook_guide(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    md = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    code = code_cells(path)
    assert nb["cells"][0]["cell_type"] == "markdown" and md.startswith("# "), "starts with a title"
    assert "You will learn" in md and re.search(r"\*\*Time\*\*", md), "states outcomes and time"
    first = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert code[0] == colab_cell() and first["metadata"].get("jupyter", {}).get("source_hidden"), (
        "the first code cell is the course's hidden set-up cell (python -m course_utils.tools.colab)"
    )
    assert code[1].startswith("session = setup("), "the first visible code line is `session = setup(...)`"
    assert re.search(r"^#+ Exercises", md, re.M) and re.search(r"^#+ Solutions", md, re.M)
    assert re.search(r"^#+ Going further", md, re.M)
    assert re.search(r"^#+ .*When it fails", md, re.M | re.I), "shows a failure, not only states it"
    solutions = (
        code[[i for i, c in enumerate(code) if "Solution" in c][0] :] if any("Solution" in c for c in code) else []
    )
    assert solutions, "worked solutions are runnable code cells"
    joined = "\n".join(code)
    assert "trust_remote_code=True" not in joined
    assert not re.search(r"^\s*!\s*pip", joined, re.M), "no !pip install in notebooks"
    assert "torch.load(" not in joined or "weights_only=True" in joined
    assert re.search(r"\bassert\b", joined), "key results are checked by code"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_opens_in_the_lab_unmodified(path: Path) -> None:
    """JupyterLab marks a notebook modified on open when it must add cell ids or fix the kernelspec."""
    from course_utils.tools.notebook_files import lab_problems

    problems = lab_problems(json.loads(path.read_text(encoding="utf-8")))
    assert not problems, f"{path.name}: {'; '.join(problems)}. Fix: python -m course_utils.tools.notebook_files {path}"
