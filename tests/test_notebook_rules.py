"""Trust rules a reading of the notebooks can check (docs/CONTRIBUTING.md): no assert rests on a clock or a memory peak.

A busy laptop in front of a class must never turn a timing into an AssertionError, so timings, speed-ups and memory
peaks are measured, shown and explained, never asserted. This scan reads every ``assert`` in every notebook's code
and fails when its condition uses a name, attribute, string key or call that measures time, speed or memory.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from support.notebook_scan import code_cells, notebook_paths

# Words that mark a wall-clock, speed or memory measurement when they appear in an assert's condition.
CLOCKY = re.compile(
    r"(latenc|elapsed|seconds|\btook\b|duration|speed|throughput|per_s\b|_per_sec|fps|perf_counter|monotonic\(|"
    r"time\(|timeit|timing|\bsec\b|_sec\b|s per epoch|s/epoch|wall|peak|rss|memory|max_memory|tracemalloc)",
    re.I,
)
MILLIS = re.compile(r"(\bms\b|_ms\b|\bms_)")  # lower case only: "MS" is pandas' month-start frequency


def _clocky(word: str, tainted: set[str]) -> bool:
    return bool(CLOCKY.search(word) or MILLIS.search(word)) or word in tainted


def _words(node: ast.AST) -> list[str]:
    """Every identifier, attribute, string constant and call name inside ``node``."""
    out: list[str] = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            out.append(sub.id)
        elif isinstance(sub, ast.Attribute):
            out.append(sub.attr)
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            out.append(sub.value)
        elif isinstance(sub, ast.Call):
            func = sub.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            out.append(f"{name}(")
    return out


def _parse(source: str) -> ast.Module:
    return ast.parse("\n".join(ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))))


# Calls whose result carries a timing on (a clock, or a summary of measured numbers).
_PASS_THROUGH = {"perf_counter", "perf_counter_ns", "monotonic", "time", "process_time", "median", "mean", "min", "max"}


def _arithmetic(value: ast.expr) -> bool:
    """True for expressions that compute a number from their inputs (a ratio, a difference, a lookup), so a timing
    going in means a timing coming out; False for building tables or calling models, which would taint too much."""
    if isinstance(value, (ast.BinOp, ast.UnaryOp, ast.Name, ast.Compare)):
        return True
    if isinstance(value, ast.Subscript):  # a direct lookup, not a table built by a chain of calls
        return isinstance(value.value, ast.Name)
    if isinstance(value, ast.Call):
        func = value.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        return name in _PASS_THROUGH
    return False


def tainted_names(sources: list[str]) -> set[str]:
    """Variables assigned (in any cell) from an expression that measures time, speed or memory, transitively."""
    assigns: list[tuple[list[str], list[str]]] = []
    for src in sources:
        for node in ast.walk(_parse(src)):
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
                if names and _arithmetic(node.value):
                    assigns.append((names, _words(node.value)))
    tainted: set[str] = set()
    changed = True
    while changed:
        changed = False
        for names, words in assigns:
            if any(_clocky(w, tainted) for w in words) and not set(names) <= tainted:
                tainted |= set(names)
                changed = True
    return tainted


def clock_asserts(source: str, tainted: set[str] | None = None) -> list[str]:
    """The asserts in ``source`` whose condition (not their message) measures time, speed or memory."""
    tree = _parse(source)
    tainted = tainted_names([source]) if tainted is None else tainted
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            hits = [w for w in _words(node.test) if _clocky(w, tainted)]
            if hits:
                found.append(f"line {node.lineno}: assert {ast.unparse(node.test)[:120]}  (uses {sorted(set(hits))})")
    return found


@pytest.mark.parametrize(
    "source, flagged",
    [
        ("assert lite_ms < resnet_ms", True),
        ("assert zoo.loc['Lite0', 'CPU ms / image'] < 50", True),
        ("assert timings['detr'] / timings['yolo'] > 3", True),
        ("ratio = speed['detr'] / speed['yolo']\nassert ratio > 3, speed", True),  # a name computed from a timing
        ("t0 = time.perf_counter()\nt_detr = time.perf_counter() - t0\nassert t_detr > 0.5", True),
        ("assert len(air) == 144 and air.index.freqstr == 'MS'", False),
        ("assert peak_mb['lora'] < peak_mb['full']", True),
        ("assert time.perf_counter() - t0 < 5", True),
        ("assert len(boxes) == 4, 'took the wrong boxes'", False),  # words in the message do not count
        ("assert acc > 0.8 and n_params == 74_498", False),
    ],
)
def test_the_scan_tells_clocks_from_counts(source: str, flagged: bool) -> None:
    assert bool(clock_asserts(source)) is flagged


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.name)
def test_no_notebook_asserts_on_time_speed_or_memory(path: Path) -> None:
    cells = code_cells(path)
    tainted = tainted_names(cells)
    problems = [f"cell {i}: {hit}" for i, src in enumerate(cells) for hit in clock_asserts(src, tainted)]
    assert not problems, (
        f"{path.name} asserts on a measurement of time, speed or memory (the guide's trust rules: measure with a "
        "warm-up and a median, show and explain; never assert): " + "; ".join(problems)
    )
