"""Run untrusted candidate code against unit tests: the candidate computes, this process judges.

Generated code is untrusted code. :func:`run_candidate` gives each candidate its own process that only
*computes*: it receives the test inputs (never the expected values), calls the candidate's function on
each and sends back the results as plain data (JSON on a pipe, read with a size cap). This process
decodes them, compares type and value with the expected results and alone writes the :class:`Verdict`:
``pass`` (every result right), ``fail`` (a wrong result), ``error`` (the code raised, was refused, or
sent back something malformed, oversized or nothing) or ``timeout`` (wall clock or CPU time ran out).
Whatever the candidate prints or patches, it cannot write the verdict.

The layers, strongest first (:func:`layers` names those in force on this machine):

- **bubblewrap** (``bwrap``, Flatpak's sandbox) where it runs: new user, PID, mount, network, IPC and
  UTS namespaces; a read-only view of the interpreter, its packages and the system libraries and nothing
  else of the file system; an empty home and working directory; its own ``/proc`` (no other process, no
  parent's environment); a cleared environment; ``--die-with-parent``, and the whole namespace dies with
  its first process, so nothing the candidate starts outlives the verdict.
- **Resource limits** (``setrlimit``) where the OS accepts them: CPU seconds, address space (refused on
  macOS: then not in force, and not named), file size, no core files.
- **A wall-clock timeout** in this process, which kills the process group and stops reading at once.
- **A throw-away working directory** and a minimal environment; without bwrap, ``unshare -n`` for a
  network namespace where that works.
- **A Python audit hook** (:pep:`578`) in the candidate's process: an extra layer only. It refuses
  sockets, new processes, ``ctypes`` and writes outside the directory for ordinary code, but it lives in
  the candidate's own interpreter, so determined Python code can get around it.

Without bwrap (macOS, a container without user namespaces) the judge still sits outside, but a candidate
can read what this user can read, including other processes' environments, and can start processes
that get past the hook. Hosted evaluators add more: each run in a container or micro-VM (gVisor,
Firecracker) with no network, a separate unprivileged user and a seccomp filter on system calls.

:func:`sql_verdict` checks a generated SQL query on SQLite: read-only authorizer, a time budget from
SQLite's progress handler and a cap on the rows it may return.
"""

from __future__ import annotations

import ast
import json
import math
import os
import selectors
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations
from pathlib import Path

from . import _sandbox_codec as codec

try:
    import resource
except ImportError:  # Windows: no rlimits
    resource = None  # type: ignore[assignment]

VERDICTS = ("pass", "fail", "error", "timeout")
MAX_OUTPUT_BYTES = 1 << 20  # the most the candidate may send back or print; beyond it, the verdict is "error"
_SANDBOX_DIR = "/sandbox"  # the working directory's path inside bubblewrap

