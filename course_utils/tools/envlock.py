"""The locked environment: make the lock, read it, compare it with what is installed, and try newer releases.

``requirements.in`` (edited by people) lists the course's direct dependencies; ``uv pip compile`` resolves their
whole closure into ``requirements.txt`` (exact versions, hashes, one universal file for Python 3.11 and 3.12);
``./course.sh setup`` installs exactly that file with ``uv pip sync``. ``requirements-excludes.txt`` names the
few packages that a locked package declares but the course never imports.

The canary (``./course.sh canary``) builds a separate environment from the newest releases that
``requirements.in`` allows once its ``==`` pins are relaxed to ``>=``, runs the suite there (less the tests marked
``lockstep``, which check that the environment is the lock) and writes a report: what failed, with its first error
line, and which versions moved against the lock.

Command line: ``python -m course_utils.tools.envlock lock | environment-yml | check | canary``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement

from ..paths import repo_root

INPUT = "requirements.in"
LOCK = "requirements.txt"
EXCLUDES = "requirements-excludes.txt"
ENVIRONMENT_YML = "environment.yml"
#: The oldest Python the lock supports; the universal resolution covers every later one (Colab runs 3.12).
PYTHON_FLOOR = "3.11"
#: Python versions the lock is checked against (resolution only where no interpreter exists).
PYTHONS = ("3.11", "3.12")
CANARY_DIR = ".canary"

_LOCKED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")
_VIA = re.compile(r"^\s+#\s+via\s*(.*)$")


def normalize(name: str) -> str:
    """PEP 503 name normalisation: ``Open_Clip.torch`` -> ``open-clip-torch``."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Locked:
    """One entry of the lock: a package at one version, for the environments its marker selects."""

    name: str
    version: str
    marker: str | None
    hashes: tuple[str, ...]
    via: tuple[str, ...]

    def applies(self, environment: Mapping[str, str] | None = None) -> bool:
        """Whether this entry is installed in ``environment`` (default: the running interpreter)."""
        return self.marker is None or Marker(self.marker).evaluate(dict(environment) if environment else None)


@dataclass
class _Entry:
    name: str
    version: str
    marker: str | None
    hashes: list[str] = field(default_factory=list)
    via: list[str] = field(default_factory=list)

    def freeze(self) -> Locked:
        return Locked(self.name, self.version, self.marker, tuple(self.hashes), tuple(self.via))


def read_lock(path: Path | None = None) -> list[Locked]:
    """Every entry of ``requirements.txt`` as written by ``uv pip compile --generate-hashes``."""
    path = path or repo_root() / LOCK
    entries: list[_Entry] = []
    in_via = False
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _LOCKED.match(line)
        if match:
            marker = match.group(3).strip() if match.group(3) else None
            entries.append(_Entry(normalize(match.group(1)), match.group(2), marker))
            in_via = False
        elif entries and (hashes := _HASH.findall(line)):
            entries[-1].hashes.extend(hashes)
        elif entries and (via := _VIA.match(line)):
            in_via = True
            if via.group(1).strip():
                entries[-1].via.append(via.group(1).strip())
        elif entries and in_via and line.startswith("    #   "):
            entries[-1].via.append(line.strip("# ").strip())
    return [e.freeze() for e in entries]


def locked_for(environment: Mapping[str, str] | None = None, path: Path | None = None) -> dict[str, str]:
    """``{name: version}`` of the lock's entries that ``environment`` installs (default: this interpreter)."""
    chosen: dict[str, str] = {}
    for entry in read_lock(path):
        if entry.applies(environment):
            if entry.name in chosen and chosen[entry.name] != entry.version:
                raise ValueError(f"the lock selects two versions of {entry.name} for one environment")
            chosen[entry.name] = entry.version
    return chosen


