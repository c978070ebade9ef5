"""The course's command line: ``course doctor | catalog | prefetch`` (also ``python -m course_utils``)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from . import offline, online_report, session, standins, versions
from .catalog import ModelEntry, catalog_table, load_catalog
from .paths import course_cache

OK, WARN, FAIL = "OK", "WARN", "FAIL"
INSTALL_HINT = (
    "Debian/Ubuntu: sudo apt-get install tesseract-ocr tesseract-ocr-eng ffmpeg; macOS: brew install tesseract ffmpeg; "
    "Windows: winget install UB-Mannheim.TesseractOCR and winget install Gyan.FFmpeg"
)


@dataclass
class Check:
    check: str
    status: str
    detail: str

    def line(self) -> str:
        return f"[{self.status}] {self.check}: {self.detail}"


def _free_gb(path: Path) -> float:
    while not path.exists():
        path = path.parent
    return shutil.disk_usage(path).free / 1e9


def doctor_checks(probe: Callable[[], bool] | None = None) -> list[Check]:
    """Every check of ``course doctor``, in order."""
    out: list[Check] = []
    py = platform.python_version()
    out.append(
        Check(
            "python",
            OK if sys.version_info[:2] == (3, 11) else WARN,
            f"{py} ({'as pinned' if sys.version_info[:2] == (3, 11) else 'the course is tested with 3.11'})",
        )
    )
    out.append(Check("platform", OK, f"{platform.system()} {platform.release()} {platform.machine()}"))
    pins = versions.pinned_versions()
    for name in versions.KEY_PACKAGES:
        have, want = versions.installed_version(name), pins.get(versions.normalize(name))
        if have is None:
            out.append(Check(name, FAIL, f"not installed (course: {want}); run ./course.sh setup"))
        elif want and have.split("+")[0] != want:
            out.append(
                Check(name, WARN, f"{have}, course pins {want}; run ./course.sh setup to reinstall the pinned set")
            )
        else:
            out.append(Check(name, OK, have))
    try:
        import torch

        device = session.pick_device()
        if device.startswith("cuda"):
            props = torch.cuda.get_device_properties(0)
            out.append(Check("device", OK, f"{device}: {props.name}, {props.total_memory / 2**30:.0f} GiB"))
        elif device == "mps":
            out.append(Check("device", OK, "mps (Apple GPU)"))
        else:
            out.append(Check("device", OK, "cpu: every notebook runs on a CPU; GPU-only cells say so and skip"))
    except RuntimeError as err:
        out.append(Check("device", FAIL, str(err)))
    for label, path in (
        ("disk (course cache)", course_cache(create=False)),  # a report creates no folder
        ("disk (Hugging Face cache)", offline.real_hf_cache()),
    ):
        free = _free_gb(path)
        out.append(
            Check(
                label,
                OK if free >= 10 else WARN,
                f"{free:.0f} GB free at {path}"
                + ("" if free >= 10 else "; the models need a few GB: free space or move the cache"),
            )
        )
    try:
        import psutil

        ram = psutil.virtual_memory().available / 1e9
        out.append(
            Check(
                "memory",
                OK if ram >= 4 else WARN,
                f"{ram:.1f} GB available" + ("" if ram >= 4 else "; close other programs"),
            )
        )
    except ImportError:
        out.append(Check("memory", WARN, "psutil is not installed: run ./course.sh setup"))
    start = time.monotonic()
    reachable = (probe or session.hub_reachable)()
    took = time.monotonic() - start
    if reachable:
        out.append(Check("hub", OK, f"{session.hub_endpoint()} reachable ({took:.1f} s)"))
    else:
        out.append(
            Check(
                "hub",
                WARN,
                f"{session.hub_endpoint()} unreachable ({took:.1f} s): the course runs offline with "
                "its real offline copies and stand-ins; to get the real models, run `course prefetch` "
                "where there is internet",
            )
        )
    for var in (
        "COURSE_OFFLINE",
        "COURSE_DEVICE",
        "COURSE_CACHE",
        "HF_HUB_OFFLINE",
        "HF_HOME",
        "HF_HUB_CACHE",
        "TORCH_HOME",
    ):
        if os.environ.get(var):
            out.append(Check(f"env {var}", OK, os.environ[var]))
    tesseract = shutil.which("tesseract")
    if tesseract is None:
        out.append(Check("tesseract", WARN, f"not found (OCR cells of notebook 11 skip). Install: {INSTALL_HINT}"))
    else:
        langs = subprocess.run([tesseract, "--list-langs"], capture_output=True, text=True, timeout=10, check=False)
        has_eng = "eng" in (langs.stdout + langs.stderr).split()
        out.append(
            Check(
                "tesseract",
                OK if has_eng else WARN,
                tesseract + ("" if has_eng else ": the English data is missing (tesseract-ocr-eng)"),
            )
        )
    ffmpeg = shutil.which("ffmpeg")
    out.append(
        Check(
            "ffmpeg",
            OK if ffmpeg else WARN,
            ffmpeg or f"not found (audio decoding of notebooks 16-17). Install: {INSTALL_HINT}",
        )
    )
    try:
        out.append(Check("catalog", OK, f"{len(load_catalog())} models"))
    except (ValueError, OSError) as err:
        out.append(Check("catalog", FAIL, str(err)))
    return out


def cmd_doctor(args: argparse.Namespace) -> int:
    checks = doctor_checks()
    if args.json:
        print(json.dumps([asdict(c) for c in checks], indent=1))
    else:
        for c in checks:
            print(c.line())
        counts = {status: sum(c.status == status for c in checks) for status in (OK, WARN, FAIL)}
        worst = FAIL if counts[FAIL] else WARN if counts[WARN] else OK
        print(f"overall: {worst} ({counts[OK]} OK, {counts[WARN]} WARN, {counts[FAIL]} FAIL)")
    return 1 if any(c.status == FAIL for c in checks) else 0


def _wanted(notebooks: list[str]) -> set[str]:
    """Notebook numbers as the catalog writes them ("9" -> "09")."""
    return {n.zfill(2) for n in notebooks}


def _select(notebooks: list[str], all_: bool) -> list[ModelEntry]:
    catalog = load_catalog()
    if all_ or not notebooks:
        return list(catalog.values())
    wanted = _wanted(notebooks)
    return [e for e in catalog.values() if wanted & set(e.notebooks)]


def cmd_catalog(args: argparse.Namespace) -> int:
    entries = _select(args.notebook or [], not args.notebook)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "key": e.key,
                        "id": e.id,
                        "library": e.library,
                        "revision": e.revision,
                        "licence": e.licence,
                        "size_mb": e.size_mb,
                        "task": e.task,
                        "notebooks": list(e.notebooks),
                        "offline": e.offline,
                    }
                    for e in entries
                ],
                indent=1,
            )
        )
        return 0
    from .catalog import Catalog

    print(catalog_table(Catalog({e.key: e for e in entries})))
    print(f"\n{len(entries)} models, {sum(e.size_mb for e in entries):,.0f} MB to download in all")
    from .catalog import images_table, load_images

    wanted = _wanted(args.notebook or [])
    images = {k: im for k, im in load_images().items() if not wanted or wanted & set(im.notebooks)}
    if images:
        print(f"\nTest images ({len(images)}; they ship inside installed packages, nothing to download):\n")
        print(images_table(images))
    return 0


def download_real(entry: ModelEntry) -> str:
    """Download the real model of ``entry`` with its library's own code, into the user's own caches."""
    if entry.installed is not None:
        found = offline.resolve_installed(entry)
        if not found.available:
            raise RuntimeError(found.where)
        return f"nothing to download: it comes with an installed package ({found.where})"
    if entry.library == "torchvision":
        weights = standins.torchvision_weights(entry)
        target = offline.real_torch_home() / "hub" / "checkpoints" / Path(weights.url).name
        if target.is_file():
            offline.discard_broken_torch_download(target)  # a short file from an earlier cut: fetch it again
        try:
            weights.get_state_dict(progress=True)
        except Exception:
            if target.is_file():
                offline.discard_broken_torch_download(target)  # never leave a broken file for the next run
            raise
        return str(target.parent)
    if entry.library == "ultralytics":
        from ultralytics.utils.downloads import attempt_download_asset

        target = offline.Layout.default().ultralytics_online
        target.mkdir(parents=True, exist_ok=True)
        here = Path.cwd()
        os.chdir(target)
        try:
            return str(target / attempt_download_asset(entry.id))
        finally:
            os.chdir(here)
    if entry.library == "tabpfn":
        return _download_tabpfn(entry)
    from huggingface_hub import snapshot_download

    return snapshot_download(repo_id=offline.hf_repo_id(entry), revision=offline.hf_revision(entry))


def _download_tabpfn(entry: ModelEntry) -> str:
    """TabPFN's own downloader, into TabPFN's own cache (the v2 classifier's default checkpoint)."""
    os.environ.setdefault("TABPFN_DISABLE_TELEMETRY", "1")
    from tabpfn.constants import ModelVersion
    from tabpfn.model_loading import ModelSource, download_model, get_cache_dir

    target = get_cache_dir() / ModelSource.get_classifier_v2().default_filename
    result = download_model(target, version=ModelVersion.V2, which="classifier")
    if result != "ok":
        raise RuntimeError("; ".join(str(e) for e in result)[:300])
    return str(target)


def course_notebooks() -> set[str]:
    """The course's notebook numbers ("00", "01", ...): the notebooks there are and those the catalog names."""
    from .paths import repo_root

    found = {p.name[:2] for p in (repo_root() / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    return found | {n for e in load_catalog().values() for n in e.notebooks}


def cmd_prefetch(args: argparse.Namespace) -> int:
    if not args.all and not args.notebooks:
        print("name notebooks (prefetch 00 01) or --all", file=sys.stderr)
        return 2
    known = course_notebooks()
    unknown = sorted(n for n in args.notebooks if not n.isdigit() or n.zfill(2) not in known)
    if unknown:
        print(
            f"no such notebook: {', '.join(unknown)}. The course's notebooks are {', '.join(sorted(known))} "
            "(e.g. course prefetch 00 01, or --all).",
            file=sys.stderr,
        )
        return 2
    entries = _select(args.notebooks, args.all)
    for e in entries:
        print(f"  {e.key:<20} {e.size_mb:>8,.1f} MB  {e.id} ({e.licence})")
    print(f"  {'total':<20} {sum(e.size_mb for e in entries):>8,.1f} MB")
    if args.dry_run:
        return 0
    if not session.hub_reachable():
        print(
            "no internet: prefetch needs the network. Run it at home or before class; offline, the course uses "
            "its real offline copies and stand-ins.",
            file=sys.stderr,
        )
        return 2
    session.apply_switches(False, offline.Layout.default())  # the user's own caches, online
    failed = []
    for e in entries:
        try:
            where = download_real(e)
            print(f"[OK] {e.key}: {where}")
        except Exception as err:  # one failure must not stop the others  # noqa: BLE001
            failed.append(e.key)
            print(f"[FAILED] {e.key}: {type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}")
    print(
        f"{len(entries) - len(failed)} downloaded, {len(failed)} failed" + (f": {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``course``; returns the exit code."""
    parser = argparse.ArgumentParser(prog="course", description="Pre-trained Models in Practice: course tools")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("doctor", help="check versions, device, disk, memory, hub, system programs")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_doctor)
    p = sub.add_parser("catalog", help="every model with licence, size and offline route")
    p.add_argument("--notebook", action="append", help="only the models of this notebook (repeatable)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_catalog)
    p = sub.add_parser("prefetch", help="download the real models of some notebooks (needs internet)")
    p.add_argument("notebooks", nargs="*", help="notebook numbers, e.g. 00 01")
    p.add_argument("--all", action="store_true", help="every model of the course")
    p.add_argument("--dry-run", action="store_true", help="only list what would be downloaded")
    p.set_defaults(func=cmd_prefetch)
    online_report.add_parser(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))
