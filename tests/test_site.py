"""The course's web site: ``./course.sh site`` builds it from executed notebooks, and a real browser reads it.

Two notebooks are built here (a vision notebook whose models are stand-ins offline, and the licences
notebook, the quickest, which loads none), to keep the suite short; ``./course.sh site`` with no numbers builds
all of them the same way. The pages are opened in headless Chromium (as in ``test_browser.py``):
the front page's course map links to the notebook pages, each page has the banner that says which
copy of each model ran, pictures have size, and the catalog page lists every model's licences.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from course_utils import load_catalog
from course_utils.tools.site import banner

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
CHROMEDRIVER = shutil.which("chromedriver")
BUILT = ["14", "22"]


def test_banner_names_each_copy_and_warns_about_stand_ins() -> None:
    standin = {"id": "org/m", "tier": "stand-in", "label": "STAND-IN (random weights)", "real": False}
    real = {"id": "org/r", "tier": "packaged", "label": "real offline copy", "real": True}
    text = banner([{"offline": True, "models": {"m": standin, "r": real}}], "2026-12-02")
    assert ":class: warning" in text and "`org/m` (m): **STAND-IN (random weights)**" in text
    assert "`org/r` (r): **real offline copy**" in text and "offline (no model hub)" in text
    assert "not what the model answers" in text
    calm = banner([{"offline": False, "models": {"r": {**real, "tier": "hub", "label": "real (from the hub)"}}}], "d")
    assert ":class: note" in calm and "Stand-ins" not in calm and "online" in calm
    assert "loads no model" in banner([{"offline": True, "models": {}}], "d")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [str(ROOT / "course.sh"), "site", *BUILT, "--out", str(out)],
        env={**os.environ, "COURSE_NO_SETUP": "1", "COURSE_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out / "html"


def test_the_build_writes_every_page(site: Path) -> None:
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    assert {"index.html", "catalog.html", "notebooks/14_captioning.html", "notebooks/22_licences.html"} <= pages
    # A progress bar saved in a page shows the state it was first drawn in ("Loading weights: 0%"), never its end.
    page = (site / "notebooks" / "14_captioning.html").read_text(encoding="utf-8")
    assert not re.search(r"\d+%\|", page), re.search(r".{60}\d+%\|.{60}", page)  # tqdm's "  0%|     | 0/7"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip(
            "no Chromium here (sudo apt-get install chromium chromium-driver; ./course.sh setup does it as root)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--window-size=1300,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def _main_text(browser: Any) -> str:
    text: str = browser.execute_script("return document.querySelector('main').textContent")
    return " ".join(text.replace("\u2019", "'").split())  # Sphinx turns ' into a typographic apostrophe


def test_front_page_is_the_course_map_and_links_to_the_pages(site: Path, browser: Any) -> None:
    browser.get((site / "index.html").as_uri())
    assert "Course map" in _main_text(browser)
    link = browser.find_element("css selector", "main a[href$='notebooks/14_captioning.html']")
    link.click()
    assert browser.title.startswith("14 · Image captioning")


def test_a_page_says_its_stand_ins_are_stand_ins_and_shows_its_pictures(site: Path, browser: Any) -> None:
    browser.get((site / "notebooks" / "14_captioning.html").as_uri())
    text = _main_text(browser)
    assert "Which models ran for this page" in text and "offline (no model hub)" in text
    catalog = load_catalog()
    for key in ("blip-caption-base", "blip-vqa-base"):
        assert f"{catalog[key].id} ({key}): STAND-IN" in text, key
    assert "not what the model answers" in text
    assert "[course] device" in text  # the stored outputs are there
    assert "Traceback" not in text
    collapsed = browser.execute_script(
        "const c = document.querySelector('main .cell.tag_hide-input');"
        "return c !== null && c.querySelector('details:not([open])') !== null && c.textContent.includes('google.colab')"
    )
    assert collapsed, "the set-up cell is on the page, collapsed as in JupyterLab"
    sizes = browser.execute_script(
        "return [...document.querySelectorAll('main img')].map(i => [i.naturalWidth, i.naturalHeight])"
    )
    assert sizes and all(w > 50 and h > 50 for w, h in sizes), sizes


def test_a_page_without_catalog_models_says_so(site: Path, browser: Any) -> None:
    browser.get((site / "notebooks" / "22_licences.html").as_uri())
    text = _main_text(browser)
    assert "Which models ran for this page" in text and "loads no model from the course's catalog" in text


def test_catalog_page_lists_every_model_with_its_licences(site: Path, browser: Any) -> None:
    browser.get((site / "catalog.html").as_uri())
    text = _main_text(browser)
    for entry in load_catalog().values():
        assert entry.id in text, entry.id
    assert "code that runs them" in text and "training data" in text and "Data sets" in text
