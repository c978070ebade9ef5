#!/usr/bin/env bash
# One entry point for the course: ./course.sh --help lists the commands. On a fresh machine it sets everything up first.
# Environment: COURSE_PYTHON (a Python 3.11 to use), COURSE_OFFLINE, COURSE_CACHE, COURSE_DEVICE (see README.md).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${COURSE_VENV:-$ROOT/.venv}"   # COURSE_VENV: another environment (the canary's)
STAMP="$VENV/.course-installed"

say() { printf '[course.sh] %s\n' "$*"; }
die() { printf '[course.sh] ERROR: %s\n' "$*" >&2; exit 1; }

find_python() {
    local candidates=("${COURSE_PYTHON:-}" python3.11 python3 python)
    for py in "${candidates[@]}"; do
        [ -n "$py" ] || continue
        command -v "$py" >/dev/null 2>&1 || continue
        if "$py" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' 2>/dev/null; then
            echo "$py"; return 0
        fi
    done
    return 1
}

system_packages() {
    # Tesseract (OCR, notebook 11), FFmpeg (audio decoding, notebooks 16-17) and, on Debian/Ubuntu,
    # Fashion-MNIST (notebook 12; elsewhere the notebook downloads it, 30 MB, with a checked sha256).
    local missing=()
    command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr tesseract-ocr-eng)
    command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
    command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)   # test speech for notebooks 16-17
    command -v sox >/dev/null 2>&1 || missing+=(sox)               # audio effects (speed, resampling) for 16-17
    command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)      # the sandbox that runs generated code (notebook 20)
    # Chromium and its driver: the test suite runs notebooks in JupyterLab in a real browser (tests/test_browser.py).
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1 && [ "${COURSE_NO_BROWSER:-0}" != "1" ]; then
        command -v chromium >/dev/null 2>&1 || missing+=(chromium)
        command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
    fi
    if [ ! -d /usr/share/datasets/fashion-mnist ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        # On its own: where the package does not exist (older Ubuntu), the others must still install.
        say "installing Debian's dataset-fashion-mnist (notebook 12)"
        { apt-get update -qq >/dev/null 2>&1
          DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dataset-fashion-mnist >/dev/null 2>&1; } \
            || say "note: dataset-fashion-mnist is not available here; notebook 12 will download Fashion-MNIST (30 MB)."
    fi
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        say "installing system packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
            || say "WARNING: apt-get could not install ${missing[*]}; the OCR and audio cells will say so and skip."
    else
        say "WARNING: missing system packages: ${missing[*]} (the OCR and audio cells skip without them). Install with:"
        say "  Debian/Ubuntu: sudo apt-get install tesseract-ocr tesseract-ocr-eng ffmpeg espeak-ng sox bubblewrap dataset-fashion-mnist"
        say "  macOS:         brew install tesseract ffmpeg espeak-ng sox"
        say "  Windows:       winget install UB-Mannheim.TesseractOCR ; winget install Gyan.FFmpeg"
    fi
}

ensure_env() {
    # COURSE_NO_SETUP=1 (the tests that start the lab, the canary's own environment): use the venv as it is.
    if [ "${COURSE_NO_SETUP:-0}" = "1" ] && [ -x "$VENV/bin/python" ]; then
        return 0
    fi
    local want
    want="$(cat "$ROOT/requirements.txt" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
    if [ -x "$VENV/bin/python" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    local py
    py="$(find_python)" || die "Python 3.11 is needed (the lock is tested with it). Install it
  Debian/Ubuntu: sudo apt-get install python3.11 python3.11-venv   (or use pyenv)
  macOS:         brew install python@3.11
  Windows:       use WSL, or the Python 3.11 installer from python.org
then run this again (or point COURSE_PYTHON at it)."
    local start=$SECONDS
    system_packages
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating the virtual environment in .venv with $py"
        "$py" -m venv "$VENV" || die "could not create .venv (on Debian/Ubuntu: sudo apt-get install python3.11-venv)"
    fi
    say "installing the locked packages (first time: about 4 minutes and 8 GB of disk)"
    # uv, at the version and hashes of the lock, installs the rest; pip only fetches uv itself.
    install_uv "$VENV/bin/python"
    # sync: exactly the lock, hash-checked; anything else in .venv is removed.
    "$VENV/bin/python" -m uv pip sync --quiet --require-hashes --python "$VENV/bin/python" "$ROOT/requirements.txt" \
        || die "installing the lock (requirements.txt) failed (see uv's message above). Check the connection and free disk (8 GB), then run ./course.sh again."
    "$VENV/bin/python" -m uv pip install --quiet --python "$VENV/bin/python" --no-deps --no-build-isolation -e "$ROOT" \
        || die "installing course_utils failed"
    echo "$want" > "$STAMP"
    say "set-up done in $((SECONDS - start)) s"
}

install_uv() {
    # The lock's own uv entry (version and hashes) as a one-line requirements file for pip.
    local req
    req="$(mktemp)"
    awk '/^uv==/{on=1} on{print} on && !/\\$/{exit}' "$ROOT/requirements.txt" > "$req"
    grep -q '^uv==' "$req" || die "requirements.txt has no uv entry: regenerate it with ./course.sh lock"
    "$1" -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r "$req" \
        || die "pip could not install uv (the lock's installer): check your internet connection and run ./course.sh again"
    rm -f "$req"
}

usage() {
    cat <<'EOF'
Usage: ./course.sh COMMAND [ARGS...]   (no command: lab)

  lab [ARGS]        set up (first time only) and open the course in JupyterLab (ARGS go to jupyter lab)
  test [ARGS]       set up (first time only) and run the test suite, offline (ARGS go to pytest, e.g. -m "not slow")
  setup             only set up: .venv with exactly the lock (requirements.txt), the system packages where it can
  lock              after editing requirements.in: resolve it into the lock, requirements.txt, and environment.yml
  canary            the suite in a separate environment of the newest releases requirements.in allows; .canary/report.md
  doctor            check versions, device, disk, memory, hub and system packages (paste it into a bug report)
  prefetch NN...    download the real models of some notebooks before class (--all, --dry-run; needs internet)
  catalog           list every model with its licence, size and offline route
  online-report NN... run notebooks online with the real models and write a report (needs internet; --out DIR)
  student           write student copies of the notebooks to student/ (solutions replaced by stubs)
  site [NN...]      build the course's web site with outputs into build/site/html
  generate          rewrite what is generated in the notebooks and README: the set-up cell and the time figures
  colab             on Google Colab: install into Colab's own Python (the notebooks' set-up cell runs it)
  help              this list
EOF
}

