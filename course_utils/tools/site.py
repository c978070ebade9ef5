"""The course as a static web site: the notebooks executed, with their outputs, built by Sphinx and myst-nb.

``./course.sh site`` (or ``python -m course_utils.tools.site``) does four things:

1. executes each notebook in a fresh kernel (two at a time) with :mod:`nbclient`, recording
   through :func:`course_utils.setup` which copy of each model ran (``COURSE_SESSION_LOG``);
2. puts a banner under each notebook's title that says so: "real offline copy", "real (from the
   hub)" or "stand-in", with what a stand-in's output means, so a site built offline never
   passes a random model's output off as a real one's;
3. writes the front page from the README (its course map links to the notebook pages) and a
   page with the catalog's models and data sets and their licences;
4. runs Sphinx with myst-nb, which renders the stored outputs (``nb_execution_mode = "off"``:
   the notebooks ran in step 1, under the course's own control of time and environment), in the
   Sphinx Book Theme.

Why Sphinx + myst-nb: pure Python, pinned with the rest of the course, builds offline, renders
notebook outputs (images, tables, HTML) as they are. Jupyter Book 2 needs Node.js.

The site lands in ``build/site/html/index.html``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..catalog import load_catalog, load_datasets
from .colab import FIRST_LINE as COLAB_FIRST_LINE
from .colab import HIDDEN
from .notebook_files import cell_source, write_notebook

__all__ = ["banner", "build", "catalog_page", "main", "select"]

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
DEFAULT_OUT = ROOT / "build" / "site"
CELL_TIMEOUT_S = 600

_CONF = """# Written by course_utils.tools.site: the course's site, built from executed notebooks.
project = "Pre-trained Models in Practice"
author = "the course's authors"
extensions = ["myst_nb"]
nb_execution_mode = "off"  # executed by course_utils.tools.site before the build
nb_merge_streams = True
myst_enable_extensions = ["colon_fence"]
html_theme = "sphinx_book_theme"
html_title = "Pre-trained Models in Practice"
html_theme_options = {{"show_toc_level": 2, "use_download_button": True}}
html_last_updated_fmt = "%Y-%m-%d"
exclude_patterns = ["_build", "**.session.jsonl"]
suppress_warnings = ["mystnb.unknown_mime_type", "myst.xref_missing"]
html_context = {{"built_offline": {offline}}}
"""


def select(numbers: Sequence[str] = ()) -> list[Path]:
    """The course's notebooks, all of them or those whose two-digit numbers are given."""
    every = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if not numbers:
        return every
    wanted = {n.zfill(2) for n in numbers}
    chosen = [p for p in every if p.name[:2] in wanted]
    missing = sorted(wanted - {p.name[:2] for p in chosen})
    if missing:
        known = " ".join(p.name[:2] for p in every)
        raise SystemExit(f"no notebook numbered {', '.join(missing)} (the course has: {known})")
    return chosen


def banner(sessions: Sequence[dict[str, Any]], built: str) -> str:
    """The Markdown banner of one page, from the ``setup()`` records of its run."""
    models: dict[str, dict[str, Any]] = {}
    for record in sessions:
        models.update(record.get("models", {}))
    where = "offline (no model hub)" if any(r.get("offline") for r in sessions) else "online (models from the hub)"
    if not sessions:
        where = "without calling the course's setup()"
    lines = [f"This page was built on {built}, {where}. The outputs below are from that run."]
    if models:
        lines.append("")
        lines += [f"- `{m['id']}` ({key}): **{m['label']}**" for key, m in models.items()]
    else:
        lines.append("It loads no model from the course's catalog.")
    standins = [key for key, m in models.items() if m.get("tier") == "stand-in"]
    kind = "warning" if standins else "note"
    if standins:
        lines += [
            "",
            f"**Stand-ins** ({', '.join(standins)}) have the real architecture and tokenizer but random weights: "
            "their outputs show that the code runs, not what the model answers. Run the notebook online "
            "(or `./course.sh prefetch`) to see the real model.",
        ]
    body = "\n".join(lines)
    return f"```{{admonition}} Which models ran for this page\n:class: {kind}\n\n{body}\n```"


def _cell(text: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "id": "course-site-banner", "metadata": {}, "source": text}


