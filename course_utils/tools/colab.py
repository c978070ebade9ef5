"""The hidden set-up cell that opens every notebook: on Google Colab it installs the course, elsewhere it imports.

A student who opens a notebook in Colab runs it from the top. The first code cell sees that it is on
Colab (``google.colab`` is imported there), clones the course, runs ``course.sh colab`` (the pinned
packages into Colab's Python, plus the system packages) and stops with "restart the session, then run
all again". After the restart the same cell finds the course installed and moves into its
``notebooks/`` folder. Everywhere it then imports ``setup`` (with a clear message when the kernel lacks
the course), so the first cell a reader sees is the one that teaches: ``session = setup(...)``.

The cell is stored collapsed: JupyterLab hides its source (``jupyter.source_hidden``) and the site shows it
collapsed (its ``hide-input`` tag). ``python -m course_utils.tools.colab notebooks/*.ipynb`` writes it from :func:`colab_cell`
with the repository named in ``pyproject.toml`` (``[project.urls] Repository``), and takes the set-up
import and its comment out of the next cell; ``--check`` only reports.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .notebook_files import cell_source, write_notebook

__all__ = ["FIRST_LINE", "PLACEHOLDER", "colab_cell", "ensure_colab_cell", "main", "repository_url", "setup_first"]

ROOT = Path(__file__).resolve().parents[2]
#: What ``pyproject.toml`` says until the course's owner puts the real address of the repository there.
PLACEHOLDER = "https://github.com/YOUR-ACCOUNT/pretrained-models-in-practice"
FIRST_LINE = "# Set-up (hidden): on Colab it installs the course once"
#: First lines of earlier versions of the cell, replaced when found.
OLD_FIRST_LINES = ("# Colab only: install the course and its pinned packages",)
#: JupyterLab collapses the source; "hide-input" does the same in Jupyter Book style renderers.
HIDDEN = {"jupyter": {"source_hidden": True}, "tags": ["hide-input"]}

_TEMPLATE = """{first_line} (5 min, then one restart); elsewhere it only imports.
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    COURSE_REPO = os.environ.get("COURSE_REPO", "{url}"){placeholder_check}
    if not os.path.exists("/content/course/.colab-installed"):
        if not os.path.isdir("/content/course"):
            subprocess.run(["git", "clone", "--depth", "1", COURSE_REPO, "/content/course"], check=True)
        subprocess.run(["bash", "/content/course/course.sh", "colab"], check=True)
        raise SystemExit("Installed. Now Runtime > Restart session, then Run all again.")
    os.chdir("/content/course/notebooks")
try:
    from course_utils import setup
except ModuleNotFoundError:
    raise ModuleNotFoundError("course_utils is not in this kernel: start the course with ./course.sh lab (README).") from None"""

_PLACEHOLDER_CHECK = """
    if "YOUR-ACCOUNT" in COURSE_REPO:
        raise SystemExit("Set COURSE_REPO in this cell to the git address of your copy of the course, then run it again.")"""

# What older notebooks carried in their setup cell, now in the hidden cell: a comment first, the guarded import anywhere.
_OLD_SETUP_COMMENT = re.compile(r"\A# The course's setup:[^\n]*\n")
_OLD_SETUP_IMPORT = re.compile(
    r"^(?:try:\n    from course_utils import setup\nexcept ModuleNotFoundError:\n(?:    [^\n]*\n)+?    \) from None"
    r"|from course_utils import setup)\n\n*",
    re.M,
)


def repository_url(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The repository's address from ``pyproject.toml`` (``[project.urls] Repository``), else the placeholder."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    url = data.get("project", {}).get("urls", {}).get("Repository")
    return url if isinstance(url, str) and url else PLACEHOLDER


def colab_cell(url: str | None = None) -> str:
    """The source of the hidden set-up cell for the repository at ``url`` (default: :func:`repository_url`)."""
    url = url or repository_url()
    check = _PLACEHOLDER_CHECK if url == PLACEHOLDER else ""
    return _TEMPLATE.format(first_line=FIRST_LINE, url=url, placeholder_check=check)


def _new_code_cell(source: str) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": uuid.uuid4().hex[:8],
        "metadata": {},
        "outputs": [],
        "source": source.splitlines(keepends=True),
    }


def ensure_colab_cell(nb: dict[str, Any], url: str | None = None) -> bool:
    """Make the first code cell of ``nb`` the hidden set-up cell (replacing an older one); True if ``nb`` changed."""
    want = colab_cell(url)
    cells = nb.setdefault("cells", [])
    code = [i for i, c in enumerate(cells) if c.get("cell_type") == "code"]
    if code and cell_source(cells[code[0]]).startswith((FIRST_LINE, *OLD_FIRST_LINES)):
        cell = cells[code[0]]
    else:
        cell = _new_code_cell("")
        cells.insert(code[0] if code else len(cells), cell)
    before = json.dumps(cell, sort_keys=True)
    cell["source"] = want.splitlines(keepends=True)
    meta = cell.setdefault("metadata", {})
    meta.setdefault("jupyter", {})["source_hidden"] = True
    meta["tags"] = sorted({*meta.get("tags", []), *HIDDEN["tags"]})
    return json.dumps(cell, sort_keys=True) != before


def setup_first(nb: dict[str, Any]) -> tuple[bool, str | None]:
    """Take the set-up import (now in the hidden cell) out of the second code cell, so it opens with ``setup(``.

    Returns whether ``nb`` changed, and a problem to fix by hand when that cell has other code before the call.
    """
    code = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    if len(code) < 2:
        return False, "no code cell after the set-up cell: the notebook's first visible cell must call setup()"
    source = cell_source(code[1])
    trimmed = _OLD_SETUP_IMPORT.sub("", _OLD_SETUP_COMMENT.sub("", source, count=1), count=1)
    changed = trimmed != source
    if changed:
        code[1]["source"] = trimmed.splitlines(keepends=True)
    if not trimmed.startswith("session = setup("):
        return changed, "its first visible code cell must start with `session = setup(...)`: move what comes before"
    return changed, None


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m course_utils.tools.colab [--check] NOTEBOOK...``: write (or check) the set-up cell."""
    parser = argparse.ArgumentParser(prog="python -m course_utils.tools.colab", description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="only report; change no file")
    args = parser.parse_args(argv)
    bad = 0
    for path in args.notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        changed = ensure_colab_cell(nb)
        trimmed, problem = setup_first(nb)
        changed = changed or trimmed
        if problem:
            print(f"{path}: {problem}")
        if changed and args.check:
            print(f"{path}: its set-up cells are not the course's (run python -m course_utils.tools.colab {path})")
        elif changed:
            write_notebook(nb, path)
            print(f"{path}: set-up cell written")
        bad += bool(problem or (changed and args.check))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
