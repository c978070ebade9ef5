"""A verified download cache: a registry of (url, sha256) pairs and a downloader that checks them.

* ``registry.toml`` lists every file the course downloads itself, each hash verified by a person (the comment
  above each entry says how); :func:`fetch` downloads an entry by name into ``$COURSE_CACHE/downloads``.
* :func:`download` treats the sha256 as the file's identity: a file with the right hash is a cache hit. The body
  is streamed to a temporary file, checked, then moved into place, so nothing half-done has the final name; a
  file lock lets two processes ask for the same file and fetch it once.
* Failures a retry can cure (no connection, a timeout, a cut body, HTTP 5xx) are retried with back-off, so the
  worst case against a silent server is ``retries * timeout`` plus the pauses; the others are not retried.
  Every failure is a :class:`DownloadError` that says what to do.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import os
import posixpath
import re
import shutil
import socket
import tempfile
import time
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypedDict, Unpack
from urllib.parse import unquote, urlparse

import requests
import urllib3.exceptions
from filelock import FileLock
from filelock import Timeout as LockTimeout

from .paths import course_cache

__all__ = [
    "REGISTRY_PATH",
    "Asset",
    "DownloadError",
    "DownloadOptions",
    "DownloadWarning",
    "UnknownAssetError",
    "download",
    "fetch",
    "load_registry",
    "sha256_file",
]

#: The registry :func:`load_registry` and :func:`fetch` read by default.
REGISTRY_PATH = Path(__file__).with_name("registry.toml")

_CHUNK = 1 << 16  # bytes per network read
_HASH_CHUNK = 1 << 20  # bytes per read when hashing a file on disk
_SHA256 = re.compile(r"[0-9a-f]{64}")
_ENTRY_KEYS = {"url", "sha256", "size", "licence", "description", "filename"}
_OFFLINE_HINT = (
    "if you are offline, run the notebook offline: the course uses its offline copies "
    "(see README 'Working offline'), or copy the file by hand to {dest}"
)


class DownloadError(RuntimeError):
    """A download failed; the message says what happened and what to do."""


class UnknownAssetError(DownloadError, KeyError):
    """:func:`fetch` was given a name that is not in the registry (also a ``KeyError``)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DownloadWarning(UserWarning):
    """Something worth knowing happened during a download that still succeeded."""


class DownloadOptions(TypedDict, total=False):
    """The keyword arguments that :func:`fetch` passes through to :func:`download`."""

    timeout: float
    retries: int
    backoff: float
    progress: bool


@dataclass(frozen=True)
class Asset:
    """One file of the registry.

    ``filename`` is the name the file gets in the cache; left empty, it is the last component of
    the URL's path.
    """

    name: str
    url: str
    sha256: str
    size: int | None
    licence: str
    description: str
    filename: str = field(default="")

    def __post_init__(self) -> None:
        if not self.filename:
            object.__setattr__(self, "filename", _url_filename(self.url))


class _Transient(Exception):
    """An attempt failed in a way that another attempt may fix; ``reason`` says how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------- hashing and registry


def sha256_file(path: Path) -> str:
    """Return the sha256 hex digest of the file at ``path``, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(_HASH_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _url_filename(url: str) -> str:
    """The last component of the URL's path ('' when the path ends in '/')."""
    return posixpath.basename(unquote(urlparse(url).path))


def _bad(name: str, problem: str) -> ValueError:
    return ValueError(f"registry entry {name!r}: {problem}")


def _check_entry(name: str, entry: Any) -> Asset:
    """Validate one ``[assets.NAME]`` table and turn it into an :class:`Asset`."""
    if not isinstance(entry, dict):
        raise _bad(name, "must be a table ([assets.NAME] with keys url, sha256, ...)")
    unknown = sorted(set(entry) - _ENTRY_KEYS)
    if unknown:
        raise _bad(name, f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_ENTRY_KEYS))}")
    url = entry.get("url")
    if not isinstance(url, str) or urlparse(url).scheme not in ("http", "https") or not urlparse(url).netloc:
        raise _bad(name, f"url must be an http(s) URL, got {url!r}")
    digest = entry.get("sha256")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        raise _bad(name, f"sha256 must be 64 lowercase hex digits, got {digest!r}")
    size = entry.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size <= 0):
        raise _bad(name, f"size must be a positive number of bytes, got {size!r}")
    texts = {}
    for key in ("licence", "description"):
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            raise _bad(name, f"{key} must be a non-empty string")
        texts[key] = value
    filename = entry.get("filename", _url_filename(url))
    if (
        not isinstance(filename, str)
        or not filename
        or filename in (".", "..")
        or "/" in filename
        or "\\" in filename
        or filename.endswith(".lock")
    ):
        raise _bad(name, f"filename must be a plain file name, got {filename!r} (give one when the URL has none)")
    return Asset(name, url, digest, size, texts["licence"], texts["description"], filename)


