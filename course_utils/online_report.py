"""``course online-report``: run the course online with the real models and write what happened, for an instructor.

Each notebook runs in a fresh Jupyter kernel, online (``COURSE_OFFLINE=0``), with meaning checks in class mode
(``COURSE_STRICT=0``: a check that does not hold is recorded and the notebook carries on). The report says, per
notebook: passed or not (the first failing cell and its error), every meaning check (expected, got, held or not),
the run time, the kernel's peak memory, the device and which copy each model ran on (real from the hub, your
cache, or a stand-in); and once: the library versions. It is written as ``online-report.json`` and
``online-report.md`` into the output folder, to keep or to attach to a bug report.

Example::

    ./course.sh online-report              # every notebook
    ./course.sh online-report 00 13 --out /tmp/report
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from . import rehearse
from .paths import repo_root
from .versions import KEY_PACKAGES

#: The kernel appends one JSON line per meaning check here (see :data:`_RECORD_CHECKS`).
CHECK_LOG_ENV = "COURSE_CHECK_LOG"
_PROBE_MARK = "COURSE-ONLINE-REPORT-PROBE "

# Run first in each kernel (not saved in any notebook): every call of checks.expect is recorded, then runs as usual.
_RECORD_CHECKS = f"""
import json as _json, os as _os
import course_utils.checks as _checks
_expect = _checks.expect
def _recorded_expect(condition, expected, got=None):
    with open(_os.environ[{CHECK_LOG_ENV!r}], "a", encoding="utf-8") as _log:
        _log.write(_json.dumps({{"expected": str(expected), "got": repr(got)[:300], "held": bool(condition)}}) + "\\n")
    return _expect(condition, expected, got)
