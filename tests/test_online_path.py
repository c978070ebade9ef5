# mypy: disable-error-code="attr-defined, union-attr, arg-type, index"
"""The online path, with no internet: a local hub serves the course's copies under the real ids.

Fast tests (the default suite): the hub's protocol as huggingface_hub reads it, faults in the middle of a download
(a reset, a body cut short, a silent server: no corrupt cache, the next run completes), the stand-in marker, the
course finding TabPFN's own cache offline, the Cora stand-in, and the online report's class mode (a check that does
not hold is recorded and shown; the notebook carries on).

Slow tests (``-m slow``), on one hub and one set of empty caches for the module:

* ``course prefetch --all``: every model through its own library's download code (huggingface_hub, torch.hub,
  ultralytics, TabPFN into its default folder);
* ``setup()`` online: every stand-in reported as one, every real copy as real;
* ``course online-report`` over :data:`ONLINE_NOTEBOOKS`, run once: each notebook in a fresh kernel, online, end to
  end. ``test_notebook_runs_online[NN]`` reads notebook NN's entry of that report (it ran through, and every meaning
  check it recorded held: what the test command's strict mode asks, read after the run instead of raised in it);
  the report test reads the report's files. One run serves both, so no notebook runs twice.

What the online runs leave out, and why the issue's list is still covered:

* Notebooks 01 and 13 do not run online. Notebook 14 loads a transformers pipeline by hub id
  (``pipeline(task, model=id, revision=...)``, as 01 does) and open_clip's ViT-B-32 with the same call as 13
  (``open_clip.create_model_and_transforms(id, pretrained=revision)``); notebook 00 loads sentence-transformers as
  01 does. Neither 01 nor 13 has a branch that runs only online (``online_branches.toml``); the rest of both runs in
  the offline suite, unchanged by where the weights came from.
* The TabPFN stand-in the hub serves (:func:`course_utils.standins.build_tabpfn`) is one layer of width 32:
  TabPFN builds the network from the checkpoint's config, so the download, load, fit and predict run the same code
  as with the real checkpoint, and notebook 21's ten cross-validation fits stay cheap. Its answers mean nothing
  either way (random weights), and notebook 21 checks only their structure.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from course_utils import offline, online_report, rehearse, standins
from course_utils.catalog import load_catalog

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support.localhub import LocalHub, commit_for  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
#: Notebook 00, one notebook per loading route (14 covers two), and every notebook with a branch that runs only
#: online (see online_branches.toml).
ONLINE_NOTEBOOKS = {
    "00": "sentence-transformers (MiniLM), the status line online",
    "08": "timm (EfficientNet-Lite0 real, ResNet-50 and ViT-S stand-ins)",
    "09": "ultralytics (YOLOv8n) and transformers DETR; its online network-spy branch",
    "14": "a transformers pipeline by hub id (BLIP image-text-to-text) and open_clip (ViT-B-32)",
    "19": "PyG's Planetoid download of Cora (a stand-in of the real shape)",
    "21": "TabPFN's own download (a stand-in checkpoint)",
    "22": "its online hub-metadata branch",
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def tiny_hub(tmp_path: Path) -> Iterator[tuple[LocalHub, str, Path]]:
    """A hub with one repo: a small config and a 300 kB LFS-size weights file, pinned at a short revision."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "config.json").write_text('{"model_type": "toy"}')
    (repo / "weights.bin").write_bytes(os.urandom(300_000))
    hub = LocalHub()
    hub.add_repo("course/toy-model", repo, "abc1234")
    with hub as url:
        yield hub, url, repo


