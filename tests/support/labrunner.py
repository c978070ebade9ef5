"""Start ``./course.sh lab`` as the README says (a port, no browser, a token) and stop it cleanly.

Used by ``test_lab.py`` (the lab page answers) and ``test_browser.py`` (notebooks run in Chromium).
Everything the lab writes goes to a throw-away folder: its settings, workspaces and runtime files.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 180.0  # seconds; a loaded 2-core machine starts the lab in 5-30 s


@dataclass
class Lab:
    """A running lab: where it listens, its token, and what it printed."""

    port: int
    token: str
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str, query: str = "") -> str:
        """``path`` on the lab, with the token (and ``query``, e.g. ``reset``)."""
        sep = "&" if query else ""
        return f"{self.base}/{path.lstrip('/')}?{query}{sep}token={self.token}"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lab_env(home: Path) -> dict[str, str]:
    """The environment of the lab: offline, course cache as the tests use it, Jupyter files under ``home``."""
    env = dict(os.environ)
    env.update(
        COURSE_OFFLINE="1",  # the kernels run offline, as the test suite does: no network is touched
        COURSE_NO_SETUP="1",  # use .venv as it is (course.sh would otherwise reinstall on a changed pin)
        JUPYTERLAB_SETTINGS_DIR=str(home / "user-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        PYTHONUNBUFFERED="1",
    )
    env.setdefault("COURSE_CACHE", str(ROOT / ".course-cache"))
    return env


@contextmanager
def running_lab(home: Path) -> Iterator[Lab]:
    """Run ``./course.sh lab --port P --no-browser --IdentityProvider.token=T`` until the block ends."""
    home.mkdir(parents=True, exist_ok=True)
    # The tests run notebooks of the repository itself: JupyterLab must not autosave their outputs into it.
    docmanager = home / "user-settings" / "@jupyterlab" / "docmanager-extension"
    docmanager.mkdir(parents=True, exist_ok=True)
    (docmanager / "plugin.jupyterlab-settings").write_text('{"autosave": false}\n', encoding="utf-8")
    port, token = free_port(), secrets.token_hex(16)
    log = home / "lab.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(ROOT / "course.sh"),
                "lab",
                "--port",
                str(port),
                "--no-browser",
                f"--IdentityProvider.token={token}",
                "--ServerApp.ip=127.0.0.1",
            ],
            cwd=ROOT,
            env=lab_env(home),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole, never anything else
        )
    lab = Lab(port, token, log, process)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise AssertionError(f"./course.sh lab exited with {process.returncode}:\n{lab.output()}")
            try:
                if requests.get(lab.url("api/status"), timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the lab did not answer within {START_TIMEOUT:.0f} s:\n{lab.output()}")
            time.sleep(0.5)
        yield lab
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes], grace: float = 30.0) -> int:
    """Stop the lab as Ctrl-C twice would (SIGTERM: it shuts its kernels down); kill its group if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    return int(process.returncode)