def python_environment(version: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Marker values of a Linux x86-64 CPython ``version`` (e.g. Colab's 3.12), for resolution-only checks."""
    env = {
        "implementation_name": "cpython",
        "implementation_version": f"{version}.0",
        "os_name": "posix",
        "platform_machine": "x86_64",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": f"{version}.0",
        "python_version": version,
        "sys_platform": "linux",
    }
    env.update(base or {})
    return env


def installed_distributions() -> dict[str, str]:
    """``{name: version}`` of every distribution installed in this environment's site-packages.

    Only site-packages counts: once setuptools is imported, its vendored copies (``setuptools/_vendor``) are on
    ``sys.path`` too, but they are part of setuptools, not installed packages.
    """
    paths = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    found: dict[str, str] = {}
    for dist in metadata.distributions(path=sorted(paths)):
        name = dist.metadata["Name"]
        if name:
            found.setdefault(normalize(name), dist.version)
    return found


@dataclass(frozen=True)
class Drift:
    """How the installed environment differs from the lock."""

    missing: dict[str, str]
    extra: dict[str, str]
    wrong: dict[str, tuple[str, str]]

    def __bool__(self) -> bool:
        return bool(self.missing or self.extra or self.wrong)

    def describe(self) -> str:
        lines = [f"missing {n}=={v}" for n, v in sorted(self.missing.items())]
        lines += [f"not in the lock: {n}=={v}" for n, v in sorted(self.extra.items())]
        lines += [f"{n}: locked {want}, installed {have}" for n, (want, have) in sorted(self.wrong.items())]
        return "\n".join(lines)


def drift(
    locked: Mapping[str, str], installed: Mapping[str, str], allowed_extra: Iterable[str] = ("course-utils",)
) -> Drift:
    """Compare ``{name: version}`` maps; ``allowed_extra`` are the course's own editable package(s)."""
    allowed = {normalize(n) for n in allowed_extra}
    missing = {n: v for n, v in locked.items() if n not in installed}
    extra = {n: v for n, v in installed.items() if n not in locked and n not in allowed}
    wrong = {n: (v, installed[n]) for n, v in locked.items() if n in installed and installed[n] != v}
    return Drift(missing, extra, wrong)


def excluded_names(path: Path | None = None) -> set[str]:
    """The package names of ``requirements-excludes.txt``."""
    path = path or repo_root() / EXCLUDES
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(normalize(Requirement(line).name))
    return names


_PIP_CHECK_MISSING = re.compile(r"^(\S+) [^ ]+ requires ([A-Za-z0-9._-]+), which is not installed\.$")


def unexplained_pip_check(output: str, excluded: Iterable[str]) -> list[str]:
    """Lines of ``pip check`` output that the exclusions do not explain (the course's test wants none)."""
    skip = {normalize(n) for n in excluded}
    problems = []
    for line in output.splitlines():
        line = line.strip()
        if not line or line == "No broken requirements found.":
            continue
        match = _PIP_CHECK_MISSING.match(line)
        if match and normalize(match.group(2)) in skip:
            continue
        problems.append(line)
    return problems


def direct_requirements(path: Path | None = None) -> list[Requirement]:
    """The requirements of ``requirements.in``."""
    path = path or repo_root() / INPUT
    reqs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            reqs.append(Requirement(line))
    return reqs


def relaxed_input(text: str) -> str:
    """``requirements.in`` for the canary: every ``==`` pin becomes ``>=``; ranges (held-back releases) stay."""
    return re.sub(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", r"\1>=", text, flags=re.M)


def uv_command() -> list[str]:
    """How to run uv: the copy installed in this environment (it is in the lock)."""
    return [sys.executable, "-m", "uv"]


def compile_command(input_path: str, output: str) -> list[str]:
    """The one ``uv pip compile`` command that makes the lock (``./course.sh lock`` and the tests use it)."""
    return [
        *uv_command(),
        "pip",
        "compile",
        input_path,
        "--universal",
        "--python-version",
        PYTHON_FLOOR,
        "--generate-hashes",
        "--excludes",
        EXCLUDES,
        "--custom-compile-command",
        "./course.sh lock",
        "--quiet",
        "-o",
        output,
    ]


ENV_HEADER = """\
# Conda environment for the course, generated from requirements.txt by `./course.sh lock`: do not edit.
# Conda supplies Python, uv and the system programs; uv then installs exactly the lock:
#   conda env create -f environment.yml && conda activate pretrained-course
#   uv pip sync requirements.txt && uv pip install --no-deps --no-build-isolation -e .
# (pip cannot install the lock: a few locked packages declare dependencies the course leaves out,
# listed with their reasons in requirements-excludes.txt.)
"""


def environment_yml(lock: Path | None = None) -> str:
    """The text of ``environment.yml`` for a lock: its Python floor, its uv version, the system programs."""
    uv_version = {e.name: e.version for e in read_lock(lock)}["uv"]
    return ENV_HEADER + (
        "name: pretrained-course\n"
        "channels:\n"
        "  - conda-forge\n"
        "dependencies:\n"
        f"  - python={PYTHON_FLOOR}\n"
        f"  - uv={uv_version}    # installs requirements.txt (the lock) exactly\n"
        "  - tesseract  # OCR engine behind pytesseract (notebook 11)\n"
        "  - ffmpeg     # audio decoding for torchaudio/torchcodec (notebooks 16-17)\n"
        "  - espeak-ng  # speaks the test sentences of notebooks 16-17\n"
        "  - sox        # audio effects (speed, resampling) for notebooks 16-17\n"
    )


def make_lock(root: Path | None = None) -> None:
    """Resolve ``requirements.in`` into ``requirements.txt`` (keeping locked versions where they still fit)."""
    root = root or repo_root()
    subprocess.run(compile_command(INPUT, LOCK), cwd=root, check=True)
    (root / ENVIRONMENT_YML).write_text(environment_yml(root / LOCK), encoding="utf-8")


# --- the canary ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """One failed test of the canary's run: its id and the first line of its error."""

    test: str
    first_line: str


def junit_failures(path: Path) -> list[Failure]:
    """Failed and errored tests of a JUnit XML file written by pytest."""
    failures = []
    for case in ET.parse(path).getroot().iter("testcase"):
        for child in case:
            if child.tag in ("failure", "error"):
                message = (child.get("message") or child.text or "").strip()
                first = next((ln.strip() for ln in message.splitlines() if ln.strip()), "(no message)")
                test = f"{case.get('classname', '')}::{case.get('name', '')}"
                failures.append(Failure(test, first[:300]))
                break
    return failures


def moved_versions(locked: Mapping[str, str], canary: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """``(name, locked, canary)`` for every package whose version differs (``-`` where one side lacks it)."""
    names = sorted(set(locked) | set(canary))
    return [(n, locked.get(n, "-"), canary.get(n, "-")) for n in names if locked.get(n) != canary.get(n)]


def canary_report(
    moved: list[tuple[str, str, str]], failures: list[Failure], held_back: list[str], passed: int, exit_code: int
) -> str:
    """The canary's Markdown report."""
    lines = ["# Canary: the course's suite on the newest allowed releases", ""]
    verdict = "passed" if exit_code == 0 else f"FAILED (pytest exit {exit_code})"
    lines += [f"Result: {verdict}; {passed} passed, {len(failures)} failed.", ""]
    lines += ["## Failures", ""]
    lines += [f"- `{f.test}`: {f.first_line}" for f in failures] or ["none"]
    lines += ["", "## Versions that moved against the lock (this machine's Python)", ""]
    if moved:
        lines += ["| package | lock | canary |", "|---|---|---|"]
        lines += [f"| {n} | {a} | {b} |" for n, a, b in moved]
    else:
        lines += ["none"]
    lines += ["", "## Held back by requirements.in (ranges the canary keeps)", ""]
    lines += [f"- `{r}`" for r in held_back] or ["none"]
    return "\n".join(lines) + "\n"


def _venv_versions(python: Path) -> dict[str, str]:
    code = (
        "import json,re;from importlib import metadata as m;"
        "print(json.dumps({re.sub(r'[-_.]+','-',d.metadata['Name']).lower():d.version for d in m.distributions()}))"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout
    return dict(json.loads(out))


def run_canary(root: Path | None = None, pytest_args: list[str] | None = None) -> int:
    """Build ``.canary/venv`` from the newest allowed releases, run the suite there, write ``.canary/report.md``."""
    root = root or repo_root()
    work = root / CANARY_DIR
    work.mkdir(exist_ok=True)
    relaxed = work / "requirements.in"
    relaxed.write_text(relaxed_input((root / INPUT).read_text(encoding="utf-8")), encoding="utf-8")
    resolved = work / "requirements.txt"
    uv = uv_command()
    python = os.environ.get("COURSE_PYTHON") or shutil.which("python3.11") or sys.executable
    subprocess.run(
        [*uv, "pip", "compile", str(relaxed), "--python", python, "--excludes", EXCLUDES, "--upgrade", "--quiet"]
        + ["-o", str(resolved)],
        cwd=root,
        check=True,
    )
    venv = work / "venv"
    if not (venv / "bin" / "python").exists():
        subprocess.run([*uv, "venv", "--quiet", "--python", python, str(venv)], cwd=root, check=True)
    vpy = venv / "bin" / "python"
    subprocess.run([*uv, "pip", "sync", "--quiet", "--python", str(vpy), str(resolved)], cwd=root, check=True)
    subprocess.run(
        [*uv, "pip", "install", "--quiet", "--python", str(vpy), "--no-deps", "--no-build-isolation", "-e", "."],
        cwd=root,
        check=True,
    )
    junit = work / "junit.xml"
    env = {**os.environ, "COURSE_VENV": str(venv), "COURSE_NO_SETUP": "1"}
    env.setdefault("COURSE_CACHE", str(work / "course-cache"))
    done = subprocess.run(
        ["bash", str(root / "course.sh"), "test", f"--junitxml={junit}", "-m", "not lockstep", *(pytest_args or [])],
        cwd=root,
        env=env,
    )
    failures = junit_failures(junit) if junit.exists() else [Failure("(the suite)", "wrote no JUnit report")]
    passed = 0
    if junit.exists():
        for suite in ET.parse(junit).getroot().iter("testsuite"):
            passed += int(suite.get("tests", 0)) - sum(int(suite.get(k, 0)) for k in ("failures", "errors", "skipped"))
    moved = moved_versions(locked_for(path=root / LOCK), _venv_versions(vpy))
    held = [str(r) for r in direct_requirements(root / INPUT) if any(s.operator == "<" for s in r.specifier)]
    report = canary_report(moved, failures, held, passed, done.returncode)
    (work / "report.md").write_text(report, encoding="utf-8")
    print(report)
    print(f"[canary] report written to {work / 'report.md'}")
    return done.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.tools.envlock", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("lock", help="resolve requirements.in into requirements.txt and write environment.yml")
    sub.add_parser("environment-yml", help="write environment.yml from requirements.txt")
    sub.add_parser("check", help="compare the installed environment with the lock")
    canary = sub.add_parser("canary", help="run the suite on the newest allowed releases and write a report")
    canary.add_argument("pytest_args", nargs=argparse.REMAINDER, help="passed on to the test command")
    args = parser.parse_args(argv)
    root = repo_root()
    if args.command == "lock":
        make_lock(root)
        return 0
    if args.command == "environment-yml":
        (root / ENVIRONMENT_YML).write_text(environment_yml(root / LOCK), encoding="utf-8")
        return 0
    if args.command == "check":
        found = drift(locked_for(path=root / LOCK), installed_distributions())
        print(found.describe() or "the installed environment is the lock")
        return 1 if found else 0
    return run_canary(root, args.pytest_args)


if __name__ == "__main__":
    sys.exit(main())
