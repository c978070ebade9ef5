"""The offline tiers, proven with one model of each loader the course uses.

Each test runs the notebooks' canonical calls in a fresh process with no network
(``COURSE_OFFLINE=1``), a temporary course cache and a temporary "user" cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from course_utils import offline
from course_utils.catalog import load_catalog
from course_utils.packaged import PackagedCopyError, materialize

ROOT = Path(__file__).resolve().parent.parent
PROBE = Path(__file__).parent / "support" / "offline_probe.py"
ALL_KEYS = "distilbert-sst2,minilm-l6,efficientnet-lite0,deeplabv3-mbv3,yolov8n,clip-vit-b32"
CAT_CLASSES = set(range(281, 286))  # ImageNet: tabby, tiger cat, Persian, Siamese, Egyptian cat

pytestmark = pytest.mark.timeout(600)


def _env(tmp: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "COURSE_OFFLINE": "1",
        "COURSE_CACHE": str(tmp / "course"),
        "HF_HOME": str(tmp / "user-hf"),
        "TORCH_HOME": str(tmp / "user-torch"),
        "PYTHONPATH": str(ROOT),
    }
    for name in ("HF_HUB_CACHE", offline.REAL_HF_ENV, offline.REAL_TORCH_ENV, "YOLO_CONFIG_DIR"):
        env.pop(name, None)
    return env


def run_probe(keys: str, env: dict[str, str], cwd: Path) -> tuple[dict[str, Any], str, str]:
    out = subprocess.run(
        [sys.executable, str(PROBE), keys], env=env, cwd=cwd, capture_output=True, text=True, timeout=540
    )
    assert out.returncode == 0, out.stdout[-1500:] + out.stderr[-3000:]
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("REPORT "))
    return json.loads(line[len("REPORT ") :]), out.stdout, out.stderr


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, Path, str]:
    tmp = tmp_path_factory.mktemp("offline")
    (tmp / "work").mkdir()
    report, stdout, stderr = run_probe(ALL_KEYS, _env(tmp), tmp / "work")
    return report, stdout, tmp, stderr


def test_status_line_names_each_tier(first_run: tuple[dict[str, Any], str, Path, str]) -> None:
    _, stdout, _, _ = first_run
    status = stdout.splitlines()[0]
    assert status.startswith("[course] device "), f"the status line comes first: {stdout[:300]!r}"
    assert "hub offline" in status
    assert "distilbert-sst2: STAND-IN (random weights)" in status
    assert "minilm-l6: real offline copy" in status
    assert "efficientnet-lite0: real weights, unverified copy" in status
    assert "stand-ins have random weights" in stdout


def test_first_run_prints_no_library_chatter(first_run: tuple[dict[str, Any], str, Path, str]) -> None:
    """An empty cache: setup builds transformers and ultralytics stand-ins without a "Writing model shards" bar
    or ultralytics' settings-file notice (either would come before the status line in the notebook), writes that
    settings file all the same, and leaves transformers' progress bars switched on."""
    report, stdout, tmp, stderr = first_run
    assert "Writing model shards" not in stderr and "Ultralytics Settings" not in stdout + stderr
    assert len(list((tmp / "course").glob("**/Ultralytics/settings.json"))) == 1
    assert report["progress_bars_on"] is True


def test_transformers_standin_keeps_the_real_interface(first_run: tuple[dict[str, Any], str, Path, str]) -> None:
    r = first_run[0]["transformers"]
    assert r["tier"] == "stand-in"
    assert r["labels"] == ["NEGATIVE", "POSITIVE"] and set(r["predicted"]) <= {"NEGATIVE", "POSITIVE"}
    assert all(0.0 <= s <= 1.0 for s in r["scores"])
    assert r["architecture"] == "DistilBertForSequenceClassification"
    assert r["tokenizer"] == "DistilBertTokenizer" and r["max_length"] == 512
    assert r["specials"] == ["[CLS]", "[SEP]", "[PAD]", "[MASK]"]
    assert "random weights" in r["standin_note"]


def test_sentence_transformers_packaged_copy_is_real(first_run: tuple[dict[str, Any], str, Path, str]) -> None:
    r = first_run[0]["sentence-transformers"]
    assert r["tier"] == "packaged" and r["dim"] == 384
    assert r["paraphrase"] > 0.5 and r["unrelated"] < 0.3  # meaning: only real weights do this


