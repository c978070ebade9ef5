"""Test-process settings: the unit tests never touch the network or the user's own config folders."""

from __future__ import annotations

import os
import tempfile

# ultralytics writes a settings file and looks up DNS when imported; keep both away from the user.
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="course-tests-ultralytics-"))
os.environ.setdefault("YOLO_OFFLINE", "1")
