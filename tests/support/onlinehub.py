"""The whole course on a local hub: every catalog model under its real id, Cora and TabPFN, for the online tests.

:func:`course_hub` fills a :class:`~support.localhub.LocalHub` with what the course has offline: its real offline
copies (served as they are: real weights) and its stand-ins (served with :data:`course_utils.standins.MARKER_FILE`
beside them, or the marker record inside a checkpoint), so the online path runs end to end with no internet.
:func:`online_env` gives a child process (the CLI, a Jupyter kernel) the environment of a connected machine whose
hub is the local one, with its own empty caches.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from course_utils import offline, standins
from course_utils.catalog import ModelEntry, load_catalog
from course_utils.session import PROBE_REPO

from .cora import write_cora
from .localhub import LocalHub, write_url_rewrite

ULTRALYTICS_RELEASE = "https://github.com/ultralytics/assets/releases/download/v8.4.0"


def _marked_copy(src: Path, dst: Path, note: str) -> Path:
    """A copy of a checkpoint that carries the stand-in record (builds made before builders added it lack it)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    standins.mark_checkpoint(dst, note)
    return dst


def add_model(hub: LocalHub, entry: ModelEntry, layout: offline.Layout, work: Path) -> str:
    """Serve ``entry`` as its library downloads it; return the tier it was served as (packaged or stand-in)."""
    note = f"{standins.STANDIN_NOTE} (twin of {entry.id}, served by the course's local test hub)"
    if entry.library == "tabpfn":
        ckpt = offline.build_once(
            layout.builds / f"testhub-{entry.key}-narrow", lambda out: standins.build_tabpfn(entry, out / "model.ckpt")
        )
        folder = work / "tabpfn-repo"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text("{}\n")
        extra = {offline.TABPFN_FILES[entry.id]: ckpt / "model.ckpt", standins.MARKER_FILE: _marker(work, note)}
        hub.add_repo(entry.id, folder, None, extra)
        return offline.STANDIN
    resolved = offline.resolve_offline(entry, layout)
    if entry.library == "torchvision":
        url = standins.torchvision_weights(entry).url
        hub.add_mirror(url, _marked_copy(Path(resolved.where), work / "mirror" / Path(url).name, note))
    elif entry.library == "ultralytics":
        hub.add_mirror(
            f"{ULTRALYTICS_RELEASE}/{entry.id}", _marked_copy(Path(resolved.where), work / "mirror" / entry.id, note)
        )
    else:
        extra = {standins.MARKER_FILE: _marker(work, note)} if resolved.is_standin else {}
        hub.add_repo(offline.hf_repo_id(entry), Path(resolved.where), offline.hf_revision(entry), extra)
    return resolved.tier


def _marker(work: Path, note: str) -> Path:
    path = work / "markers" / f"{abs(hash(note))}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(note + "\n")
    return path


def course_hub(work: Path, keys: list[str] | None = None) -> tuple[LocalHub, dict[str, str]]:
    """A hub with the catalog's hub-downloaded models (all, or ``keys``) and Cora; returns it and each key's tier.

    Builds what is missing in the course cache (stand-ins, packaged copies). The user's own caches are not read:
    the resolution runs with an empty Hugging Face and torch cache, so only the course's own copies are served.
    """
    empty = work / "empty-cache"
    saved = {name: os.environ.get(name) for name in (offline.REAL_HF_ENV, offline.REAL_TORCH_ENV)}
    os.environ[offline.REAL_HF_ENV] = str(empty / "hf")
    os.environ[offline.REAL_TORCH_ENV] = str(empty / "torch")
    here = Path.cwd()
    os.chdir(work)  # ultralytics' "your copy" is also a file in the working folder
    hub, tiers = LocalHub(), {}
    try:
        layout = offline.Layout.default()
        for entry in load_catalog().values():
            # The probe's model is always there: setup() asks the hub for its record to decide "online".
            if entry.installed is None and (keys is None or entry.key in keys or entry.id == PROBE_REPO):
                tiers[entry.key] = add_model(hub, entry, layout, work)
    finally:
        os.chdir(here)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    for url, path in write_cora(work / "cora").items():
        hub.add_mirror(url, path)
    return hub, tiers


def online_env(hub_url: str, home: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a connected machine whose hub is ``hub_url``, with empty caches under ``home``."""
    env = dict(os.environ if base is None else base)
    for name in ("COURSE_OFFLINE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "YOLO_OFFLINE"):
        env.pop(name, None)
    # No TABPFN_MODEL_CACHE_DIR: TabPFN's own default folder (under XDG_CACHE_HOME), as on a user's machine.
    for name in (
        "HF_HUB_CACHE",
        "HUGGINGFACE_HUB_CACHE",
        "TORCH_HOME",
        "TABPFN_MODEL_CACHE_DIR",
        offline.REAL_HF_ENV,
        offline.REAL_TORCH_ENV,
    ):
        env.pop(name, None)
    rewrite = write_url_rewrite(home / "rewrite").parent
    env |= {
        "HF_ENDPOINT": hub_url,
        "COURSE_TEST_MIRROR": hub_url,
        "COURSE_CACHE": str(home / "course"),
        "HF_HOME": str(home / "hf"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "TABPFN_DISABLE_TELEMETRY": "1",
        "YOLO_CONFIG_DIR": str(home / "yolo"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(rewrite), env.get("PYTHONPATH", "")])),
    }
    return env
