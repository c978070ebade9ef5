"""Hostile candidates against the validator: each gets a non-pass verdict in time and leaves nothing behind.

All the hostile candidates run once, two at a time, in one module-scoped fixture (the suite's time is
tight); each test then reads its verdict. A candidate never knows the expected values: the tests are
``add(2, 3) == 5`` and ``add(-1, 1) == 0``, judged in this process.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course_utils.sandbox import Verdict, bubblewrap_status, run_all, run_candidate, sql_verdict

TESTS = ["assert add(2, 3) == 5", "assert add(-1, 1) == 0"]
TIMEOUT = 4.0
MARK = f"31.{os.getpid()}"  # in the command line of every process a candidate starts (a sleep), to find survivors
# What a forger would send: a claim of success, since it does not know the expected values.
CLAIM = '{"verdict": "pass", "passed": 2, "total": 2, "results": [{"pass": true}, {"pass": true}]}'
RIGHT = "def add(a, b):\n    return a + b\n"
WRONG = "def add(a, b):\n    return 'not computed'\n"
BOXED = bubblewrap_status() == "ok"
needs_bwrap = pytest.mark.skipif(not BOXED, reason=f"needs bubblewrap: {bubblewrap_status()}")


def hostile(victim: Path) -> dict[str, str]:
    """Candidate kind -> source. ``victim`` is a folder outside the sandbox that must stay empty."""
    v = str(victim)
    spawn = (
        "import _posixsubprocess, os\nr, w = os.pipe()\n"
        "_posixsubprocess.fork_exec([b'/bin/sh', b'-c', CMD], [b'/bin/sh'], False, (), None, None,"
        " -1, -1, -1, -1, -1, -1, r, w, True, True, -1, None, None, None, -1, None, False)\n"
    )
    return {
        "never returns": "def add(a, b):\n    while True:\n        pass\n",  # first: it runs beside the others
        "guard switched off from Python": (
            "import __main__, builtins, os, sys\n__main__.armed = False\n__main__._ALWAYS = frozenset()\n"
            "__main__._guard = None\nvars(__main__).pop('_PATHS', None)\n"
            "os.path.realpath = lambda p: os.getcwd()\nbuiltins.isinstance = lambda *a: False\n"
            "try:\n    import gc\n    [o for o in gc.get_objects()]\nexcept PermissionError:\n    pass\n"
            f"open({v + '/switched-off.txt'!r}, 'w').write('x')\n" + WRONG
        ),
        "forges: patches json and the codec": (
            f"import json\njson.dumps = lambda *a, **k: {CLAIM!r}\n"
            "import __main__\n__main__.encode = lambda v: 5\n" + WRONG
        ),
        "forges: prints a result line": (
            f"import os\nprint({CLAIM!r})\n"
            "for fd in range(3, 12):\n    try:\n"
            f"        os.write(fd, {CLAIM.encode()!r})\n"
            "    except OSError:\n        pass\n" + WRONG
        ),
        "forges: __eq__ always True": (
            "class Anything:\n    def __eq__(self, other):\n        return True\n"
            "def add(a, b):\n    return Anything()\n"
        ),
        "dir_fd write outside": (
            f"import os\nfd = os.open({v!r}, os.O_RDONLY)\n"
            "os.close(os.open('dirfd.txt', os.O_CREAT | os.O_WRONLY, dir_fd=fd))\n" + WRONG
        ),
        "sqlite writes a file outside": (
            f"import sqlite3\nsqlite3.connect({v + '/stolen.db'!r}).execute('CREATE TABLE t (x)')\n" + WRONG
        ),
        "os.posix_spawn": f"import os\nos.posix_spawn('/bin/sh', ['sh', '-c', 'touch {v}/spawned'], {{}})\n" + WRONG,
        "low-level spawn, setsid child outlives and holds the pipe": (
            f"CMD = b'touch {v}/late.txt; exec sleep {MARK}'\n" + spawn + WRONG
        ),
        "malformed result": (
            'import os\nfor fd in range(3, 12):\n    try:\n        os.write(fd, b\'{"results": [{"val\')\n'
            "    except OSError:\n        pass\nos._exit(0)\n"
        ),
        "deeply nested result": "def add(a, b):\n    x = []\n    for _ in range(100000):\n        x = [x]\n    return x\n",
        "500 MB of output": "import os\nfor _ in range(8000):\n    os.write(1, b'x' * 65536)\n" + RIGHT,
    }


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Verdict], Path]:
    """Every hostile kind under bubblewrap with the audit hook left out: the wall alone must hold."""
    victim = tmp_path_factory.mktemp("victim")
    got = run_all(hostile(victim), TESTS, workers=2, timeout=TIMEOUT, audit_hook=False)
    return {v.name: v for v in got}, victim


def survivors() -> list[str]:
    """Processes on this machine whose command line carries the mark."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and MARK in (entry / "cmdline").read_bytes().decode("utf-8", "replace"):
                found.append(entry.name)
        except OSError:
            continue
    return found


