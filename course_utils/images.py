"""The course's test images: real photographs that ship inside installed packages.

Each image is listed in ``catalog.toml`` (``[images.KEY]``) with its source, credit and
licence, so a notebook loads it by key and can print where it came from::

    >>> from course_utils.images import load_image
    >>> load_image("chelsea").size
    (451, 300)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .catalog import ImageEntry, load_images

if TYPE_CHECKING:
    from PIL import Image


def image_entry(key: str) -> ImageEntry:
    """Return the catalog entry of image ``key``; the error lists the known keys."""
    images = load_images()
    if key not in images:
        raise KeyError(f"{key!r} is not a course image. Known images: {', '.join(sorted(images))}")
    return images[key]


def load_image(key: str, mode: str = "RGB") -> Image.Image:
    """Load the catalog image ``key`` as a PIL image converted to ``mode`` (default RGB).

    Nothing is downloaded: scikit-image and ultralytics carry these files in their wheels.
    """
    from PIL import Image

    entry = image_entry(key)
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
