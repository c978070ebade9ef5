"""Every branch of a notebook that runs only online, only with a real model or only on a GPU is listed, with its test.

The notebooks' gates (an ``if``/``elif`` on ``session.offline``, a model's ``is_real``/``is_standin``/``available``,
CUDA or a GPU's memory, or an option such as ``RUN_BIG``) are read from the code cells and compared with
``tests/online_branches.toml``: a new gate fails this test until the list names it and says what runs it. An
online-only branch must run in ``test_online_path.py``'s online notebook runs. A real-model branch (a model
with no real offline copy) is rehearsed with the stand-in by its notebook's offline test (``course_utils/rehearse.py``:
its code runs, its verdict is judged only with real weights); the run fails when a branch listed as rehearsed
was not. Only GPU branches, opt-in options and real-model branches the rehearsal cannot reach (inside a
function, inside an option, or needing more than the real weights) may say "none", and say why.

Run ``python tests/test_online_branches.py`` to print the scanned gates in the list's format.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections import Counter
from pathlib import Path

from course_utils.catalog import load_catalog
from course_utils.rehearse import LISTED, ONLINE_LISTED, normalize, taken_with_real_weights

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support.notebook_scan import NOTEBOOKS, code_cells, notebook_paths  # noqa: E402
from test_online_path import ONLINE_NOTEBOOKS  # noqa: E402

LIST = Path(__file__).with_name("online_branches.toml")
_GATE = re.compile(r"^\s*(?:if|elif)\s+(.*?):\s*(?:#.*)?$")
_GATE_WORDS = re.compile(r"\.offline\b|\.is_real\b|\.is_standin\b|\.available\b|cuda|gpu|\bRUN_BIG\b|\bFULL_RUN\b")
_ASSIGN = re.compile(r"^\s*(\w+)\s*=\s*session\.models\[\s*[\"']([\w.-]+)[\"']\s*\]", re.M)
_ON_MODEL = re.compile(r"(?:(\w+)|session\.models\[\s*[\"']([\w.-]+)[\"']\s*\])\.(is_real|is_standin|available)\b")

KINDS = {
    "online": "runs only online (the notebook's offline path skips it)",
    "gpu": "runs only on a CUDA GPU",
    "real-model": "runs only with a real model that has no real offline copy (the suite rehearses it with the stand-in)",
    "offline-real": "runs with a real copy that ships offline (or an installed package): the offline suite runs it",
    "standin": "runs with a stand-in: the offline suite runs it",
    "option": "runs when the reader switches an option on (off by default)",
}
SUITE = "the notebook's own offline test (notebooks/{nb})"
ONLINE_TEST = "tests/test_online_path.py::test_notebook_runs_online[{nb}]"


def _kind(condition: str, variables: dict[str, str]) -> str:
    if re.search(r"cuda|gpu", condition, re.I):
        return "gpu"
    if ".offline" in condition:
        return "online"
    if re.search(r"\bRUN_BIG\b|\bFULL_RUN\b", condition):
        return "option"
    catalog = load_catalog()
    match = _ON_MODEL.search(condition)
    assert match, f"gate on an unknown object: {condition}"
    key = match.group(2) or variables.get(match.group(1), "")
    entry = catalog.get(key)
    if (
        entry is None
    ):  # a loop variable over several models: its stand-in branch runs offline, the other needs them real
        assert match.group(3) != "available", f"gate {condition!r}: {match.group(1)} is not a session.models[...] entry"
        return "standin" if match.group(3) == "is_standin" else "real-model"
    if match.group(3) == "available":
        return "online" if entry.offline == "online-only" else "offline-real"
    if match.group(3) == "is_standin":
        return "standin"
    return "offline-real" if entry.offline in ("packaged", "installed") else "real-model"


def scan(paths: list[Path] | None = None) -> list[dict[str, object]]:
    """Every gate of every notebook (or of ``paths``): notebook, the condition, how many times it occurs, its kind."""
    found = []
    for path in notebook_paths() if paths is None else paths:
        cells = code_cells(path)
        variables = {var: key for cell in cells for var, key in _ASSIGN.findall(cell)}
        conditions: Counter[str] = Counter()
        for cell in cells:
            for line in cell.splitlines():
                gate = _GATE.match(line)
                if gate and _GATE_WORDS.search(gate.group(1)):
                    conditions[gate.group(1).strip()] += 1
        for condition, count in conditions.items():
            found.append(
                {"notebook": path.name[:2], "gate": condition, "count": count, "kind": _kind(condition, variables)}
            )
    return found


_OPTION_OR_GPU = re.compile(r"cuda|gpu|\bRUN_BIG\b|\bFULL_RUN\b", re.I)


def _parse(cell: str) -> ast.Module:
    try:
        return ast.parse(cell)
    except SyntaxError:  # IPython syntax (%magic, !shell): what the kernel runs
        from IPython.core.inputtransformer2 import TransformerManager

        return ast.parse(TransformerManager().transform_cell(cell))


def places(path: Path) -> dict[str, list[str]]:
    """Where each gate of ``path`` occurs: "cell" (the rehearsal reaches it), "function" or "option" (it does not)."""
    found: dict[str, list[str]] = {}

    def walk(node: ast.AST, where: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            where = "function"
        if isinstance(node, ast.If):
            found.setdefault(normalize(ast.unparse(node.test)), []).append(where)
            inner = "option" if where == "cell" and _OPTION_OR_GPU.search(ast.unparse(node.test)) else where
            for child in node.body:
                walk(child, inner)
            for child in node.orelse:
                walk(child, where)
            return
        for sub in ast.iter_child_nodes(node):
            walk(sub, where)

    for cell in code_cells(path):
        walk(_parse(cell), "cell")
    return found


def _models(gate: str) -> set[str]:
    """The names whose ``.is_real`` the gate reads."""
    tree = ast.parse(gate, mode="eval")
    return {
        n.value.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and n.attr == "is_real" and isinstance(n.value, ast.Name)
    }


def _real_model_runs_in(nb: str, gate: str, where: list[str]) -> str:
    """What runs a real-model branch: the rehearsal when it can reach it, else "none" and why."""
    if "cell" in where and taken_with_real_weights(gate):
        inside = where.count("function")
        return LISTED.format(nb=nb) + (f"; not the {inside} inside a function (local names)" if inside else "")
    if "cell" in where and nb in ONLINE_NOTEBOOKS:  # the online run has what the gate needs besides the weights
        return ONLINE_LISTED.format(nb=nb)
    if "cell" in where:
        others = sorted(
            {n.id for n in ast.walk(ast.parse(gate, mode="eval")) if isinstance(n, ast.Name)} - _models(gate)
        )
        return f"none: it needs {', '.join(others)} too, which the offline run lacks; ./course.sh online-report runs it"
    reason = (
        "inside a function (its names are local to a call)" if "function" in where else "inside an option that is off"
    )
    return f"none: {reason}, so the rehearsal cannot reach it; ./course.sh online-report runs it with internet"


def _listed() -> list[dict[str, object]]:
    return list(tomllib.loads(LIST.read_text(encoding="utf-8"))["branch"])


def test_every_gate_is_listed_and_no_listed_gate_is_gone() -> None:
    key = lambda b: (b["notebook"], b["gate"], b["count"], b["kind"])  # noqa: E731
    scanned, listed = {key(b) for b in scan()}, {key(b) for b in _listed()}
    assert not scanned - listed, f"gates missing from {LIST.name} (add them with what runs them): {scanned - listed}"
    assert not listed - scanned, f"{LIST.name} lists gates the notebooks no longer have: {listed - scanned}"


def test_a_new_gate_is_found(tmp_path: Path) -> None:
    """The scan sees a gate a notebook adds (so the list test above fails until the list names it)."""
    import json

    cells = [
        'tab = session.models["tabpfn-v2-clf"]\nif tab.available:  # online\n    pass',
        'if not session.offline:\n    pass\nelif session.device == "cuda":\n    pass\nif x > 1:\n    pass',
    ]
    nb = {"cells": [{"cell_type": "code", "source": c} for c in cells]}
    path = tmp_path / "99_new.ipynb"
    path.write_text(json.dumps(nb))
    found = {(b["gate"], b["kind"]) for b in scan([path])}
    assert found == {
        ("tab.available", "online"),
        ("not session.offline", "online"),
        ('session.device == "cuda"', "gpu"),
    }


def test_every_branch_says_what_runs_it() -> None:
    for b in _listed():
        nb, kind, runs = str(b["notebook"]), str(b["kind"]), str(b["runs_in"])
        assert kind in KINDS, b
        if kind == "online":  # executed by the online notebook run, which must include the notebook
            assert runs == ONLINE_TEST.format(nb=nb) and nb in ONLINE_NOTEBOOKS, b
        elif kind in ("offline-real", "standin"):
            assert runs == SUITE.format(nb=nb), b
        elif kind == "real-model":  # rehearsed where the rehearsal reaches it (conftest checks the run did it)
            path = next(NOTEBOOKS.glob(f"{nb}_*.ipynb"))
            assert runs == _real_model_runs_in(nb, str(b["gate"]), places(path)[normalize(str(b["gate"]))]), b
        else:  # gpu, option: nothing in the suite runs them, and the list says so and why
            assert runs.startswith("none: "), b


def test_the_rehearsal_reaches_a_branch_in_a_cell_only(tmp_path: Path) -> None:
    """A gate in a cell is listed as rehearsed; one in a function, an option or needing more says "none"."""
    import json

    cells = [
        'm = session.models["blip"]\nif m.is_real:\n    pass\ndef f():\n    if m.is_real:\n        pass',
        "if RUN_BIG:\n    if other.is_real:\n        pass\nif TABPFN and m.is_real:\n    pass\n%time x = 1",
    ]
    path = tmp_path / "99_new.ipynb"
    path.write_text(json.dumps({"cells": [{"cell_type": "code", "source": c} for c in cells]}))
    found = places(path)
    assert found["m.is_real"] == ["cell", "function"] and found["other.is_real"] == ["option"]
    assert _real_model_runs_in("99", "m.is_real", found["m.is_real"]).startswith(LISTED.format(nb="99"))
    assert "1 inside a function" in _real_model_runs_in("99", "m.is_real", found["m.is_real"])
    for gate in ("other.is_real", "TABPFN and m.is_real"):
        assert _real_model_runs_in("99", gate, found[gate]).startswith("none: "), gate


def render(branches: list[dict[str, object]]) -> str:
    """The list's TOML for ``branches`` (what a maintainer pastes in after reviewing it)."""
    out = []
    for b in branches:
        nb, kind = str(b["notebook"]), str(b["kind"])
        runs = {
            "online": ONLINE_TEST.format(nb=nb),
            "offline-real": SUITE.format(nb=nb),
            "standin": SUITE.format(nb=nb),
            "gpu": "none: GPU only (no GPU in the suite); the online report on a GPU machine runs it",
            "real-model": "",
            "option": "none: an option that is off by default",
        }[kind]
        if kind == "real-model":
            path = next(NOTEBOOKS.glob(f"{nb}_*.ipynb"))
            runs = _real_model_runs_in(nb, str(b["gate"]), places(path)[normalize(str(b["gate"]))])
        gate = str(b["gate"]).replace("\\", "\\\\").replace('"', '\\"')
        out.append(
            f'[[branch]]\nnotebook = "{nb}"\ngate = "{gate}"\ncount = {b["count"]}\nkind = "{kind}"\nruns_in = "{runs}"\n'
        )
    return "\n".join(out)


if __name__ == "__main__":
    print(render(scan()))


def test_real_model_conditional_expressions_pick_only_constants() -> None:
    """``A if x.is_real else B`` is not rehearsed: fine while A is a constant (a threshold, a label) with no code."""
    for path in notebook_paths():
        for cell in code_cells(path):
            for node in ast.walk(_parse(cell)):
                if isinstance(node, ast.IfExp) and "is_real" in ast.unparse(node.test):
                    try:
                        ast.literal_eval(node.body)
                    except ValueError:
                        raise AssertionError(
                            f"{path.name}: `{ast.unparse(node)}`: the real-model arm is code the offline suite never "
                            "runs; compute it in an `if ...is_real:` statement, which the suite rehearses"
                        ) from None