def test_the_hub_answers_as_huggingface_hub_expects(tiny_hub: tuple[LocalHub, str, Path], tmp_path: Path) -> None:
    from huggingface_hub import HfApi, hf_hub_download, snapshot_download
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    hub, url, repo = tiny_hub
    cache = tmp_path / "cache"
    got = Path(hf_hub_download("course/toy-model", "weights.bin", revision="abc1234", cache_dir=cache, endpoint=url))
    assert _sha256(got) == _sha256(repo / "weights.bin")
    commit = commit_for("course/toy-model", "abc1234")
    assert commit.startswith("abc1234") and got.parent.name == commit  # the short pin resolves to its commit
    folder = cache / "models--course--toy-model"
    assert (folder / "refs" / "abc1234").read_text() == commit
    assert offline.hf_snapshot(cache, "course/toy-model", "abc1234") == got.parent
    assert ("GET", f"/lfs/{_sha256(repo / 'weights.bin')}") in hub.requests  # the LFS redirect was followed
    snap = Path(snapshot_download("course/toy-model", cache_dir=cache, endpoint=url))
    assert sorted(p.name for p in snap.iterdir()) == ["config.json", "weights.bin"]
    info = HfApi(endpoint=url).model_info("course/toy-model", revision="abc1234")
    assert info.sha == commit and sorted(s.rfilename for s in info.siblings) == ["config.json", "weights.bin"]
    ranged = requests.get(f"{hub.cdn_url}/lfs/{_sha256(repo / 'weights.bin')}", headers={"Range": "bytes=100-"})
    assert ranged.status_code == 206 and ranged.content == (repo / "weights.bin").read_bytes()[100:]
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("course/nothing", "config.json", cache_dir=cache, endpoint=url)
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download("course/toy-model", "config.json", revision="fff0000", cache_dir=cache, endpoint=url)
    with pytest.raises(EntryNotFoundError):
        hf_hub_download("course/toy-model", "nothing.json", cache_dir=cache, endpoint=url)


@pytest.mark.parametrize("fault", ["reset", "truncate", "silent"])
def test_a_fault_mid_download_leaves_no_corrupt_cache(
    tiny_hub: tuple[LocalHub, str, Path], tmp_path: Path, fault: str
) -> None:
    """A reset, a body cut short or a server that goes silent: no broken file in the cache; the next run completes."""
    from huggingface_hub import hf_hub_download

    hub, url, repo = tiny_hub
    cache = tmp_path / "cache"
    # silent: the hub stops answering the metadata request (bounded by etag_timeout); the others hit the content
    hub.fault("/resolve/" if fault == "silent" else "/lfs/", fault, times=1 if fault == "silent" else 3)
    expected = _sha256(repo / "weights.bin")
    try:
        first: Path | None = Path(
            hf_hub_download("course/toy-model", "weights.bin", cache_dir=cache, endpoint=url, etag_timeout=1)
        )
    except Exception:  # noqa: BLE001 - any failure is fine here; what it leaves behind is checked below
        first = None
    if first is not None:  # huggingface_hub resumed the cut body itself (a Range request): the file must be whole
        assert _sha256(first) == expected
    snapshots = cache / "models--course--toy-model" / "snapshots"
    for path in snapshots.rglob("weights.bin") if snapshots.exists() else []:
        assert _sha256(path) == expected, f"{fault}: a broken weights.bin is in the cache"
    hub.faults.clear()
    again = Path(hf_hub_download("course/toy-model", "weights.bin", cache_dir=cache, endpoint=url))
    assert _sha256(again) == expected


