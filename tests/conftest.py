"""Test-process settings: the unit tests never touch the network or the user's own config folders."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest

# ultralytics writes a settings file and looks up DNS when imported; keep both away from the user,
# in one folder for the whole session that is removed when the tests end (nothing left in /tmp).
if "YOLO_CONFIG_DIR" not in os.environ:
    _ULTRALYTICS_DIR = tempfile.mkdtemp(prefix="course-tests-ultralytics-")
    os.environ["YOLO_CONFIG_DIR"] = _ULTRALYTICS_DIR
    atexit.register(shutil.rmtree, _ULTRALYTICS_DIR, ignore_errors=True)
os.environ.setdefault("YOLO_OFFLINE", "1")


# Scheduling: ./course.sh test hands whole files to its workers (--dist loadfile --no-loadscope-reorder), in the
# order below. The longest files go first, so no worker is left alone with a long file at the end (xdist's own
# order, by number of tests, put the two-test browser file last). Seconds per file from the suite run of
# 2026-12-02 with three workers (--durations=0, summed per file); they decide only the order, never a result. Unlisted files: 10 s.
SECONDS_PER_FILE = {
    "07_peft_lora.ipynb": 121,
    "test_environment.py": 112,
    "test_offline.py": 98,
    "test_browser.py": 90,
    "17_speech_to_text.ipynb": 83,
    "11_ocr.ipynb": 80,
    "24_efficient_inference.ipynb": 76,
    "12_fine_tuning_strategies.ipynb": 69,
    "09_object_detection.ipynb": 68,
    "test_site.py": 61,
    "08_timm_image_classification.ipynb": 56,
    "13_clip.ipynb": 53,
    "06_text_generation.ipynb": 53,
    "test_student.py": 51,
    "16_audio_classification.ipynb": 49,
    "10_segmentation.ipynb": 46,
    "18_time_series_forecasting.ipynb": 43,
    "05_zero_shot_classification.ipynb": 41,
    "04_translation.ipynb": 39,
    "01_pipelines_and_the_pretrained_spectrum.ipynb": 39,
    "02_text_classification.ipynb": 31,
    "14_captioning.ipynb": 31,
    "15_similar_image_search.ipynb": 29,
    "00_setup_check.ipynb": 29,
    "21_tabular.ipynb": 29,
    "03_named_entities.ipynb": 27,
    "20_code_models.ipynb": 26,
    "19_graph_ml.ipynb": 24,
    "23_model_selection_homework.ipynb": 23,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest files first (stable: the tests of a file keep their order)."""
    items.sort(key=lambda item: -SECONDS_PER_FILE.get(item.path.name, 10))
