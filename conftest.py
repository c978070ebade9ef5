"""The suite's one policy for `pytest` and `./course.sh test` alike, for tests/ and notebooks/: settings, markers, scheduling.

* Settings: offline, strict meaning checks, the course cache in the repository, one settings folder for
  ultralytics, and each worker's share of the CPU cores; a variable already set in the shell wins.
* Markers (registered in pyproject.toml): ``slow`` (a notebook, a server, a browser or a kernel started),
  ``browser`` (headless Chromium) and ``network`` (needs the model hub: skipped offline). ``pytest -m "not slow"``
  runs the quick part.
* Scheduling: whole files go to the workers (``--dist loadfile``), the longest first, by ``docs/measurements.json``.
* ``--record-times`` writes each file's measured seconds into ``docs/measurements.json`` (see docs/MEASUREMENTS.md).
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import os
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent
MEASUREMENTS = ROOT / "docs" / "measurements.json"

# The suite runs offline and strict unless the shell says otherwise (COURSE_OFFLINE=0 tests meaning on real models).
os.environ.setdefault("COURSE_OFFLINE", "1")
os.environ.setdefault("COURSE_STRICT", "1")
os.environ.setdefault("COURSE_CACHE", str(ROOT / ".course-cache"))

# ultralytics writes a settings file and looks up DNS when imported; keep both away from the user,
# in one folder for the whole session that is removed when the tests end (nothing left in /tmp).
if "YOLO_CONFIG_DIR" not in os.environ:
    _ULTRALYTICS_DIR = tempfile.mkdtemp(prefix="course-tests-ultralytics-")
    os.environ["YOLO_CONFIG_DIR"] = _ULTRALYTICS_DIR
    atexit.register(shutil.rmtree, _ULTRALYTICS_DIR, ignore_errors=True)
os.environ.setdefault("YOLO_OFFLINE", "1")

# Tests (node ids, or a whole file) that take seconds without a tell-tale fixture: each starts a process, a server
# or a model load. The rest of the rule is in pytest_collection_modifyitems; test_housekeeping fails on a stale entry.
SLOW_TESTS: tuple[str, ...] = (
    "tests/test_audio.py::test_speak_is_reproducible_and_scaled",
    "tests/test_audio.py::test_whisper_copies_are_found_and_checked",
    "tests/test_catalog.py::test_catalog_notebook_lists_match_the_notebooks",
    "tests/test_catalog.py::test_each_id_is_known_to_its_library",
    "tests/test_catalog.py::test_every_image_loads_and_has_a_licence",
    "tests/test_cli.py::test_doctor_creates_no_cache_folder",
    "tests/test_cli.py::test_doctor_runs_as_a_program",
    "tests/test_datasets.py::test_splits_have_the_published_sizes_and_balanced_subsets",
    "tests/test_downloads.py::test_the_fashion_mnist_entries_match_debians_copy_with_its_header_restored",
    "tests/test_downloads.py::test_two_processes_download_one_file_once",
    "tests/test_housekeeping.py::test_a_pytest_run_leaves_no_ultralytics_folder_in_tmp",
    "tests/test_housekeeping.py::test_record_times_writes_each_passing_file_and_keeps_the_others",
    "tests/test_licences.py::test_audit_covers_every_catalog_entry_image_and_data_set",
    "tests/test_lint.py::test_lint[mypy]",
    "tests/test_measure.py",
    "tests/test_offline.py::test_online_reports_cached_or_hub",
    "tests/test_offline.py::test_two_processes_build_the_same_standin",
    "tests/test_plots.py::test_module_does_not_import_torch",
    "tests/test_quiet.py::test_onnxruntime_writes_no_telemetry_queue",
    "tests/test_quiet.py::test_ultralytics_settings_notice_dropped_and_other_messages_kept",
    "tests/test_sandbox.py::test_cpu_limit_stops_a_loop_before_the_wall_clock",
    "tests/test_sandbox.py::test_network_is_refused",
    "tests/test_session.py::test_a_failed_download_in_a_lesson_says_what_to_do",
    "tests/test_session.py::test_a_hub_that_dies_mid_lesson_fails_a_load_in_seconds",
    "tests/test_session.py::test_notebook_00_finishes_offline_behind_a_broken_network",
    "tests/test_session.py::test_setup_in_a_fresh_kernel",
    "tests/test_standins.py::test_standin_keeps_the_real_interface",
    "tests/test_student.py::test_course_sh_student_writes_every_copy",
    "tests/test_student.py::test_exercises_are_marked_for_nbgrader",
    "tests/test_student.py::test_nbgrader_generate_assignment_agrees",
)

#: Fixtures that start a JupyterLab server, a site build, a browser, notebook kernels or a first offline run.
SLOW_FIXTURES = {"lab", "site", "browser", "offline_kernels", "first_run"}


def _workers(config: pytest.Config) -> int:
    """How many xdist workers share the machine (1 without xdist)."""
    workerinput = getattr(config, "workerinput", None)  # set in an xdist worker (the environment may be inherited)
    if not config.pluginmanager.has_plugin("xdist"):
        return 1
    count = workerinput["workercount"] if workerinput else getattr(config.option, "numprocesses", None) or 1
    try:
        return max(1, int(count))
    except ValueError:  # "auto" / "logical": xdist picks one per core
        return os.cpu_count() or 1


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    parser.addoption(
        "--record-times",
        action="store_true",
        help="write each test file's seconds into docs/measurements.json (whole files only; see docs/MEASUREMENTS.md)",
    )
    if not pluginmanager.has_plugin("xdist"):  # -p no:xdist: accept pyproject's worker options, run in one process
        group = parser.getgroup("xdist is not loaded: these options do nothing")
        group.addoption("--numprocesses", dest="numprocesses", default=None)
        group.addoption("--dist", dest="dist", default="no")
        group.addoption("--no-loadscope-reorder", dest="loadscopereorder", action="store_false")


def pytest_configure(config: pytest.Config) -> None:
    # Each worker's kernels get their share of the cores: more threads than cores made small training steps
    # several times slower (threads waiting on each other). Kernels inherit this from the worker.
    per_worker = max(1, (os.cpu_count() or 1) // _workers(config))
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, str(per_worker))
    if config.getoption("--record-times") and (config.option.markexpr or config.option.keyword):
        raise pytest.UsageError("--record-times records whole files: run it without -m and -k")
    if config.getoption("--record-times") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(TimeRecorder(config), "course-time-recorder")


def _recorded_seconds() -> dict[str, float]:
    try:
        files = json.loads(MEASUREMENTS.read_text(encoding="utf-8"))["files"]
        return {str(path): float(entry["seconds"]) for path, entry in files.items()}
    except (OSError, ValueError, KeyError, TypeError):  # no record yet, or a broken one: no order, no harm
        return {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark slow, browser and network tests; order the files longest first (a file's tests keep their order)."""
    offline = os.environ.get("COURSE_OFFLINE") != "0"
    if _rehearsing():
        add_rehearsal_checks(items)
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if item.path.suffix == ".ipynb" or fixtures & SLOW_FIXTURES or item.nodeid.startswith(SLOW_TESTS):
            item.add_marker(pytest.mark.slow)
        if item.path.name == "test_browser.py" or "browser" in fixtures:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)
        if offline and item.get_closest_marker("network"):
            item.add_marker(pytest.mark.skip(reason="needs the model hub: run with COURSE_OFFLINE=0"))
    seconds = _recorded_seconds()
    items.sort(key=lambda item: -seconds.get(item.nodeid.split("::")[0], 10.0))


