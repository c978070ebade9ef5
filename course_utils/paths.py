"""Where the course keeps its files: one cache folder the course owns.

The course never writes stand-ins into a library's own cache (``~/.cache/huggingface``,
``~/.cache/torch``); everything it builds or downloads lives under :func:`course_cache`.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable that moves the course cache (for example to a bigger disk).
CACHE_ENV = "COURSE_CACHE"


def course_cache(create: bool = True) -> Path:
    """Return the course's cache folder (``$COURSE_CACHE`` or ``~/.cache/pretrained-course``).

    The folder is created if it does not exist, unless ``create`` is false (``course doctor``
    only reports on it and must leave no folder behind).
    """
    raw = os.environ.get(CACHE_ENV)
    path = Path(raw).expanduser() if raw else Path.home() / ".cache" / "pretrained-course"
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def repo_root() -> Path:
    """Return the course repository's root folder (the parent of ``course_utils/``)."""
    return Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Return the repository's ``data/`` folder, which holds the small data sets the course ships."""
    return repo_root() / "data"
