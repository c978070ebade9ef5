"""Rehearsal: the offline suite runs each real-model-only branch once with the stand-in, to find code bugs early.

A notebook checks a real model's answer under a gate (``if yolo.is_real: expect(...)``). Offline the gate is
false, so that code would first run on a connected user's machine, and a typo in it would be found there. With
``COURSE_REHEARSE_LOG`` set (the test suite sets it for each notebook; a user never does), :func:`setup`
registers an IPython AST transformer: each ``if``/``elif`` whose condition reads ``.is_real`` and which would be
taken with real weights (the condition with every ``.is_real`` read as ``True`` holds) but is not taken now has
its body executed anyway, with the stand-in:

* in a shallow copy of the notebook's namespace (its assignments do not reach later cells; objects changed in
  place are shared, so a branch should not change them);
* with its printing, displays and new figures dropped, warnings silenced and the random generators restored;
* with ``expect(...)`` and ``assert`` computed but not judged: a stand-in's answer means nothing, so the log
  records the checks as "not judged (stand-in)", never as passed.

Each rehearsal appends a JSON line to the log: the gate, the outcome and the error if any. Outcomes:

* ``ran``: the whole branch ran;
* ``stopped by the stand-in's answer``: an error that real weights would not give (``KeyError: 'person'`` when a
  random detector found no person, an ``IndexError`` on an empty result, a ``ValueError`` from a random number);
* ``bug``: an error that any weights would give, so the cell fails with :class:`RehearsalError`. These are
  ``NameError`` (and ``UnboundLocalError``), ``ImportError``, ``SyntaxError``, ``AttributeError`` and
  ``TypeError``: a wrong name, a wrong attribute or a wrong call signature. A stand-in has the real model's
  class and interface (``tests/test_standins.py``), so an attribute that the stand-in lacks is missing from
  the real model too. One exception: the error is about ``None`` (``'NoneType' object has no attribute ...``),
  which an empty answer can give (``re.search`` finding nothing in random text);
* ``not rehearsable``: the branch leaves its block (``return``, ``break``, ``continue``, ``yield``, ``await``),
  which a separate execution cannot do; the list of branches (``tests/online_branches.toml``) says so.

Branches inside a function or class body are not rehearsed: their names are local to a call. Conditional
expressions (``0.25 if yolo.is_real else 2e-5``) are not either: in the notebooks their real arm is a constant
(``tests/test_online_branches.py`` keeps it so), which has no code to exercise.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import io
import json
import logging
import os
import random
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType, TracebackType
from typing import Any

#: A JSON-lines file; when set, :func:`install_from_env` (called by ``setup()``) turns the rehearsal on.
LOG_ENV = "COURSE_REHEARSE_LOG"

RAN = "ran"
STOPPED = "stopped by the stand-in's answer"
BUG = "bug"
NOT_REHEARSABLE = "not rehearsable"
VERDICT = "not judged (stand-in)"

#: A folder: a notebook runner that sets it gives each notebook's kernel its own log there (``<stem>.jsonl``).
DIR_ENV = "COURSE_REHEARSE_DIR"

#: What ``tests/online_branches.toml`` says of a real-model branch that the suite rehearses (``{nb}``: 01, 02...).
LISTED = (
    "rehearsed with the stand-in by the notebook's offline test (notebooks/{nb}): its code runs there; "
    "its verdict is judged only with the real weights (./course.sh online-report)"
)
#: ... and of one whose gate also needs something only the online run has (``TABPFN and tabpfn_copy.is_real``).
ONLINE_LISTED = (
    "rehearsed with the stand-in by the online run against the local hub "
    "(tests/test_online_path.py::test_notebook_runs_online[{nb}]): its code runs there; "
    "its verdict is judged only with the real weights (./course.sh online-report)"
)

_CODE_ERRORS = (NameError, ImportError, SyntaxError, AttributeError, TypeError)


class RehearsalError(Exception):
    """A real-model branch failed in a way any weights would: a bug the first connected user would meet."""


@dataclass
class Branch:
    """One gated branch the transformer found, with what its rehearsal needs."""

    gate: str  # the condition, as ast.unparse writes it
    line: int  # the line of the ``if`` in its cell
    cell: str  # the cell's first statement, to find the cell
    log: Path
    would_run: CodeType | None = None  # the condition with every ``.is_real`` read as True
    body: CodeType | None = None
    statements: dict[int, str] = field(default_factory=dict)  # line -> the statement that starts there
    reason: str = ""  # why the branch cannot be rehearsed (body is None)


_BRANCHES: list[Branch] = []
_ASSERT = "__course_rehearsal_assert__"  # bound in the rehearsal's copy of the namespace only


def is_real_gate(test: ast.expr) -> bool:
    """True when the condition reads a model's ``.is_real`` (the branch needs a real model)."""
    return any(isinstance(n, ast.Attribute) and n.attr == "is_real" for n in ast.walk(test))


