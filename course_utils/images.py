"""Images for the notebooks: the course's test photographs by key, or your own picture by path or URL.

The course's images are real photographs that ship inside installed packages. Each is listed in
``catalog.toml`` (``[images.KEY]``) with its source, credit and licence, so a notebook loads it
by key and can print where it came from::

    >>> from course_utils.images import load_image
    >>> load_image("chelsea").size
    (451, 300)

The same function opens your own picture: ``load_image("my_cat.jpg")`` (a path, relative to the
notebook's folder, or absolute), ``load_image(Path.home() / "Pictures" / "cat.png")``, or
``load_image("https://.../cat.jpg")`` (needs the network). Each way it can go wrong has its own
message that says what to do: a missing file, a file that is not an image or is damaged, a URL
while offline, a course key with a typo.
"""

from __future__ import annotations

import difflib
import io
import os
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from .catalog import ImageEntry, load_images

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["ImageLoadError", "UnknownImageError", "image_entry", "load_image"]

URL_TIMEOUT = 10.0  # seconds to connect and for each read when opening an image URL
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}


class ImageLoadError(ValueError):
    """An image could not be opened; the message says why and what to do."""


class UnknownImageError(ImageLoadError, KeyError):
    """A name that is neither a course image nor a file (also a ``KeyError``)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def _offline() -> bool:
    return any(
        os.environ.get(flag, "").strip().lower() in ("1", "true", "yes", "on")
        for flag in ("COURSE_OFFLINE", "HF_HUB_OFFLINE")
    )


def image_entry(key: str) -> ImageEntry:
    """Return the catalog entry of image ``key``; the error suggests the closest key and lists them all."""
    images = load_images()
    if key not in images:
        close = difflib.get_close_matches(key.lower(), list(images), n=1, cutoff=0.6)
        hint = f"Did you mean {close[0]!r}? " if close else ""
        raise UnknownImageError(
            f"{key!r} is not a course image, and there is no file of that name in {Path.cwd()}. {hint}"
            f"Course images: {', '.join(sorted(images))}. For your own picture give its path "
            "(e.g. load_image('my_photo.jpg') or an absolute path) or a URL."
        )
    return images[key]


def _looks_like_path(text: str) -> bool:
    return (
        os.sep in text
        or "/" in text
        or "\\" in text
        or text.startswith("~")
        or Path(text).suffix.lower() in _IMAGE_SUFFIXES
        or Path(text).expanduser().exists()
    )


_WIDE_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")  # more than 8 bits per pixel


def _bomb_message(where: str, exc: Exception) -> str:
    from PIL import Image

    numbers = [int(n) for n in re.findall(r"\d+", str(exc))]
    size = f"{numbers[0]:,} pixels" if numbers else "more pixels than Pillow opens unasked"
    return (
        f"{where} would unpack to {size}, more than the {Image.MAX_IMAGE_PIXELS:,} Pillow opens without asking: "
        "a guard against 'decompression bombs' (a small file that expands to gigabytes of memory). If you made "
        "or trust this picture, shrink it in an image editor first, or lift the guard for this session with "
        "PIL.Image.MAX_IMAGE_PIXELS = None and try again."
    )


def _convert(image: Image.Image, mode: str) -> Image.Image:
    """``image.convert(mode)``, except that 16-bit and float pixels are scaled into 8 bits rather than clipped."""
    from PIL import Image

    if image.mode not in _WIDE_MODES or mode in _WIDE_MODES:
        return image if image.mode == mode else image.convert(mode)  # I;16 -> I keeps every value
    import numpy as np

    values = np.asarray(image).astype(np.float64)
    low, high = float(values.min()), float(values.max())
    if image.mode.startswith("I;16") or (image.mode == "I" and low >= 0 and high <= 65535):
        scaled = values / 257.0  # the full 16-bit range onto 0-255: 65535 -> 255
    elif image.mode == "F" and low >= 0 and high <= 1:
        scaled = values * 255.0
    else:
        scaled = (values - low) / max(high - low, 1e-12) * 255.0
    return Image.fromarray(np.rint(scaled).astype(np.uint8), "L").convert(mode)


def _open_bytes(data: io.BytesIO | Path, where: str, mode: str) -> Image.Image:
    """Open and fully decode an image file or buffer; a file that is not an image, or is damaged, says so."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(data)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageLoadError(_bomb_message(where, exc)) from None
    except (UnidentifiedImageError, ModuleNotFoundError) as exc:
        # ultralytics, once imported, wraps Image.open and retries an unreadable file with pi_heif (HEIC), which is
        # not installed: that is still "not an image Pillow can read".
        if isinstance(exc, ModuleNotFoundError) and exc.name != "pi_heif":
            raise
        raise ImageLoadError(
            f"{where} is not an image that Pillow can read (it opened, but its contents are not JPEG, PNG, "
            "GIF, BMP, TIFF, WebP or another image format). Check that it is the picture you meant: a web "
            "page saved as .jpg or a file renamed to .png looks like this. Open it in an image viewer, or "
            "save it again as JPEG or PNG."
        ) from exc
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageLoadError(
            f"{where} is a damaged image: its header says {image.format or 'an image'} "
            f"{image.size[0]}x{image.size[1]}, "
            f"but its data could not be decoded ({exc}). The file was probably cut short (an interrupted "
            "download or copy): download or copy it again."
        ) from exc
    return _convert(ImageOps.exif_transpose(image), mode)  # phone photos: turned the way they were taken


