"""Interleaved benchmark rounds and their spread, on settings whose order and counts are known."""

from __future__ import annotations

import pytest

from course_utils.bench import interleaved, spread, wall_and_cpu


def test_interleaved_warms_up_rotates_and_counts_calls() -> None:
    order: list[str] = []
    settings = {name: (lambda name=name: order.append(name)) for name in ("a", "b", "c")}
    times = interleaved(settings, rounds=3, warmup=1, calls=2)
    assert list(times) == ["a", "b", "c"] and all(len(t) == 3 for t in times.values())
    assert all(t >= 0 for values in times.values() for t in values)
    assert order[:3] == ["a", "b", "c"]  # the warm-up, in the given order
    rounds = [order[3 + 6 * r : 9 + 6 * r : 2] for r in range(3)]  # each setting called twice per round
    assert rounds == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]]


def test_interleaved_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="no settings"):
        interleaved({})
    with pytest.raises(ValueError, match="at least"):
        interleaved({"a": lambda: None}, rounds=0)


def test_spread_gives_median_and_quartiles() -> None:
    s = spread([5.0, 1.0, 3.0, 2.0, 4.0])
    assert (s.median, s.low, s.high, s.n) == (3.0, 2.0, 4.0, 5)
    assert s.relative == pytest.approx(2 / 3)
    one = spread([0.5])
    assert (one.median, one.low, one.high, one.n) == (0.5, 0.5, 0.5, 1)
    with pytest.raises(ValueError, match="no values"):
        spread([])


def test_wall_and_cpu_counts_busy_work_and_not_sleep() -> None:
    import time

    wall, cpu = wall_and_cpu(lambda: time.sleep(0.02), repeats=3, warmup=0)
    assert wall >= 0.015 and cpu < wall  # sleeping takes wall time, not CPU time
    busy_wall, busy_cpu = wall_and_cpu(lambda: sum(i * i for i in range(200_000)), repeats=3)
    assert busy_cpu > 0 and busy_wall > 0
    with pytest.raises(ValueError, match="repeats"):
        wall_and_cpu(lambda: None, repeats=0)
