"""Fashion-MNIST loader: header restoration, verification, subsets, and the errors users see."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from course_utils import datasets
from course_utils.datasets import DEBIAN_DIR, DatasetError, debian_to_upstream, fashion_mnist

HAVE_DEBIAN = (DEBIAN_DIR / "t10k-labels-idx1-ubyte.gz").is_file()


def _debian_style(payload: bytes) -> bytes:
    """A gzip file as Debian ships them: no stored name, a fixed MTIME."""
    return gzip.compress(payload, mtime=1591347949)


def test_restored_header_keeps_the_data_and_has_upstream_fields() -> None:
    payload = b"\x00\x00\x08\x01" + struct.pack(">I", 3) + bytes([1, 2, 3])
    restored = debian_to_upstream(_debian_style(payload), "t10k-labels-idx1-ubyte", 1504176627)
    assert gzip.decompress(restored) == payload
    assert restored[3] == 0x08  # FLG: FNAME
    assert struct.unpack("<I", restored[4:8])[0] == 1504176627
    assert restored[10:33] == b"t10k-labels-idx1-ubyte\x00"


def test_a_file_that_is_not_gzip_is_refused() -> None:
    with pytest.raises(DatasetError, match="not the gzip file"):
        debian_to_upstream(b"PK\x03\x04 this is a zip file......", "x", 0)


@pytest.mark.skipif(not HAVE_DEBIAN, reason="Debian's dataset-fashion-mnist is not installed")
def test_debian_copy_restores_to_the_registry_sha256() -> None:
    for split, parts in datasets._FILES.items():
        for part, (name, upstream, mtime) in parts.items():
            raw = (DEBIAN_DIR / f"{upstream}.gz").read_bytes()
            expected = datasets.downloads.load_registry()[name].sha256
            assert hashlib.sha256(debian_to_upstream(raw, upstream, mtime)).hexdigest() == expected, (split, part)


@pytest.mark.skipif(not HAVE_DEBIAN, reason="Debian's dataset-fashion-mnist is not installed")
def test_splits_have_the_published_sizes_and_balanced_subsets() -> None:
    test = fashion_mnist("test")
    assert test.images.shape == (10_000, 28, 28) and test.images.dtype == np.uint8
    assert np.bincount(test.labels).tolist() == [1000] * 10
    assert test.classes[0] == "T-shirt/top" and test.classes[9] == "Ankle boot"
    assert "Debian" in test.source
    small = fashion_mnist("train", per_class=7, seed=3)
    assert len(small) == 70 and np.bincount(small.labels, minlength=10).tolist() == [7] * 10
    again = fashion_mnist("train", per_class=7, seed=3)
    assert np.array_equal(small.images, again.images)  # the same seed gives the same subset
    other = fashion_mnist("train", per_class=7, seed=4)
    assert not np.array_equal(small.images, other.images)


def test_a_damaged_local_copy_is_refused_with_a_fix(tmp_path: Path) -> None:
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(_debian_style(b"not the images"))
    with pytest.raises(DatasetError, match="does not match Fashion-MNIST's published checksum.*reinstall"):
        fashion_mnist("train", debian_dir=tmp_path)


def test_offline_without_a_copy_says_how_to_get_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path / "cache"))
    with pytest.raises(DatasetError, match="offline.*apt-get install dataset-fashion-mnist"):
        fashion_mnist("test", debian_dir=tmp_path / "nothing-here")


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="split must be"):
        fashion_mnist("validation")
    if HAVE_DEBIAN:
        with pytest.raises(ValueError, match="per_class must be between 1 and 1000"):
            fashion_mnist("test", per_class=5000)


def test_idx_parser_checks_magic_and_length() -> None:
    good = struct.pack(">III", 0x0802, 2, 3) + bytes(6)
    assert datasets._parse_idx(good, 0x0802, "x").shape == (2, 3)
    with pytest.raises(DatasetError, match="magic number"):
        datasets._parse_idx(good, 0x0803, "x")
    with pytest.raises(DatasetError, match="header says"):
        datasets._parse_idx(good[:-1], 0x0802, "x")