def load_registry(path: Path | None = None) -> dict[str, Asset]:
    """Read and validate the download registry (default: ``course_utils/registry.toml``).

    The format is one TOML table per file, ``[assets.NAME]``, with keys ``url`` (http or https),
    ``sha256`` (64 lowercase hex digits), ``size`` (bytes, optional), ``licence``,
    ``description`` and an optional ``filename``. An invalid entry (or two entries with one
    filename) raises ``ValueError`` naming it.
    """
    source = Path(path) if path is not None else REGISTRY_PATH
    try:
        document = tomllib.loads(source.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source} is not valid TOML: {exc}") from exc
    tables = document.get("assets", {})
    if not isinstance(tables, dict):
        raise ValueError(f"{source}: 'assets' must be a table of [assets.NAME] entries")
    assets = {name: _check_entry(name, entry) for name, entry in tables.items()}
    owners: dict[str, str] = {}
    for asset in assets.values():
        other = owners.setdefault(asset.filename, asset.name)
        if other != asset.name:
            raise _bad(asset.name, f"filename {asset.filename!r} is also used by {other!r}; give one of them another")
    return assets


# --------------------------------------------------------------------------- downloading


def _say(message: str) -> None:
    """Tell the user something without failing (a warning, so it shows in notebooks and logs)."""
    warnings.warn(message, DownloadWarning, stacklevel=3)


def _matches(path: Path, sha256: str) -> bool:
    """Whether ``path`` is a file with the given sha256 (an unreadable file does not match)."""
    try:
        return path.is_file() and sha256_file(path) == sha256
    except OSError:
        return False


def _open_part(folder: Path, name: str) -> IO[bytes]:
    """Open a new temporary file for the body, in ``folder`` so that the final move is atomic."""
    return tempfile.NamedTemporaryFile(dir=folder, prefix=f".{name}.", suffix=".part", delete=False)


def _remove_stale_parts(dest: Path) -> None:
    """Remove temporary files left by a process that was killed mid-download (call under the lock)."""
    for leftover in glob.glob(os.path.join(glob.escape(str(dest.parent)), f".{glob.escape(dest.name)}.*.part")):
        with contextlib.suppress(OSError):
            os.unlink(leftover)


def _free_bytes(folder: Path) -> int:
    """Free space on the disk that holds ``folder``."""
    return shutil.disk_usage(folder).free