def _load_path(path: Path, mode: str) -> Image.Image:
    path = path.expanduser()
    if path.is_dir():
        raise ImageLoadError(f"{path} is a folder, not an image file: give the path of one picture inside it.")
    if not path.is_file():
        absolute = path if path.is_absolute() else Path.cwd() / path
        raise FileNotFoundError(
            f"no image file at {absolute} (looked for {str(path)!r} in the current folder {Path.cwd()}). "
            "A relative path starts from the notebook's folder; give an absolute path to be sure, e.g. "
            f"load_image({str(Path.home() / 'Pictures' / path.name)!r}), or put the file next to the notebook."
        )
    return _open_bytes(path, str(path), mode)


def _load_url(url: str, mode: str) -> Image.Image:
    if _offline():
        raise ImageLoadError(
            f"cannot open {url}: the course is running offline (COURSE_OFFLINE or HF_HUB_OFFLINE is set), "
            "so nothing is downloaded. Download the picture first (in a browser: right-click, Save image as), "
            "then give its path: load_image('saved_picture.jpg'); or use a course image such as 'chelsea'."
        )
    import requests

    try:
        response = requests.get(url, timeout=(URL_TIMEOUT, URL_TIMEOUT))
        response.raise_for_status()
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise ImageLoadError(
            f"cannot open {url}: the server answered HTTP {status}. Check the address (copy it with "
            "right-click, Copy image address), or download the picture and give its path."
        ) from exc
    except requests.RequestException as exc:
        raise ImageLoadError(
            f"cannot open {url}: no answer from the network ({type(exc).__name__}). If you are offline, "
            "download the picture first where there is internet and give its path, or use a local file."
        ) from exc
    return _open_bytes(io.BytesIO(response.content), f"the file at {url}", mode)


def load_image(source: str | os.PathLike[str], mode: str = "RGB") -> Image.Image:
    """Load an image as a PIL image converted to ``mode`` (default RGB).

    Args:
        source: a course image key (``"chelsea"``, see ``course catalog``), the path of an image
            file (``str`` or ``Path``; relative paths start from the current folder, usually the
            notebook's), or an ``http(s)://`` URL (downloaded, unless the course runs offline).
        mode: the PIL mode of the result. A 16-bit picture (a scan, a microscope or medical image) keeps its
            exact values with ``mode="I"``; converted to an 8-bit mode its full range is scaled into 0-255.

    Course images are never downloaded: scikit-image, scikit-learn and ultralytics carry them in
    their wheels. Your own photos are turned upright by their EXIF orientation.

    Raises:
        FileNotFoundError: a path that does not exist (the message gives the folder it looked in).
        ImageLoadError: a file that is not an image or is damaged, a folder, a picture too large to unpack
            safely (a "decompression bomb"), or a URL that cannot be fetched (offline, no network, an HTTP error).
        UnknownImageError: a name that is neither a course image nor a file (the closest key is
            suggested); also a ``KeyError``.
    """
    if isinstance(source, os.PathLike):
        return _load_path(Path(source), mode)
    if not isinstance(source, str):
        raise TypeError(
            f"load_image takes a course image key, a path or a URL (a str or Path); got {type(source).__name__}"
        )
    if source.lower().startswith(("http://", "https://")):
        return _load_url(source, mode)
    if source in load_images():
        return _load_course_image(load_images()[source], mode)
    if _looks_like_path(source):
        return _load_path(Path(source), mode)
    return _load_course_image(image_entry(source), mode)  # raises with a suggestion


def _load_course_image(entry: ImageEntry, mode: str) -> Image.Image:
    from PIL import Image

    if entry.source == "skimage":
        import numpy as np
        import skimage.data

        array = np.asarray(getattr(skimage.data, entry.name)())
        image = Image.fromarray(array)
    elif entry.source == "sklearn":
        from sklearn.datasets import load_sample_image

        image = Image.fromarray(load_sample_image(entry.name))
    else:  # ultralytics
        from ultralytics.utils import ASSETS

        path = ASSETS / entry.name
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: reinstall ultralytics (./course.sh setup)")
        image = Image.open(path)
        image.load()
    return image.convert(mode)
