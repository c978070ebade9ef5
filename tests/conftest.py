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


# Scheduling: ./course.sh test hands whole files to two workers (--dist loadfile --no-loadscope-reorder), in the
# order below. The longest files go first, so no worker is left alone with a long file at the end (xdist's own
# order, by number of tests, put the two-test browser file last). Seconds per file from the suite run of
# 2026-12-02 (--durations=0, summed per file); they decide only the order, never a result. Unlisted files: 10 s.
SECONDS_PER_FILE = {
    "12_fine_tuning_strategies.ipynb": 115,
    "test_browser.py": 111,
    "07_peft_lora.ipynb": 100,
    "test_environment.py": 100,
    "11_ocr.ipynb": 76,
    "test_site.py": 69,
    "test_student.py": 66,
    "test_offline.py": 65,
    "17_speech_to_text.ipynb": 52,
    "09_object_detection.ipynb": 49,
    "24_efficient_inference.ipynb": 48,
    "test_downloads.py": 40,
    "06_text_generation.ipynb": 39,
    "08_timm_image_classification.ipynb": 39,
    "13_clip.ipynb": 37,
    "16_audio_classification.ipynb": 34,
    "01_pipelines_and_the_pretrained_spectrum.ipynb": 30,
    "10_segmentation.ipynb": 30,
    "18_time_series_forecasting.ipynb": 28,
    "05_zero_shot_classification.ipynb": 28,
    "04_translation.ipynb": 25,
    "14_captioning.ipynb": 23,
    "02_text_classification.ipynb": 22,
    "15_similar_image_search.ipynb": 21,
    "21_tabular.ipynb": 20,
    "23_model_selection_homework.ipynb": 20,
    "20_code_models.ipynb": 19,
    "00_setup_check.ipynb": 19,
    "test_catalog.py": 18,
    "03_named_entities.ipynb": 17,
    "19_graph_ml.ipynb": 16,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest files first (stable: the tests of a file keep their order)."""
    items.sort(key=lambda item: -SECONDS_PER_FILE.get(item.path.name, 10))
