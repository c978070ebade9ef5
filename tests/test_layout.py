"""The layout says what the code is: what notebooks import, the tooling beside it, and a course that cites only itself.

* ``course_utils`` never imports ``course_utils.tools``, and no notebook does: the tooling can change without
  touching a lesson;
* the package docstrings name every module, so ``help(course_utils)`` is the map;
* nothing in the repository refers to a document outside it, and every relative link resolves inside it.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from support.notebook_scan import code_cells, notebook_paths

import course_utils
import course_utils.tools

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "course_utils"
SKIP_DIRS = {"build", "student", "__pycache__", "node_modules"}  # and every hidden folder (.venv, .git, caches)
TEXT_SUFFIXES = {".md", ".py", ".toml", ".ipynb", ".sh", ".txt", ".yml", ".yaml", ".json", ".cfg"}
# Documents that lived beside the repository while the course was written (split so this file does not name them).
OUTSIDE = ("NOTEBOOK" + "_GUIDE", "OFFLINE" + "_ASSETS", "COURSE" + "_PLAN.md", "../" + "shared", "/work" + "/")
# A file of another branch that still names one; the entry goes once that branch is merged (strict xfail below).
PENDING: set[str] = set()  # files another branch is still rewriting (none now)


def _imports(path: Path) -> set[str]:
    """Absolute names of the modules ``path`` imports (relative imports resolved against its package)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def test_the_helpers_never_import_the_tooling() -> None:
    offenders = {
        path.name: sorted(n for n in _imports(path) if n.startswith("course_utils.tools"))
        for path in PACKAGE.glob("*.py")
    }
    assert not {k: v for k, v in offenders.items() if v}, "course_utils must not import course_utils.tools"


def test_no_notebook_imports_the_tooling() -> None:
    for path in notebook_paths():
        joined = "\n".join(code_cells(path))
        assert "course_utils.tools" not in joined and "from course_utils import tools" not in joined, path.name


def test_the_import_scan_sees_relative_imports(tmp_path: Path) -> None:
    probe = PACKAGE / "tools" / "site.py"  # imports ..catalog and .notebook_files
    assert {"course_utils.catalog", "course_utils.tools.notebook_files"} <= _imports(probe)


@pytest.mark.parametrize(("package", "folder"), [(course_utils, PACKAGE), (course_utils.tools, PACKAGE / "tools")])
def test_each_package_docstring_names_every_module(package: object, folder: Path) -> None:
    doc = package.__doc__ or ""
    prefix = package.__name__  # type: ignore[attr-defined]
    missing = [p.stem for p in folder.glob("*.py") if not p.stem.startswith("_") and f"{prefix}.{p.stem}`" not in doc]
    assert not missing, f"{prefix}'s docstring lists every module in one line; it lacks {missing}"


def _text_files() -> list[Path]:
    out = []
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT)
        folders = rel.parts[:-1]
        if path.is_file() and path.suffix in TEXT_SUFFIXES and not SKIP_DIRS & set(folders):
            if not any(part.startswith(".") or part.endswith(".egg-info") for part in folders):
                out.append(path)
    return out


def _outside_references(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    found = [name for name in OUTSIDE if name in text]
    links: list[str] = []
    if path.suffix == ".md":
        links = re.findall(r"\]\(([^)\s]+)\)", text)
    elif path.suffix == ".ipynb":
        md = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"] if c["cell_type"] == "markdown")
        links = re.findall(r"\]\(([^)\s]+)\)", md)
    for link in links:
        if re.match(r"^[a-z]+:", link) or link.startswith("#"):
            continue
        target = (path.parent / link.split("#")[0]).resolve()
        if not target.is_relative_to(ROOT) or not target.exists():
            found.append(link)
    return found


def test_nothing_refers_to_a_file_outside_the_repository() -> None:
    bad = {}
    for path in _text_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel not in PENDING and rel != "tests/test_layout.py" and (refs := _outside_references(path)):
            bad[rel] = refs
    assert not bad, f"these cite files the repository does not hold (put what they need under docs/): {bad}"


def test_the_link_check_catches_a_broken_and_an_outside_link(tmp_path: Path) -> None:
    page = ROOT / "docs" / "MEASUREMENTS.md"
    assert _outside_references(page) == []
    fake = ROOT / "docs" / ".link-probe.md"
    try:
        fake.write_text("[a](../../elsewhere.md) [b](missing.md) [c](https://example.org) [d](MEASUREMENTS.md)")
        assert _outside_references(fake) == ["../../elsewhere.md", "missing.md"]
    finally:
        fake.unlink()
