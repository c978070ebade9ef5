"""A local model hub and data server for the tests: the course's online path, run with no internet.

It speaks the part of the Hugging Face hub's HTTP API that ``huggingface_hub`` 2.x uses to download:

- ``GET /api/models/{repo}`` and ``/api/models/{repo}/revision/{rev}``: the model record, with ``sha``
  (the commit) and ``siblings`` (the files);
- ``GET /api/models/{repo}/tree/{rev}``: the file listing, with sizes, git blob ids and LFS sha256;
- ``HEAD``/``GET /{repo}/resolve/{rev}/{path}``: a file, with ``X-Repo-Commit`` and ``ETag``; a large
  (LFS) file answers as the hub does, with a redirect to its content address and ``X-Linked-Etag``
  (its sha256) and ``X-Linked-Size``;
- ``GET /lfs/{sha256}``: the content of an LFS file, with ``Range`` for resumed downloads;
- ``GET /mirror/{host}/{path}``: files that live elsewhere on the internet (GitHub, download.pytorch.org),
  for code whose download address is rewritten to here (see :func:`write_url_rewrite`).

Unknown repos, revisions and files answer 404 with the hub's ``X-Error-Code``. A repo is served under its
real id; a short pinned revision (``714eb0f``) is the start of the 40-hex commit it answers with, as on the hub.

Faults a class meets can be switched on per path (:meth:`LocalHub.fault`): ``silent`` (accept, never answer),
``reset`` (close the connection at once), ``truncate`` (announce the full length, send half, close).

It binds to 127.0.0.1 only, serves from threads of the test process, and stops when the ``with`` block ends.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import shutil
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

#: Files at least this big are served the way the hub serves LFS files (a redirect, X-Linked-* headers).
LFS_MIN_BYTES = 100_000
#: How long a ``silent`` fault holds a connection open at most (a bounded lifetime for the test's threads).
SILENT_HOLD_S = 30.0


def git_blob_id(data: bytes) -> str:
    """The git object id of a file's content (what the hub reports as a small file's ETag and ``oid``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class _File:
    path: Path
    size: int
    blob_id: str
    sha256: str | None  # set for LFS-size files

    @classmethod
    def of(cls, path: Path) -> _File:
        data_size = path.stat().st_size
        if data_size >= LFS_MIN_BYTES:
            digest = hashlib.sha256()
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            sha = digest.hexdigest()
            # The hub's blob id of an LFS file is that of its pointer file; any stable id of the content will do here.
            return cls(path, data_size, hashlib.sha1(sha.encode()).hexdigest(), sha)
        data = path.read_bytes()
        return cls(path, data_size, git_blob_id(data), None)


@dataclass
class Repo:
    """One model repo: its id, the commit it answers with, and its files (path in the repo -> local file)."""

    repo_id: str
    commit: str
    files: dict[str, _File] = field(default_factory=dict)
    revisions: set[str] = field(default_factory=set)  # names it answers to besides the commit ("main", a short pin)

    def knows(self, rev: str) -> bool:
        return rev == self.commit or rev in self.revisions


def commit_for(repo_id: str, revision: str | None) -> str:
    """A 40-hex commit for a served repo; a pinned short hex revision is its start, as on the hub."""
    tail = hashlib.sha1(f"localhub {repo_id} {revision}".encode()).hexdigest()
    if revision and all(c in "0123456789abcdef" for c in revision) and len(revision) <= 40:
        return (revision + tail)[:40]
    return tail


