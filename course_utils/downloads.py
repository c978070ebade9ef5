"""A verified download cache: a registry of (url, sha256) and a downloader that checks them.

Design:

* ``registry.toml`` beside this module lists every file the course downloads, with its
  sha256 and size, each verified by a person before it was added (the comments say how).
* :func:`download` returns at once when the file is already there with the right hash; else
  it streams the body into a temporary file in the same folder, hashing as it writes, checks
  length and sha256, and moves it into place with ``os.replace`` (atomic): a failed or
  interrupted download never leaves a partial file under the final name.
* An inter-process lock (``filelock``) lets two notebooks ask for the same file at once: one
  downloads, the other waits and then finds the finished file.
* Connection errors, timeouts and truncated bodies are retried with exponential back-off;
  a wrong hash or an HTTP 4xx is not (retrying cannot fix them).
* Every failure raises :class:`DownloadError`, whose message says what happened and what to do.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
import time
import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import requests
from filelock import FileLock

from .paths import course_cache

REGISTRY_PATH = Path(__file__).with_name("registry.toml")
_CHUNK = 1 << 16


class DownloadError(RuntimeError):
    """A download failed; the message says why and what to do."""


@dataclass(frozen=True)
class Asset:
    """One file of the registry."""

    name: str
    url: str
    sha256: str
    size: int | None
    licence: str
    description: str
    filename: str


def sha256_file(path: Path) -> str:
    """The sha256 hex digest of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_registry(path: Path | None = None) -> dict[str, Asset]:
    """Read and validate the registry; a bad entry raises ``ValueError`` naming it."""
    raw = tomllib.loads((path or REGISTRY_PATH).read_text(encoding="utf-8")).get("assets", {})
    assets = {}
    for name, entry in raw.items():
        digest = str(entry.get("sha256", ""))
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"registry entry {name!r}: sha256 must be 64 lowercase hex digits")
        url = str(entry.get("url", ""))
        if urlparse(url).scheme not in ("http", "https"):
            raise ValueError(f"registry entry {name!r}: url must be http(s), got {url!r}")
        assets[name] = Asset(
            name=name,
            url=url,
            sha256=digest,
            size=entry.get("size"),
            licence=str(entry.get("licence", "")),
            description=str(entry.get("description", "")),
            filename=str(entry.get("filename") or Path(urlparse(url).path).name),
        )
    return assets


def _attempt(url: str, tmp: Path, timeout: float, progress: bool, size: int | None) -> tuple[str, int, int | None]:
    """One GET into ``tmp``; returns (sha256, bytes received, bytes announced)."""
    from tqdm.auto import tqdm

    digest, received = hashlib.sha256(), 0
    with requests.get(url, stream=True, timeout=(timeout, timeout)) as response:
        response.raise_for_status()
        announced = int(response.headers["Content-Length"]) if "Content-Length" in response.headers else size
        with (
            tmp.open("wb") as fh,
            tqdm(
                total=announced, unit="B", unit_scale=True, disable=not progress, desc=Path(urlparse(url).path).name
            ) as bar,
        ):
            for block in response.iter_content(_CHUNK):
                fh.write(block)
                digest.update(block)
                received += len(block)
                bar.update(len(block))
    return digest.hexdigest(), received, announced


def download(
    url: str,
    dest: Path,
    sha256: str,
    *,
    size: int | None = None,
    timeout: float = 30.0,
    retries: int = 3,
    backoff: float = 1.0,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``dest`` and check its sha256; return ``dest``. See the module docstring."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file() and sha256_file(dest) == sha256:
        return dest
    with FileLock(str(dest) + ".lock"):
        if dest.is_file():
            if sha256_file(dest) == sha256:
                return dest  # another process finished it while we waited
            warnings.warn(f"{dest} does not match its sha256: downloading it again", stacklevel=2)
        last: Exception | None = None
        for attempt in range(retries):
            fd, name = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".part")
            os.close(fd)
            tmp = Path(name)
            try:
                got, received, announced = _attempt(url, tmp, timeout, progress, size)
                expected_len = size if size is not None else announced
                if expected_len is not None and received != expected_len:
                    last = DownloadError(f"{url}: the connection closed after {received} of {expected_len} bytes")
                elif got != sha256:
                    raise DownloadError(
                        f"the file at {url} is not the expected one: sha256 {got}, expected {sha256}. It was not kept. "
                        "The upstream file may have changed or the download was altered on the way; try again later, "
                        "and if it persists report it to the course."
                    )
                else:
                    os.replace(tmp, dest)
                    return dest
            except requests.HTTPError as err:
                status = err.response.status_code if err.response is not None else "?"
                if isinstance(status, int) and 400 <= status < 500:
                    raise DownloadError(
                        f"{url} answered HTTP {status}: the file is gone or moved. Report it to the course; "
                        f"meanwhile the notebooks use their offline copies, or copy the file by hand to {dest}."
                    ) from err
                last = err
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as err:
                # ChunkedEncodingError: the body ended early (a truncated download)
                last = err
            except OSError as err:
                if err.errno == errno.ENOSPC:
                    raise DownloadError(
                        f"no space left on the disk of {dest.parent} while downloading {url}"
                        + (f" ({size / 1e6:.0f} MB needed)" if size else "")
                        + ": free some space or point COURSE_CACHE at a bigger disk."
                    ) from err
                raise
            finally:
                tmp.unlink(missing_ok=True)
            if attempt + 1 < retries:
                time.sleep(backoff * 2**attempt)
        raise DownloadError(
            f"could not download {url} after {retries} tries ({type(last).__name__}: {last}). The server did not "
            f"answer within {timeout:g} s or the connection broke. Check your internet connection; offline, the "
            f"course uses its offline copies (README, 'Working offline'), or copy the file by hand to {dest}."
        ) from last


def fetch(name: str, *, cache_dir: Path | None = None, **kwargs: object) -> Path:
    """Download the registry's asset ``name`` (once) into the course cache and return its path."""
    registry = load_registry()
    if name not in registry:
        raise DownloadError(f"{name!r} is not in the download registry; known: {', '.join(sorted(registry))}")
    asset = registry[name]
    folder = cache_dir or course_cache() / "downloads"
    return download(asset.url, folder / asset.filename, asset.sha256, size=asset.size, **kwargs)  # type: ignore[arg-type]
