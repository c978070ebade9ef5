"""Notebooks run in JupyterLab in a real browser, as a student runs them: Run > Run All Cells.

The lab is started as the README says (``./course.sh lab`` with a port, no browser and a token;
as root too) and driven by Selenium in Debian's headless Chromium. Selenium is given the system
``chromedriver`` and ``chromium``, so it never downloads a browser. The kernels run with
``COURSE_OFFLINE=1``; the lab's settings, workspaces and the browser profile live in throw-away
folders. Where no Chromium is installed (a laptop), the test skips and says how to install it.

Two traps of JupyterLab: it reopens the tabs of the last session (the notebook is opened with
``?reset``), and it attaches off-screen cells lazily and hides them from ``innerText`` (cells are
read with ``textContent``, after every cell is attached).
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest
from support.labrunner import ROOT, Lab, running_lab

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
CHROMEDRIVER = shutil.which("chromedriver")
NOTEBOOKS = [
    "00_setup_check.ipynb",
    "15_similar_image_search.ipynb",
]  # 00 and the quickest vision notebook with pictures
ERROR_MIME = "application/vnd.jupyter.error"
STDERR_MIME = "application/vnd.jupyter.stderr"
RUN_TIMEOUT = 420.0  # seconds per notebook; measured 10-45 s, more on a loaded machine
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="no Chromium here: the browser test needs Debian's chromium and chromium-driver "
    "(sudo apt-get install chromium chromium-driver; ./course.sh setup installs them as root)",
)

# What the page holds, read in one go (textContent: JupyterLab hides off-screen cells from innerText).
# execute_script(STATE_JS, True) reads it briefly, for polling: prompts, error outputs (without their text) and the
# status bar, so that waiting does not make Chromium copy every output's text twice a second.
STATE_JS = """
const brief = arguments[0] === true;
const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
if (!panel) return null;
const outputs = brief ? '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]' : '.jp-OutputArea-output';
const cells = [...panel.querySelectorAll('.jp-Notebook .jp-Cell')].map(c => ({
  code: c.classList.contains('jp-CodeCell'),
  prompt: (c.querySelector('.jp-InputArea-prompt') || {}).textContent || '',
  collapsed: c.querySelector('.jp-InputPlaceholder') !== null,
  outputs: [...c.querySelectorAll(outputs)].map(o => ({
    mime: o.getAttribute('data-mime-type') || '',
    text: brief ? '' : o.textContent,
  })),
  images: brief ? [] : [...c.querySelectorAll('.jp-OutputArea-output img')].map(i => [i.naturalWidth, i.naturalHeight]),
}));
const tab = document.querySelector('.lm-TabBar-tab.jp-mod-current');
const status = document.querySelector('#jp-main-statusbar');
return {cells, dirty: !!(tab && tab.classList.contains('jp-mod-dirty')),
        status: status ? status.textContent : ''};
