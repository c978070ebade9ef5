"""Real data sets the notebooks train on, found locally or downloaded once with a checked hash.

Fashion-MNIST (Zalando Research, MIT licence) is the course's fine-tuning data set (notebook 12):
70,000 greyscale 28x28 photos of clothes in 10 classes. :func:`fashion_mnist` looks for it

1. in Debian's ``dataset-fashion-mnist`` package (``/usr/share/datasets/fashion-mnist``), which
   ``course.sh`` installs where it can; Debian rewrote the gzip headers of those files, so each is
   verified by putting the upstream header back and comparing with the registry's sha256;
2. in the course cache, or else downloads it there (``course_utils.downloads.fetch``, about 30 MB),
   unless the course is offline.

Example::

    >>> train = fashion_mnist("train", per_class=50)      # 500 images, 50 of each class
    >>> train.images.shape, train.labels[:5], train.classes[0]
    ((500, 28, 28), array([...]), 'T-shirt/top')
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from . import downloads
from .paths import course_cache

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
# split -> {part: (registry name, upstream file name, MTIME stored in upstream's gzip header)}
_FILES: dict[str, dict[str, tuple[str, str, int]]] = {
    "train": {
        "images": ("fashion-mnist-train-images", "train-images-idx3-ubyte", 1504176606),
        "labels": ("fashion-mnist-train-labels", "train-labels-idx1-ubyte", 1504176606),
    },
    "test": {
        "images": ("fashion-mnist-test-images", "t10k-images-idx3-ubyte", 1504176627),
        "labels": ("fashion-mnist-test-labels", "t10k-labels-idx1-ubyte", 1504176627),
    },
}
_INSTALL_HINT = (
    "Install Debian's copy (sudo apt-get install dataset-fashion-mnist; ./course.sh setup does it where it can), "
    "or run once with internet access so that the course downloads it (about 30 MB)."
)


class DatasetError(RuntimeError):
    """A data set is missing, corrupt or cannot be fetched; the message says what to do."""


@dataclass(frozen=True)
class ImageDataset:
    """Images ``(N, H, W)`` uint8, labels ``(N,)`` int64, the class names, and where they came from."""

    images: npt.NDArray[np.uint8]
    labels: npt.NDArray[np.int64]
    classes: tuple[str, ...]
    source: str

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def debian_to_upstream(data: bytes, filename: str, mtime: int) -> bytes:
    """Rebuild upstream's gzip file from Debian's copy of it.

    Debian's packaging kept the compressed data but replaced the 10-byte gzip header (no file name,
    another MTIME). Upstream's header has FLG=FNAME, its MTIME, XFL=0, OS=3 (Unix) and the name.

    Raises:
        DatasetError: ``data`` does not start with a plain gzip header.
    """
    if len(data) < 18 or data[:3] != b"\x1f\x8b\x08" or data[3] != 0:
        raise DatasetError(f"{filename}.gz: not the gzip file expected (no plain 10-byte gzip header)")
    header = b"\x1f\x8b\x08\x08" + struct.pack("<I", mtime) + b"\x00\x03" + filename.encode() + b"\x00"
    return header + data[10:]


def _offline() -> bool:
    return any(
        os.environ.get(v, "").strip().lower() in ("1", "true", "yes") for v in ("COURSE_OFFLINE", "HF_HUB_OFFLINE")
    )


def _gz_bytes(split: str, part: str, debian_dir: Path) -> tuple[bytes, str]:
    """The verified gzip bytes of one file and a phrase saying where they came from."""
    name, upstream_name, mtime = _FILES[split][part]
    expected = downloads.load_registry()[name].sha256
    local = debian_dir / f"{upstream_name}.gz"
    if local.is_file():
        raw = local.read_bytes()
        if hashlib.sha256(raw).hexdigest() == expected:  # an upstream copy placed there
            return raw, f"{debian_dir} (checked)"
        restored = debian_to_upstream(raw, upstream_name, mtime)
        if hashlib.sha256(restored).hexdigest() != expected:
            raise DatasetError(
                f"{local} does not match Fashion-MNIST's published checksum (sha256 {expected}): the file is "
                "damaged or is another data set. Reinstall it (sudo apt-get install --reinstall "
                "dataset-fashion-mnist) or remove it so that the course downloads a fresh copy."
            )
        return raw, f"Debian's dataset-fashion-mnist in {debian_dir} (checked against upstream's sha256)"
    cached = course_cache() / "downloads" / downloads.load_registry()[name].filename
    if _offline() and not (cached.is_file() and downloads.sha256_file(cached) == expected):
        raise DatasetError(f"Fashion-MNIST is not on this machine and the course is offline. {_INSTALL_HINT}")
    try:
        path = downloads.fetch(name)
    except downloads.DownloadError as exc:
        raise DatasetError(f"Fashion-MNIST could not be downloaded: {exc}. {_INSTALL_HINT}") from exc
    return path.read_bytes(), f"{path.parent} (downloaded, sha256 checked)"


def _parse_idx(data: bytes, magic: int, what: str) -> npt.NDArray[np.uint8]:
    """Decode an idx file (big-endian header: magic, counts, then uint8 data)."""
    ndim = magic & 0xFF
    if len(data) < 4 + 4 * ndim or struct.unpack(">I", data[:4])[0] != magic:
        raise DatasetError(f"{what}: not an idx file with magic number {magic}")
    dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DatasetError(f"{what}: header says {dims} but the file holds {body.size} values")
    return body.reshape(dims)


def fashion_mnist(
    split: str = "train",
    *,
    per_class: int | None = None,
    seed: int = 0,
    debian_dir: Path | None = None,
) -> ImageDataset:
    """Load Fashion-MNIST's ``"train"`` (60,000) or ``"test"`` (10,000) split.

    Args:
        split: ``"train"`` or ``"test"``.
        per_class: keep this many images of each class, drawn at random with ``seed`` (a small,
            balanced subset for quick runs); ``None`` keeps all.
        seed: the random seed of the subset.
        debian_dir: where to look for Debian's copy (default :data:`DEBIAN_DIR`).

    Raises:
        ValueError: unknown split, or ``per_class`` not positive or larger than the split allows.
        DatasetError: the data are missing (offline), damaged, or could not be downloaded.
    """
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
    folder = Path(debian_dir) if debian_dir is not None else DEBIAN_DIR
    raw_images, source = _gz_bytes(split, "images", folder)
    raw_labels, _ = _gz_bytes(split, "labels", folder)
    images = _parse_idx(gzip.decompress(raw_images), 0x0803, f"{split} images")
    labels = _parse_idx(gzip.decompress(raw_labels), 0x0801, f"{split} labels").astype(np.int64)
    if images.shape[0] != labels.shape[0]:
        raise DatasetError(f"{split}: {images.shape[0]} images but {labels.shape[0]} labels")
    if per_class is not None:
        counts = np.bincount(labels, minlength=len(FASHION_CLASSES))
        if per_class < 1 or per_class > counts.min():
            raise ValueError(f"per_class must be between 1 and {counts.min()} for the {split} split; got {per_class}")
        rng = np.random.default_rng(seed)
        keep = np.concatenate(
            [rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in range(len(FASHION_CLASSES))]
        )
        keep = rng.permutation(keep)
        images, labels = images[keep], labels[keep]
    return ImageDataset(images=np.ascontiguousarray(images), labels=labels, classes=FASHION_CLASSES, source=source)
