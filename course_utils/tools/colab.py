"""The guarded first cell of every notebook: on Google Colab it installs the course, elsewhere it does nothing.

A student who opens a notebook in Colab runs it from the top. The first code cell sees that it is
on Colab (``google.colab`` is imported there), clones the course, runs ``course.sh colab`` (the
pinned packages into Colab's Python, plus the system packages) and stops with "restart the
session, then run all again". After the restart the same cell finds the course installed and only
changes into its ``notebooks/`` folder. On a laptop, a GPU server or under the tests, the cell
does nothing at all.

The cell is written from one template, :func:`colab_cell`, with the repository named in
``pyproject.toml`` (``[project.urls] Repository``); ``python -m course_utils.tools.colab notebooks/*.ipynb``
writes it into notebooks, ``--check`` reports notebooks whose first code cell differs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .notebook_files import cell_source, write_notebook

__all__ = ["PLACEHOLDER", "colab_cell", "ensure_colab_cell", "main", "repository_url"]

ROOT = Path(__file__).resolve().parents[2]
#: What ``pyproject.toml`` says until the course's owner puts the real address of the repository there.
PLACEHOLDER = "https://github.com/YOUR-ACCOUNT/pretrained-models-in-practice"
FIRST_LINE = "# Colab only: install the course and its pinned packages"

_TEMPLATE = """{first_line} (one step, about 5 minutes), then restart once.
# Anywhere else (./course.sh lab, a GPU server, the tests) this cell does nothing.
import os
import subprocess
import sys

if "google.colab" in sys.modules:
    COURSE_REPO = os.environ.get("COURSE_REPO", "{url}")
    if "YOUR-ACCOUNT" in COURSE_REPO:
        raise SystemExit("Set COURSE_REPO in this cell to the git address of your copy of the course, then run it again.")
    if not os.path.isdir("/content/course"):
        subprocess.run(["git", "clone", "--depth", "1", COURSE_REPO, "/content/course"], check=True)
    if not os.path.exists("/content/course/.colab-installed"):
        subprocess.run(["bash", "/content/course/course.sh", "colab"], check=True)
        raise SystemExit("Installed. Now Runtime > Restart session, then Run all again (this cell then skips the install).")
    os.chdir("/content/course/notebooks")"""


def repository_url(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The repository's address from ``pyproject.toml`` (``[project.urls] Repository``), else the placeholder."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    url = data.get("project", {}).get("urls", {}).get("Repository")
    return url if isinstance(url, str) and url else PLACEHOLDER


def colab_cell(url: str | None = None) -> str:
    """The source of the guarded Colab cell for the repository at ``url`` (default: :func:`repository_url`)."""
    return _TEMPLATE.format(first_line=FIRST_LINE, url=url or repository_url())


def ensure_colab_cell(nb: dict[str, Any], url: str | None = None) -> bool:
    """Make the first code cell of ``nb`` the Colab cell (replacing an older one); True if ``nb`` changed."""
    want = colab_cell(url)
    cells = nb.setdefault("cells", [])
    code = [i for i, c in enumerate(cells) if c.get("cell_type") == "code"]
    if code and cell_source(cells[code[0]]).startswith(FIRST_LINE):
        if cell_source(cells[code[0]]) == want:
            return False
        cells[code[0]]["source"] = want.splitlines(keepends=True)
        return True
    at = code[0] if code else len(cells)
    cell: dict[str, Any] = {
        "cell_type": "code",
        "execution_count": None,
        "id": uuid.uuid4().hex[:8],
        "metadata": {},
        "outputs": [],
    }
    cell["source"] = want.splitlines(keepends=True)
    cells.insert(at, cell)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m course_utils.tools.colab [--check] NOTEBOOK...``: write (or check) the Colab cell."""
    parser = argparse.ArgumentParser(prog="python -m course_utils.tools.colab", description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="only report; change no file")
    args = parser.parse_args(argv)
    bad = 0
    for path in args.notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        if ensure_colab_cell(nb):
            bad += 1
            if args.check:
                print(f"{path}: its first code cell is not the course's Colab cell")
            else:
                write_notebook(nb, path)
                print(f"{path}: Colab cell written")
    return 1 if args.check and bad else 0


if __name__ == "__main__":
    sys.exit(main())
