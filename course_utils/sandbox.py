"""Run untrusted candidate code against unit tests, one separate process per candidate.

Generated code is untrusted code. :func:`run_candidate` runs one candidate and its tests in a fresh
Python process and returns a :class:`Verdict`: ``pass`` (every test held), ``fail`` (it ran, a test
assertion did not hold), ``error`` (it raised, was refused an operation, or ran out of memory) or
``timeout`` (wall clock or CPU time ran out). What each layer does:

- **A separate process** (``python -I``: no user site-packages, no ``PYTHON*`` variables, no current
  directory on ``sys.path``), in its **own process group**, killed as a group at the end.
- **A wall-clock timeout** in the parent, and **RLIMIT_CPU** (the kernel sends SIGXCPU, then kills).
- **RLIMIT_AS**: address space, so a huge allocation raises ``MemoryError`` in the child.
- **RLIMIT_FSIZE** caps the size of any file it writes, **RLIMIT_CORE** = 0.
- **A throw-away working directory** (a fresh temporary directory, deleted afterwards) and a
  minimal environment (``HOME`` and ``TMPDIR`` point into it).
- **No network**: where ``unshare -n`` (or ``unshare -rn`` without root) works, the child runs in a
  new network namespace with no interface but a down loopback: a kernel-level cut. Always, an audit
  hook (:pep:`578`) in the child refuses socket connect/bind/DNS look-ups, new processes
  (``os.system``, ``subprocess``, ``fork``, ``exec``), ``ctypes``, and deleting, renaming or
  writing files outside the working directory.

What it does **not** stop: the audit hook is Python-level. Code that reaches C (a compiled
extension, a bug in the interpreter) can get past it, and the tests run in the same process as the
candidate, so a determined candidate can fake its own results. Reading files the user can read is
allowed (imports need it). This is a teaching tool and a guard against honest mistakes, not a
security boundary. A real deployment runs each candidate in a container or micro-VM with no network
and a read-only root (Docker/Podman with ``--network none``, gVisor, Firecracker), under a seccomp
filter and a separate unprivileged user.
"""

from __future__ import annotations

import json
import math
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations
from pathlib import Path

VERDICTS = ("pass", "fail", "error", "timeout")

# The program the child runs. It reads the nonce (so the parent can find its result line among the
# candidate's own output), installs the guard, runs the candidate, then each test.
_RUNNER = r"""
import json, os, sys, traceback
nonce = sys.stdin.readline().strip()
root = os.path.realpath(os.getcwd())
with open("candidate.py", encoding="utf-8") as f:
    candidate = f.read()
with open("tests.json", encoding="utf-8") as f:
    tests = json.load(f)
out = sys.__stdout__

def inside(path):
    try:
        p = os.path.realpath(os.fsdecode(path))
    except Exception:
        return False
    return p == root or p.startswith(root + os.sep)

BLOCKED_ALWAYS = {
    "socket.connect", "socket.bind", "socket.getaddrinfo", "socket.gethostbyname", "socket.sendto",
    "os.system", "os.fork", "os.forkpty", "os.exec", "os.posix_spawn", "os.spawn", "os.kill", "os.killpg",
    "subprocess.Popen", "ctypes.dlopen", "ctypes.cdata", "os.chmod", "os.chown", "pty.spawn",
}
PATH_EVENTS = {"os.remove", "os.rmdir", "os.rename", "os.mkdir", "os.truncate", "os.symlink", "os.link",
               "shutil.rmtree", "shutil.copyfile", "shutil.move", "os.utime"}
armed = False

def guard(event, args):
    if not armed:
        return
    if event in BLOCKED_ALWAYS:
        raise PermissionError(f"sandbox: {event} is not allowed")
    if event in PATH_EVENTS:
        paths = [a for a in args[:2] if isinstance(a, (str, bytes, os.PathLike))]
        if event in ("shutil.copyfile", "shutil.move"):
            paths = paths[1:]
        for p in paths:
            if not inside(p):
                raise PermissionError(f"sandbox: {event} outside the working directory: {os.fsdecode(p)}")
    if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
        mode = args[1] if len(args) > 1 and isinstance(args[1], str) else "r"
        flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
        writing = any(c in mode for c in "wax+") or flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC)
        if writing and not inside(args[0]):
            raise PermissionError(f"sandbox: writing outside the working directory: {os.fsdecode(args[0])}")

sys.addaudithook(guard)
result = {"stage": "candidate", "passed": 0, "total": len(tests), "detail": ""}
namespace = {"__name__": "candidate"}
armed = True
try:
    exec(compile(candidate, "candidate.py", "exec"), namespace)
    result["stage"] = "tests"
    failures = []
    for i, test in enumerate(tests):
        try:
            exec(compile(test, f"test_{i}", "exec"), namespace)
            result["passed"] += 1
        except AssertionError:
            failures.append(test)
    armed = False
    result["verdict"] = "fail" if failures else "pass"
    result["detail"] = ("failed: " + failures[0]) if failures else "all tests passed"
except BaseException as exc:
    armed = False
    result["verdict"] = "error"
    result["detail"] = f"{type(exc).__name__}: {exc}"[:300]
out.write("\n" + nonce + json.dumps(result) + "\n")
out.flush()
os._exit(0)
"""