cmd="${1:-lab}"
[ $# -gt 0 ] && shift
case "$cmd" in
    setup)
        ensure_env ;;
    lock)
        ensure_env
        cd "$ROOT"
        "$VENV/bin/python" -m course_utils.tools.envlock lock
        say "requirements.txt and environment.yml written; ./course.sh setup installs the new lock" ;;
    canary)
        ensure_env
        cd "$ROOT"
        exec "$VENV/bin/python" -m course_utils.tools.envlock canary "$@" ;;
    lab)
        ensure_env
        lab_flags=()
        if [ "$(id -u)" = "0" ]; then
            say "running as root (Docker, WSL, a cloud VM): starting JupyterLab with --allow-root"
            lab_flags+=(--allow-root)
        fi
        # The lab's settings and open tabs are the course's own (.jupyter/ here, ignored by git), so the
        # course never changes your other JupyterLab set-ups; point these variables elsewhere to move them.
        export JUPYTERLAB_SETTINGS_DIR="${JUPYTERLAB_SETTINGS_DIR:-$ROOT/.jupyter/lab/user-settings}"
        export JUPYTERLAB_WORKSPACES_DIR="${JUPYTERLAB_WORKSPACES_DIR:-$ROOT/.jupyter/lab/workspaces}"
        # Course defaults (jupyter-config/labconfig): no "official Jupyter news?" pop-up over the notebook.
        export JUPYTER_CONFIG_PATH="$ROOT/jupyter-config${JUPYTER_CONFIG_PATH:+:$JUPYTER_CONFIG_PATH}"
        exec "$VENV/bin/jupyter" lab --ServerApp.root_dir="$ROOT/notebooks" ${lab_flags[@]+"${lab_flags[@]}"} "$@" ;;
    test)
        # Settings, workers and markers live in pyproject.toml and conftest.py: plain pytest runs the same suite.
        ensure_env
        cd "$ROOT"
        exec "$VENV/bin/python" -m pytest "$@" ;;
    colab)
        # Google Colab has no use for a virtual environment: the pins go into its own Python, the system
        # packages come from apt (Colab runs as root); no browser, the test suite does not run there.
        py="${COURSE_PYTHON:-python3}"
        COURSE_NO_BROWSER=1 system_packages
        say "installing the locked packages into $("$py" --version 2>&1) (the lock resolves for 3.11 and 3.12)"
        install_uv "$py"
        # install, not sync: Colab's own packages stay; the lock's versions replace theirs where both have one.
        "$py" -m uv pip install --quiet --python "$py" --no-deps --require-hashes -r "$ROOT/requirements.txt" \
            || die "installing the lock failed (see uv's message above); rerun the cell, or report which package broke"
        "$py" -m uv pip install --quiet --python "$py" --no-deps --no-build-isolation -e "$ROOT" || die "installing course_utils failed"
        touch "$ROOT/.colab-installed"
        say "installed: restart the session (Runtime > Restart session), then run the notebook again" ;;
    site)
        # Executes the notebooks (real models online, offline copies/stand-ins offline: each page's banner says which)
        # and builds the static site with Sphinx + myst-nb.
        ensure_env
        export COURSE_CACHE="${COURSE_CACHE:-$ROOT/.course-cache}"
        cd "$ROOT"
        exec "$VENV/bin/python" -m course_utils.tools.site "$@" ;;
    student)
        # Homework copies: each solution replaced by a stub that says "your answer goes here", checks kept
        # (nbgrader's own preprocessors; an instructor with an nbgrader course uses generate_assignment).
        ensure_env
        cd "$ROOT"
        exec "$VENV/bin/python" -m course_utils.tools.student "$@" notebooks/[0-9][0-9]_*.ipynb ;;
    doctor|prefetch|catalog|online-report)
        ensure_env
        exec "$VENV/bin/python" -m course_utils "$cmd" "$@" ;;
    generate)
        ensure_env
        cd "$ROOT"
        "$VENV/bin/python" -m course_utils.tools.colab notebooks/[0-9][0-9]_*.ipynb
        exec "$VENV/bin/python" -m course_utils.tools.timings "$@" ;;
    -h|--help|help)
        usage ;;
    *)
        usage >&2
        die "unknown command '$cmd'" ;;
esac
