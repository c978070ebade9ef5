# mypy: disable-error-code="attr-defined, union-attr, arg-type, index, call-overload, list-item, misc, func-returns-value"
# (this test feeds libraries values their stubs describe more narrowly than they accept, or wrong types on purpose)
"""Read the course's notebooks as code, for the tests: which models each one declares and loads."""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

# Calls that load a model by name; the argument that names it.
LOADERS = {
    "pipeline": "model",
    "from_pretrained": 0,
    "SentenceTransformer": 0,
    "create_model": 0,
    "create_model_and_transforms": 0,
    "YOLO": 0,
    "get_model": 0,
    "hf_hub_download": 0,
    "snapshot_download": 0,
}
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/(?=[\w.-]*[-_.0-9])[\w.-]{3,}$")  # org/name-with-a-digit-or-dash
NOT_AN_ID = re.compile(r"\.(csv|png|jpe?g|txt|json|ipynb|md|toml|py|gz)$", re.I)


@dataclass
class NotebookModels:
    declared: list[str] = field(default_factory=list)  # keys given to setup(models=[...])
    used_keys: set[str] = field(default_factory=set)  # keys read as session.models["..."]
    literal_ids: set[str] = field(default_factory=set)  # model names written as string literals


def notebook_paths() -> list[Path]:
    """Every notebook of the course (a new one is picked up without editing a list)."""
    return sorted(p for p in NOTEBOOKS.glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def code_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def scan_source(source: str) -> NotebookModels:
    """Find declared keys, used keys and literal model names in one piece of Python source."""
    found = NotebookModels()
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    tree = ast.parse("\n".join(lines))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _name(node.func)
            if name == "setup":
                for kw in node.keywords:
                    if kw.arg == "models" and isinstance(kw.value, (ast.List, ast.Tuple)):
                        found.declared += [e.value for e in kw.value.elts if isinstance(e, ast.Constant)]
            where = LOADERS.get(name)
            arg: ast.expr | None = None
            if isinstance(where, int) and len(node.args) > where:
                arg = node.args[where]
            elif isinstance(where, str):
                arg = next((kw.value for kw in node.keywords if kw.arg == where), None)
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.literal_ids.add(arg.value)
        elif isinstance(node, ast.Subscript):
            target = node.value
            if isinstance(target, ast.Attribute) and target.attr == "models":
                if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
                    found.used_keys.add(node.slice.value)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.strip()
            if HUB_ID.match(text) and not NOT_AN_ID.search(text) and not text.startswith(("data/", "notebooks/")):
                found.literal_ids.add(text)
    return found


def scan_notebook(path: Path) -> NotebookModels:
    total = NotebookModels()
    for src in code_cells(path):
        part = scan_source(src)
        total.declared += part.declared
        total.used_keys |= part.used_keys
        total.literal_ids |= part.literal_ids
    return total