def test_timm_packaged_weights_see_the_cat(first_run: tuple[dict[str, Any], str, Path, str]) -> None:
    r = first_run[0]["timm"]
    assert r["tier"] == "packaged-unverified"
    assert r["top3"][0] in CAT_CLASSES and r["p"] > 0.2, r


def test_torchvision_standin_loads_through_torchvision(first_run: tuple[dict[str, Any], str, Path, str]) -> None:
    r = first_run[0]["torchvision"]
    assert r["tier"] == "stand-in" and r["classes"] == 21 and r["shape"] == [1, 21, 96, 128]


def test_ultralytics_standin_has_coco_names_and_sane_boxes(first_run: tuple[dict[str, Any], str, Path, str]) -> None:
    r = first_run[0]["ultralytics"]
    assert r["tier"] == "stand-in" and r["names"] == 80
    assert (r["first"], r["last"]) == ("person", "toothbrush")
    assert r["inside"]


def test_open_clip_standin_loads_through_open_clip(first_run: tuple[dict[str, Any], str, Path, str]) -> None:
    r = first_run[0]["open_clip"]
    assert r["tier"] == "stand-in" and r["image"] == [1, 512] and r["text"] == [2, 512] and r["finite"]


def test_standins_never_enter_the_users_caches(first_run: tuple[dict[str, Any], str, Path, str]) -> None:
    tmp = first_run[2]
    assert not (tmp / "user-hf").exists() or not any((tmp / "user-hf").rglob("*.safetensors"))
    assert not (tmp / "user-torch").exists() or not any((tmp / "user-torch").rglob("*.pth"))
    assert not any((tmp / "work").glob("*.pt")), "no weight file may land in the notebook's folder"
    built = tmp / "course" / "builds"
    assert any(built.glob("standin-distilbert-sst2-*")) and any(built.glob("standin-yolov8n-*"))


def _fake_real_hf_copy(src_snapshot: Path, cache: Path, repo_id: str, revision: str) -> None:
    """Lay out a hub-cache entry as huggingface_hub would after a download at ``revision``."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    commit = "a" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "refs" / revision).write_text(commit)
    snap = repo / "snapshots" / commit
    snap.mkdir(parents=True)
    for f in src_snapshot.iterdir():
        if f.is_file() and not f.name.startswith("."):
            (snap / f.name).write_bytes(f.read_bytes())
    if (snap / "config.json").is_file():  # a pretend real copy: without the stand-in's marker
        config = json.loads((snap / "config.json").read_text())
        config.pop("course_standin", None)
        (snap / "config.json").write_text(json.dumps(config))


def _copy_unmarked(src: Path, dst: Path) -> None:
    """Copy a stand-in checkpoint without its stand-in record (a pretend real download)."""
    import zipfile

    from course_utils.standins import MARKER_RECORD

    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w") as new:
        for info in old.infolist():
            if not info.filename.endswith("/" + MARKER_RECORD):
                new.writestr(info, old.read(info))


def test_the_users_own_copy_comes_first(first_run: tuple[dict[str, Any], str, Path, str], tmp_path: Path) -> None:
    """Tier 1: with a (pretend) real copy in the user's caches, setup uses it and says so."""
    tmp = first_run[2]
    builds = tmp / "course" / "builds"
    sst2 = next(builds.glob("standin-distilbert-sst2-*[!k]"))
    _fake_real_hf_copy(sst2, tmp_path / "user-hf" / "hub", load_catalog()["distilbert-sst2"].id, "714eb0f")
    ckpt = next(builds.glob("standin-deeplabv3-mbv3-*[!k]")) / "deeplabv3_mobilenet_v3_large-fc3c493d.pth"
    (tmp_path / "user-torch" / "hub" / "checkpoints").mkdir(parents=True)
    _copy_unmarked(ckpt, tmp_path / "user-torch" / "hub" / "checkpoints" / ckpt.name)
    (tmp_path / "work").mkdir()
    yolo = next(builds.glob("standin-yolov8n-*[!k]")) / "yolov8n.pt"
    _copy_unmarked(yolo, tmp_path / "work" / "yolov8n.pt")
    env = _env(tmp_path)
    env["COURSE_CACHE"] = str(tmp / "course")  # same course cache: its stand-ins exist but must lose
    report, stdout, _ = run_probe("distilbert-sst2,deeplabv3-mbv3,yolov8n", env, tmp_path / "work")
    assert report["transformers"]["tier"] == "cached"
    # torchvision's file names carry the start of their sha256: a copy that does not match it (this pretend one) is
    # a broken download, removed and not used (test_online_reports_cached_or_hub has a matching one).
    assert report["torchvision"]["tier"] == "stand-in"
    assert not (tmp_path / "user-torch" / "hub" / "checkpoints" / ckpt.name).exists()
    assert report["ultralytics"]["tier"] == "cached"
    assert "distilbert-sst2: real (your cache)" in stdout