@needs_bwrap
@pytest.mark.parametrize("kind", list(hostile(Path("/x"))))
def test_hostile_candidate_never_passes_and_leaves_nothing(
    kind: str, verdicts: tuple[dict[str, Verdict], Path]
) -> None:
    got, victim = verdicts
    v = got[kind]
    assert v.status in ("fail", "error", "timeout"), v
    assert v.seconds < TIMEOUT + 10, v  # a bound, not a benchmark: the timeout holds
    assert list(victim.iterdir()) == [], f"{kind} left {list(victim.iterdir())}"
    assert not survivors(), f"{kind}: processes outlived the verdict"
    assert any(x.startswith("bubblewrap") for x in v.layers) and not any("audit" in x for x in v.layers), v.layers


@needs_bwrap
def test_specific_verdicts(verdicts: tuple[dict[str, Verdict], Path]) -> None:
    got, _ = verdicts
    assert got["forges: __eq__ always True"].status == "fail" and "Anything" in got["forges: __eq__ always True"].detail
    assert got["forges: patches json and the codec"].status == "error"
    assert (
        got["forges: prints a result line"].status == "error"
        and "malformed" in got["forges: prints a result line"].detail
    )
    assert got["malformed result"].status == "error" and "malformed" in got["malformed result"].detail
    assert got["500 MB of output"].status == "error" and "more than" in got["500 MB of output"].detail
    assert got["never returns"].status == "timeout"
    spawned = got["low-level spawn, setsid child outlives and holds the pipe"]
    assert spawned.status == "fail" and spawned.seconds < TIMEOUT, spawned  # the held pipe did not make us wait


def test_hostile_candidates_never_pass_without_bubblewrap(tmp_path: Path) -> None:
    """Without bwrap the judge is still outside, and the audit hook, which Python cannot switch off, refuses the rest."""
    codes = {k: c for k, c in hostile(tmp_path).items() if k != "never returns"}
    got = run_all(codes, TESTS, workers=2, timeout=TIMEOUT, isolation="none")
    assert all(v.status in ("fail", "error") for v in got), [(v.name, v.status, v.detail) for v in got]
    assert all(any(x.startswith("NOT in force: bubblewrap") for x in v.layers) for v in got)
    assert list(tmp_path.iterdir()) == [] and not survivors()
    refused = {v.name: v.detail for v in got if "sandbox:" in v.detail}
    assert {
        "guard switched off from Python",
        "dir_fd write outside",
        "sqlite writes a file outside",
        "os.posix_spawn",
        "low-level spawn, setsid child outlives and holds the pipe",
    } <= set(refused), got


CHILD = """
import json, sys
from course_utils.sandbox import run_candidate
code = sys.stdin.read()
v = run_candidate(code, ["assert add(2, 3) == 5"], timeout=8)
print(json.dumps([v.status, v.detail]))
"""

SNOOP = """
import os
seen = []
for pid in os.listdir('/proc'):
    for part in ('environ', 'cmdline'):
        try:
            seen.append(open(f'/proc/{pid}/{part}', 'rb').read().decode('utf-8', 'replace'))
        except OSError:
            pass
seen.append(repr(dict(os.environ)))
hits = [chunk for chunk in seen if 'COURSE_PLANTED_TOKEN' in chunk]
def add(a, b):
    return hits[0][:300] if hits else 'nothing seen'
"""