# The program the candidate's process runs. It reads the inputs, turns the candidate's prints into
# stderr, installs the audit hook, runs the candidate and sends back one JSON document of results.
_RUNNER = r"""
import json, os, sys
exec(open("codec.py", encoding="utf-8").read())
job = json.loads(sys.stdin.read())
answer = os.fdopen(os.dup(1), "w", encoding="utf-8")
os.dup2(2, 1)

def _make_guard(root, realpath, fsdecode, stat, isdir_mode, PathLike, str_, bytes_, int_, len_, isinstance_, any_,
                PermissionError_, O_WRITE):
    # What the hook uses is bound here, so no global of this module and no patch of os or builtins turns it
    # off; it still runs inside the candidate's interpreter, so it is an extra layer, not the wall.
    always = frozenset({
        "socket.connect", "socket.bind", "socket.getaddrinfo", "socket.gethostbyname", "socket.sendto",
        "os.system", "os.fork", "os.forkpty", "os.exec", "os.posix_spawn", "os.spawn", "os.kill", "os.killpg",
        "subprocess.Popen", "ctypes.dlopen", "ctypes.cdata", "os.chmod", "os.chown", "pty.spawn",
        "gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys.setprofile", "sys.settrace",
    })
    path_events = frozenset({"os.remove", "os.rmdir", "os.rename", "os.mkdir", "os.truncate", "os.symlink",
                             "os.link", "shutil.rmtree", "shutil.copyfile", "shutil.move", "os.utime",
                             "sqlite3.connect", "os.chdir"})
    banned_imports = frozenset({"_posixsubprocess", "_ctypes", "ctypes", "_xxsubinterpreters"})

    def inside(path):
        try:
            p = realpath(fsdecode(path))
        except BaseException:
            return False
        return p == root or p.startswith(root + "/")

    def guard(event, args):
        if event in always:
            raise PermissionError_(f"sandbox: {event} is not allowed")
        if event == "import" and args and args[0] in banned_imports:
            raise PermissionError_(f"sandbox: importing {args[0]} is not allowed")
        if event not in path_events and event != "open":
            return
        paths = [a for a in args[:2] if isinstance_(a, (str_, bytes_, PathLike))]
        if event == "open":
            paths = paths[:1]
            if paths and paths[0] not in (":memory:",):
                mode = args[1] if len_(args) > 1 and isinstance_(args[1], str_) else "r"
                flags = args[2] if len_(args) > 2 and isinstance_(args[2], int_) else 0
                writing = any_(c in mode for c in "wax+") or flags & O_WRITE
                if not writing:
                    try:
                        folder = isdir_mode(stat(paths[0]).st_mode)  # a folder's fd would let dir_fd escape
                    except BaseException:
                        folder = False
                    name = fsdecode(paths[0])
                    if not folder and not (name.startswith("/proc/") and not name.startswith("/proc/self/")):
                        return
        elif event in ("shutil.copyfile", "shutil.move"):
            paths = paths[1:]
        for p in paths:
            if event == "sqlite3.connect" and fsdecode(p) in (":memory:", ""):
                continue
            if not inside(p):
                raise PermissionError_(f"sandbox: {event} outside the working directory: {fsdecode(p)[:80]}")

    return guard

import stat as _stat
if job.get("audit_hook", True):
    # No switch: once added, an audit hook stays for the life of the process.
    sys.addaudithook(_make_guard(os.path.realpath(os.getcwd()), os.path.realpath, os.fsdecode, os.stat,
                                 _stat.S_ISDIR, os.PathLike, str, bytes, int, len, isinstance, any,
                                 PermissionError, os.O_WRONLY | os.O_RDWR | os.O_CREAT))
del _make_guard, _stat
results = []
try:
    space = {"__name__": "candidate"}
    exec(compile(open("candidate.py", encoding="utf-8").read(), "candidate.py", "exec"), space)
    for name, args in job["calls"]:
        fn = space.get(name)
        if not callable(fn):
            results.append({"missing": name})
            continue
        try:
            value = fn(*decode(args))
        except BaseException as exc:
            results.append({"raised": f"{type(exc).__name__}: {exc}"[:200]})
            continue
        try:
            results.append({"value": encode(value)})
        except Exception:
            results.append({"type": type(value).__name__[:60]})
    answer.write(json.dumps({"results": results}))
except BaseException as exc:
    answer.write(json.dumps({"crashed": f"{type(exc).__name__}: {exc}"[:300]}))
answer.flush()
os._exit(0)
"""


@dataclass(frozen=True)
class Case:
    """One test: call ``call(*args)`` in the sandbox and expect exactly ``expected`` (same type, same value)."""

    call: str
    args: tuple[object, ...]
    expected: object
    text: str = ""

    def __str__(self) -> str:
        return self.text or f"{self.call}{self.args!r} == {self.expected!r}"


_TEST_FORMS = (
    "write each test as 'assert f(args) == value', 'assert f(args)' (expects True) or 'assert not f(args)' "
    "(expects False), with literal arguments and value (numbers, strings, lists, tuples, dicts, None)"
)


def parse_test(text: str) -> Case:
    """Turn an ``assert`` line into a :class:`Case`; ``ValueError`` (saying which forms work) otherwise.

    The expected value stays in this process: the candidate's process only ever sees the call.
    """
    try:
        tree = ast.parse(text.strip())
    except SyntaxError as exc:
        raise ValueError(f"test {text!r} is not Python ({exc.msg}); {_TEST_FORMS}") from None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Assert):
        raise ValueError(f"test {text!r} is not one assert statement; {_TEST_FORMS}")
    test = tree.body[0].test
    expected: object = True
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        test, expected = test.operand, False
    elif isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq):
        try:
            expected = ast.literal_eval(test.comparators[0])
        except ValueError:
            raise ValueError(f"test {text!r}: the expected value is not a literal; {_TEST_FORMS}") from None
        test = test.left
    if not (isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and not test.keywords):
        raise ValueError(f"test {text!r} does not call a function by name; {_TEST_FORMS}")
    try:
        args = tuple(ast.literal_eval(a) for a in test.args)
    except ValueError:
        raise ValueError(f"test {text!r}: an argument is not a literal; {_TEST_FORMS}") from None
    return Case(test.func.id, args, expected, text.strip())


