"""Notebooks that JupyterLab opens unchanged: the metadata it would fill in, and a normaliser.

When JupyterLab opens a notebook and its kernel starts, it writes the kernel's
``language_info`` (name, version, mimetype, codemirror_mode, pygments_lexer, nbconvert_exporter,
file_extension) and ``kernelspec`` into the notebook's metadata. If the stored values differ in
any field, the notebook is marked modified (the unsaved-changes dot) before the student has
touched it. It also gives every cell an id when a notebook predates nbformat 4.5.

* :func:`lab_problems` lists what JupyterLab would change in a notebook (``tests/test_notebooks_meta.py``
  fails on any); :func:`normalise` fixes them in place; ``python -m course_utils.tools.notebook_files FILE...``
  rewrites notebook files (``--check`` only reports).
* ``language_info.version`` is the one field no stored value can match on every machine (it is
  the kernel's exact Python version, ``3.11.7`` here, ``3.11.9`` elsewhere). The stored files
  say ``3.11``; :class:`course_utils.tools.labserver.CourseContentsManager`, which ``./course.sh lab``
  loads, hands JupyterLab the running kernel's exact ``language_info`` (and the ``kernelspec``)
  when it opens a notebook, so nothing differs. The file on disk is not touched until the user saves.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "KERNELSPEC",
    "STORED_LANGUAGE_INFO",
    "cell_source",
    "kernel_language_info",
    "lab_problems",
    "main",
    "normalise",
    "normalise_file",
    "write_notebook",
]

#: The kernel every course notebook names (ipykernel's default spec in the course's .venv).
KERNELSPEC: dict[str, str] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}

#: ``language_info`` as stored in the files: ipykernel's fields, with the Python version the course pins.
STORED_LANGUAGE_INFO: dict[str, Any] = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
    "version": "3.11",
}


def kernel_language_info() -> dict[str, Any]:
    """The ``language_info`` that this Python's ipykernel reports (what JupyterLab writes on open)."""
    info = dict(STORED_LANGUAGE_INFO)
    info["version"] = platform.python_version()
    return info


def lab_problems(nb: dict[str, Any], *, course_lab: bool = False) -> list[str]:
    """What JupyterLab would change on opening notebook ``nb`` (a parsed ``.ipynb``); empty when nothing.

    With ``course_lab`` the notebook is served by ``./course.sh lab``, whose contents manager hands
    JupyterLab the kernel's ``language_info`` and ``kernelspec``: only the cells count then.
    """
    problems = []
    if (nb.get("nbformat"), nb.get("nbformat_minor", 0)) < (4, 5):
        problems.append(f"nbformat {nb.get('nbformat')}.{nb.get('nbformat_minor')} (JupyterLab writes 4.5)")
    missing_ids = sum(1 for cell in nb.get("cells", []) if not cell.get("id"))
    if missing_ids:
        problems.append(f"{missing_ids} cell(s) without an id (JupyterLab adds them)")
    ids = [cell.get("id") for cell in nb.get("cells", []) if cell.get("id")]
    if len(ids) != len(set(ids)):
        problems.append("two cells share an id (JupyterLab gives one a new id)")
    if course_lab:
        return problems
    meta = nb.get("metadata", {})
    if meta.get("kernelspec") != KERNELSPEC:
        problems.append(f"kernelspec {meta.get('kernelspec')!r}, JupyterLab writes {KERNELSPEC!r}")
    info = meta.get("language_info", {})
    for key, want in STORED_LANGUAGE_INFO.items():
        have = info.get(key)
        ok = isinstance(have, str) and have.split(".")[:2] == ["3", "11"] if key == "version" else have == want
        if not ok:
            problems.append(f"language_info.{key} is {have!r}, the kernel reports {want!r}")
    extra = sorted(set(info) - set(STORED_LANGUAGE_INFO))
    if extra:
        problems.append(f"language_info has keys the kernel does not report: {', '.join(extra)}")
    return problems


