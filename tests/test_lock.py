"""The locked environment: the lock follows requirements.in, resolves for 3.11 and 3.12, and is what is installed."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from course_utils.tools import envlock

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / envlock.LOCK


def pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=3).close()
        return True
    except OSError:
        return False


# --- the lock and its input --------------------------------------------------------------------------------------


@pytest.mark.parametrize("python", envlock.PYTHONS)
def test_every_direct_requirement_is_locked_at_a_version_it_allows(python: str) -> None:
    env = envlock.python_environment(python)
    locked = envlock.locked_for(env, LOCK)  # raises if the lock gives one package two versions here
    for req in envlock.direct_requirements(ROOT / envlock.INPUT):
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        name = envlock.normalize(req.name)
        assert name in locked, f"{req} is in requirements.in but the lock has no {name} for Python {python}"
        assert req.specifier.contains(locked[name], prereleases=True), f"{req}: the lock has {locked[name]}"


def test_every_direct_requirement_says_what_it_is_for() -> None:
    for line in (ROOT / envlock.INPUT).read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            assert " #" in line, f"say what it is for: {line}"


def test_the_lock_is_complete_hashed_and_leaves_out_only_the_exclusions() -> None:
    entries = envlock.read_lock(LOCK)
    assert len(entries) > 300
    excluded = envlock.excluded_names(ROOT / envlock.EXCLUDES)
    assert {"opencv-python", "tflite-runtime"} <= excluded
    for entry in entries:
        assert entry.hashes, f"{entry.name} has no hash"
        assert entry.via, f"{entry.name} is locked but nothing requires it"
        assert entry.name not in excluded, f"{entry.name} is excluded yet locked"
    names = {e.name for e in entries}
    assert "opencv-python-headless" in names  # the one OpenCV


def test_environment_yml_is_generated_from_the_lock() -> None:
    assert (ROOT / envlock.ENVIRONMENT_YML).read_text() == envlock.environment_yml(LOCK), "run ./course.sh lock"


# --- the installed environment -----------------------------------------------------------------------------------


@pytest.mark.lockstep
def test_the_installed_environment_is_the_lock() -> None:
    found = envlock.drift(envlock.locked_for(path=LOCK), envlock.installed_distributions())
    assert not found, "the environment differs from the lock (./course.sh setup syncs it):\n" + found.describe()


def test_pip_check_finds_nothing_but_the_documented_exclusions() -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120)
    problems = envlock.unexplained_pip_check(done.stdout + done.stderr, envlock.excluded_names(ROOT / envlock.EXCLUDES))
    assert problems == [], problems


# --- resolution against the index (the registries are reachable where the suite runs; skipped where not) --------


@pytest.mark.registry
@pytest.mark.skipif(not pypi_reachable(), reason="PyPI is not reachable from here")
def test_the_lock_is_in_step_with_requirements_in(tmp_path: Path) -> None:
    """Resolving requirements.in again, with the lock as the starting point, changes nothing."""
    out = tmp_path / "requirements.txt"
    out.write_bytes(LOCK.read_bytes())
    cmd = envlock.compile_command(envlock.INPUT, str(out))
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    again = {(e.name, e.version, e.marker) for e in envlock.read_lock(out)}
    now = {(e.name, e.version, e.marker) for e in envlock.read_lock(LOCK)}
    assert again == now, f"run ./course.sh lock: added {sorted(again - now)}, dropped {sorted(now - again)}"


@pytest.mark.registry
@pytest.mark.skipif(not pypi_reachable(), reason="PyPI is not reachable from here")
def test_the_lock_installs_from_wheels_on_colabs_python(tmp_path: Path) -> None:
    """Python 3.12 on Linux (Colab): every locked package has a wheel, except the pure-Python rouge-score."""
    cmd = [*envlock.uv_command(), "pip", "install", "--dry-run", "--python-version", "3.12"]
    cmd += ["--python-platform", "x86_64-manylinux_2_28", "--target", str(tmp_path / "t"), "--no-deps"]
    # rouge-score publishes only a source archive (pure Python): the one package allowed to be built.
    cmd += ["--require-hashes", "--only-binary", ":all:", "--no-binary", "rouge-score", "-r", str(LOCK)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "torch==" in done.stderr and "pocketsphinx==5.0.4" in done.stderr, done.stderr[-2000:]


# --- the helpers behind them ----------------------------------------------------------------------------------------

SAMPLE = """\
# This file was autogenerated by uv via the following command:
#    ./course.sh lock
numpy==2.4.6 \\
    --hash=sha256:{a}
    # via
    #   -r requirements.in
    #   pandas
