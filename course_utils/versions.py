"""The pinned versions of ``requirements.txt`` against what is installed (no package is imported)."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from .paths import repo_root

#: The packages whose versions change what a notebook does; setup() and the doctor compare them.
KEY_PACKAGES = (
    "torch",
    "torchvision",
    "torchaudio",
    "transformers",
    "huggingface_hub",
    "sentence-transformers",
    "timm",
    "ultralytics",
    "open_clip_torch",
    "peft",
    "nbval",
    "jupyterlab",
)

_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s#;]+)")


def normalize(name: str) -> str:
    """PEP 503 name normalisation: ``Open_Clip.torch`` -> ``open-clip-torch``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_versions(requirements: Path | None = None) -> dict[str, str]:
    """``{normalised name: version}`` for every ``name==version`` line (empty if the file is absent)."""
    path = requirements or repo_root() / "requirements.txt"
    if not path.is_file():
        return {}
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line)
        if match:
            pins[normalize(match.group(1))] = match.group(2)
    return pins


def installed_version(name: str) -> str | None:
    """The installed version of a distribution, or None when it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def mismatches(
    packages: tuple[str, ...] = KEY_PACKAGES, requirements: Path | None = None
) -> dict[str, tuple[str, str | None]]:
    """``{name: (pinned, installed)}`` for the key packages whose installed version differs from the pin."""
    pins = pinned_versions(requirements)
    out: dict[str, tuple[str, str | None]] = {}
    for name in packages:
        want = pins.get(normalize(name))
        if want is None:
            continue
        have = installed_version(name)
        # A local build tag (2.11.0+cu128) is the same release.
        if have is None or have.split("+")[0] != want.split("+")[0]:
            out[name] = (want, have)
    return out