def _megabytes(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def _disk_error(exc: OSError, url: str, dest: Path, needed: int | None) -> DownloadError:
    """Turn a file-system error into a :class:`DownloadError` that says what to do."""
    folder = dest.parent
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        amount = f"{_megabytes(needed)} free" if needed else "more free space"
        return DownloadError(
            f"no space left on the disk that holds {folder} while downloading {url}: the file needs {amount}. "
            "Free some space there, or set the environment variable COURSE_CACHE to a folder on a bigger disk, "
            "then run it again."
        )
    return DownloadError(
        f"could not write {dest} ({exc.strerror or exc}). Check that you may write to {folder}, "
        "or set the environment variable COURSE_CACHE to a folder you own, then run it again."
    )


def _http_error(status: int, reason: str, url: str, dest: Path) -> DownloadError:
    """The message for an HTTP 4xx: a retry cannot fix it."""
    offline = _OFFLINE_HINT.format(dest=dest)
    if status in (404, 410):
        what = f"the server says the file at {url} does not exist (HTTP {status} {reason}): the URL is gone or moved"
    elif status in (401, 403):
        what = f"the server refuses the file at {url} (HTTP {status} {reason}): the URL is gone or no longer public"
    elif status == 429:
        return DownloadError(
            f"the server at {url} says there were too many requests (HTTP 429): wait a few minutes and run it "
            f"again; meanwhile, {offline}."
        )
    else:
        what = f"the server refused the request for {url} (HTTP {status} {reason})"
    return DownloadError(
        f"{what}. Retrying will not help: report it to the course (the registry needs a new URL); meanwhile, {offline}."
    )


def _content_length(response: requests.Response) -> int | None:
    raw = response.headers.get("Content-Length")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _connection_reason(exc: BaseException, url: str) -> str:
    """Say why a connection failed, from the innermost cause that says it best."""
    host = urlparse(url).hostname or url
    seen: BaseException | None = exc
    for _ in range(12):  # a bounded walk down the chain (chains can, rarely, loop)
        if seen is None:
            break
        if isinstance(seen, urllib3.exceptions.NameResolutionError | socket.gaierror):
            return f"could not look up the server {host} (no DNS answer: are you offline?)"
        if isinstance(seen, ConnectionRefusedError):
            return f"the server {host} refused the connection"
        seen = seen.__cause__ or seen.__context__ or _reason_of(seen)
    return f"could not connect to the server {host} ({type(exc).__name__})"


def _reason_of(exc: BaseException) -> BaseException | None:
    """urllib3 keeps the underlying error in ``.reason`` (MaxRetryError) rather than as a cause."""
    reason = getattr(exc, "reason", None)
    return reason if isinstance(reason, BaseException) else None


def _attempt(url: str, dest: Path, sha256: str, size: int | None, timeout: float, progress: bool) -> None:
    """One try: GET ``url``, stream it to a temporary file, verify it, move it to ``dest``.

    Raises :class:`_Transient` when another try may succeed, :class:`DownloadError` when not.
    """
    from tqdm.auto import tqdm  # imported here: tqdm.auto looks for IPython, which is slow to import

    part: Path | None = None
    needed = size
    try:
        try:
            response = requests.get(
                url, stream=True, timeout=(timeout, timeout), headers={"Accept-Encoding": "identity"}
            )
        except requests.Timeout as exc:
            raise _Transient(f"the server did not answer within {timeout:g} s") from exc
        except requests.ConnectionError as exc:
            raise _Transient(_connection_reason(exc, url)) from exc
        except requests.TooManyRedirects as exc:  # retrying will not help
            raise DownloadError(
                f"redirect loop: {url} kept redirecting (more than {requests.models.DEFAULT_REDIRECT_LIMIT} "
                "times) and never sent the file. A network that sends every address to its own page "
                "(a hotel or campus wifi login, a proxy) does this: open any web page in a browser, log in "
                f"or accept its terms, then run it again; otherwise report the URL to the course. Meanwhile, {_OFFLINE_HINT.format(dest=dest)}."
            ) from exc
        except requests.RequestException as exc:  # an invalid URL: retrying will not help
            raise DownloadError(f"cannot download {url}: {exc}. Report it to the course.") from exc
        with response:
            status = response.status_code
            if status >= 500:
                raise _Transient(f"the server had an internal error (HTTP {status} {response.reason})")
            if status >= 400:
                raise _http_error(status, response.reason, url, dest)
            if status != 200:
                raise DownloadError(
                    f"{url} answered HTTP {status} {response.reason} instead of the file. Report it to the course."
                )
            announced = _content_length(response)
            expected = announced if announced is not None else size
            needed = expected
            if expected is not None and _free_bytes(dest.parent) < expected:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dest.parent))
            digest, received = hashlib.sha256(), 0
            with (
                _open_part(dest.parent, dest.name) as fh,
                tqdm(
                    total=expected,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=dest.name,
                    disable=not progress,
                ) as bar,
            ):
                part = Path(fh.name)
                try:
                    for block in response.raw.stream(_CHUNK, decode_content=False):
                        fh.write(block)
                        digest.update(block)
                        received += len(block)
                        bar.update(len(block))
                except urllib3.exceptions.ReadTimeoutError as exc:
                    raise _Transient(
                        f"the server stopped sending for {timeout:g} s after {received} of {expected or '?'} bytes"
                    ) from exc
                except urllib3.exceptions.HTTPError as exc:  # ProtocolError: the connection broke mid-body
                    raise _Transient(
                        f"the connection broke after {received} of {expected or '?'} bytes (the body was cut short)"
                    ) from exc
                fh.flush()
                os.fsync(fh.fileno())
        if expected is not None and received < expected:
            raise _Transient(f"the body was cut short: received {received} of {expected} bytes")
        got = digest.hexdigest()
        if got != sha256:
            raise DownloadError(
                f"the file at {url} is not the expected one (sha256 got {got} expected {sha256}; "
                f"{received} bytes); it was not kept. The upstream file may have changed, or the download was "
                "altered on the way: run it again once; if it happens again, report it to the course "
                "(the registry's hash needs checking)."
            )
        os.replace(part, dest)
        part = None
    except OSError as exc:  # the file system; requests' own OSError subclasses were all handled above
        raise _disk_error(exc, url, dest, needed) from exc
    finally:
        if part is not None:
            with contextlib.suppress(OSError):
                part.unlink()


