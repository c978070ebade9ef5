"""Benchmarks on a shared machine: settings timed in interleaved rounds, reported as a median with its spread.

Timing setting A for ten seconds and then setting B for ten seconds compares A under one load with B
under another: a neighbour that starts in between makes B look slow. :func:`interleaved` warms every
setting up first, then runs *rounds*: each round calls every setting once, in an order that rotates
from round to round, so a change in the machine's load touches all settings alike. :func:`spread`
turns the times of one setting into its median and quartiles; a wide spread says the machine was busy.

For showing and explaining a speed, never for asserting one::

    >>> times = interleaved({"sum": lambda: sum(range(1000)), "len": lambda: len("abc")}, rounds=5)
    >>> sorted(times), [len(t) for t in times.values()]
    (['len', 'sum'], [5, 5])
    >>> s = spread(times["sum"])
    >>> s.low <= s.median <= s.high
    True

:func:`wall_and_cpu` also gives the CPU time, summed over every thread of the process: a setting that
uses four cores for one second costs four CPU-seconds, which a wall-clock comparison hides.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


def interleaved(
    settings: Mapping[str, Callable[[], object]], rounds: int = 7, warmup: int = 1, calls: int = 1
) -> dict[str, list[float]]:
    """Seconds per call of each setting, one value per round, measured in interleaved rounds.

    Args:
        settings: name -> a function that runs the setting once.
        rounds: how many rounds (values per setting).
        warmup: untimed calls of every setting before the first round.
        calls: calls per setting in each round; the round's value is their mean (use it for calls of a
            millisecond or less, where the timer's own cost would show).

    Returns:
        name -> a list of ``rounds`` seconds-per-call values, in the order of ``settings``.
    """
    if rounds < 1 or calls < 1 or warmup < 0:
        raise ValueError("rounds and calls must be at least 1, warmup at least 0")
    if not settings:
        raise ValueError("no settings to time")
    names = list(settings)
    for _ in range(warmup):
        for name in names:
            settings[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)  # rotate the order, so no setting always runs right after the same one
        for name in names[shift:] + names[:shift]:
            fn = settings[name]
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            times[name].append((time.perf_counter() - start) / calls)
    return times


@dataclass(frozen=True)
class Spread:
    """The median of repeated measurements and their quartiles (``low`` = 25th, ``high`` = 75th percentile)."""

    median: float
    low: float
    high: float
    n: int

    @property
    def relative(self) -> float:
        """The interquartile range as a fraction of the median: 0.05 is a quiet machine, 0.5 a busy one."""
        return (self.high - self.low) / self.median if self.median else float("inf")


def spread(values: Sequence[float]) -> Spread:
    """Median and quartiles of ``values`` (at least one value; with one, all three are that value)."""
    if len(values) == 0:
        raise ValueError("no values")
    ordered = sorted(float(v) for v in values)
    if len(ordered) == 1:
        return Spread(ordered[0], ordered[0], ordered[0], 1)
    q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    return Spread(statistics.median(ordered), q1, q3, len(ordered))


def wall_and_cpu(fn: Callable[[], object], repeats: int = 3, warmup: int = 1) -> tuple[float, float]:
    """Median wall-clock seconds and median CPU seconds (all threads of this process) of ``fn()``.

    CPU time from :func:`time.process_time` counts every thread of this process, but not work done in
    other processes (a library that starts its own workers is under-counted).
    """
    if repeats < 1 or warmup < 0:
        raise ValueError("repeats must be at least 1, warmup at least 0")
    for _ in range(warmup):
        fn()
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)
