"""Peaks measured in a fresh process: the growth is seen, the baseline excludes `prepare`, errors come back."""

from __future__ import annotations

import os

import pytest

from course_utils.measure import FreshProcessError, in_fresh_process


def _prepare_big(n: int) -> list[int]:
    import numpy as np

    return np.ones(n, dtype=np.float64)  # type: ignore[return-value]  # allocated before the baseline


def _allocate(mb: int):
    def work(_state: object) -> int:
        import numpy as np

        block = np.ones(mb * 125_000, dtype=np.float64)  # mb MB, touched
        return int(block.size)

    return work


def test_growth_counts_what_the_work_allocates_and_not_what_prepare_did() -> None:
    run = in_fresh_process(_prepare_big, _allocate(150), 25_000_000)  # prepare: 200 MB, work: 150 MB
    assert run.result == 150 * 125_000
    assert 120 < run.growth_mb < 260, run  # the 150 MB block, not the 200 MB of prepare
    assert run.baseline_mb > 200 and run.peak_mb >= run.baseline_mb + run.growth_mb - 1e-6
    assert run.samples > 0 and run.seconds > 0


def test_a_small_work_shows_a_small_growth() -> None:
    run = in_fresh_process(lambda: None, lambda _s: sum(range(1000)))
    assert run.result == 499500
    assert run.growth_mb < 30, run


def test_the_child_is_a_fresh_process_with_the_parents_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_MEASURE_PROBE", "seen")
    pid, value = in_fresh_process(lambda: None, lambda _s: (os.getpid(), os.environ.get("COURSE_MEASURE_PROBE"))).result
    assert pid != os.getpid() and value == "seen"


def test_an_error_in_the_work_comes_back_with_its_traceback() -> None:
    def broken(_state: object) -> None:
        raise ValueError("the model did not load")

    with pytest.raises(FreshProcessError, match="ValueError: the model did not load"):
        in_fresh_process(lambda: None, broken)


def test_a_work_that_runs_too_long_is_stopped() -> None:
    import time

    with pytest.raises(FreshProcessError, match="did not finish within 3 s"):
        in_fresh_process(lambda: None, lambda _s: time.sleep(30), timeout_s=3)