def test_two_processes_build_the_same_standin(tmp_path: Path) -> None:
    env = _env(tmp_path)
    (tmp_path / "work").mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, str(PROBE), "distilbert-sst2"],
            env=env,
            cwd=tmp_path / "work",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-4000:] for o in outs if "Traceback" in o[1]]
    assert len(list((tmp_path / "course" / "builds").glob("standin-distilbert-sst2-*[!k]"))) == 1


def test_a_corrupt_packaged_copy_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = load_catalog()["efficientnet-lite0"]
    assert entry.packaged is not None
    fake = tmp_path / next(iter(entry.packaged.files))
    fake.write_bytes(b"not the weights")
    monkeypatch.setattr("course_utils.packaged.locate", lambda e: fake)
    with pytest.raises(PackagedCopyError, match="sha256.*reinstall"):
        materialize(entry, tmp_path / "out", tmp_path / "stamp.json")


def test_online_reports_cached_or_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Online, the libraries download for themselves; setup only says whether a real copy is already cached."""
    for name in ("HF_HUB_CACHE", offline.REAL_HF_ENV, offline.REAL_TORCH_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.chdir(tmp_path)
    catalog, layout = load_catalog(), offline.Layout(tmp_path / "course")
    sst2, seg, yolo = catalog["distilbert-sst2"], catalog["deeplabv3-mbv3"], catalog["yolov8n"]
    assert [offline.resolve_online(e, layout).tier for e in (sst2, seg, yolo)] == ["hub"] * 3
    src = tmp_path / "files"
    src.mkdir()
    (src / "config.json").write_text("{}")
    _fake_real_hf_copy(src, tmp_path / "hf" / "hub", sst2.id, "714eb0f")
    (tmp_path / "torch" / "hub" / "checkpoints").mkdir(parents=True)
    (tmp_path / "torch" / "hub" / "checkpoints" / "deeplabv3_mobilenet_v3_large-fc3c493d.pth").write_bytes(b"x")
    (tmp_path / "yolov8n.pt").write_bytes(b"x")
    # a whole torchvision file's sha256 starts with the hex part of its name (here pretended)
    monkeypatch.setattr("course_utils.downloads.sha256_file", lambda path: "fc3c493d" + "0" * 56)
    assert [offline.resolve_online(e, layout).tier for e in (sst2, seg, yolo)] == ["cached"] * 3


def test_a_pinned_revision_must_be_in_the_cache_itself(tmp_path: Path) -> None:
    cache = tmp_path / "hub"
    src = tmp_path / "files"
    src.mkdir()
    (src / "config.json").write_text("{}")
    _fake_real_hf_copy(src, cache, "org/model", "abc1234")
    assert offline.hf_cached(cache, "org/model", "abc1234")
    assert offline.hf_cached(cache, "org/model", None)  # main
    assert not offline.hf_cached(cache, "org/model", "other99"), "main must not stand in for another pinned revision"
    assert not offline.hf_cached(cache, "org/absent", None)


def test_an_online_only_model_is_unavailable_offline_and_says_why() -> None:
    from course_utils import load_catalog, offline

    entry = load_catalog()["tabpfn-v2-clf"]
    found = offline.resolve_offline(entry, offline.Layout.default())
    assert found.tier == offline.ONLINE_ONLY and not found.available and not found.is_real
    assert "no package ships" in found.where and "NOT OFFLINE" in found.card()
    online = offline.resolve_online(entry, offline.Layout.default())
    assert online.tier == offline.HUB and online.available
