"""docs/OFFLINE_COPIES.md and the catalog name the same real offline copies with the same hashes."""

from __future__ import annotations

import re
from pathlib import Path

from course_utils.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "OFFLINE_COPIES.md").read_text(encoding="utf-8")


def test_every_real_offline_copy_of_the_catalog_is_listed() -> None:
    real = [key for key, model in load_catalog().items() if model.offline in ("packaged", "installed")]
    missing = [key for key in real if f"| `{key}` |" not in DOC]
    assert real and not missing, f"docs/OFFLINE_COPIES.md lacks {missing}: add a row from the catalog"


def test_every_packaged_file_hash_is_on_the_page() -> None:
    for key, model in load_catalog().items():
        for name, sha in (model.packaged.files if model.packaged else {}).items():
            assert sha in DOC, f"{key}: {name}'s sha256 {sha} is not on docs/OFFLINE_COPIES.md"


def test_every_hash_on_the_page_comes_from_the_catalog_or_the_registry() -> None:
    sources = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "course_utils").rglob("*.toml"))
    stray = [h for h in re.findall(r"\b[0-9a-f]{64}\b", DOC) if h not in sources]
    assert not stray, f"hashes on docs/OFFLINE_COPIES.md that no catalog file records: {stray}"
