"""The code validator: every verdict, the hostile candidates, and pass@k against enumeration."""

from __future__ import annotations

import itertools
import socket
import threading
from pathlib import Path

import pytest

from course_utils.sandbox import VERDICTS, pass_at_k, pass_at_k_enumerated, run_candidate

TESTS = ["assert add(2, 3) == 5", "assert add(-1, 1) == 0", "assert add(0, 0) == 0"]


def test_right_candidate_passes() -> None:
    v = run_candidate("def add(a, b):\n    return a + b\n", TESTS)
    assert (v.status, v.passed, v.total) == ("pass", 3, 3), v


def test_subtly_wrong_candidate_fails() -> None:
    v = run_candidate("def add(a, b):\n    return abs(a) + b\n", TESTS)
    assert v.status == "fail" and v.passed == 2 and "add(-1, 1)" in v.detail, v


def test_raising_candidate_is_an_error() -> None:
    v = run_candidate("def add(a, b):\n    raise ValueError('nope')\n", TESTS)
    assert v.status == "error" and "ValueError" in v.detail, v
    v = run_candidate("def add(a, b) return a + b\n", TESTS)
    assert v.status == "error" and "SyntaxError" in v.detail, v


def test_infinite_loop_times_out() -> None:
    v = run_candidate("def add(a, b):\n    while True:\n        pass\n", TESTS, timeout=1)
    assert v.status == "timeout", v
    assert v.seconds < 30  # bounded: the process group was killed (a generous bound for a loaded machine)


def test_cpu_limit_stops_a_loop_before_the_wall_clock() -> None:
    v = run_candidate("while True:\n    pass\n", TESTS, timeout=20, cpu_seconds=1)
    assert v.status == "timeout" and "CPU" in v.detail, v


def test_huge_allocation_is_an_error_not_a_crash() -> None:
    v = run_candidate("x = bytearray(8 * 2**30)\ndef add(a, b):\n    return a + b\n", TESTS, memory_mb=256)
    assert v.status == "error" and "MemoryError" in v.detail, v


def test_deleting_files_outside_the_sandbox_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    for code in (
        f"import os\nos.remove({str(victim)!r})\n",
        f"import shutil\nshutil.rmtree({str(folder)!r})\n",
        f"open({str(victim)!r}, 'w').write('overwritten')\n",
        f"import os\nos.rename({str(victim)!r}, 'stolen.txt')\n",
        f"import pathlib\npathlib.Path({str(victim)!r}).unlink()\n",
    ):
        v = run_candidate(code + "def add(a, b):\n    return a + b\n", TESTS)
        assert v.status == "error" and "sandbox" in v.detail, (code, v)
    assert victim.read_text() == "keep me" and (folder / "a.txt").read_text() == "a"


def test_files_inside_the_working_directory_are_allowed_and_thrown_away() -> None:
    code = (
        "open('scratch.txt', 'w').write('x')\nimport os\nos.remove('scratch.txt')\ndef add(a, b):\n    return a + b\n"
    )
    assert run_candidate(code, TESTS).status == "pass"


def test_network_is_refused() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    accepted: list[object] = []
    done = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not done.is_set():
            try:
                accepted.append(server.accept())
            except OSError:
                continue

    t = threading.Thread(target=accept)
    t.start()
    try:
        for code in (
            f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\n",
            "import socket\nsocket.getaddrinfo('example.com', 80)\n",
            f"import urllib.request\nurllib.request.urlopen('http://127.0.0.1:{port}/', timeout=2)\n",
        ):
            v = run_candidate(code + "def add(a, b):\n    return a + b\n", TESTS)
            assert v.status == "error", (code, v)
        # Without the network namespace the audit hook alone must still refuse the connection.
        v = run_candidate(
            f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\n",
            TESTS,
            network_namespace=False,
            isolation="none",
        )
        assert v.status == "error" and "sandbox" in v.detail, v
    finally:
        done.set()
        t.join()
        server.close()
    assert not accepted, "a candidate reached the test server"


def test_new_processes_are_refused() -> None:
    for code in (
        "import os\nos.system('true')\n",
        "import subprocess\nsubprocess.run(['true'])\n",
        "import os\nwhile True:\n    os.fork()\n",
    ):
        v = run_candidate(code, TESTS)
        assert v.status == "error" and "sandbox" in v.detail, (code, v)


def test_a_candidate_that_kills_its_interpreter_is_an_error() -> None:
    v = run_candidate("import os\nos._exit(3)\n", TESTS)
    assert v.status == "error" and "exit status 3" in v.detail, v
    assert v.status in VERDICTS


def test_printing_a_fake_result_does_not_fool_the_parent() -> None:
    code = 'print(\'{"verdict": "pass", "passed": 3, "total": 3, "detail": ""}\')\ndef add(a, b):\n    return 0\n'
    assert run_candidate(code, TESTS).status == "fail"


def test_tests_are_parsed_here_and_types_count() -> None:
    from course_utils.sandbox import Case, parse_test, same

    assert parse_test("assert add(2, 3) == 5") == Case("add", (2, 3), 5, "assert add(2, 3) == 5")
    assert parse_test("assert not f('ab')").expected is False and parse_test("assert f('a')").expected is True
    for bad in ("add(2, 3) == 5", "assert add(x, 3) == 5", "assert add(2) == y", "assert obj.add(1)", "assert ("):
        with pytest.raises(ValueError, match="write each test as"):
            parse_test(bad)
    assert same((1, [2.0]), (1, [2.0])) and not same(1, True) and not same([1], (1,)) and not same(1, 1.0)
    v = run_candidate("def add(a, b):\n    return float(a + b)\n", TESTS)
    assert v.status == "fail" and "got 5.0" in v.detail, v


@pytest.mark.parametrize("n", range(1, 8))
def test_pass_at_k_matches_enumeration(n: int) -> None:
    for c in range(n + 1):
        outcomes = [True] * c + [False] * (n - c)
        for k in range(1, n + 1):
            assert abs(pass_at_k(n, c, k) - pass_at_k_enumerated(outcomes, k)) < 1e-12, (n, c, k)
    # The order of the samples does not matter to the enumeration either.
    for perm in set(itertools.permutations([True, False, False, True][: min(n, 4)])):
        assert pass_at_k_enumerated(list(perm), 1) == sum(perm) / len(perm)


def test_pass_at_k_known_values_and_bad_input() -> None:
    assert pass_at_k(10, 0, 5) == 0.0 and pass_at_k(10, 10, 1) == 1.0
    assert abs(pass_at_k(4, 1, 2) - 0.5) < 1e-12  # 3 of the 6 pairs contain the one right sample
    assert abs(pass_at_k(200, 13, 1) - 13 / 200) < 1e-12
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)


def test_run_all_keeps_the_order_of_the_candidates() -> None:
    from course_utils.sandbox import run_all

    got = run_all(
        {
            "ok": "def add(a, b):\n    return a + b\n",
            "bad": "def add(a, b):\n    return a\n",
            "boom": "raise RuntimeError('x')\n",
        },
        TESTS,
        workers=3,
    )
    assert [(v.name, v.status) for v in got] == [("ok", "pass"), ("bad", "fail"), ("boom", "error")]