def normalise(nb: dict[str, Any]) -> bool:
    """Fix in place everything :func:`lab_problems` reports; return whether ``nb`` changed.

    Cell ids that exist are kept (they anchor links and reviews); missing or repeated ones get a new id.
    """
    before = json.dumps(nb, sort_keys=True)
    if (nb.get("nbformat"), nb.get("nbformat_minor", 0)) < (4, 5):
        nb["nbformat"], nb["nbformat_minor"] = 4, 5
    seen: set[str] = set()
    for cell in nb.get("cells", []):
        cid = cell.get("id")
        if not cid or cid in seen:
            cid = uuid.uuid4().hex[:8]
            cell["id"] = cid
        seen.add(cid)
    meta = nb.setdefault("metadata", {})
    meta["kernelspec"] = dict(KERNELSPEC)
    info = meta.get("language_info", {})
    version = info.get("version")
    meta["language_info"] = dict(STORED_LANGUAGE_INFO)
    if isinstance(version, str) and version.split(".")[:2] == ["3", "11"]:
        meta["language_info"]["version"] = version
    return json.dumps(nb, sort_keys=True) != before


def cell_source(cell: dict[str, Any]) -> str:
    """A cell's source as one string (stored files keep it as a list of lines, nbformat as a string)."""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def write_notebook(nb: dict[str, Any], path: Path) -> None:
    """Write ``nb`` as the course stores notebooks: nbformat's layout (indent 1, UTF-8 as is, a final newline)."""
    Path(path).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def normalise_file(path: Path, *, check: bool = False) -> list[str]:
    """Normalise one ``.ipynb`` file (written as nbformat writes it: indent 1, a final newline).

    Returns the problems found (empty when the file was already fine). With ``check`` the file is
    left as it is.
    """
    text = Path(path).read_text(encoding="utf-8")
    nb = json.loads(text)
    problems = lab_problems(nb)
    if problems and not check:
        normalise(nb)
        write_notebook(nb, path)
    return problems


#: ruff's fixes that change no behaviour: import order within a block, a stray semicolon.
SAFE_FIXES = ("I001", "E703")


def lint_fix(paths: Sequence[Path]) -> list[Path]:
    """Apply ruff's :data:`SAFE_FIXES` to the notebooks' code, keeping each file's layout; return the changed files.

    ruff rewrites a notebook with its own key order, which would touch every cell of every file; here it fixes
    copies and only the changed cell sources are carried back.
    """
    changed = []
    with tempfile.TemporaryDirectory() as tmp:
        copies = [Path(tmp) / f"{i}.ipynb" for i in range(len(paths))]
        for src, copy in zip(paths, copies, strict=True):
            shutil.copy(src, copy)
        cmd = [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--fix",
            "--exit-zero",
            "--quiet",
            "--select",
            ",".join(SAFE_FIXES),
        ]
        subprocess.run([*cmd, *map(str, copies)], check=True)
        for src, copy in zip(paths, copies, strict=True):
            nb, fixed = json.loads(Path(src).read_text(encoding="utf-8")), json.loads(copy.read_text(encoding="utf-8"))
            new = [cell_source(c) for c in fixed["cells"]]
            if [cell_source(c) for c in nb["cells"]] != new:
                for cell, text in zip(nb["cells"], new, strict=True):
                    if cell_source(cell) != text:
                        cell["source"] = text.splitlines(keepends=True)
                write_notebook(nb, src)
                changed.append(Path(src))
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m course_utils.tools.notebook_files [--check | --lint-fix] NOTEBOOK...``."""
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.tools.notebook_files",
        description="Give notebooks the metadata JupyterLab writes on open.",
    )
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="only report; change no file")
    parser.add_argument("--lint-fix", action="store_true", help=f"apply ruff's safe fixes ({', '.join(SAFE_FIXES)})")
    args = parser.parse_args(argv)
    if args.lint_fix:
        for path in lint_fix(args.notebooks):
            print(f"{path}: ruff's safe fixes applied")
        return 0
    bad = 0
    for path in args.notebooks:
        problems = normalise_file(path, check=args.check)
        if problems:
            bad += 1
            print(f"{path}: {'needs' if args.check else 'fixed'}: {'; '.join(problems)}")
    print(f"{bad} of {len(args.notebooks)} notebook(s) {'need fixing' if args.check else 'fixed'}")
    return 1 if args.check and bad else 0


if __name__ == "__main__":
    sys.exit(main())
