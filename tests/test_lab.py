# mypy: disable-error-code="attr-defined, union-attr, arg-type, index, call-overload, list-item, misc, func-returns-value"
# (this test feeds libraries values their stubs describe more narrowly than they accept, or wrong types on purpose)
"""``./course.sh lab`` serves the course, also as root, with the course's JupyterLab settings."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests
from support.labrunner import ROOT, running_lab

from course_utils.tools import notebook_files as labmeta


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with running_lab(tmp_path_factory.mktemp("lab")) as running:
        yield running


def test_lab_page_answers(lab) -> None:  # type: ignore[no-untyped-def]
    page = requests.get(lab.url("lab"), timeout=30)
    assert page.status_code == 200, page.status_code
    assert "<title>JupyterLab</title>" in page.text and "jupyter-config-data" in page.text
    if os.getuid() == 0:
        assert "--allow-root" in lab.output(), "as root, course.sh says it passes --allow-root"
    assert "Running as root is not recommended" not in lab.output()


def test_lab_serves_the_notebooks(lab) -> None:  # type: ignore[no-untyped-def]
    listing = requests.get(lab.url("api/contents"), timeout=30).json()
    served = {item["name"] for item in listing["content"]}
    assert {p.name for p in (ROOT / "notebooks").glob("*.ipynb")} <= served


def test_no_news_pop_up(lab) -> None:  # type: ignore[no-untyped-def]
    """The 'notified about official Jupyter news?' question is asked only while fetchNews is 'none'."""
    answer = requests.get(lab.url("lab/api/settings/@jupyterlab/apputils-extension:notification"), timeout=30)
    schema = answer.json()["schema"]["properties"]
    assert schema["fetchNews"]["default"] == "false"
    assert schema["checkForUpdates"]["default"] is False


def test_lab_writes_its_settings_to_the_given_folder(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    key = "@jupyterlab/apputils-extension:notification"
    sent = requests.put(
        lab.url(f"lab/api/settings/{key}"),
        data=json.dumps({"raw": '{"doNotDisturbMode": true}'}),
        timeout=30,
    )
    assert sent.status_code == 204, sent.text
    written = (
        lab.log.parent / "user-settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    )
    assert written.is_file(), "settings go to JUPYTERLAB_SETTINGS_DIR, not the user's ~/.jupyter"


def test_notebook_is_sent_with_the_kernels_language_info(lab) -> None:  # type: ignore[no-untyped-def]
    """What JupyterLab receives already holds what the kernel will report, so it is not marked modified."""
    from ipykernel.ipkernel import IPythonKernel

    name = sorted((ROOT / "notebooks").glob("*.ipynb"))[0].name
    model = requests.get(lab.url(f"api/contents/{name}"), timeout=30).json()
    assert model["content"]["metadata"]["language_info"] == IPythonKernel.language_info
    assert model["content"]["metadata"]["kernelspec"] == labmeta.KERNELSPEC


def test_stored_language_info_is_ipykernels() -> None:
    from ipykernel.ipkernel import IPythonKernel

    kernel = dict(IPythonKernel.language_info)
    assert str(kernel.pop("version")).startswith(labmeta.STORED_LANGUAGE_INFO["version"] + ".")
    assert kernel == {k: v for k, v in labmeta.STORED_LANGUAGE_INFO.items() if k != "version"}
    assert labmeta.kernel_language_info() == IPythonKernel.language_info


GOOD = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {"kernelspec": dict(labmeta.KERNELSPEC), "language_info": dict(labmeta.STORED_LANGUAGE_INFO)},
    "cells": [{"cell_type": "markdown", "id": "a1", "metadata": {}, "source": "# t"}],
}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda nb: nb.update(nbformat_minor=4), "nbformat 4.4"),
        (lambda nb: nb["cells"][0].pop("id"), "without an id"),
        (lambda nb: nb["cells"].append(dict(nb["cells"][0])), "share an id"),
        (lambda nb: nb["metadata"].pop("kernelspec"), "kernelspec None"),
        (lambda nb: nb["metadata"].update(language_info={"name": "python", "version": "3.11"}), "mimetype"),
        (lambda nb: nb["metadata"]["language_info"].update(version="3.12.1"), "language_info.version"),
    ],
)
def test_what_jupyterlab_would_change_is_found_and_fixed(change, problem: str) -> None:  # type: ignore[no-untyped-def]
    import copy

    nb = copy.deepcopy(GOOD)
    assert labmeta.lab_problems(nb) == []
    change(nb)
    found = labmeta.lab_problems(nb)
    assert any(problem in p for p in found), found
    if problem in ("nbformat 4.4", "without an id", "share an id"):
        assert labmeta.lab_problems(nb, course_lab=True), "course.sh lab cannot hide it either"
    assert labmeta.normalise(nb) is True
    assert labmeta.lab_problems(nb) == [] and labmeta.normalise(nb) is False


def test_normaliser_command_rewrites_only_what_is_needed(tmp_path: Path) -> None:
    import copy

    bad = copy.deepcopy(GOOD)
    bad["metadata"]["language_info"] = {"name": "python", "version": "3.11"}
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps(bad), encoding="utf-8")
    assert labmeta.main(["--check", str(path)]) == 1
    assert json.loads(path.read_text(encoding="utf-8")) == bad, "--check changes nothing"
    assert labmeta.main([str(path)]) == 0
    fixed = json.loads(path.read_text(encoding="utf-8"))
    assert labmeta.lab_problems(fixed) == [] and fixed["cells"] == bad["cells"]
    assert labmeta.main(["--check", str(path)]) == 0


def test_lint_fix_sorts_imports_and_keeps_the_files_layout(tmp_path: Path) -> None:
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "a1",
                "metadata": {},
                "outputs": [],
                "source": ["import sys\n", "import os\n", "print(os, sys)"],
            },
            {"cell_type": "markdown", "id": "b2", "metadata": {}, "source": ["# untouched"]},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "nb.ipynb"
    labmeta.write_notebook(nb, path)
    assert labmeta.lint_fix([path]) == [path]
    fixed = json.loads(path.read_text(encoding="utf-8"))
    assert fixed["cells"][0]["source"] == ["import os\n", "import sys\n", "\n", "print(os, sys)"]
    assert list(fixed["cells"][0]) == list(nb["cells"][0]) and fixed["cells"][1] == nb["cells"][1]  # key order kept
    assert labmeta.lint_fix([path]) == []
