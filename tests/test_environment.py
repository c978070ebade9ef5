"""setup(): device choice, dtype, seeds, the offline decision and its switches."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from course_utils import environment as env
from course_utils import offline

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.delenv(env.DEVICE_ENV, raising=False)


def test_device_prefers_cuda_then_mps_then_cpu(no_gpu: None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert env.pick_device() == "cpu"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert env.pick_device() == "mps"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert env.pick_device() == "cuda"


def test_device_override_from_environment(no_gpu: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv(env.DEVICE_ENV, "cpu")
    assert env.pick_device() == "cpu"
    monkeypatch.setenv(env.DEVICE_ENV, "cuda:1")
    assert env.pick_device() == "cuda:1"


def test_missing_device_says_what_to_do(no_gpu: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RuntimeError, match="no CUDA device.*Colab"):
        env.pick_device("cuda")
    with pytest.raises(RuntimeError, match="Apple"):
        env.pick_device("mps")
    monkeypatch.setenv(env.DEVICE_ENV, "tpu")
    with pytest.raises(RuntimeError, match="not a device"):
        env.pick_device()


def test_dtype_per_device(monkeypatch: pytest.MonkeyPatch) -> None:
    assert env.pick_dtype("cpu") is torch.float32
    assert env.pick_dtype("mps") is torch.float16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert env.pick_dtype("cuda") is torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert env.pick_dtype("cuda:0") is torch.float16


def test_seeding_makes_runs_repeat() -> None:
    import random

    def draw() -> tuple[float, float, float]:
        return random.random(), float(np.random.rand()), float(torch.rand(1))

    env.seed_everything(7)
    first = draw()
    env.seed_everything(7)
    assert draw() == first
    env.seed_everything(8)
    assert draw() != first


def test_offline_decision_order(monkeypatch: pytest.MonkeyPatch) -> None:
    probes: list[int] = []
    monkeypatch.setattr(env, "hub_reachable", lambda timeout=2.0: probes.append(1) or True)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv(env.OFFLINE_ENV, "1")
    assert env.decide_offline(False)[0] is False  # the argument wins
    assert env.decide_offline()[0] is True
    monkeypatch.setenv(env.OFFLINE_ENV, "0")
    assert env.decide_offline()[0] is False
    monkeypatch.delenv(env.OFFLINE_ENV)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert env.decide_offline()[0] is True
    assert probes == []  # none of those needed the network
    monkeypatch.delenv("HF_HUB_OFFLINE")
    assert env.decide_offline() == (False, env.decide_offline()[1]) and probes


def _serve_once() -> tuple[socket.socket, int]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    return srv, srv.getsockname()[1]


def test_hub_probe_reachable_and_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    srv, port = _serve_once()
    try:
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
        assert env.hub_reachable(timeout=1.0) is True
    finally:
        srv.close()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")  # now closed: refused at once
    start = time.monotonic()
    assert env.hub_reachable(timeout=1.0) is False
    assert time.monotonic() - start < 1.0


def test_hub_probe_never_hangs_on_a_stuck_resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def stuck(*args: object, **kwargs: object) -> socket.socket:
        release.wait(30)
        raise OSError("gave up")

    monkeypatch.setattr(socket, "create_connection", stuck)
    start = time.monotonic()
    assert env.hub_reachable(timeout=0.5) is False
    assert time.monotonic() - start < 2.0
    release.set()


@pytest.fixture
def restore_environ() -> object:
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_switches_point_libraries_at_overlays_and_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore_environ: None
) -> None:
    for name in (
        "HF_HUB_CACHE",
        "TORCH_HOME",
        offline.REAL_HF_ENV,
        offline.REAL_TORCH_ENV,
        "HF_HUB_OFFLINE",
        "YOLO_OFFLINE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    layout = offline.Layout(tmp_path / "course")
    env.apply_switches(True, layout)
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["YOLO_OFFLINE"] == "1"
    assert os.environ["HF_HUB_CACHE"] == str(layout.hf_overlay)
    assert os.environ["TORCH_HOME"] == str(layout.torch_overlay)
    env.apply_switches(False, layout)
    assert "HF_HUB_OFFLINE" not in os.environ
    assert os.environ["HF_HUB_CACHE"] == str(tmp_path / "hf" / "hub")  # the user's own cache again


def test_setup_in_a_fresh_kernel(tmp_path: Path) -> None:
    """The notebook's first cell, in a new process: status line, switches, and the user's cache untouched."""
    code = (
        "import json, os, sys\n"
        "from course_utils import setup\n"
        "s = setup(models=['minilm-l6'], seed=3)\n"
        "print(json.dumps({'offline': s.offline, 'tier': s.models['minilm-l6'].tier,"
        " 'hf_offline': os.environ.get('HF_HUB_OFFLINE'), 'cache': os.environ['HF_HUB_CACHE'],"
        " 'hub_imported': 'huggingface_hub' in sys.modules}))\n"
    )
    envvars = {
        **os.environ,
        "COURSE_CACHE": str(tmp_path / "course"),
        "HF_HOME": str(tmp_path / "hf"),
        "COURSE_OFFLINE": "1",
        "PYTHONPATH": str(ROOT),
    }
    for name in ("HF_HUB_CACHE", "TORCH_HOME", offline.REAL_HF_ENV, offline.REAL_TORCH_ENV):
        envvars.pop(name, None)
    out = subprocess.run([sys.executable, "-c", code], env=envvars, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("[course] device cpu") and "minilm-l6: real offline copy" in lines[0]
    info = json.loads(lines[-1])
    assert info == {
        "offline": True,
        "tier": "packaged",
        "hf_offline": "1",
        "cache": str(tmp_path / "course" / "offline" / "hf-hub"),
        "hub_imported": False,
    }
    assert not (tmp_path / "hf").exists(), "setup must not write into the user's own Hugging Face cache"