"""


def code_cell_count(name: str) -> int:
    nb = json.loads((ROOT / "notebooks" / name).read_text(encoding="utf-8"))
    return sum(1 for c in nb["cells"] if c["cell_type"] == "code")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with running_lab(tmp_path_factory.mktemp("browser-lab")) as running:
        yield running
    assert running.process.returncode == 0, f"the lab did not stop cleanly:\n{running.output()[-3000:]}"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: Any, what: str, until: Any, timeout: float) -> dict[str, Any]:
    """Poll the page until ``until(state)`` holds; fail saying ``what`` did not happen.

    The poll reads the page briefly (``STATE_JS`` with ``True``): reading every output's text twice a second
    made Chromium compete with the kernel it waits for. The whole state is read once, at the end.
    """
    deadline = time.monotonic() + timeout
    state: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        state = driver.execute_script(STATE_JS, True)
        if state is not None and until(state):
            full: dict[str, Any] = driver.execute_script(STATE_JS)
            return full
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout:.0f} s; last state: {summary(driver.execute_script(STATE_JS))}")


def summary(state: dict[str, Any] | None) -> str:
    """The prompts of the code cells, the status bar and any error or stderr text: what a failure needs."""
    if state is None:
        return "no notebook panel on the page"
    prompts = [c["prompt"].strip() for c in state["cells"] if c["code"]]
    notes = [o["text"][-600:] for c in state["cells"] for o in c["outputs"] if o["mime"] in (ERROR_MIME, STDERR_MIME)]
    return json.dumps({"prompts": prompts, "status": state["status"][:200], "errors/stderr": notes})[:6000]


def kernel_idle(state: dict[str, Any]) -> bool:
    return "| Idle" in state["status"]


def has_error(state: dict[str, Any]) -> bool:
    return any(o["mime"] == ERROR_MIME for c in state["cells"] for o in c["outputs"])


def finished(state: dict[str, Any]) -> bool:
    """Idle, nothing queued, and every visible code cell numbered (or an error stopped the run: the rest stay unrun).

    A collapsed cell (the hidden set-up cell) shows no prompt; the numbers of the others say that it ran first.
    """
    prompts = [c["prompt"].strip() for c in state["cells"] if c["code"] and not c["collapsed"]]
    numbered = all(re.fullmatch(r"\[\d+\]:", p) for p in prompts)
    return kernel_idle(state) and "[*]:" not in prompts and (numbered or has_error(state))


def click_menu(driver: Any, menu: str, label: str) -> None:
    """Open ``menu`` in the menu bar and click its entry ``label``, as a user does."""
    from selenium.webdriver.common.by import By

    for item in driver.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-item"):
        if item.text.strip() == menu:
            item.click()
            break
    else:
        raise AssertionError(f"no {menu!r} menu in the menu bar")
    time.sleep(0.3)
    for entry in driver.find_elements(By.CSS_SELECTOR, ".lm-Menu-item .lm-Menu-itemLabel"):
        if entry.text.strip() == label:
            entry.click()
            return
    raise AssertionError(f"no {label!r} in the {menu!r} menu")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_run_all_cells_in_the_browser(lab: Lab, browser: Any, name: str) -> None:
    expected = code_cell_count(name)
    on_disk = (ROOT / "notebooks" / name).read_bytes()
    started = time.monotonic()
    browser.get(lab.url(f"lab/tree/{name}", "reset"))
    wait_for(
        browser,
        f"{name} did not open with every cell attached and its kernel idle",
        lambda s: kernel_idle(s) and sum(c["code"] for c in s["cells"]) == expected,
        RUN_TIMEOUT,
    )
    time.sleep(1.0)  # JupyterLab writes the kernel's metadata right after the kernel is ready
    opened = browser.execute_script(STATE_JS)
    assert not opened["dirty"], (
        f"{name} is marked modified before anything ran (see course_utils/tools/notebook_files.py)"
    )

    click_menu(browser, "Run", "Run All Cells")
    ran = time.monotonic()
    state = wait_for(
        browser,
        f"{name}: Run All Cells did not finish",
        finished,
        RUN_TIMEOUT,
    )
    took = time.monotonic() - ran
    print(f"\n{name}: opened in {ran - started:.1f} s, Run All Cells took {took:.1f} s in Chromium")

    code = [c for c in state["cells"] if c["code"]]
    errors = [o["text"][:800] for c in code for o in c["outputs"] if o["mime"] == ERROR_MIME]
    assert not errors, f"{name}: error output in the browser:\n" + "\n---\n".join(errors)
    assert code[0]["collapsed"] and not any(c["collapsed"] for c in code[1:]), "only the set-up cell is collapsed"
    counts = [c["prompt"].strip() for c in code[1:]]
    assert counts == [f"[{i}]:" for i in range(2, len(code) + 1)], f"every code cell ran once, in order: {counts}"
    assert not code[0]["outputs"], "the set-up cell prints nothing outside Colab"
    first = code[1]["outputs"]
    assert first and first[0]["text"].startswith("[course] "), f"the first output is the status line: {first[:1]}"
    stderr = [o["text"] for c in code for o in c["outputs"] if o["mime"] == STDERR_MIME]
    assert not [s for s in stderr if "HF_HUB_OFFLINE" in s], f"advice to leave offline mode shown: {stderr}"
    images = [size for c in code for size in c["images"]]
    assert all(w > 0 and h > 0 for w, h in images), f"an image did not render: {images}"
    if name.startswith("15"):
        assert images, "the vision notebook shows its pictures"
    assert (ROOT / "notebooks" / name).read_bytes() == on_disk, f"{name} was saved by the lab (autosave must be off)"
