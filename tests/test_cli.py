"""The command line: doctor, catalog, prefetch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from course_utils import cli, versions
from course_utils.catalog import load_catalog

ROOT = Path(__file__).resolve().parent.parent


def test_doctor_runs_as_a_program(tmp_path: Path) -> None:
    env = {**os.environ, "COURSE_CACHE": str(tmp_path), "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "course_utils", "doctor"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("[OK] python: 3.11")
    assert any(ln.startswith("[OK] catalog:") for ln in lines)
    assert any(ln.split("]")[1].startswith(" hub:") for ln in lines)
    assert lines[-1].startswith("overall:")


def test_doctor_says_what_to_do_when_the_hub_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli.session, "hub_reachable", lambda: False)
    assert cli.main(["doctor"]) == 0
    hub = next(ln for ln in capsys.readouterr().out.splitlines() if " hub:" in ln)
    assert hub.startswith("[WARN]") and "offline" in hub and "course prefetch" in hub
    monkeypatch.setattr(cli.session, "hub_reachable", lambda: True)
    cli.main(["doctor"])
    hub = next(ln for ln in capsys.readouterr().out.splitlines() if " hub:" in ln)
    assert hub.startswith("[OK]") and "reachable" in hub


def test_doctor_flags_version_drift_and_missing_packages(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # torch reads as its pin whatever is installed (the canary's environment runs this test too)
    fake = {"timm": "0.9.2", "peft": None, "torch": versions.pinned_versions()["torch"]}
    real = versions.installed_version
    monkeypatch.setattr(versions, "installed_version", lambda name: fake[name] if name in fake else real(name))
    monkeypatch.setattr(cli.session, "hub_reachable", lambda: True)
    assert cli.main(["doctor", "--json"]) == 1  # a missing package is a FAIL
    report = {c["check"]: c for c in json.loads(capsys.readouterr().out)}
    assert (
        report["timm"]["status"] == "WARN"
        and "0.9.2" in report["timm"]["detail"]
        and "1.0.31" in report["timm"]["detail"]
    )
    assert report["peft"]["status"] == "FAIL" and "./course.sh setup" in report["peft"]["detail"]
    assert report["torch"]["status"] == "OK"


def test_catalog_lists_every_model_and_the_total(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["catalog"]) == 0
    out = capsys.readouterr().out
    catalog = load_catalog()
    assert all(e.id in out for e in catalog.values())
    assert f"{len(catalog)} models, {sum(e.size_mb for e in catalog.values()):,.0f} MB" in out


def test_catalog_lists_the_test_images_with_their_licences(capsys: pytest.CaptureFixture[str]) -> None:
    from course_utils.catalog import load_images

    assert cli.main(["catalog", "--notebook", "9"]) == 0
    out = capsys.readouterr().out
    images = load_images()
    for key, im in images.items():
        row = next((ln for ln in out.splitlines() if ln.startswith(f"| {key} |")), None)
        if "09" in im.notebooks:
            assert row is not None and im.licence in row and im.credit in row, key
        else:
            assert row is None, key  # only the images of the notebooks asked for


def test_catalog_for_one_notebook(capsys: pytest.CaptureFixture[str]) -> None:
    cli.main(["catalog", "--notebook", "01", "--json"])
    keys = {e["key"] for e in json.loads(capsys.readouterr().out)}
    assert keys == {e.key for e in load_catalog().values() if "01" in e.notebooks}


def test_prefetch_dry_run_lists_without_network(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli.session, "hub_reachable", lambda: pytest.fail("a dry run must not probe the network"))
    assert cli.main(["prefetch", "--dry-run", "00"]) == 0
    out = capsys.readouterr().out
    assert "sentence-transformers/all-MiniLM-L6-v2" in out and "distilbert" not in out and "total" in out


def test_prefetch_offline_exits_2_with_a_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli.session, "hub_reachable", lambda: False)
    monkeypatch.setattr(cli, "download_real", lambda e: pytest.fail("nothing may be downloaded offline"))
    assert cli.main(["prefetch", "01"]) == 2
    assert "no internet" in capsys.readouterr().err


def test_prefetch_goes_on_after_a_failure(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    tried: list[str] = []

    def fake_download(entry):  # type: ignore[no-untyped-def]
        tried.append(entry.key)
        if entry.key == "distilbert-sst2":
            raise OSError("connection reset by peer\nlong library traceback text")
        return "/somewhere"

    monkeypatch.setattr(cli.session, "hub_reachable", lambda: True)
    monkeypatch.setattr(cli.session, "apply_switches", lambda *a: None)
    monkeypatch.setattr(cli, "download_real", fake_download)
    assert cli.main(["prefetch", "01"]) == 1
    out = capsys.readouterr().out
    assert set(tried) == {"distilbert-sst2", "minilm-l6"}
    assert "[FAILED] distilbert-sst2: OSError: connection reset by peer" in out and "long library" not in out
    assert "[OK] minilm-l6" in out and "1 downloaded, 1 failed" in out


def test_prefetch_needs_a_selection(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["prefetch"]) == 2


@pytest.mark.parametrize("bad", ["99", "1x", "123"])
def test_prefetch_refuses_a_notebook_that_does_not_exist(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["prefetch", "--dry-run", bad]) == 2
    err = capsys.readouterr().err
    assert f"no such notebook: {bad}" in err and "00" in err and "--all" in err


def test_doctor_creates_no_cache_folder(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "COURSE_CACHE"}
    env.update(HOME=str(tmp_path), PYTHONPATH=str(ROOT), COURSE_OFFLINE="1")
    out = subprocess.run(
        [sys.executable, "-m", "course_utils", "doctor"], env=env, capture_output=True, text=True, timeout=120
    )
    assert "disk (course cache)" in out.stdout, out.stdout + out.stderr
    assert not (tmp_path / ".cache" / "pretrained-course").exists()