def same(got: object, want: object) -> bool:
    """Equal in type and value, all the way down (``True`` is not ``1``, ``(1,)`` is not ``[1]``)."""
    if type(got) is not type(want):
        return False
    if isinstance(want, (list, tuple)) and isinstance(got, (list, tuple)):
        return len(got) == len(want) and all(same(g, w) for g, w in zip(got, want, strict=True))
    if isinstance(want, dict) and isinstance(got, dict):
        return got.keys() == want.keys() and all(same(got[k], want[k]) for k in want)
    if isinstance(want, float) and math.isnan(want):
        return math.isnan(got)  # type: ignore[arg-type]
    return bool(got == want)


@dataclass(frozen=True)
class Verdict:
    """The outcome of one candidate: ``status`` is one of :data:`VERDICTS`; ``layers`` were in force for it."""

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


# ---------------------------------------------------------------------------- what this machine offers


def _system_binds() -> list[str]:
    """Read-only binds of what the interpreter needs: system libraries, the Python install, the venv."""
    args: list[str] = []
    for d in ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc/ld.so.cache", "/etc/alternatives"):
        args += ["--ro-bind-try", d, d]
    for d in sorted({os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}):
        args += ["--ro-bind", d, d]
    return args


def _python() -> str:
    """The interpreter as the sandbox sees it: the venv's, through its real folder (so its packages load)."""
    return os.path.join(os.path.realpath(sys.prefix), os.path.relpath(sys.executable, sys.prefix))


def _bwrap_command(work: str) -> list[str]:
    exe = shutil.which("bwrap")
    assert exe is not None
    return [
        exe, "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session", "--clearenv",
        "--uid", "65534", "--gid", "65534", "--disable-userns", "--cap-drop", "ALL",
        # /tmp first: the binds that follow land on top of it (a course folder under /tmp stays visible)
        "--proc", "/proc", "--dev", "/dev",
        "--size", str(16 << 20), "--tmpfs", "/tmp",
        *_system_binds(),
        "--bind", work, _SANDBOX_DIR, "--chdir", _SANDBOX_DIR,
        "--setenv", "HOME", _SANDBOX_DIR, "--setenv", "TMPDIR", "/tmp", "--setenv", "PATH", "/usr/bin:/bin",
        "--setenv", "LANG", "C.UTF-8", "--setenv", "PYTHONHASHSEED", "0",
        "--", _python(), "-I", "runner.py",
    ]  # fmt: skip


