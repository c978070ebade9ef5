"""The guarded Colab cell: nothing happens off Colab; on Colab it installs once, asks for a restart, then moves in.

The cell is executed here as Colab would run it, with ``google.colab`` present and ``subprocess.run``
recording instead of cloning, so what the student sees can be checked without Colab. ``course.sh
colab`` itself runs with a stand-in Python that records the pip commands it is given.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from course_utils.tools import colab

ROOT = Path(__file__).resolve().parents[1]


def _run_cell(
    source: str, monkeypatch: pytest.MonkeyPatch, *, on_colab: bool, have: set[str]
) -> tuple[list[list[str]], str | None]:
    """Run the cell; return the commands it ran and the message it stopped with (None if it did not stop)."""
    calls: list[list[str]] = []

    def fake_run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(list(cmd))
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(os.path, "isdir", lambda p: p in have)
    monkeypatch.setattr(os.path, "exists", lambda p: p in have)
    monkeypatch.setattr(os, "chdir", lambda p: calls.append(["chdir", p]))
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    try:
        exec(compile(source, "<colab cell>", "exec"), {})
    except SystemExit as stop:
        return calls, str(stop)
    return calls, None


URL = "https://example.org/course.git"


def test_off_colab_the_cell_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _run_cell(colab.colab_cell(URL), monkeypatch, on_colab=False, have=set()) == ([], None)


def test_on_colab_it_clones_installs_and_asks_for_a_restart(monkeypatch: pytest.MonkeyPatch) -> None:
    calls, stop = _run_cell(colab.colab_cell(URL), monkeypatch, on_colab=True, have=set())
    assert calls == [
        ["git", "clone", "--depth", "1", URL, "/content/course"],
        ["bash", "/content/course/course.sh", "colab"],
    ]
    assert stop is not None and "Restart session" in stop  # Run all stops here: nothing runs on the old torch


def test_after_the_restart_it_only_moves_into_the_notebooks(monkeypatch: pytest.MonkeyPatch) -> None:
    have = {"/content/course", "/content/course/.colab-installed"}
    assert _run_cell(colab.colab_cell(URL), monkeypatch, on_colab=True, have=have) == (
        [["chdir", "/content/course/notebooks"]],
        None,
    )


def test_a_copy_that_does_not_know_its_repository_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    calls, stop = _run_cell(colab.colab_cell(colab.PLACEHOLDER), monkeypatch, on_colab=True, have=set())
    assert calls == [] and stop is not None and "Set COURSE_REPO" in stop


def test_the_cell_names_the_repository_of_pyproject(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n[project.urls]\nRepository = "https://example.org/c.git"\n')
    assert colab.repository_url(pyproject) == "https://example.org/c.git"
    pyproject.write_text('[project]\nname = "x"\n')
    assert colab.repository_url(pyproject) == colab.PLACEHOLDER


def test_ensure_colab_cell_inserts_once_and_replaces_an_old_version() -> None:
    nb: dict[str, Any] = {"cells": [{"cell_type": "markdown", "source": "# T"}, {"cell_type": "code", "source": "x"}]}
    assert colab.ensure_colab_cell(nb, URL) and not colab.ensure_colab_cell(nb, URL)
    assert [c["cell_type"] for c in nb["cells"]] == ["markdown", "code", "code"]
    assert colab.ensure_colab_cell(nb, "https://example.org/other.git")  # a new address rewrites the cell
    assert "other.git" in "".join(nb["cells"][1]["source"]) and len(nb["cells"]) == 3


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_course_sh_colab_installs_the_pins_into_the_running_python(tmp_path: Path) -> None:
    for name in ("course.sh", "requirements.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    log = tmp_path / "pip.log"
    fake = tmp_path / "python3"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    fake.chmod(0o755)
    # system packages are installed already here (set-up); PATH keeps apt-get away if any is missing
    done = subprocess.run(
        ["bash", str(tmp_path / "course.sh"), "colab"],
        env={**os.environ, "COURSE_PYTHON": str(fake)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = log.read_text().splitlines()
    assert any("-m pip install" in x and "--require-hashes" in x for x in lines), lines  # uv, at the lock's hashes
    assert any(
        f"-m uv pip install --quiet --python {fake} --no-deps --require-hashes -r {tmp_path}/requirements.txt" in x
        for x in lines
    ), lines
    assert any(f"--no-deps --no-build-isolation -e {tmp_path}" in x for x in lines), lines
    assert (tmp_path / ".colab-installed").exists() and "restart the session" in done.stdout


def test_the_cell_is_stored_collapsed_and_replaces_the_older_colab_cell() -> None:
    old = "# Colab only: install the course and its pinned packages (one step)\nimport os\n"
    nb: dict[str, Any] = {"cells": [{"cell_type": "code", "metadata": {}, "source": old}]}
    assert colab.ensure_colab_cell(nb, URL)
    (cell,) = nb["cells"]
    assert "".join(cell["source"]) == colab.colab_cell(URL)
    assert cell["metadata"]["jupyter"]["source_hidden"] and "hide-input" in cell["metadata"]["tags"]


def test_the_placeholder_check_is_only_there_while_pyproject_has_no_address() -> None:
    assert "YOUR-ACCOUNT" in colab.colab_cell(colab.PLACEHOLDER) and "YOUR-ACCOUNT" not in colab.colab_cell(URL)


OLD_SETUP = """# The course's setup: device, seeds, offline switches, and the copy of each model this machine has.
try:
    from course_utils import setup
except ModuleNotFoundError:
    raise ModuleNotFoundError(
        "course_utils is not installed in this kernel."
    ) from None

session = setup(models=["minilm-l6"])
from course_utils.checks import expect
"""


def test_setup_first_moves_the_import_out_of_the_first_visible_cell() -> None:
    nb: dict[str, Any] = {"cells": [{"cell_type": "code", "source": "x"}, {"cell_type": "code", "source": OLD_SETUP}]}
    assert colab.setup_first(nb) == (True, None)
    assert (
        "".join(nb["cells"][1]["source"])
        == 'session = setup(models=["minilm-l6"])\nfrom course_utils.checks import expect\n'
    )
    assert colab.setup_first(nb) == (False, None)


def test_setup_first_names_a_cell_with_code_before_the_call() -> None:
    nb: dict[str, Any] = {
        "cells": [{"cell_type": "code", "source": "x"}, {"cell_type": "code", "source": "import os\n" + OLD_SETUP}]
    }
    changed, problem = colab.setup_first(nb)
    assert changed and problem is not None and "session = setup(...)" in problem


def test_the_command_reports_what_it_cannot_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nb.ipynb"
    nb = {
        "cells": [{"cell_type": "code", "metadata": {}, "source": "print(1)\n"}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb))
    assert colab.main([str(path)]) == 1  # the set-up cell is written, but there is no cell calling setup()
    assert "must start with `session = setup(...)`" in capsys.readouterr().out
    written = json.loads(path.read_text(encoding="utf-8"))
    assert "".join(written["cells"][0]["source"]) == colab.colab_cell()