def test_a_truncated_torchvision_download_is_thrown_away(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """torch.hub keeps a body cut short as the file; the course notices, removes it, and the next download completes."""
    import torch
    import torch.hub

    entry = load_catalog()["deeplabv3-mbv3"]
    url = standins.torchvision_weights(entry).url
    served = tmp_path / "served.pth"
    torch.save({"w": torch.zeros(100_000)}, served)
    standins.mark_checkpoint(served)
    for name in (offline.REAL_TORCH_ENV, "TORCH_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    target = tmp_path / "torch" / "hub" / "checkpoints" / Path(url).name
    target.parent.mkdir(parents=True)
    layout = offline.Layout(tmp_path / "course")
    hub = LocalHub()
    hub.add_mirror(url, served)
    hub.fault("/mirror/", "truncate", times=1)
    with hub as base:
        local = f"{base}/mirror/download.pytorch.org{url.split('download.pytorch.org', 1)[1]}"
        torch.hub.download_url_to_file(local, str(target), progress=False)  # as torchvision does: no error
        assert target.stat().st_size < served.stat().st_size  # torch.hub kept the short file
        with pytest.warns(UserWarning, match="cut short"):
            assert offline.resolve_online(entry, layout).tier == offline.HUB  # not "your cache"
        assert not target.exists()
        torch.hub.download_url_to_file(local, str(target), progress=False)
    assert _sha256(target) == _sha256(served)
    assert offline.resolve_online(entry, layout).tier == offline.STANDIN  # whole, and still a stand-in


def test_a_standin_stays_a_standin_after_a_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in served over HTTP is reported as a stand-in: from the cache, and by a mirror before any download."""
    import torch

    ckpt = tmp_path / "model.pth"
    torch.save({"w": torch.zeros(2)}, ckpt)
    assert standins.standin_marker(ckpt) == ""
    standins.mark_checkpoint(ckpt)
    standins.mark_checkpoint(ckpt)  # idempotent
    assert standins.standin_marker(ckpt) == standins.STANDIN_NOTE
    assert torch.load(ckpt, weights_only=True)["w"].shape == (2,)  # torch still reads it
    not_torch = tmp_path / "plain.bin"
    not_torch.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a torch zip"):
        standins.mark_checkpoint(not_torch)

    entry = load_catalog()["distilbert-sst2"]
    layout = offline.Layout(tmp_path / "course")
    for name in ("HF_HUB_CACHE", offline.REAL_HF_ENV, offline.REAL_TORCH_ENV, "HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert offline.resolve_online(entry, layout).tier == offline.HUB
    folder = tmp_path / "served"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"course_standin": standins.STANDIN_NOTE}))
    (folder / standins.MARKER_FILE).write_text(standins.STANDIN_NOTE)
    hub = LocalHub()
    hub.add_repo(entry.id, folder, entry.revision)
    with hub as url:
        monkeypatch.setenv("HF_ENDPOINT", url)
        before = offline.resolve_online(entry, layout)  # nothing cached yet: the mirror is asked
        assert before.tier == offline.STANDIN and url in before.where
        from huggingface_hub import snapshot_download

        snapshot_download(entry.id, revision=entry.revision, cache_dir=tmp_path / "hf" / "hub", endpoint=url)
    monkeypatch.delenv("HF_ENDPOINT")
    after = offline.resolve_online(entry, layout)  # cached now, read from the cache's own files
    assert after.tier == offline.STANDIN and not after.is_real
    assert offline.resolve_offline(entry, layout).tier == offline.STANDIN


def test_the_course_finds_tabpfns_own_download_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline, the course looks in TabPFN's own cache (that this is where TabPFN downloads to: the prefetch test)."""
    monkeypatch.setenv("TABPFN_MODEL_CACHE_DIR", str(tmp_path / "tabpfn"))
    entry = load_catalog()["tabpfn-v2-clf"]
    layout = offline.Layout(tmp_path / "course")
    assert offline.resolve_offline(entry, layout).tier == offline.ONLINE_ONLY
    ckpt = offline.tabpfn_checkpoint(entry)
    assert ckpt.parent == tmp_path / "tabpfn"
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"real checkpoint bytes")
    found = offline.resolve_offline(entry, layout)
    assert found.tier == offline.CACHED and found.available and found.where == str(ckpt)


def test_the_cora_standin_has_the_real_shape(tmp_path: Path) -> None:
    from support.cora import write_cora
    from torch_geometric.io import read_planetoid_data

    files = write_cora(tmp_path / "raw")
    assert len(files) == 8
    data = read_planetoid_data(str(tmp_path / "raw"), "cora")
    assert tuple(data.x.shape) == (2708, 1433)
    assert int(data.y.max()) + 1 == 7 and sorted(data.y.bincount().tolist()) == sorted(
        [818, 426, 418, 351, 298, 217, 180]
    )
    assert int(data.train_mask.sum()) == 140 and int(data.test_mask.sum()) == 1000
    assert data.edge_index.shape[1] == 2 * 5278 and data.is_undirected()


# ---------------------------------------------------------------------------- the whole course online (slow)


@pytest.fixture(scope="module")
def online_course() -> Iterator[tuple[LocalHub, dict[str, str], dict[str, str], subprocess.CompletedProcess[str]]]:
    """The course on a local hub, and ``course prefetch --all`` run against it into empty caches."""
    from support.onlinehub import course_hub, online_env

    with tempfile.TemporaryDirectory(prefix="course-online-") as tmp:
        work = Path(tmp)
        hub, tiers = course_hub(work)
        with hub as url:
            env = online_env(url, work / "home")
            done = subprocess.run(
                [sys.executable, "-m", "course_utils", "prefetch", "--all"],
                env=env,
                cwd=work,
                capture_output=True,
                text=True,
                timeout=1200,
            )
            yield hub, tiers, env, done


@pytest.mark.slow
def test_prefetch_all_downloads_every_model_with_its_own_library(
    online_course: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub, tiers, env, done = online_course
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for key in tiers:
        assert f"[OK] {key}:" in done.stdout, key
    home = Path(env["HF_HOME"]).parent
    paths = [p for method, p in hub.requests if method == "GET"]
    assert any(p.startswith("/mirror/download.pytorch.org/") for p in paths)  # torch.hub (torchvision)
    assert any(p.startswith("/mirror/github.com/ultralytics/") for p in paths)  # ultralytics' downloader
    assert any("/Prior-Labs/TabPFN-v2-clf/resolve/" in p for p in paths)  # TabPFN's own downloader
    assert list((home / "cache" / "torch" / "hub" / "checkpoints").iterdir())
    # TabPFN's downloader wrote into TabPFN's default folder (no TABPFN_MODEL_CACHE_DIR), under TabPFN's file name:
    # exactly where the course looks for it.
    downloaded = list((home / "cache" / "tabpfn").glob("*.ckpt"))
    monkeypatch.delenv("TABPFN_MODEL_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", env["XDG_CACHE_HOME"])
    assert downloaded == [offline.tabpfn_checkpoint(load_catalog()["tabpfn-v2-clf"])], downloaded


@pytest.mark.slow
def test_setup_online_reports_every_standin_as_one(online_course: tuple, tmp_path: Path) -> None:
    hub, tiers, env, _ = online_course
    log = tmp_path / "session.jsonl"
    code = f"from course_utils import setup; setup(models={sorted(tiers)!r})"
    subprocess.run([sys.executable, "-c", code], env=env | {"COURSE_SESSION_LOG": str(log)}, check=True, timeout=600)
    record = json.loads(log.read_text().splitlines()[-1])
    assert record["offline"] is False and record["hub"].startswith("reachable")
    for key, tier in tiers.items():
        got = record["models"][key]
        if tier == offline.STANDIN:
            assert got["tier"] == offline.STANDIN and not got["real"], (key, got)
        else:  # a real offline copy, served as it is: real weights from the user's cache now
            assert got["tier"] == offline.CACHED and got["real"], (key, got)


#: Notebooks whose online run fails on the local hub because of a bug in the notebook (fixed by its owner, then removed).
KNOWN_NOTEBOOK_BUGS: dict[str, str] = {}  # notebook -> why its online run is expected to fail


@pytest.fixture(scope="module")
def online_report_run(
    online_course: tuple, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``course online-report`` over every notebook of :data:`ONLINE_NOTEBOOKS`, once: the notebook tests and the
    report test read the same run (each notebook in its own fresh kernel, online, as an instructor runs it).

    The report stays in pytest's temporary folder (pytest keeps the last three runs'), to read after a run."""
    hub, tiers, env, _ = online_course
    out = tmp_path_factory.mktemp("online-report")
    rehearsals = out.parent / f"{out.name}-rehearsals"  # each notebook's rehearsal log (read by the notebook tests)
    done = subprocess.run(
        [sys.executable, "-m", "course_utils", "online-report", *sorted(ONLINE_NOTEBOOKS), "--out", str(out)],
        env=env | {rehearse.DIR_ENV: str(rehearsals)},
        capture_output=True,
        text=True,
        timeout=600 * len(ONLINE_NOTEBOOKS),
    )
    return done, out


def _report(run: tuple[subprocess.CompletedProcess[str], Path]) -> dict:
    done, out = run
    path = out / "online-report.json"
    assert path.is_file(), "online-report wrote no report:\n" + done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(path.read_text())


@pytest.mark.slow
@pytest.mark.parametrize(
    "number",
    [
        pytest.param(nb, marks=pytest.mark.xfail(reason=KNOWN_NOTEBOOK_BUGS[nb], strict=True))
        if nb in KNOWN_NOTEBOOK_BUGS
        else nb
        for nb in sorted(ONLINE_NOTEBOOKS)
    ],
)
def test_notebook_runs_online(online_course: tuple, online_report_run: tuple, number: str) -> None:
    """Each loading route end to end online, every meaning check held (stand-ins: structure checks only).

    The run is the online report's (class mode: a check that does not hold is recorded and the notebook carries
    on), so "passed and every recorded check held" is what the test command's strict mode asks, read afterwards.
    """
    hub, tiers, env, _ = online_course
    runs = {nb["notebook"][:2]: nb for nb in _report(online_report_run)["notebooks"]}
    result = runs[number]
    assert result["passed"], f"{result['notebook']} online: {result['error']}"
    failed = [c for c in result["checks"] if not c["held"]]
    assert not failed, f"{result['notebook']} online: meaning checks that did not hold: {failed}"
    # The report asks for online (COURSE_OFFLINE=0) rather than probing; the probe finding the hub is setup's test.
    assert result["hub"].startswith("online"), result["hub"]
    for key, label in result["models"].items():
        if tiers.get(key) == offline.STANDIN:
            assert label == offline.TIER_LABELS[offline.STANDIN], (key, label)
    # Real-model branches whose gate needs something only this online run has (TabPFN's checkpoint) were rehearsed.
    branches = tomllib.loads((ROOT / "tests" / "online_branches.toml").read_text(encoding="utf-8"))["branch"]
    listed = [b["gate"] for b in branches if b["runs_in"] == rehearse.ONLINE_LISTED.format(nb=number)]
    log = (
        online_report_run[1].parent
        / f"{online_report_run[1].name}-rehearsals"
        / f"{Path(result['notebook']).stem}.jsonl"
    )
    assert not rehearse.unrehearsed(listed, rehearse.read_log(log)), (listed, rehearse.read_log(log))


@pytest.mark.slow
def test_online_report_writes_what_an_instructor_needs(online_course: tuple, online_report_run: tuple) -> None:
    hub, tiers, env, _ = online_course
    done, out = online_report_run
    report = _report(online_report_run)
    assert done.returncode == (0 if all(nb["passed"] for nb in report["notebooks"]) else 1), done.stdout[-3000:]
    assert report["hub_endpoint"] == env["HF_ENDPOINT"] and report["versions"]["transformers"]
    assert [nb["notebook"][:2] for nb in report["notebooks"]] == sorted(ONLINE_NOTEBOOKS)
    for nb in report["notebooks"]:
        assert nb["seconds"] > 0 and nb["peak_mb"] > 50 and nb["device"] == "cpu", nb["notebook"]
    zero = report["notebooks"][0]
    assert zero["models"] == {"minilm-l6": offline.TIER_LABELS[offline.CACHED]}
    assert zero["checks"] and all({"expected", "got", "held"} <= set(c) for c in zero["checks"])
    assert not (out / ".checks.jsonl").exists()  # the kernels' check log is not left beside the report
    text = (out / "online-report.md").read_text()
    assert f"| {zero['notebook']} | passed |" in text and "## Meaning checks" in text
    assert all(f"- {zero['notebook']}: held: expected {c['expected']};" in text for c in zero["checks"])


def test_the_report_records_a_check_that_does_not_hold_and_carries_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Class mode, with no kernel: the recording hook logs every check, and the report shows the one that failed."""
    from course_utils import checks

    log = tmp_path / "checks.jsonl"
    monkeypatch.setenv(online_report.CHECK_LOG_ENV, str(log))
    monkeypatch.setenv(checks.STRICT_ENV, "0")
    monkeypatch.setattr(checks, "expect", checks.expect)  # the hook replaces it; put it back after the test
    exec(online_report._RECORD_CHECKS, {})  # noqa: S102 - the code each report kernel runs first
    assert checks.expect(True, "two is two", 2) is True
    assert checks.expect(False, "the cat is a cat", "dog") is False  # recorded; no exception in class mode
    recorded = [json.loads(line) for line in log.read_text().splitlines()]
    assert recorded == [
        {"expected": "two is two", "got": "2", "held": True},
        {"expected": "the cat is a cat", "got": "'dog'", "held": False},
    ]
    result = online_report.NotebookResult("07_demo", passed=False, seconds=3.0, error="cell 4: ValueError: x")
    result.checks = recorded
    extra = {"started": "now", "machine": "here", "hub_endpoint": "http://hub", "versions": {"python": "3"}}
    json_path, md_path = online_report.write_report([result], tmp_path / "out", extra)
    assert json.loads(json_path.read_text())["notebooks"][0]["checks"] == recorded
    text = md_path.read_text()
    assert "| 07_demo | FAILED (cell 4: ValueError: x) | 3 |" in text and "| 1/2 |" in text
    assert "- 07_demo: DID NOT HOLD: expected the cat is a cat; got 'dog'" in text