def download(
    url: str,
    dest: Path,
    sha256: str,
    *,
    size: int | None = None,
    timeout: float = 10.0,
    retries: int = 3,
    backoff: float = 1.0,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``dest``, check its sha256, and return ``dest``.

    Args:
        url: where the file is (http or https).
        dest: where it goes; its folder is created. A file already there with the right sha256 is
            returned without any network access; one with the wrong sha256 is downloaded again.
        sha256: the expected sha256 (hex) of the whole file.
        size: the expected size in bytes when known; used to spot a body cut short when the server
            sends no Content-Length, and to say how much disk space is needed.
        timeout: seconds to wait for the connection, and for each read of the body. With the
            defaults, a server that accepts and never answers fails after about 33 s in all
            (3 tries x 10 s, plus pauses of 1 s and 2 s).
        retries: tries in all (at least one) for failures that can pass: no connection, a timeout,
            a body cut short, an HTTP 5xx. A wrong hash or an HTTP 4xx is not retried.
        backoff: the pause after try ``k`` (from 0) is ``backoff * 2**k`` seconds.
        progress: show a tqdm progress bar.

    Raises:
        DownloadError: the file could not be downloaded and verified; the message says why and what
            to do. ``dest`` is then left as it was (never a partial file), with no temporary file.
        ValueError: ``sha256`` is not 64 hex digits.
    """
    dest = Path(dest)
    sha256 = sha256.lower()
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"sha256 must be 64 hex digits, got {sha256!r}")
    if _matches(dest, sha256):
        return dest  # cache hit: no lock, no network
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(dest) + ".lock")
        try:
            lock.acquire(timeout=0)
        except LockTimeout:
            print(f"{dest.name}: another process is downloading it; waiting for it to finish")
            lock.acquire()
    except OSError as exc:
        raise _disk_error(exc, url, dest, size) from exc
    try:
        if dest.exists():
            if _matches(dest, sha256):
                return dest  # another process finished it while we waited for the lock
            _say(f"{dest} is there but its sha256 is not the expected {sha256}: downloading it again")
        _remove_stale_parts(dest)
        tries = max(1, retries)
        last: _Transient | None = None
        for attempt in range(tries):
            try:
                _attempt(url, dest, sha256, size, timeout, progress)
                return dest
            except _Transient as exc:
                last = exc
            if attempt + 1 < tries:
                time.sleep(backoff * 2**attempt)
        assert last is not None
        raise DownloadError(
            f"could not download {url} after {tries} {'try' if tries == 1 else 'tries'}: {last.reason}. "
            f"Check your connection and try again later; {_OFFLINE_HINT.format(dest=dest)}."
        ) from (last.__cause__ or last)
    finally:
        with contextlib.suppress(OSError):  # under the lock; filelock's waiters notice the unlinked file
            os.unlink(lock.lock_file)
        lock.release()


def fetch(name: str, *, cache_dir: Path | None = None, **kwargs: Unpack[DownloadOptions]) -> Path:
    """Download the registry's file ``name`` (once) and return its path.

    The file goes to ``cache_dir / asset.filename``, by default into ``downloads/`` of the course
    cache (:func:`course_utils.paths.course_cache`, moved with ``$COURSE_CACHE``). Keyword arguments
    (``timeout``, ``retries``, ``backoff``, ``progress``) go to :func:`download`.

    Raises:
        UnknownAssetError: ``name`` is not in the registry (a ``DownloadError`` and a ``KeyError``).
        DownloadError: the download failed.
    """
    registry = load_registry()
    if name not in registry:
        raise UnknownAssetError(
            f"{name!r} is not in the download registry ({REGISTRY_PATH.name}); known names: "
            f"{', '.join(sorted(registry)) or '(none)'}"
        )
    asset = registry[name]
    folder = Path(cache_dir) if cache_dir is not None else course_cache() / "downloads"
    return download(asset.url, folder / asset.filename, asset.sha256, size=asset.size, **kwargs)