pocketsphinx==5.0.4 ; python_full_version >= '3.12' \\
    --hash=sha256:{b}
    # via -r requirements.in
pocketsphinx==5.1.1 ; python_full_version < '3.12' \\
    --hash=sha256:{a} \\
    --hash=sha256:{b}
    # via -r requirements.in
""".format(a="a" * 64, b="b" * 64)


def test_read_lock_keeps_markers_hashes_and_reasons(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text(SAMPLE)
    numpy, old, new = envlock.read_lock(lock)
    assert (numpy.name, numpy.version, numpy.marker, numpy.via) == (
        "numpy",
        "2.4.6",
        None,
        ("-r requirements.in", "pandas"),
    )
    assert old.marker == "python_full_version >= '3.12'" and len(new.hashes) == 2
    assert envlock.locked_for(envlock.python_environment("3.12"), lock)["pocketsphinx"] == "5.0.4"
    assert envlock.locked_for(envlock.python_environment("3.11"), lock)["pocketsphinx"] == "5.1.1"


def test_drift_names_missing_extra_and_wrong_versions() -> None:
    found = envlock.drift({"a": "1", "b": "2", "c": "3"}, {"a": "1", "b": "2.1", "d": "4", "course-utils": "0.1"})
    assert found.missing == {"c": "3"} and found.extra == {"d": "4"} and found.wrong == {"b": ("2", "2.1")}
    assert "locked 2, installed 2.1" in found.describe()
    assert not envlock.drift({"a": "1"}, {"a": "1"})


def test_pip_check_lines_outside_the_exclusions_are_reported() -> None:
    out = (
        "ultralytics 8.4.190 requires opencv-python, which is not installed.\n"
        "spacy 3.8.18 requires thinc, which is not installed.\n"
        "torch 2.11.0 has requirement sympy>=1.13, but you have sympy 1.0.\n"
    )
    assert envlock.unexplained_pip_check(out, {"opencv-python"}) == out.splitlines()[1:]
    assert envlock.unexplained_pip_check("No broken requirements found.\n", set()) == []


def test_canary_relaxes_pins_but_keeps_held_back_ranges() -> None:
    text = (
        "torch==2.11.0   # x\nopencv-python-headless>=4.14,<5  # held\npocketsphinx==5.1.1 ; python_version < '3.12'\n"
    )
    assert envlock.relaxed_input(text) == (
        "torch>=2.11.0   # x\nopencv-python-headless>=4.14,<5  # held\npocketsphinx>=5.1.1 ; python_version < '3.12'\n"
    )


def test_canary_report_lists_failures_and_moved_versions(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite tests="3" failures="1" errors="0" skipped="0">'
        '<testcase classname="notebooks/09_object_detection.ipynb" name="Cell 22">'
        "<failure message=\"AttributeError: module 'cv2.dnn' has no attribute 'readNetFromTensorflow'&#10;more\"/>"
        '</testcase><testcase classname="tests.test_x" name="test_ok"/></testsuite></testsuites>'
    )
    failures = envlock.junit_failures(junit)
    assert failures == [
        envlock.Failure(
            "notebooks/09_object_detection.ipynb::Cell 22",
            "AttributeError: module 'cv2.dnn' has no attribute 'readNetFromTensorflow'",
        )
    ]
    moved = envlock.moved_versions(
        {"torch": "2.11.0", "six": "1.17.0"}, {"torch": "2.12.0", "six": "1.17.0", "new": "1"}
    )
    assert moved == [("new", "-", "1"), ("torch", "2.11.0", "2.12.0")]
    report = envlock.canary_report(moved, failures, ["opencv-python-headless<5,>=4.14"], 2, 1)
    assert "FAILED" in report and "Cell 22" in report and "| torch | 2.11.0 | 2.12.0 |" in report