class _AssumeReal(ast.NodeTransformer):
    """``x.is_real`` -> ``True``: the condition as it would read with real weights."""

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if node.attr == "is_real" and isinstance(node.ctx, ast.Load):
            return ast.copy_location(ast.Constant(True), node)
        return self.generic_visit(node)


class _Unjudged(ast.NodeTransformer):
    """``assert c, m`` -> ``_ASSERT(c)``: the check is computed (its code runs), counted, and its verdict dropped."""

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        call = ast.Call(ast.Name(_ASSERT, ast.Load()), [node.test], [])
        return ast.copy_location(ast.Expr(call), node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return node  # a function's own asserts belong to its callers

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        return node


def _leaves_block(body: list[ast.stmt]) -> str:
    """The statement that would leave the branch's block (``return``...), or "" when it stays inside."""

    def walk(node: ast.AST, in_loop: bool) -> str:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            return ""
        if isinstance(node, ast.Return | ast.Yield | ast.YieldFrom | ast.Await):
            return type(node).__name__.lower()
        if isinstance(node, ast.Break | ast.Continue) and not in_loop:
            return type(node).__name__.lower()
        if isinstance(node, ast.For | ast.AsyncFor | ast.While):  # break/continue inside belong to the loop
            inside = [walk(child, True) for child in node.body]
            outside = [walk(child, in_loop) for child in node.orelse]
            return next((found for found in inside + outside if found), "")
        return next((found for found in (walk(c, in_loop) for c in ast.iter_child_nodes(node)) if found), "")

    for stmt in body:
        found = walk(stmt, False)
        if found:
            return found
    return ""


class RehearsalTransformer(ast.NodeTransformer):
    """Adds a rehearsal of the body to the ``else`` of every real-model ``if`` outside functions and classes."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self._cell = ""

    def visit_Module(self, node: ast.Module) -> ast.AST:
        self._cell = ast.unparse(node.body[0]).splitlines()[0][:120] if node.body else ""
        self.generic_visit(node)
        return node

    # Names in these bodies are local to a call: the branch cannot run on its own.
    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return node

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        return node

    def visit_If(self, node: ast.If) -> ast.AST:
        self.generic_visit(node)  # nested gates and the elif chain first
        if not is_real_gate(node.test):
            return node
        branch = Branch(gate=ast.unparse(node.test), line=node.lineno, cell=self._cell, log=self.log)
        leaves = _leaves_block(node.body)
        if leaves:
            branch.reason = f"the branch has a `{leaves}` statement, which a separate run cannot execute"
        else:
            filename = f"<rehearsal of `if {branch.gate}:`>"
            test = ast.Expression(_AssumeReal().visit(copy.deepcopy(node.test)))
            branch.would_run = compile(ast.fix_missing_locations(test), filename, "eval")
            body = ast.Module([_Unjudged().visit(copy.deepcopy(s)) for s in node.body], type_ignores=[])
            try:
                branch.body = compile(ast.fix_missing_locations(body), filename, "exec")
            except SyntaxError as exc:  # IPython would drop a transformer that raises: log it instead
                branch.would_run, branch.reason = None, f"the branch does not compile on its own: {exc}"
            branch.statements = {
                s.lineno: ast.unparse(s).splitlines()[0] for s in ast.walk(body) if isinstance(s, ast.stmt)
            }
        _BRANCHES.append(branch)
        call = ast.parse(f"__import__({__name__!r}, fromlist=['_']).rehearse({len(_BRANCHES) - 1}, globals())")
        for sub in ast.walk(call.body[0]):
            ast.copy_location(sub, node)  # errors in the call point at the gate's line
        node.orelse = [call.body[0], *node.orelse]
        return node


def is_code_error(exc: BaseException) -> bool:
    """True for an error any weights would give (see the module's docstring); False for one the answer caused."""
    if isinstance(exc, AttributeError) and getattr(exc, "obj", object()) is None:
        return False
    if isinstance(exc, TypeError) and "NoneType" in str(exc):
        return False
    return isinstance(exc, _CODE_ERRORS)


@dataclass
class _Checks:
    """Counts the meaning checks a rehearsal computed (none of them judged)."""

    expected: list[str] = field(default_factory=list)
    asserts: int = 0

    def count(self) -> dict[str, int]:
        return {"expect": len(self.expected), "assert": self.asserts}

    def assertion(self, condition: object) -> None:
        bool(condition)
        self.asserts += 1

    def expect(self, condition: object, expected: str, got: object = None) -> bool:
        bool(condition)  # as the real expect does: an ambiguous truth value is a bug with any weights
        self.expected.append(str(expected))
        return True


@contextlib.contextmanager
def _quiet(checks: _Checks, namespace: dict[str, Any]) -> Iterator[None]:
    """Output and logging dropped, warnings silenced, new figures closed, random state restored, expect recorded."""
    from . import checks as checks_module

    real_expect = checks_module.expect
    restores: list[Callable[[], None]] = []
    state = random.getstate()
    restores.append(lambda: random.setstate(state))
    if "numpy" in sys.modules:
        np_random = sys.modules["numpy"].random
        np_state = np_random.get_state()
        restores.append(lambda: np_random.set_state(np_state))
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        torch_state = torch.get_rng_state()
        restores.append(lambda: torch.set_rng_state(torch_state))
        if torch.cuda.is_initialized():
            cuda_states = torch.cuda.get_rng_state_all()
            restores.append(lambda: torch.cuda.set_rng_state_all(cuda_states))
    logging_level = logging.root.manager.disable
    restores.append(lambda: logging.disable(logging_level))
    logging.disable(logging.CRITICAL)  # library loggers hold the notebook's stream from before the capture
    plt = sys.modules.get("matplotlib.pyplot")
    figures = set(plt.get_fignums()) if plt is not None else set()
    show = plt.show if plt is not None else None
    for name, value in list(namespace.items()):
        if value is real_expect:
            namespace[name] = checks.expect
    checks_module.expect = checks.expect  # type: ignore[assignment]
    try:
        if plt is not None:
            setattr(plt, "show", lambda *args, **kwargs: None)  # noqa: B010 (a module typed as ModuleType)
        with warnings.catch_warnings(), _captured():
            warnings.simplefilter("ignore")
            yield
    finally:
        checks_module.expect = real_expect  # type: ignore[assignment]
        if plt is not None:
            setattr(plt, "show", show)  # noqa: B010
            for number in set(plt.get_fignums()) - figures:
                plt.close(number)
        for restore in restores:
            restore()


@contextlib.contextmanager
def _captured() -> Iterator[None]:
    """Drops what the branch prints or displays (IPython's capture in a kernel, plain redirection elsewhere)."""
    try:
        from IPython.utils.capture import capture_output
    except ImportError:  # plain Python
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
        return
    with capture_output(stdout=True, stderr=True, display=True):
        yield


def _where(branch: Branch, tb: TracebackType | None) -> str:
    """The branch's own line where the error came from: 'line N: statement'."""
    line = branch.line
    filename = branch.body.co_filename if branch.body is not None else ""
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename and tb.tb_lineno is not None:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f"line {line} of the cell: {branch.statements.get(line, '').strip()}"


def _record(branch: Branch, outcome: str, **extra: object) -> None:
    record = {"gate": branch.gate, "line": branch.line, "cell": branch.cell, "outcome": outcome, **extra}
    branch.log.parent.mkdir(parents=True, exist_ok=True)
    with branch.log.open("a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")


def rehearse(index: int, namespace: dict[str, Any]) -> None:
    """Called from the ``else`` the transformer added: run branch ``index``'s body with the stand-in, if it applies.

    Raises:
        RehearsalError: the body failed with an error any weights would give (see the module's docstring).
    """
    branch = _BRANCHES[index]
    if branch.body is None or branch.would_run is None:
        _record(branch, NOT_REHEARSABLE, reason=branch.reason)
        return
    checks = _Checks()
    scratch = dict(namespace) | {_ASSERT: checks.assertion}
    start = time.perf_counter()
    try:
        with _quiet(checks, scratch):
            if not eval(branch.would_run, scratch):  # not taken with real weights either: nothing to rehearse
                return
            exec(branch.body, scratch)
    except RehearsalError:
        raise  # a nested branch's bug, already described
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
        where = _where(branch, exc.__traceback__)
        if is_code_error(exc):
            _record(branch, BUG, error=error, where=where)
            raise RehearsalError(
                f"the real-model branch `if {branch.gate}:` (line {branch.line} of the cell) fails with any "
                f"weights: {error} at {where}. Offline the stand-in ran this branch in rehearsal; a connected "
                "user would meet this error. Fix the branch (or the stand-in, if its interface differs from the "
                "real model's)."
            ) from exc
        seconds = round(time.perf_counter() - start, 3)
        _record(branch, STOPPED, error=error, where=where, checks=checks.count(), verdict=VERDICT, seconds=seconds)
        return
    _record(branch, RAN, checks=checks.count(), verdict=VERDICT, seconds=round(time.perf_counter() - start, 3))


def install(shell: Any, log: str | Path) -> RehearsalTransformer:
    """Register the transformer in an IPython ``shell`` (once; a second call points it at ``log``)."""
    for transformer in shell.ast_transformers:
        if isinstance(transformer, RehearsalTransformer):
            transformer.log = Path(log)
            return transformer
    transformer = RehearsalTransformer(Path(log))
    shell.ast_transformers.append(transformer)
    return transformer


def install_from_env() -> bool:
    """Turn the rehearsal on in this IPython kernel when ``COURSE_REHEARSE_LOG`` is set; True when it is on."""
    path = os.environ.get(LOG_ENV, "").strip()
    if not path:
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    install(shell, path)
    return True


def read_log(path: Path) -> list[dict[str, Any]]:
    """The records of a rehearsal log (none when it does not exist)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def taken_with_real_weights(gate: str) -> bool:
    """True when real weights alone take the branch (``x.is_real``; not ``TABPFN and x.is_real``, ``not x.is_real``)."""
    test = _AssumeReal().visit(ast.parse(gate.strip(), mode="eval"))
    try:
        return bool(eval(compile(ast.fix_missing_locations(test), "<gate>", "eval"), {"__builtins__": {}}))
    except Exception:  # it reads another name: it needs more than the weights
        return False


def unrehearsed(listed: list[str], records: list[dict[str, Any]]) -> list[str]:
    """The gates of ``listed`` that no record shows rehearsed (ran, stopped by the answer, or failed as a bug)."""
    done = {normalize(r["gate"]) for r in records if r["outcome"] in (RAN, STOPPED, BUG)}
    return [gate for gate in listed if normalize(gate) not in done]


def normalize(gate: str) -> str:
    """A condition as the log writes it (``ast.unparse``), so a gate from the list and the log compare equal."""
    return ast.unparse(ast.parse(gate.strip(), mode="eval").body)