_checks.expect = _recorded_expect
"""

# Run last in each kernel, also after a failed cell: the kernel's peak memory, the device and the models' copies.
_PROBE = f"""
import json as _json, resource as _resource, sys as _sys
_session = globals().get("session")
_peak = _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss * (1 if _sys.platform == "darwin" else 1024)
print({_PROBE_MARK!r} + _json.dumps({{
    "peak_bytes": _peak,
    "device": getattr(_session, "device", ""),
    "hub": getattr(_session, "hub_reason", ""),
    "models": {{k: r.label for k, r in getattr(_session, "models", {{}}).items()}},
}}))
"""


@dataclass
class NotebookResult:
    """What one notebook did."""

    notebook: str
    passed: bool
    seconds: float
    error: str = ""  # the first failing cell's number and error, when it failed
    checks: list[dict[str, Any]] = field(default_factory=list)
    peak_mb: float = 0.0
    device: str = ""
    hub: str = ""
    models: dict[str, str] = field(default_factory=dict)


def notebook_paths(numbers: list[str]) -> list[Path]:
    """The course's notebooks, all or those numbered in ``numbers`` ("0", "00", "13"); unknown numbers raise."""
    found = sorted((repo_root() / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not numbers:
        return found
    by_number = {p.name[:2]: p for p in found}
    unknown = [n for n in numbers if n.zfill(2) not in by_number]
    if unknown:
        raise SystemExit(f"no such notebook: {', '.join(unknown)} (the course has {', '.join(sorted(by_number))})")
    return [by_number[n.zfill(2)] for n in numbers]


def run_notebook(path: Path, env: dict[str, str], timeout: int = 1200) -> NotebookResult:
    """Execute ``path`` in a fresh kernel with ``env``; never raises for a failing cell (it is in the result)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    if env.get(rehearse.DIR_ENV):  # the test suite's online run: each notebook's rehearsal log apart
        env = env | {rehearse.LOG_ENV: str(Path(env[rehearse.DIR_ENV]) / f"{path.stem}.jsonl")}
    log = Path(env[CHECK_LOG_ENV])
    log.unlink(missing_ok=True)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    result = NotebookResult(path.stem, passed=True, seconds=0.0)
    start = time.monotonic()
    with client.setup_kernel(env=env):
        client.execute_cell(nbformat.v4.new_code_cell(_RECORD_CHECKS), -1)
        for index, cell in enumerate(nb.cells):
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as err:
                result.passed = False
                text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))  # the traceback's terminal colours
                lines = [ln for ln in text.splitlines() if ln.strip()]
                result.error = f"cell {index}: {lines[-1][:400] if lines else type(err).__name__}"
                break
        result.seconds = time.monotonic() - start
        probe = nbformat.v4.new_code_cell(_PROBE)
        client.execute_cell(probe, -1)
    for output in probe.outputs:
        for line in str(output.get("text", "")).splitlines():
            if line.startswith(_PROBE_MARK):
                found = json.loads(line[len(_PROBE_MARK) :])
                result.peak_mb = round(found["peak_bytes"] / 1e6, 1)
                result.device, result.hub, result.models = found["device"], found["hub"], found["models"]
    if log.is_file():
        result.checks = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    return result


def library_versions() -> dict[str, str]:
    """Python and the installed versions of the packages that change what a notebook does."""
    found = {"python": platform.python_version()}
    for name in (*KEY_PACKAGES, "torch_geometric", "tabpfn", "faiss-cpu"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def write_report(results: list[NotebookResult], out: Path, extra: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``online-report.json`` and ``online-report.md`` into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    data = {**extra, "notebooks": [asdict(r) for r in results]}
    json_path = out / "online-report.json"
    json_path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    lines = [
        "# Online run of the course",
        "",
        f"Run {extra['started']} on {extra['machine']}; hub `{extra['hub_endpoint']}`.",
        "",
        "| notebook | result | time (s) | peak memory (MB) | device | checks held | models |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        held = sum(c["held"] for c in r.checks)
        models = "; ".join(f"{k}: {v}" for k, v in r.models.items()) or "-"
        verdict = "passed" if r.passed else f"FAILED ({r.error})"
        lines.append(
            f"| {r.notebook} | {verdict} | {r.seconds:.0f} | {r.peak_mb:,.0f} | {r.device or '-'} "
            f"| {held}/{len(r.checks)} | {models} |"
        )
    lines += ["", "## Meaning checks", ""]
    for r in results:
        for c in r.checks:
            mark = "held" if c["held"] else "DID NOT HOLD"
            got = " ".join(str(c["got"]).split())  # one line per check, also for an array
            lines.append(f"- {r.notebook}: {mark}: expected {c['expected']}; got {got}")
    lines += ["", "## Versions", ""] + [f"- {k}: {v}" for k, v in extra["versions"].items()]
    md_path = out / "online-report.md"
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return json_path, md_path


def run(numbers: list[str], out: Path, timeout: int = 1200) -> int:
    """Run the notebooks online and write the report; the exit code is 1 when a notebook failed."""
    paths = notebook_paths(numbers)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.pop("COURSE_OFFLINE", None)
    env |= {"COURSE_OFFLINE": "0", "COURSE_STRICT": "0", CHECK_LOG_ENV: str(out / ".checks.jsonl")}
    extra = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{platform.node()} ({platform.platform()}, {os.cpu_count()} CPUs)",
        "hub_endpoint": os.environ.get("HF_ENDPOINT", "https://huggingface.co"),
        "versions": library_versions(),
    }
    results = []
    for path in paths:
        print(f"[online-report] {path.name} ...", flush=True)
        result = run_notebook(path, env, timeout)
        failed = sum(not c["held"] for c in result.checks)
        print(
            f"[online-report] {path.name}: {'passed' if result.passed else 'FAILED: ' + result.error}; "
            f"{len(result.checks)} meaning checks, {failed} did not hold; {result.seconds:.0f} s",
            flush=True,
        )
        results.append(result)
    (out / ".checks.jsonl").unlink(missing_ok=True)
    json_path, md_path = write_report(results, out, extra)
    print(f"[online-report] written: {md_path} and {json_path}")
    return 0 if all(r.passed for r in results) else 1


def add_parser(sub: Any) -> None:
    """Register ``online-report`` on the course CLI's sub-command parser."""
    p = sub.add_parser("online-report", help="run notebooks online with the real models and write a report")
    p.add_argument("notebooks", nargs="*", help="notebook numbers (default: all)")
    p.add_argument("--out", type=Path, default=Path("online-report"), help="output folder (default: online-report)")
    p.add_argument("--timeout", type=int, default=1200, help="seconds per cell at most (default 1200)")
    p.set_defaults(func=lambda args: run(args.notebooks, args.out, args.timeout))


def main(argv: list[str] | None = None) -> int:
    """``python -m course_utils.online_report [NN ...] [--out DIR]``."""
    parser = argparse.ArgumentParser(prog="course online-report", description=__doc__.splitlines()[0])
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["online-report", *(argv or [])])
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main(__import__("sys").argv[1:]))