def _execute_one(source: Path, dest: Path, log: Path) -> None:
    """Execute ``source`` in a fresh kernel, its working folder the notebooks' own; write it to ``dest``."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(source, as_version=4)
    os.environ["COURSE_SESSION_LOG"] = str(log)
    # A saved progress bar shows the state it was first drawn in ("Loading weights: 0%"), never its end, so a
    # page would show bars stuck at 0 %. tqdm reads TQDM_DISABLE (as a default of every bar, its envwrap); the
    # kernel inherits it. Bars stay on in the notebooks themselves.
    os.environ["TQDM_DISABLE"] = "1"
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": str(source.parent)}}
    )
    try:
        client.execute()
    except CellExecutionError as err:
        raise SystemExit(f"{source.name}: a cell failed, so the site is not built from it.\n{err}") from None
    nbformat.write(nb, dest)


def _run_all(paths: Sequence[Path], dest: Path, workers: int) -> dict[str, float]:
    """Execute notebooks ``workers`` at a time, each in its own process; return seconds per notebook."""
    pending = list(paths)
    running: dict[str, tuple[subprocess.Popen[bytes], float]] = {}
    seconds: dict[str, float] = {}
    failed: list[str] = []
    while pending or running:
        while pending and len(running) < workers:
            path = pending.pop(0)
            out, log = dest / path.name, dest / f"{path.stem}.session.jsonl"
            log.unlink(missing_ok=True)
            cmd = [sys.executable, "-m", "course_utils.tools.site", "--execute-one", str(path), str(out), str(log)]
            threads = str(max(1, (os.cpu_count() or 2) // workers))  # the cores shared out: no oversubscription
            env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, **os.environ}
            running[path.name] = (subprocess.Popen(cmd, env=env), time.perf_counter())
            print(f"[site] running {path.name}", flush=True)
        for name, (proc, start) in list(running.items()):
            if proc.poll() is not None:
                del running[name]
                seconds[name] = time.perf_counter() - start
                if proc.returncode:
                    failed.append(name)
                else:
                    print(f"[site] {name} ran in {seconds[name]:.0f} s", flush=True)
        time.sleep(0.2)
    if failed:
        raise SystemExit(f"[site] not built: {', '.join(failed)} failed (the error is printed above)")
    return seconds


def _sessions(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def catalog_page(ran: dict[str, str]) -> str:
    """The catalog and licences page; ``ran`` maps a model key to the tier label it ran on in this build."""
    catalog = load_catalog()
    rows = [
        "# Models, data and their licences",
        "",
        "Every model a notebook loads, from the course's catalog (`course catalog` prints the same). The",
        "weights, the code that runs them and the data they were trained on each have their own terms:",
        "a permissive code licence says nothing about the weights. *Ran here as* is the copy this site's",
        "build used; blank where no page of this build loaded the model.",
        "",
        "| model | notebooks | weights licence | ran here as |",
        "|---|---|---|---|",
    ]
    entries = sorted(catalog.items(), key=lambda kv: (kv[1].notebooks or ("99",), kv[0]))
    for key, e in entries:
        cells = [f"[`{e.id}`](#model-{key})", ", ".join(e.notebooks), e.licence, ran.get(key, "")]
        rows.append("| " + " | ".join(_md(c) for c in cells) + " |")
    rows += ["", "## Each model", ""]
    for key, e in entries:
        rows += [
            f"(model-{key})=",
            f"### `{e.id}`",
            "",
            f"{_md(e.task)}. Notebooks: {', '.join(e.notebooks) or 'none yet'}. Catalog key `{key}`.",
            "",
            f"- weights: {_md(e.licence)}",
            f"- code that runs them: {_md(e.code_licence or 'not recorded')}",
            f"- training data: {_md(e.data_licence or 'not recorded')}",
            f"- with no network: {_md(e.offline)}" + (f"; ran here as **{ran[key]}**" if key in ran else ""),
            "",
        ]
    rows += [
        "",
        "## Data sets",
        "",
        "| data set | notebooks | licence |",
        "|---|---|---|",
    ]
    datasets = load_datasets()
    rows += [f"| {_md(d.name)} | {', '.join(d.notebooks)} | {_md(d.licence)} |" for d in datasets.values()]
    rows.append("")
    rows += [
        f"- **{_md(d.name)}** ({_md(d.source)}): {_md(d.description)}. {_md(d.credit)}; licence {_md(d.licence)}."
        for d in datasets.values()
    ]
    return "\n".join(rows) + "\n"


def _front_page(readme: str, pages: Sequence[str]) -> str:
    toc = "\n".join(f"notebooks/{p}" for p in pages)

    def link(match: re.Match[str]) -> str:  # a notebook left out of this build: its name, not a dead link
        return match.group(0) if match.group(2) in pages else match.group(1)

    readme = re.sub(r"\[([^\]]+)\]\(notebooks/([0-9]{2}_[^)]+)\.ipynb\)", link, readme)
    return (
        readme.rstrip()
        + "\n\n```{toctree}\n:hidden:\n:caption: Notebooks\n\n"
        + toc
        + "\n```\n\n```{toctree}\n:hidden:\n:caption: Reference\n\ncatalog\n```\n"
    )


def build(numbers: Sequence[str] = (), out: Path = DEFAULT_OUT, workers: int = 2, execute: bool = True) -> Path:
    """Build the site of the given notebooks (all by default) into ``out``; return its ``index.html``.

    With ``execute=False`` the notebooks executed by the previous build in ``out`` are reused.
    """
    paths = select(numbers)
    src, html = out / "src", out / "html"
    executed = src / "notebooks"
    if execute:
        shutil.rmtree(src, ignore_errors=True)
    executed.mkdir(parents=True, exist_ok=True)
    if execute:
        start = time.perf_counter()
        _run_all(paths, executed, workers)
        print(f"[site] {len(paths)} notebooks ran in {time.perf_counter() - start:.0f} s", flush=True)
    built = dt.date.today().isoformat()
    ran: dict[str, str] = {}
    offline = False
    for path in paths:
        target = executed / path.name
        if not target.exists():
            raise SystemExit(f"[site] {target} is missing: build again without --no-execute")
        sessions = _sessions(executed / f"{path.stem}.session.jsonl")
        offline |= any(s.get("offline") for s in sessions)
        for s in sessions:
            ran.update({k: m["label"] for k, m in s.get("models", {}).items()})
        nb = json.loads(target.read_text(encoding="utf-8"))
        nb["cells"] = [c for c in nb["cells"] if c.get("id") != "course-site-banner"]
        for cell in nb["cells"]:  # the set-up cell shows collapsed, as in JupyterLab (its "hide-input" tag)
            if cell["cell_type"] == "code" and cell_source(cell).startswith(COLAB_FIRST_LINE):
                tags = cell.setdefault("metadata", {}).setdefault("tags", [])
                tags.extend(t for t in HIDDEN["tags"] if t not in tags)
        nb["cells"].insert(1, _cell(banner(sessions, built)))
        write_notebook(nb, target)
    (src / "index.md").write_text(
        _front_page((ROOT / "README.md").read_text(encoding="utf-8"), [p.stem for p in paths]), encoding="utf-8"
    )
    (src / "catalog.md").write_text(catalog_page(ran), encoding="utf-8")
    (src / "conf.py").write_text(_CONF.format(offline=offline), encoding="utf-8")
    shutil.rmtree(html, ignore_errors=True)
    done = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", str(src), str(html)], check=False)
    if done.returncode:
        raise SystemExit(f"[site] Sphinx failed (its message is above); the sources are in {src}")
    index = html / "index.html"
    print(f"[site] done: open {index}")
    return index


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m course_utils.tools.site [NN ...] [--out DIR] [--workers N] [--no-execute]``."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == ["--execute-one"]:  # the worker process of _run_all
        _execute_one(Path(args_in[1]), Path(args_in[2]), Path(args_in[3]))
        return 0
    parser = argparse.ArgumentParser(prog="./course.sh site", description="Build the course's static web site.")
    parser.add_argument("numbers", nargs="*", help="two-digit notebook numbers (default: every notebook)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default build/site)")
    parser.add_argument("--workers", type=int, default=2, help="notebooks executed at a time (default 2)")
    parser.add_argument("--no-execute", action="store_true", help="reuse the notebooks the last build executed")
    args = parser.parse_args(args_in)
    build(args.numbers, args.out, args.workers, execute=not args.no_execute)
    return 0


if __name__ == "__main__":
    sys.exit(main())