@lru_cache(maxsize=1)
def bubblewrap_status() -> str:
    """``"ok"`` when bubblewrap runs here, else why not (not installed, refused by the kernel...)."""
    if not sys.platform.startswith("linux"):
        return f"bubblewrap is Linux-only (this is {sys.platform})"
    if not shutil.which("bwrap"):
        return "bwrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    with tempfile.TemporaryDirectory(prefix="sandbox-probe-") as work:
        cmd = _bwrap_command(work)
        cmd[cmd.index("--") + 1 :] = [_python(), "-I", "-c", "print('ok')"]
        try:
            run = subprocess.run(cmd, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bwrap did not start: {exc}"
    if run.stdout.strip() == b"ok":
        return "ok"
    why = run.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit status {run.returncode}"]
    return f"bwrap is installed but cannot run here: {why[0][:160]}"


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


_RLIMITS = ("RLIMIT_CPU", "RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_CORE")


def _set_limits(cpu_seconds: int, memory_mb: int, file_mb: int) -> None:
    """Lower each limit the OS lets us lower; one it refuses (macOS refuses RLIMIT_AS) is skipped."""
    if resource is None:
        return
    wanted = {"RLIMIT_CPU": cpu_seconds, "RLIMIT_AS": memory_mb << 20, "RLIMIT_FSIZE": file_mb << 20, "RLIMIT_CORE": 0}
    for name, value in wanted.items():
        try:
            limit = getattr(resource, name)
            hard = value + 1 if name == "RLIMIT_CPU" else value
            resource.setrlimit(limit, (value, hard))
        except (AttributeError, ValueError, OSError):
            pass


@lru_cache(maxsize=1)
def rlimits_in_force() -> tuple[str, ...]:
    """The resource limits a child process really gets here (checked once, in a child)."""
    if resource is None:
        return ()
    probe = f"import resource\nfor n in {_RLIMITS!r}:\n    print(n, resource.getrlimit(getattr(resource, n, 0))[0])"
    try:
        run = subprocess.run(
            [sys.executable, "-I", "-S", "-c", probe],
            capture_output=True,
            timeout=30,
            preexec_fn=lambda: _set_limits(7, 1234, 5),
        )
    except (OSError, subprocess.TimeoutExpired):
        return ()
    got = dict(line.split() for line in run.stdout.decode().splitlines() if len(line.split()) == 2)
    wanted = {"RLIMIT_CPU": 7, "RLIMIT_AS": 1234 << 20, "RLIMIT_FSIZE": 5 << 20, "RLIMIT_CORE": 0}
    return tuple(n for n in _RLIMITS if got.get(n) == str(wanted[n]))


def layers(network_namespace: bool = True, isolation: str = "auto", audit_hook: bool = True) -> tuple[str, ...]:
    """The isolation layers :func:`run_candidate` uses on this machine with these arguments."""
    found = ["judge outside the candidate (results as plain data, capped)", "wall-clock timeout"]
    if isolation == "auto" and bubblewrap_status() == "ok":
        found.append("bubblewrap (user, PID, mount, network namespaces; read-only system; no parent environment)")
    else:
        why = (
            "left out by the caller" if isolation != "auto" else bubblewrap_status().replace("(", "- ").replace(")", "")
        )
        found.append(f"NOT in force: bubblewrap ({why}); without it a candidate can read what this user can read")
        if network_namespace and network_namespace_prefix():
            found.append("network namespace (unshare " + " ".join(network_namespace_prefix()[1:]) + ")")
    found += list(rlimits_in_force())
    found.append("throw-away working directory")
    if audit_hook:
        found.append("audit hook (Python-level, extra)")
    return tuple(found)


# ---------------------------------------------------------------------------- one candidate


def _read_capped(proc: subprocess.Popen[bytes], deadline: float, cap: int) -> tuple[bytes, bytes, str]:
    """Read stdout and stderr until both close, the deadline passes or either exceeds ``cap``."""
    assert proc.stdout is not None and proc.stderr is not None
    buffers = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
    with selectors.DefaultSelector() as sel:
        for f in (proc.stdout, proc.stderr):
            os.set_blocking(f.fileno(), False)
            sel.register(f.fileno(), selectors.EVENT_READ)
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                return bytes(buffers[proc.stdout.fileno()]), bytes(buffers[proc.stderr.fileno()]), "timeout"
            exited = proc.poll() is not None  # then all it wrote is in the pipes: one more pass drains them
            ready = sel.select(timeout=0 if exited else min(left, 0.1))
            if exited and not ready:
                break  # a process it left behind may hold the pipes open: it does not hold the verdict
            for key, _ in ready:
                try:
                    chunk = os.read(key.fd, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    sel.unregister(key.fd)
                    continue
                buffers[key.fd] += chunk
                if len(buffers[key.fd]) > cap:
                    return bytes(buffers[proc.stdout.fileno()][:cap]), b"", "oversized"
    return bytes(buffers[proc.stdout.fileno()]), bytes(buffers[proc.stderr.fileno()]), "closed"


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill the whole process group (bwrap's namespace goes with it), then close our ends without waiting."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # Windows (the course runs there under WSL): the process alone
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    for f in (proc.stdin, proc.stdout, proc.stderr):
        try:
            if f is not None:
                f.close()
        except OSError:
            pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def run_candidate(
    code: str,
    tests: Sequence[str | Case],
    *,
    name: str = "candidate",
    timeout: float = 5.0,
    cpu_seconds: int | None = None,
    memory_mb: int = 512,
    file_mb: int = 10,
    network_namespace: bool = True,
    isolation: str = "auto",
    max_output_bytes: int = MAX_OUTPUT_BYTES,
    audit_hook: bool = True,
) -> Verdict:
    """Run ``code`` in a sandbox, call its function on each test's inputs there, and judge the results here.

    Args:
        code: the candidate's source; it must define the function the tests call.
        tests: ``assert`` lines (see :func:`parse_test`) or :class:`Case` objects.
        timeout: wall-clock seconds for the whole candidate; ``cpu_seconds`` defaults to it rounded up.
        memory_mb, file_mb: address-space and file-size limits (where the OS accepts them).
        network_namespace: without bubblewrap, cut the network with ``unshare`` where it works.
        isolation: ``"auto"`` uses bubblewrap where it runs; ``"none"`` uses only the other layers.
        max_output_bytes: the most the candidate may send back or print before its verdict is ``error``.
        audit_hook: install the Python-level guard (``False`` tests the other layers alone).

    Never raises for anything the candidate does; a malformed test raises ``ValueError`` before anything runs.
    """
    cases = [t if isinstance(t, Case) else parse_test(t) for t in tests]
    total = len(cases)
    cpu_seconds = cpu_seconds or max(1, math.ceil(timeout))
    used = layers(network_namespace, isolation, audit_hook)
    boxed = isolation == "auto" and bubblewrap_status() == "ok"
    start = time.monotonic()

    def verdict(status: str, detail: str, passed: int = 0) -> Verdict:
        return Verdict(name, status, detail, passed, total, time.monotonic() - start, used)

    with tempfile.TemporaryDirectory(prefix="sandbox-") as work:
        Path(work, "candidate.py").write_text(code, encoding="utf-8")
        Path(work, "runner.py").write_text(_RUNNER, encoding="utf-8")
        Path(work, "codec.py").write_text(Path(codec.__file__).read_text(encoding="utf-8"), encoding="utf-8")
        job = json.dumps({"calls": [[c.call, codec.encode(list(c.args))] for c in cases], "audit_hook": audit_hook})
        if boxed:
            cmd = _bwrap_command(work)
        else:
            prefix = list(network_namespace_prefix()) if network_namespace else []
            cmd = [*prefix, sys.executable, "-I", "runner.py"]
        env = {"PATH": "/usr/bin:/bin", "HOME": work, "TMPDIR": work, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
        try:
            proc = subprocess.Popen(
                cmd,
                cwd=work,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                preexec_fn=lambda: _set_limits(cpu_seconds, memory_mb, file_mb),
                start_new_session=True,
            )
        except OSError as exc:
            return verdict("error", f"the sandbox did not start: {exc}")
        assert proc.stdin is not None
        try:
            proc.stdin.write(job.encode())
            proc.stdin.close()
        except OSError:
            pass  # it exited before reading its inputs: judged below from what it left
        out, err, how = _read_capped(proc, start + timeout, max_output_bytes)
        if how == "closed":
            try:
                proc.wait(timeout=max(0.1, start + timeout - time.monotonic()))
            except subprocess.TimeoutExpired:
                how = "timeout"
        _kill(proc)  # always: a child it left behind goes with the group or the namespace
        rc = proc.returncode
    if how == "timeout":
        return verdict("timeout", f"no result within {timeout:g} s wall clock")
    if how == "oversized":
        return verdict("error", f"sent back or printed more than {max_output_bytes:,} bytes: stopped")
    if rc is not None and (rc in (-signal.SIGXCPU, 128 + signal.SIGXCPU)):
        return verdict("timeout", f"stopped by the CPU limit ({cpu_seconds} s)")
    return _judge(out, err, rc, cases, verdict)


def _judge(out: bytes, err: bytes, rc: int | None, cases: list[Case], verdict: Callable[..., Verdict]) -> Verdict:
    """Compare what the candidate sent back with the expected values; anything malformed is ``error``."""
    if not out.strip():
        tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit status {rc}"]
        return verdict("error", f"no result: {tail[0][:200]}")
    try:
        doc = json.loads(out)
        if type(doc) is dict and set(doc) == {"crashed"}:
            return verdict("error", str(doc["crashed"])[:300])
        results = doc["results"]
        if type(results) is not list or len(results) != len(cases):
            raise ValueError("wrong number of results")
        pairs = [(c, r) for c, r in zip(cases, results, strict=True) if type(r) is dict and len(r) == 1]
        if len(pairs) != len(cases):
            raise ValueError("a result is not one key")
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        return verdict("error", f"malformed result ({type(exc).__name__}): {out[:80]!r}")
    passed, failures = 0, []
    for case, result in pairs:
        ((kind, payload),) = result.items()
        if kind == "raised":
            return verdict("error", f"{case}: raised {str(payload)[:200]}", passed)
        if kind == "missing":
            return verdict("error", f"no function named {case.call!r} in the candidate", passed)
        if kind == "value":
            try:
                got = codec.decode(payload)
            except (ValueError, TypeError, RecursionError) as exc:
                return verdict("error", f"malformed result for {case}: {exc}"[:200], passed)
            if same(got, case.expected):
                passed += 1
                continue
            failures.append(f"failed: {case} (got {_short(got)})")
        elif kind == "type":
            failures.append(f"failed: {case} (got an object of type {str(payload)[:40]}, not plain data)")
        else:
            return verdict("error", f"malformed result for {case}: {str(result)[:80]}", passed)
    if failures:
        return verdict("fail", failures[0], passed)
    return verdict("pass", "all tests passed", passed)


def _short(value: object, width: int = 110) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def run_all(
    candidates: dict[str, str], tests: Sequence[str | Case], workers: int = 2, **limits: object
) -> list[Verdict]:
    """:func:`run_candidate` for each named candidate (``workers`` at a time), verdicts in the candidates' order.

    Every candidate gets its verdict: one that misbehaves cannot take the others' with it.
    """
    from concurrent.futures import ThreadPoolExecutor

    cases = [t if isinstance(t, Case) else parse_test(t) for t in tests]

    def one(item: tuple[str, str]) -> Verdict:
        try:
            return run_candidate(item[1], cases, name=item[0], **limits)  # type: ignore[arg-type]
        except Exception as exc:  # a bug of ours, not the candidate's: still a verdict per candidate
            return Verdict(item[0], "error", f"validator error: {type(exc).__name__}: {exc}"[:200], 0, len(cases), 0.0)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(one, candidates.items()))


# ---------------------------------------------------------------------------- SQL


def sql_verdict(
    candidate: str,
    reference: str,
    connect: Callable[[], sqlite3.Connection],
    *,
    ordered: bool = False,
    seconds: float = 1.0,
    max_rows: int = 10_000,
    name: str = "query",
) -> Verdict:
    """Run a candidate query and the reference on fresh databases from ``connect()`` and compare the rows.

    Each connection is read-only (an authorizer allows reading only), each query gets ``seconds`` of
    time (SQLite's progress handler interrupts it: verdict ``timeout``) and may return at most ``max_rows``
    rows (more: ``error``). Rows are compared as a multiset unless ``ordered``.
    """
    used = ("read-only authorizer", f"time budget {seconds:g} s (progress handler)", f"row cap {max_rows:,}")
    start = time.monotonic()

    def verdict(status: str, detail: str) -> Verdict:
        return Verdict(name, status, detail, int(status == "pass"), 1, time.monotonic() - start, used)

    def rows(query: str) -> list[tuple[object, ...]]:
        db = connect()
        try:
            db.set_authorizer(_read_only)
            deadline = time.monotonic() + seconds
            db.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
            got = db.execute(query).fetchmany(max_rows + 1)
        finally:
            db.close()
        if len(got) > max_rows:
            raise OverflowError(f"more than {max_rows:,} rows")
        return got

    try:
        want = rows(reference)
    except (sqlite3.Error, OverflowError) as exc:
        raise ValueError(f"the reference query itself does not run within the limits: {exc}") from exc
    try:
        got = rows(candidate)
    except OverflowError as exc:
        return verdict("error", f"{exc} (the row cap): the query returns too much")
    except sqlite3.OperationalError as exc:
        if "interrupt" in str(exc):
            return verdict("timeout", f"stopped after the {seconds:g} s time budget")
        return verdict("error", f"OperationalError: {exc}")
    except (sqlite3.Error, ValueError) as exc:  # ValueError: e.g. two statements in one string
        return verdict("error", f"{type(exc).__name__}: {exc}")
    if (got == want) if ordered else (Counter(got) == Counter(want)):
        return verdict("pass", f"{len(got)} rows, as the reference")
    if Counter(got) == Counter(want):
        return verdict("fail", f"the reference's {len(got)} rows in another order")
    return verdict("fail", f"{len(got)} rows that differ from the reference's {len(want)}")


def _read_only(action: int, *_: object) -> int:
    allowed = (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION)
    return sqlite3.SQLITE_OK if action in allowed else sqlite3.SQLITE_DENY


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
