"""Pinned versions against installed ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from course_utils import versions


def test_pins_are_read_and_normalised(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("# comment\nOpen_Clip.torch==3.3.0   # CLIP\ntorch==2.11.0\n\nnot-pinned>=1\n")
    assert versions.pinned_versions(req) == {"open-clip-torch": "3.3.0", "torch": "2.11.0"}
    assert versions.pinned_versions(tmp_path / "absent.txt") == {}


def test_mismatch_names_both_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("torch==2.11.0\ntimm==1.0.31\nnbval==0.11.0\n")
    installed = {"torch": "2.11.0+cu128", "timm": "0.9.2", "nbval": None}
    monkeypatch.setattr(versions, "installed_version", lambda name: installed[name])
    drift = versions.mismatches(("torch", "timm", "nbval"), req)
    assert drift == {"timm": ("1.0.31", "0.9.2"), "nbval": ("0.11.0", None)}  # a +cu128 build is the same release


@pytest.mark.lockstep
def test_this_environment_matches_its_pins() -> None:
    """The suite runs in the environment ./course.sh built: it must be the pinned one."""
    assert versions.mismatches() == {}