@needs_bwrap
def test_the_parents_environment_is_out_of_sight() -> None:
    token = "tok-" + os.urandom(8).hex()
    env = {**os.environ, "COURSE_PLANTED_TOKEN": token}
    run = subprocess.run(
        [sys.executable, "-c", CHILD], input=SNOOP, env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr[-2000:]
    status, detail = json.loads(run.stdout.strip().splitlines()[-1])
    assert status == "fail" and "nothing seen" in detail, detail
    assert token not in run.stdout


def test_the_caller_survives_every_output(tmp_path: Path) -> None:
    """Missing function, wrong counts, exits before reading, non-UTF-8 bytes: each is a verdict, never a raise."""
    codes = {
        "no function": "x = 1\n",
        "exits at once": "import os\nos._exit(0)\n",
        "binary garbage": "import os\nfor fd in range(3, 12):\n    try:\n        os.write(fd, bytes(range(256)))\n"
        "    except OSError:\n        pass\nos._exit(0)\n",
        "right": RIGHT,
    }
    got = {v.name: v for v in run_all(codes, TESTS, workers=2, timeout=TIMEOUT)}
    assert got["no function"].status == "error" and "no function named 'add'" in got["no function"].detail
    assert got["exits at once"].status == "error" and "no result" in got["exits at once"].detail
    assert got["binary garbage"].status == "error"
    assert got["right"].status == "pass", got["right"]


def make_db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.executescript(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER);"
        "INSERT INTO t (v) VALUES (1), (2), (3), (4), (5), (6), (7), (8), (9), (10);"
    )
    return db


def test_sql_time_budget_stops_a_many_way_self_join() -> None:
    join = "SELECT count(*) FROM " + ", ".join(f"t t{i}" for i in range(12))  # 10^12 rows: minutes on any machine
    start = time.monotonic()
    v = sql_verdict(join, "SELECT count(*) FROM t", make_db, seconds=0.5)
    assert v.status == "timeout" and "0.5 s" in v.detail, v
    assert time.monotonic() - start < 10  # a bound, not a benchmark
    assert any("progress handler" in layer for layer in v.layers)


def test_sql_row_cap_read_only_and_right_answers(tmp_path: Path) -> None:
    many = "SELECT a.v FROM t a, t b, t c"  # 1,000 rows
    assert sql_verdict(many, "SELECT v FROM t", make_db, max_rows=100).status == "error"
    assert sql_verdict("DROP TABLE t", "SELECT v FROM t", make_db).status == "error"
    outside = tmp_path / "x.db"
    v = sql_verdict(f"ATTACH DATABASE '{outside}' AS x", "SELECT v FROM t", make_db)
    assert v.status == "error" and not outside.exists(), v
    assert sql_verdict("SELECT v FROM t ORDER BY v DESC", "SELECT v FROM t", make_db).status == "pass"
    assert sql_verdict("SELECT v FROM t ORDER BY v DESC", "SELECT v FROM t", make_db, ordered=True).status == "fail"
    with pytest.raises(ValueError, match="reference"):
        sql_verdict("SELECT 1", "SELECT nope FROM t", make_db)


def test_timeout_holds_and_the_layers_are_named() -> None:
    v = run_candidate("import time\ntime.sleep(60)\n" + RIGHT, TESTS, timeout=1.5)
    assert v.status == "timeout" and v.seconds < 1.5 + 10, v
    assert "wall-clock timeout" in v.layers and any("audit hook" in layer for layer in v.layers)


def test_without_any_wall_a_held_pipe_still_does_not_hold_the_verdict(tmp_path: Path) -> None:
    """No bubblewrap, no hook: the setsid child escapes (the layers say so), but the verdict comes at once."""
    code = hostile(tmp_path)["low-level spawn, setsid child outlives and holds the pipe"]
    try:
        v = run_candidate(code, TESTS, timeout=TIMEOUT, isolation="none", audit_hook=False)
        assert v.status == "fail" and v.seconds < TIMEOUT, v
        assert any(x.startswith("NOT in force: bubblewrap") for x in v.layers)
    finally:
        for pid in survivors():  # ours, by the mark of this test process: end them
            try:
                os.kill(int(pid), 9)
            except ProcessLookupError:
                pass
        for _ in range(50):
            if not survivors():
                break
            time.sleep(0.1)
