"""Measuring for the notebooks: memory peaks in a fresh process, median wall-clock times, growth rates.

:func:`median_seconds` times a call (for showing a speed, never for asserting one); :func:`loglog_slope` says how
fast a measured cost grows. The rest of this module measures memory peaks in a fresh Python process, so that one
measurement cannot borrow from another.

A process that has already trained one model keeps the memory it freed (the allocator holds on to
it), so a second method measured in the same process looks cheaper than it is. :func:`in_fresh_process`
runs the work in a new interpreter: ``prepare(*args, **kwargs)`` builds what the work needs (load the
model, the data) and is *not* measured; then ``work(state)`` runs while a thread samples the resident
set size (RSS) every ``interval_s`` seconds. The result says the RSS before the work, its peak during
the work and the growth between them.

The two functions may be defined in a notebook: they travel to the new process with ``cloudpickle``
(by value), together with the globals they use, so keep them self-contained and pass what they need as
arguments. Environment variables (the course's offline switches) are inherited.

Example::

    >>> def prepare(n):
    ...     return n
    >>> def work(n):
    ...     import numpy as np
    ...     return float(np.ones(n).sum())
    >>> run = in_fresh_process(prepare, work, 10_000_000)   # 80 MB of float64
    >>> run.result, run.growth_mb > 50
    (10000000.0, True)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import numpy.typing as npt
import psutil


class FreshProcessError(RuntimeError):
    """The work failed (or timed out) in the fresh process; the message carries its traceback."""


@dataclass(frozen=True)
class FreshRun:
    """What :func:`in_fresh_process` measured.

    Attributes:
        result: what ``work`` returned (it must be picklable).
        baseline_mb: RSS of the fresh process after ``prepare``, before ``work`` (MB, 10^6 bytes).
        peak_mb: the highest RSS sampled while ``work`` ran.
        growth_mb: ``peak_mb - baseline_mb`` (never negative): the memory the work itself needed.
        seconds: wall-clock time of ``work`` in the fresh process.
        samples: how many RSS samples were taken.
    """

    result: Any
    baseline_mb: float
    peak_mb: float
    growth_mb: float
    seconds: float
    samples: int


def _measure(
    prepare: Callable[..., Any], work: Callable[[Any], Any], args: tuple, kwargs: dict, interval_s: float
) -> dict[str, Any]:
    """Run in the child: prepare, then sample the RSS while the work runs."""
    import gc

    state = prepare(*args, **kwargs)
    gc.collect()
    proc = psutil.Process()
    baseline = proc.memory_info().rss
    peak, samples, stop = [baseline], [0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            samples[0] += 1
            time.sleep(interval_s)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    t0 = time.perf_counter()
    try:
        result = work(state)
    finally:
        seconds = time.perf_counter() - t0
        stop.set()
        thread.join()
    peak[0] = max(peak[0], proc.memory_info().rss)
    return {"result": result, "baseline": baseline, "peak": peak[0], "seconds": seconds, "samples": samples[0]}


def _child(task_path: str, out_path: str) -> None:
    """Entry point of the fresh process (``python -m course_utils.measure TASK OUT``)."""
    try:
        prepare, work, args, kwargs, interval_s = cloudpickle.loads(Path(task_path).read_bytes())
        payload: dict[str, Any] = {"ok": True, **_measure(prepare, work, args, kwargs, interval_s)}
    except BaseException:  # noqa: BLE001 - everything goes back to the parent, with its traceback
        payload = {"ok": False, "traceback": traceback.format_exc()}
    Path(out_path).write_bytes(cloudpickle.dumps(payload))


def _dumps_by_value(payload: object, functions: tuple[Callable[..., Any], ...]) -> bytes:
    """Pickle ``payload``, sending the modules that define ``functions`` by value (a test file or a
    script need not be importable in the child; ``__main__``, a notebook, is sent by value anyway)."""
    modules = {
        sys.modules[f.__module__]
        for f in functions
        if getattr(f, "__module__", None) not in (None, "__main__")
        and f.__module__ in sys.modules
        and not f.__module__.startswith("course_utils")
        and "site-packages" not in str(getattr(sys.modules[f.__module__], "__file__", ""))  # libraries: by reference
    }
    for module in modules:
        cloudpickle.register_pickle_by_value(module)
    try:
        return cloudpickle.dumps(payload)
    finally:
        for module in modules:
            cloudpickle.unregister_pickle_by_value(module)


def in_fresh_process(
    prepare: Callable[..., Any],
    work: Callable[[Any], Any],
    *args: Any,
    interval_s: float = 0.002,
    timeout_s: float = 600.0,
    **kwargs: Any,
) -> FreshRun:
    """Run ``work(prepare(*args, **kwargs))`` in a new Python process and measure its peak RSS growth.

    Args:
        prepare: builds the state (not measured), e.g. loads a model and its optimiser.
        work: receives the state and does the work to measure; returns something picklable.
        *args, **kwargs: passed to ``prepare`` (they must be picklable).
        interval_s: seconds between two RSS samples (a short peak between samples can be missed).
        timeout_s: give up after this many seconds.

    Raises:
        FreshProcessError: the work raised (its traceback is in the message), died, or timed out.
    """
    with tempfile.TemporaryDirectory(prefix="course-measure-") as tmp:
        task, out = Path(tmp) / "task.pkl", Path(tmp) / "out.pkl"
        task.write_bytes(_dumps_by_value((prepare, work, args, kwargs, interval_s), (prepare, work)))
        env = dict(os.environ)
        # the child must import this package the way the parent does (a notebook's kernel may have it on sys.path only)
        env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH", "")])
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "course_utils.measure", str(task), str(out)],
                capture_output=True,
                text=True,
                timeout=timeout_s,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise FreshProcessError(f"the fresh process did not finish within {timeout_s:g} s") from None
        if not out.is_file():
            raise FreshProcessError(
                f"the fresh process died (exit code {proc.returncode}) before reporting; its stderr:\n{proc.stderr[-2000:]}"
            )
        payload = cloudpickle.loads(out.read_bytes())
    if not payload["ok"]:
        raise FreshProcessError(f"the work failed in the fresh process:\n{payload['traceback']}")
    baseline, peak = payload["baseline"] / 1e6, payload["peak"] / 1e6
    return FreshRun(
        result=payload["result"],
        baseline_mb=baseline,
        peak_mb=peak,
        growth_mb=max(peak - baseline, 0.0),
        seconds=payload["seconds"],
        samples=payload["samples"],
    )


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
    # The result is on disk: leave without the interpreter's teardown (with torch and transformers imported,
    # tearing down cost 1.6-3.7 s of CPU per process, measured on the course's 2-core machine).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def loglog_slope(x: Sequence[float] | npt.ArrayLike, y: Sequence[float] | npt.ArrayLike) -> float:
    """Slope of the least-squares line through ``(log x, log y)``: ``y`` grows like ``x ** slope``."""
    ax, ay = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if ax.shape != ay.shape or ax.size < 2:
        raise ValueError("need at least two (x, y) pairs of the same length")
    if not (np.isfinite(ax).all() and np.isfinite(ay).all() and (ax > 0).all() and (ay > 0).all()):
        raise ValueError("log-log slope needs positive x and y")
    return float(np.polyfit(np.log(ax), np.log(ay), 1)[0])


def median_seconds(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` runs after ``warmup`` untimed runs.

    For showing and explaining a speed, never for asserting one: a busy machine changes it.
    """
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