class TimeRecorder:
    """Adds up each file's setup, call and teardown seconds (as xdist reports them) and writes them at the end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.seconds: dict[str, float] = defaultdict(float)
        self.failed: set[str] = set()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        path = report.nodeid.split("::")[0]
        self.seconds[path] += report.duration
        if report.failed:
            self.failed.add(path)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        done = {path: round(s, 1) for path, s in self.seconds.items() if path not in self.failed}
        if not done:
            return
        try:
            data = json.loads(MEASUREMENTS.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        run = {"date": dt.date.today().isoformat(), "workers": _workers(self.config), "cores": os.cpu_count()}
        files = data.get("files", {}) | {path: {"seconds": s, **run} for path, s in done.items()}
        data["files"] = dict(sorted(files.items()))
        MEASUREMENTS.parent.mkdir(exist_ok=True)
        MEASUREMENTS.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------- rehearsal of real-model branches
# Each notebook's kernel rehearses its real-model-only branches with the stand-in (course_utils/rehearse.py) and
# logs them; an item after the notebook's last cell fails when a branch the list says is rehearsed was not.
# COURSE_REHEARSE=0 turns both off (to time the notebooks without it); COURSE_REHEARSE_DIR keeps the logs.
REHEARSE_SWITCH = "COURSE_REHEARSE"
BRANCH_LIST = ROOT / "tests" / "online_branches.toml"
_rehearsal_dir: Path | None = None
_notebooks_failed: set[Path] = set()


def _rehearsing() -> bool:
    return os.environ.get(REHEARSE_SWITCH, "1").strip() != "0"


def _rehearsal_log(notebook: Path) -> Path:
    global _rehearsal_dir
    if _rehearsal_dir is None:
        from course_utils.rehearse import DIR_ENV

        if os.environ.get(DIR_ENV):
            _rehearsal_dir = Path(os.environ[DIR_ENV])
            _rehearsal_dir.mkdir(parents=True, exist_ok=True)
        else:
            _rehearsal_dir = Path(tempfile.mkdtemp(prefix="course-tests-rehearsal-"))
            atexit.register(shutil.rmtree, _rehearsal_dir, ignore_errors=True)
    return _rehearsal_dir / f"{notebook.stem}.jsonl"


def rehearsed_gates(notebook: Path) -> list[str]:
    """The real-model gates of ``notebook`` that the branch list says its offline test rehearses."""
    import tomllib

    from course_utils.rehearse import LISTED

    nb = notebook.name[:2]
    branches = tomllib.loads(BRANCH_LIST.read_text(encoding="utf-8"))["branch"]
    return [b["gate"] for b in branches if b["notebook"] == nb and b["runs_in"] == LISTED.format(nb=nb)]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item):  # type: ignore[no-untyped-def]
    """A notebook's kernel starts in its first cell's set-up: it inherits the log's path from here."""
    if item.path.suffix != ".ipynb" or not _rehearsing():
        yield
        return
    from course_utils.rehearse import LOG_ENV

    log = _rehearsal_log(item.path)
    if getattr(item, "cell_num", None) == 0:
        log.unlink(missing_ok=True)  # a kept log of an earlier run
    before = os.environ.get(LOG_ENV)
    os.environ[LOG_ENV] = str(log)
    try:
        yield
    finally:  # later tests' kernels (not a notebook's run) do not rehearse
        if before is None:
            os.environ.pop(LOG_ENV, None)
        else:
            os.environ[LOG_ENV] = before


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.failed and ".ipynb" in report.nodeid:
        _notebooks_failed.add(Path(report.fspath).resolve())