class LocalHub:
    """The server. Add repos and mirrored files, then use it as a context manager (yields the base URL)."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.mirror: dict[str, _File] = {}  # "host/path" -> file
        self.lfs: dict[str, _File] = {}
        self.faults: dict[str, tuple[str, int]] = {}  # path substring -> (kind, times left; -1 = always)
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, for the tests to read
        self._held: list[socket.socket] = []
        self._servers: list[_Server] = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ content

    def add_repo(
        self, repo_id: str, folder: Path, revision: str | None = None, extra: dict[str, Path] | None = None
    ) -> Repo:
        """Serve the files under ``folder`` (symlinks followed; hidden files skipped) as ``repo_id``."""
        repo = Repo(repo_id, commit_for(repo_id, revision), revisions={"main"} | ({revision} if revision else set()))
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            if path.is_file() and not any(part.startswith(".") for part in rel.parts):
                self._add_file(repo, rel.as_posix(), path)
        for name, path in (extra or {}).items():
            self._add_file(repo, name, path)
        self.repos[repo_id] = repo
        return repo

    def _add_file(self, repo: Repo, name: str, path: Path) -> None:
        entry = _File.of(path.resolve())
        repo.files[name] = entry
        if entry.sha256:
            self.lfs[entry.sha256] = entry

    def add_mirror(self, url: str, path: Path) -> None:
        """Serve ``path`` for the internet address ``url`` (at ``/mirror/{host}/{path}``)."""
        parts = urlsplit(url)
        self.mirror[f"{parts.netloc}{parts.path}"] = _File(path.resolve(), path.stat().st_size, "", None)

    def fault(self, path_part: str, kind: str, times: int = 1) -> None:
        """Misbehave (``silent``, ``reset`` or ``truncate``) on the next ``times`` requests whose path has ``path_part``."""
        if kind not in ("silent", "reset", "truncate"):
            raise ValueError(f"unknown fault {kind!r}")
        self.faults[path_part] = (kind, times)

    def _take_fault(self, path: str) -> str:
        with self._lock:
            for part, (kind, times) in list(self.faults.items()):
                if part in path and times != 0:
                    self.faults[part] = (kind, times - 1 if times > 0 else -1)
                    return kind
        return ""

    # ------------------------------------------------------------------ running

    def __enter__(self) -> str:
        hub = self

        class Handler(_Handler):
            owner = hub

        # Two ports: the hub, and a "CDN" for LFS content (huggingface_hub follows a redirect on the same origin
        # itself, and reads a file's metadata from the redirect only when it leaves for another origin).
        for _ in range(2):
            server = _Server(("127.0.0.1", 0), Handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, name="localhub", daemon=True).start()
            self._servers.append(server)
        return self.url

    def __exit__(self, *exc: object) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for conn in self._held:
            conn.close()
        self._servers = []

    @property
    def url(self) -> str:
        """The hub's base URL (for ``HF_ENDPOINT``)."""
        return f"http://127.0.0.1:{self._servers[0].server_address[1]}"

    @property
    def cdn_url(self) -> str:
        """Where LFS content is served from (another origin, as on the hub)."""
        return f"http://127.0.0.1:{self._servers[1].server_address[1]}"


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet about clients that hang up (a download cancelled, a test's fault): only real errors are printed."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(http.server.BaseHTTPRequestHandler):
    owner: LocalHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        """Quiet: the tests read :attr:`LocalHub.requests` instead."""

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self._dispatch(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch(head=False)

    # ------------------------------------------------------------------ routing

    def _dispatch(self, head: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        self.owner.requests.append(("HEAD" if head else "GET", path))
        kind = self.owner._take_fault(path)
        if kind == "silent":
            self.owner._held.append(self.connection)  # closed when the hub stops
            time.sleep(SILENT_HOLD_S)
            self.close_connection = True
            return
        if kind == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if path.startswith("/api/models/"):
            self._api(path[len("/api/models/") :])
        elif path.startswith("/lfs/"):
            entry = self.owner.lfs.get(path[len("/lfs/") :])
            if entry is None:
                self._error(404, "EntryNotFound", "no such object")
            else:
                self._send_file(entry, head, truncate=kind == "truncate")
        elif path.startswith("/mirror/"):
            entry = self.owner.mirror.get(path[len("/mirror/") :])
            if entry is None:
                self._error(404, "EntryNotFound", f"not mirrored: {path}")
            else:
                self._send_file(entry, head, truncate=kind == "truncate")
        elif "/resolve/" in path:
            self._resolve(path.lstrip("/"), head, truncate=kind == "truncate")
        else:
            self._error(404, "RepoNotFound", f"no route for {path}")

    def _repo_and_rest(self, text: str, marker: str) -> tuple[Repo | None, str]:
        for repo_id in sorted(self.owner.repos, key=len, reverse=True):
            if text == repo_id or text.startswith(repo_id + "/"):
                rest = text[len(repo_id) :].lstrip("/")
                if not marker or rest.startswith(marker):
                    return self.owner.repos[repo_id], rest[len(marker) :]
        return None, ""

    def _api(self, text: str) -> None:
        for marker in ("revision/", "tree/", ""):
            repo, rest = self._repo_and_rest(text, marker)
            if repo is not None:
                break
        if repo is None:
            self._error(404, "RepoNotFound", f"Repository not found: {text}")
            return
        if marker == "tree/":
            rev, _, sub = rest.partition("/")
            if not repo.knows(rev):
                self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
                return
            listing = []
            for name, f in sorted(repo.files.items()):
                if sub and not name.startswith(sub.rstrip("/") + "/"):
                    continue
                item: dict[str, object] = {"type": "file", "path": name, "size": f.size, "oid": f.blob_id}
                if f.sha256:
                    item["lfs"] = {"oid": f.sha256, "size": f.size, "pointerSize": 134}
                listing.append(item)
            self._json(listing)
            return
        rev = rest.strip("/") if marker == "revision/" else "main"
        if not repo.knows(rev):
            self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
            return
        self._json(
            {
                "id": repo.repo_id,
                "modelId": repo.repo_id,
                "sha": repo.commit,
                "private": False,
                "gated": False,
                "disabled": False,
                "tags": [],
                "siblings": [{"rfilename": name} for name in sorted(repo.files)],
            }
        )

    def _resolve(self, text: str, head: bool, truncate: bool) -> None:
        repo, rest = self._repo_and_rest(text, "resolve/")
        if repo is None:
            self._error(404, "RepoNotFound", f"Repository not found: {text}")
            return
        rev, _, name = rest.partition("/")
        if not repo.knows(rev):
            self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
            return
        entry = repo.files.get(name)
        if entry is None:
            self._error(404, "EntryNotFound", f"{name} does not exist at {rev}", commit=repo.commit)
            return
        headers = {"X-Repo-Commit": repo.commit, "ETag": f'"{entry.blob_id}"'}
        if entry.sha256:  # as the hub does for LFS files: a redirect to the content, with its sha256 and size
            headers |= {
                "X-Linked-Etag": f'"{entry.sha256}"',
                "X-Linked-Size": str(entry.size),
                "Location": f"{self.owner.cdn_url}/lfs/{entry.sha256}",
                "Content-Length": "0",
            }
            self.send_response(302)
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            return
        self._send_file(entry, head, truncate, headers)

    # ------------------------------------------------------------------ answers

    def _send_file(self, entry: _File, head: bool, truncate: bool, headers: dict[str, str] | None = None) -> None:
        start, end = 0, entry.size - 1
        status = 200
        wanted = self.headers.get("Range", "")
        if wanted.startswith("bytes="):
            first, _, last = wanted[len("bytes=") :].partition("-")
            start = int(first) if first else max(0, entry.size - int(last))
            end = int(last) if first and last else entry.size - 1
            if start >= entry.size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{entry.size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        length = end - start + 1
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if entry.sha256 and not headers:
            self.send_header("ETag", f'"{entry.sha256}"')
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{entry.size}")
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if head:
            return
        to_send = length // 2 if truncate else length
        with entry.path.open("rb") as fh:
            fh.seek(start)
            try:
                shutil.copyfileobj(_Limited(fh, to_send), self.wfile, 1 << 20)
            except (BrokenPipeError, ConnectionResetError):
                pass
        if truncate:
            self.close_connection = True

    def _json(self, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: str, message: str, commit: str = "") -> None:
        body = json.dumps({"error": message}).encode()
        self.send_response(status)
        self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        if commit:
            self.send_header("X-Repo-Commit", commit)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class _Limited:
    """A file object that reads at most ``left`` bytes (for a range, or a body cut short on purpose)."""

    def __init__(self, fh: object, left: int) -> None:
        self.fh, self.left = fh, left

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        n = self.left if n < 0 else min(n, self.left)
        data: bytes = self.fh.read(n)  # type: ignore[attr-defined]
        self.left -= len(data)
        return data


# ---------------------------------------------------------------------------- other hosts

#: Hosts whose downloads the rewrite sends to the local server (PyG's Cora, ultralytics' and torchvision's weights).
MIRRORED_HOSTS = ("github.com", "raw.githubusercontent.com", "download.pytorch.org")

_SITECUSTOMIZE = '''\
"""Test-only: send downloads from {hosts} to the local hub's /mirror/ (libraries with no setting for their URL)."""
import os

_BASE = os.environ.get("COURSE_TEST_MIRROR", "")
_HOSTS = {hosts!r}


def _rewrite(url):
    for host in _HOSTS:
        for scheme in ("https://", "http://"):
            if _BASE and isinstance(url, str) and url.startswith(scheme + host + "/"):
                return _BASE + "/mirror/" + host + url[len(scheme + host):]
    return url


if _BASE:
    import urllib.request

    _urlopen = urllib.request.urlopen

    def urlopen(url, *args, **kwargs):
        if isinstance(url, urllib.request.Request):
            url.full_url = _rewrite(url.full_url)
        else:
            url = _rewrite(url)
        return _urlopen(url, *args, **kwargs)

    urllib.request.urlopen = urlopen
    try:
        import requests.sessions

        _request = requests.sessions.Session.request

        def request(self, method, url, *args, **kwargs):
            return _request(self, method, _rewrite(url), *args, **kwargs)

        requests.sessions.Session.request = request
    except ImportError:
        pass
    try:  # fsspec's HTTP file system (PyG's Planetoid copies its files with it)
        import aiohttp.client

        _arequest = aiohttp.client.ClientSession._request

        def _request_rewritten(self, method, str_or_url, *args, **kwargs):
            return _arequest(self, method, _rewrite(str(str_or_url)), *args, **kwargs)

        aiohttp.client.ClientSession._request = _request_rewritten
    except ImportError:
        pass
'''


def write_url_rewrite(folder: Path) -> Path:
    """Write a ``sitecustomize.py`` into ``folder`` that rewrites downloads from :data:`MIRRORED_HOSTS`.

    Put ``folder`` first on ``PYTHONPATH`` and set ``COURSE_TEST_MIRROR`` to the hub's URL: every Python process
    (the CLI, a Jupyter kernel) then sends those downloads here, through the libraries' own download code. PyG,
    torchvision and ultralytics have no setting for their download address, so this is the only way to run it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "sitecustomize.py"
    target.write_text(_SITECUSTOMIZE.format(hosts=MIRRORED_HOSTS))
    return target
