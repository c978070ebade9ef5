"""Checks that need the model hub, marked ``network``: skipped offline, run with ``COURSE_OFFLINE=0 ./course.sh test``.

A packaged copy the catalog calls identical to the hub's file must have the hash the hub publishes for it (a Hugging
Face file's LFS object id is its sha256), so the claim is checked against the source, not only recorded.
"""

from __future__ import annotations

import pytest

from course_utils.catalog import load_catalog

pytestmark = pytest.mark.network

SAID_IDENTICAL = [
    (key, name, sha)
    for key, model in load_catalog().items()
    if model.packaged and model.packaged.matches_upstream
    for name, sha in model.packaged.files.items()
]


@pytest.mark.parametrize(("key", "name", "sha"), SAID_IDENTICAL, ids=[f"{k}/{n}" for k, n, _ in SAID_IDENTICAL])
def test_a_copy_said_identical_has_the_hubs_hash(key: str, name: str, sha: str) -> None:
    from huggingface_hub import HfApi

    model = load_catalog()[key]
    found = HfApi().get_paths_info(model.id, [name], revision=model.revision or None)
    assert len(found) == 1, f"{model.id} has no file {name} on the hub"
    lfs = getattr(found[0], "lfs", None)
    assert lfs is not None and lfs.sha256 == sha, f"{key}: the hub's {name} is not the packaged file"