class RehearsalCoverage(pytest.Item):
    """After a notebook's last cell: every real-model branch the list says is rehearsed was rehearsed."""

    def runtest(self) -> None:
        from course_utils.rehearse import NOT_REHEARSABLE, normalize, read_log, unrehearsed

        if self.path.resolve() in _notebooks_failed:
            pytest.skip("a cell failed, so the branches after it may not have been reached")
        records = read_log(_rehearsal_log(self.path))
        missing = unrehearsed(rehearsed_gates(self.path), records)
        if missing:
            why = {normalize(r["gate"]): r["reason"] for r in records if r["outcome"] == NOT_REHEARSABLE}
            detail = "; ".join(
                f"`if {g}:`" + (f" ({why[normalize(g)]})" if why.get(normalize(g)) else "") for g in missing
            )
            raise RehearsalNotRun(
                f"{self.path.name}: tests/online_branches.toml says these real-model branches are rehearsed with "
                f"the stand-in, but the run did not rehearse them: {detail}. A branch moved into a function, a "
                "branch whose enclosing code no longer runs offline, or setup() not called: fix the notebook or "
                "say in the list why nothing runs the branch ('none: ...')."
            )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: object = None) -> str:  # type: ignore[override]
        return str(excinfo.value)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.path.name}: rehearsal of the real-model branches"


class RehearsalNotRun(Exception):
    """A branch the list says is rehearsed was not."""


def add_rehearsal_checks(items: list[pytest.Item]) -> None:
    """Put a :class:`RehearsalCoverage` after the last cell of each notebook that runs whole and has such branches."""
    by_notebook: dict[pytest.Collector, list[pytest.Item]] = defaultdict(list)
    for item in items:
        if item.path.suffix == ".ipynb" and item.parent is not None and hasattr(item.parent, "nb"):
            by_notebook[item.parent].append(item)
    for notebook, cells in by_notebook.items():
        read: Any = notebook  # an nbval notebook: its .nb was read at collection
        code_cells = [c for c in read.nb.cells if c.cell_type == "code"]
        if len(cells) != len(code_cells) or not rehearsed_gates(notebook.path):
            continue  # a few cells selected: their branches need not all run
        check = RehearsalCoverage.from_parent(notebook, name="rehearsal")
        items.insert(items.index(cells[-1]) + 1, check)
