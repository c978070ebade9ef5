"""The rehearsal runs a real-model branch with the stand-in: its code runs, its verdict is not judged, bugs fail."""

from __future__ import annotations

import ast
import io
import logging
import random
from pathlib import Path
from typing import Any

import pytest

from course_utils import rehearse
from course_utils.checks import expect

STANDIN = "class Model:\n    is_real = False\nmodel = Model()\n"


def run(code: str, log: Path, namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    """Execute ``code`` as a notebook cell with the transformer, in ``namespace`` (the kernel's globals)."""
    tree = rehearse.RehearsalTransformer(log).visit(ast.parse(code))
    ns = {"expect": expect} if namespace is None else namespace
    exec(compile(ast.fix_missing_locations(tree), "<cell>", "exec"), ns)
    return ns


def test_a_real_model_branch_is_rehearsed_and_its_checks_are_not_judged(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    code = STANDIN + (
        "labels = ['cat']\n"
        "if model.is_real:\n"
        "    top = labels[0].upper()\n"
        "    expect(top == 'DOG', 'the top label is a dog', top)\n"  # false: strict expect would raise
        "    assert top == 'DOG'\n"
        "    reached_the_end = True\n"
    )
    run(code, log)
    [record] = rehearse.read_log(log)
    assert record["gate"] == "model.is_real" and record["outcome"] == rehearse.RAN
    assert record["checks"] == {"expect": 1, "assert": 1} and record["verdict"] == rehearse.VERDICT


def test_its_assignments_do_not_reach_the_notebook(tmp_path: Path) -> None:
    ns = run(STANDIN + "x = 1\nif model.is_real:\n    x = 2\n    y = 3\nelse:\n    z = 4\n", tmp_path / "log.jsonl")
    assert ns["x"] == 1 and "y" not in ns and ns["z"] == 4  # the stand-in's own branch still runs


def test_a_name_error_fails_the_cell_naming_the_gate(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    with pytest.raises(rehearse.RehearsalError, match=r"if model\.is_real:.*NameError.*detections") as info:
        run(STANDIN + "if model.is_real:\n    n = len(detections)\n", log)
    assert "line 5 of the cell: n = len(detections)" in str(info.value)
    assert rehearse.read_log(log)[0]["outcome"] == rehearse.BUG


@pytest.mark.parametrize(
    "line",
    [
        "import numpy.not_a_module",  # ImportError
        "import math; math.not_a_function(1)",  # AttributeError on a module
        "len(1, 2)",  # TypeError: a wrong call
    ],
)
def test_errors_any_weights_would_give_fail(tmp_path: Path, line: str) -> None:
    with pytest.raises(rehearse.RehearsalError):
        run(STANDIN + f"if model.is_real:\n    {line}\n", tmp_path / "log.jsonl")


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("counts = {'bus': 1}; counts['person']", "KeyError: 'person'"),  # a random detector found no person
        ("[][0]", "IndexError"),  # an empty answer
        ("import re; re.search('cat', 'xq zv').group()", "AttributeError: 'NoneType'"),  # nothing found
        ("max([])", "ValueError"),
    ],
)
def test_an_error_the_answer_caused_is_recorded_and_the_cell_goes_on(tmp_path: Path, line: str, error: str) -> None:
    log = tmp_path / "log.jsonl"
    ns = run(STANDIN + f"if model.is_real:\n    {line}\nafter = True\n", log)
    [record] = rehearse.read_log(log)
    assert ns["after"] and record["outcome"] == rehearse.STOPPED and record["error"].startswith(error)
    assert record["verdict"] == rehearse.VERDICT


def test_other_ifs_are_untouched(tmp_path: Path) -> None:
    code = "if x > 1:\n    pass\nelif model.is_standin:\n    pass\nif session.offline:\n    pass\n"
    after = rehearse.RehearsalTransformer(tmp_path / "log").visit(ast.parse(code))
    assert ast.dump(after) == ast.dump(ast.parse(code))


def test_a_stand_in_branch_is_not_rehearsed(tmp_path: Path) -> None:
    """``if not model.is_real:`` is the stand-in's branch: real weights would not take it."""
    ns = run(STANDIN + "if not model.is_real:\n    y = 1\nelse:\n    y = undefined\n", tmp_path / "log.jsonl")
    assert ns["y"] == 1 and not (tmp_path / "log.jsonl").exists()


def test_a_branch_that_needs_more_than_real_weights_is_not_rehearsed(tmp_path: Path) -> None:
    """``TABPFN and model.is_real`` with no TabPFN: real weights would not take it either."""
    run(STANDIN + "TABPFN = None\nif TABPFN and model.is_real:\n    TABPFN()\n", tmp_path / "log.jsonl")
    assert not (tmp_path / "log.jsonl").exists()


def test_a_taken_branch_runs_as_usual(tmp_path: Path) -> None:
    ns = run(STANDIN.replace("False", "True") + "if model.is_real:\n    y = 1\n", tmp_path / "log.jsonl")
    assert ns["y"] == 1 and not (tmp_path / "log.jsonl").exists()


def test_elif_and_nested_gates_are_rehearsed(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    code = (
        STANDIN
        + "if 1 > 2:\n    pass\nelif model.is_real:\n    for i in range(2):\n        if model.is_real:\n            i\n"
    )
    run(code, log)
    assert [r["gate"] for r in rehearse.read_log(log)] == ["model.is_real"] * 3  # outer once, inner in each turn


def test_a_branch_in_a_function_is_left_alone(tmp_path: Path) -> None:
    code = STANDIN + "def f():\n    if model.is_real:\n        return undefined\n    return 1\nf()\n"
    run(code, tmp_path / "log.jsonl")
    assert not (tmp_path / "log.jsonl").exists()


def test_a_branch_that_leaves_its_block_is_logged_as_not_rehearsable(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    run(STANDIN + "for i in range(1):\n    if model.is_real:\n        break\n", log)
    [record] = rehearse.read_log(log)
    assert record["outcome"] == rehearse.NOT_REHEARSABLE and "break" in record["reason"]
    run(STANDIN + "if model.is_real:\n    for i in range(3):\n        if i:\n            break\n", log)
    assert rehearse.read_log(log)[-1]["outcome"] == rehearse.RAN  # a break of its own loop is fine


def test_nothing_is_printed_and_the_random_state_is_kept(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    random.seed(5)
    expected = random.random()
    random.seed(5)
    code = STANDIN + "import random, sys\nif model.is_real:\n    print('noise')\n    print('more', file=sys.stderr)\n"
    stream = io.StringIO()
    logger = logging.getLogger("a_library")
    logger.addHandler(logging.StreamHandler(stream))  # as a library does at import, before the rehearsal
    code += "    random.random()\n    import warnings; warnings.warn('loud')\n"
    run(code + "    import logging; logging.getLogger('a_library').warning('chatter')\n", tmp_path / "log.jsonl")
    assert random.random() == expected
    assert capsys.readouterr() == ("", "") and stream.getvalue() == ""
    logger.warning("after")
    assert stream.getvalue() == "after\n"  # logging is back on after the rehearsal


def test_figures_it_opens_are_closed(tmp_path: Path) -> None:
    plt = pytest.importorskip("matplotlib.pyplot")
    plt.close("all")
    run(
        STANDIN + "import matplotlib.pyplot as plt\nif model.is_real:\n    plt.figure()\n    plt.show()\n",
        tmp_path / "l",
    )
    assert plt.get_fignums() == []


def test_in_an_ipython_shell_a_bug_fails_the_cell_and_display_is_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shell_module = pytest.importorskip("IPython.core.interactiveshell")
    shell = shell_module.InteractiveShell.instance()
    log = tmp_path / "log.jsonl"
    monkeypatch.setenv(rehearse.LOG_ENV, str(log))
    monkeypatch.setattr(shell, "ast_transformers", [])
    monkeypatch.setattr("IPython.get_ipython", lambda: shell)
    shown: list[str] = []
    from IPython.core.displaypub import DisplayPublisher

    class Recorder(DisplayPublisher):
        def publish(self, data: dict[str, str], *args: object, **kwargs: object) -> None:
            shown.append(data["text/plain"])

    monkeypatch.setattr(shell, "display_pub", Recorder())
    assert rehearse.install_from_env() and rehearse.install_from_env()
    assert len(shell.ast_transformers) == 1  # setup() called twice in a notebook: one transformer
    shell.run_cell(STANDIN)
    ok = shell.run_cell("from IPython.display import display\nif model.is_real:\n    display('shown?')\n")
    assert ok.success and rehearse.read_log(log)[-1]["outcome"] == rehearse.RAN
    assert shown == []  # in a kernel, display goes to the notebook through the shell's publisher, not stdout
    shell.run_cell("display('shown')")
    assert shown == ["'shown'"]  # (the recorder below sees a display outside a rehearsal)
    failed = shell.run_cell("if model.is_real:\n    model.no_such_attribute\n")
    assert isinstance(failed.error_in_exec, rehearse.RehearsalError)
    assert "no_such_attribute" in str(failed.error_in_exec)


def test_without_the_variable_nothing_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(rehearse.LOG_ENV, raising=False)
    assert not rehearse.install_from_env()


def test_the_list_and_the_log_compare_the_same_gate() -> None:
    assert rehearse.normalize('session.models["x"].is_real') == rehearse.normalize("session.models['x'].is_real")
    listed = ["a.is_real", "b.is_real and c"]
    records = [
        {"gate": "a.is_real", "outcome": rehearse.STOPPED},
        {"gate": "b.is_real and c", "outcome": rehearse.NOT_REHEARSABLE},
    ]
    assert rehearse.unrehearsed(listed, records) == ["b.is_real and c"]
    assert rehearse.unrehearsed(listed, []) == listed


def test_a_body_that_does_not_compile_alone_is_logged_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """IPython drops a transformer that raises; the transformer logs the branch as not rehearsable instead."""

    def compile_fails_for_bodies(source: Any, filename: str, mode: str) -> Any:
        if mode == "exec":
            raise SyntaxError("not on its own")
        return compile(source, filename, mode)

    monkeypatch.setattr(rehearse, "compile", compile_fails_for_bodies, raising=False)
    log = tmp_path / "log.jsonl"
    tree = rehearse.RehearsalTransformer(log).visit(ast.parse(STANDIN + "if model.is_real:\n    pass\n"))
    monkeypatch.undo()
    exec(compile(ast.fix_missing_locations(tree), "<cell>", "exec"), {})
    [record] = rehearse.read_log(log)
    assert record["outcome"] == rehearse.NOT_REHEARSABLE and "not on its own" in record["reason"]
