"""The test suite cleans up after itself, and `pytest` and `./course.sh test` are one suite with one --help."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_a_pytest_run_leaves_no_ultralytics_folder_in_tmp(tmp_path: Path) -> None:
    (tmp_path / "test_one.py").write_text(
        "import os\n\ndef test_it():\n    assert os.path.isdir(os.environ['YOLO_CONFIG_DIR'])\n", encoding="utf-8"
    )
    (tmp_path / "conftest.py").write_text((ROOT / "conftest.py").read_text(encoding="utf-8"))
    scratch = tmp_path / "tmp"  # the run's own temp folder: other processes' files cannot mix in
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "YOLO_CONFIG_DIR"}
    env["TMPDIR"] = str(scratch)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "course-tests-ultralytics-" in (tmp_path / "conftest.py").read_text(encoding="utf-8")
    assert sorted(p.name for p in scratch.iterdir()) == [], "the session's temp folder is removed at exit"


COURSE_SH = ROOT / "course.sh"


def test_help_lists_every_command_of_course_sh_one_line_each() -> None:
    script = COURSE_SH.read_text(encoding="utf-8")
    dispatch = script[script.index('case "$cmd" in') :]
    commands = {
        name
        for pattern in re.findall(r"^    ([a-z|-]+)\)$", dispatch, re.M)
        for name in pattern.split("|")
        if not name.startswith("-")
    }
    shown = subprocess.run(["bash", str(COURSE_SH), "--help"], capture_output=True, text=True, timeout=30).stdout
    listed = {line.split()[0] for line in shown.splitlines() if line.startswith("  ") and line.strip()}
    assert commands and commands == listed, f"course.sh runs {sorted(commands)}, --help lists {sorted(listed)}"


def test_every_slow_test_named_in_conftest_exists() -> None:
    from conftest import SLOW_TESTS

    for nodeid in SLOW_TESTS:
        path, _, name = nodeid.partition("::")
        source = (ROOT / path).read_text(encoding="utf-8") if (ROOT / path).is_file() else ""
        found = bool(source) and (not name or f"def {name.split('[')[0]}(" in source)
        assert found, f"{nodeid} is gone: drop it from SLOW_TESTS"


def _collected(command: list[str]) -> str:
    env = {**os.environ, "COURSE_NO_SETUP": "1"}
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return run.stdout.strip().splitlines()[-1]  # "1120 tests collected in 9.1s"


@pytest.mark.slow
def test_plain_pytest_and_course_sh_test_collect_the_same_suite() -> None:
    plain = _collected([sys.executable, "-m", "pytest", "--collect-only", "-q"])
    course = _collected(["bash", str(COURSE_SH), "test", "--collect-only", "-q"])
    assert re.sub(r" in [\d.]+s", "", plain) == re.sub(r" in [\d.]+s", "", course), (plain, course)
    assert int(plain.split()[0]) > 500


def test_record_times_writes_each_passing_file_and_keeps_the_others(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tmp_path / "conftest.py").write_text((ROOT / "conftest.py").read_text(encoding="utf-8"))
    (tests / "test_ok.py").write_text("import time\n\ndef test_it():\n    time.sleep(0.2)\n", encoding="utf-8")
    (tests / "test_bad.py").write_text("def test_it():\n    assert False\n", encoding="utf-8")
    (tmp_path / "docs").mkdir()
    old = {"seconds": 5.0, "date": "2000-01-01", "workers": 1, "cores": 1}
    record = tmp_path / "docs" / "measurements.json"
    record.write_text(json.dumps({"files": {"tests/test_bad.py": old, "notebooks/x.ipynb": old}}))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--record-times", "tests"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stdout + run.stderr  # test_bad fails, and is not recorded
    files = json.loads(record.read_text(encoding="utf-8"))["files"]
    assert files["tests/test_bad.py"] == old and files["notebooks/x.ipynb"] == old
    assert files["tests/test_ok.py"]["seconds"] >= 0.2 and files["tests/test_ok.py"]["workers"] == 1
