"""Library chatter that contradicts the lesson is filtered; telemetry switches are set."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from course_utils import quiet

NOTICE = (
    "Could not reach the Hub (Cannot reach https://huggingface.co/api/models/x: offline mode is enabled. "
    "To disable it, please unset the `HF_HUB_OFFLINE` environment variable.). Using cached commit hash for 'x'."
)


def test_offline_notice_dropped_only_while_offline(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    quiet.install()
    logger = logging.getLogger("huggingface_hub.hf_api")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with caplog.at_level(logging.WARNING, logger="huggingface_hub.hf_api"):
        logger.warning(NOTICE)
        logger.warning("Ignored error while caching commit hash for 'x': disk full.")
    assert [r.getMessage() for r in caplog.records] == ["Ignored error while caching commit hash for 'x': disk full."]
    caplog.clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # a real failure online is still reported
    with caplog.at_level(logging.WARNING, logger="huggingface_hub.hf_api"):
        logger.warning(NOTICE)
    assert len(caplog.records) == 1
    quiet.install()
    assert sum(isinstance(f, quiet.HubOfflineNotice) for f in logger.filters) == 1


def test_onnxruntime_writes_no_telemetry_queue(tmp_path: Path) -> None:
    """With the course's switch, an onnxruntime session leaves nothing under ~/.cache/Microsoft."""
    pytest.importorskip("onnxruntime")
    script = (
        "from course_utils import quiet; quiet.install()\n"
        "import onnxruntime, rapidocr, numpy as np\n"
        "rapidocr.RapidOCR()(np.full((32, 96, 3), 255, np.uint8))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    env["HOME"] = str(tmp_path)
    subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True, timeout=300)
    assert not (tmp_path / ".cache" / "Microsoft").exists()


def test_ultralytics_settings_notice_dropped_and_other_messages_kept(tmp_path: Path) -> None:
    """A new settings folder makes ultralytics announce its settings file; the course drops only that notice."""
    pytest.importorskip("ultralytics")
    script = (
        "from course_utils import quiet; quiet.install()\n"
        "from ultralytics.utils import LOGGER, SETTINGS\n"
        "LOGGER.info('another ultralytics message')\n"
        "print('settings file:', SETTINGS.file)\n"
    )
    env = {**os.environ, "YOLO_CONFIG_DIR": str(tmp_path / "yolo"), "YOLO_VERBOSE": "True"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Ultralytics Settings" not in out.stdout + out.stderr
    first, second = out.stdout.splitlines()[:2]
    assert first == "another ultralytics message"
    written = Path(second.removeprefix("settings file: "))
    assert written.is_file() and written.is_relative_to(tmp_path / "yolo"), "the settings file is still written"
