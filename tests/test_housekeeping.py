"""The test suite cleans up after itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_pytest_run_leaves_no_ultralytics_folder_in_tmp(tmp_path: Path) -> None:
    (tmp_path / "test_one.py").write_text(
        "import os\n\ndef test_it():\n    assert os.path.isdir(os.environ['YOLO_CONFIG_DIR'])\n", encoding="utf-8"
    )
    (tmp_path / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"))
    scratch = tmp_path / "tmp"  # the run's own temp folder: other processes' files cannot mix in
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "YOLO_CONFIG_DIR"}
    env["TMPDIR"] = str(scratch)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "course-tests-ultralytics-" in (tmp_path / "conftest.py").read_text(encoding="utf-8")
    assert sorted(p.name for p in scratch.iterdir()) == [], "the session's temp folder is removed at exit"
