"""Test-process settings: the unit tests never touch the network or the user's own config folders."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# ultralytics writes a settings file and looks up DNS when imported; keep both away from the user,
# in one folder for the whole session that is removed when the tests end (nothing left in /tmp).
if "YOLO_CONFIG_DIR" not in os.environ:
    _ULTRALYTICS_DIR = tempfile.mkdtemp(prefix="course-tests-ultralytics-")
    os.environ["YOLO_CONFIG_DIR"] = _ULTRALYTICS_DIR
    atexit.register(shutil.rmtree, _ULTRALYTICS_DIR, ignore_errors=True)
os.environ.setdefault("YOLO_OFFLINE", "1")