@dataclass(frozen=True)
class Verdict:
    """The outcome of one candidate: ``status`` is one of :data:`VERDICTS`."""

    name: str
    status: str
    detail: str
    passed: int
    total: int
    seconds: float
    layers: tuple[str, ...] = field(default=())

    def row(self) -> dict[str, object]:
        return {
            "candidate": self.name,
            "verdict": self.status,
            "tests passed": f"{self.passed}/{self.total}",
            "detail": self.detail,
            "seconds": round(self.seconds, 2),
        }


@lru_cache(maxsize=1)
def network_namespace_prefix() -> tuple[str, ...]:
    """The ``unshare`` command that cuts the network on this machine, or ``()`` where none works."""
    exe = shutil.which("unshare")
    if not exe:
        return ()
    for prefix in ((exe, "-n"), (exe, "-rn")):
        try:
            if subprocess.run([*prefix, "true"], capture_output=True, timeout=10).returncode == 0:
                return prefix
        except (OSError, subprocess.TimeoutExpired):
            continue
    return ()


def layers(network_namespace: bool = True) -> tuple[str, ...]:
    """The isolation layers :func:`run_candidate` uses here."""
    found = [
        "separate process group",
        "wall-clock timeout",
        "RLIMIT_CPU",
        "RLIMIT_AS",
        "RLIMIT_FSIZE",
        "throw-away working directory",
        "audit-hook guard (Python-level)",
    ]
    if network_namespace and network_namespace_prefix():
        found.append("network namespace (unshare " + " ".join(network_namespace_prefix()[1:]) + ")")
    return tuple(found)


def _limits(cpu_seconds: int, memory_mb: int, file_mb: int):  # type: ignore[no-untyped-def]
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 2**20, memory_mb * 2**20))
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_mb * 2**20, file_mb * 2**20))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def run_candidate(
    code: str,
    tests: list[str],
    *,
    name: str = "candidate",
    timeout: float = 5.0,
    cpu_seconds: int | None = None,
    memory_mb: int = 512,
    file_mb: int = 10,
    network_namespace: bool = True,
) -> Verdict:
    """Run ``code`` then each test (a Python statement, usually an ``assert``) in a separate process.

    ``timeout`` is wall-clock seconds; ``cpu_seconds`` defaults to the timeout rounded up.
    """
    cpu_seconds = cpu_seconds or max(1, math.ceil(timeout))
    nonce = secrets.token_hex(16)
    used = layers(network_namespace)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sandbox-") as work:
        Path(work, "candidate.py").write_text(code, encoding="utf-8")
        Path(work, "tests.json").write_text(json.dumps(list(tests)), encoding="utf-8")
        Path(work, "runner.py").write_text(_RUNNER, encoding="utf-8")
        env = {"PATH": "/usr/bin:/bin", "HOME": work, "TMPDIR": work, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
        prefix = list(network_namespace_prefix()) if network_namespace else []
        proc = subprocess.Popen(
            [*prefix, sys.executable, "-I", "runner.py"],
            cwd=work,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=_limits(cpu_seconds, memory_mb, file_mb),
            start_new_session=True,
        )
        timed_out = False
        try:
            stdout, stderr = proc.communicate((nonce + "\n").encode(), timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the whole group: children it may have started too
            except (ProcessLookupError, PermissionError):
                pass
        if timed_out:
            stdout, stderr = proc.communicate()
        seconds = time.perf_counter() - start
    total = len(tests)
    if timed_out:
        return Verdict(name, "timeout", f"no result within {timeout:g} s wall clock", 0, total, seconds, used)
    result = None
    for line in stdout.decode("utf-8", "replace").splitlines():
        if line.startswith(nonce):
            result = json.loads(line[len(nonce) :])
    if result is None:
        rc = proc.returncode
        if rc is not None and rc < 0 and -rc in (signal.SIGXCPU, signal.SIGKILL):
            return Verdict(
                name,
                "timeout",
                f"killed by {signal.Signals(-rc).name} (CPU limit {cpu_seconds} s)",
                0,
                total,
                seconds,
                used,
            )
        tail = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit status {rc}"]
        return Verdict(name, "error", f"no result: {tail[0][:200]}", 0, total, seconds, used)
    return Verdict(name, result["verdict"], result["detail"], result["passed"], result["total"], seconds, used)


def run_all(candidates: dict[str, str], tests: list[str], workers: int = 2, **limits: object) -> list[Verdict]:
    """:func:`run_candidate` for each named candidate (``workers`` at a time), verdicts in the candidates' order."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(run_candidate, code, tests, name=name, **limits) for name, code in candidates.items()]  # type: ignore[arg-type]
        return [f.result() for f in futures]


# ---------------------------------------------------------------------------- pass@k


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al., 2021): 1 - C(n-c, k) / C(n, k) for n samples of which c pass."""
    if not (0 <= c <= n and 1 <= k <= n):
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    # The product form of the paper's numerically stable version: prod_{i=n-c+1}^{n} (1 - k / i).
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def pass_at_k_enumerated(outcomes: list[bool], k: int) -> float:
    """The same quantity by brute force: the share of all k-subsets of the samples with at least one pass."""
    subsets = list(combinations(outcomes, k))
    return sum(any(s) for s in subsets) / len(subsets)
