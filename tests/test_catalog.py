"""The model catalog: valid, complete, and in step with the notebooks."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.notebook_scan import code_cells, notebook_paths, scan_notebook, scan_source

from course_utils.catalog import catalog_table, load_catalog

CATALOG = load_catalog()


def test_every_entry_is_complete() -> None:
    assert len(CATALOG) >= 6
    for entry in CATALOG.values():
        assert entry.licence and entry.task and entry.size_mb > 0, entry.key
        if entry.offline == "packaged":
            assert entry.packaged is not None and entry.packaged.files and entry.packaged.provenance
        elif entry.offline == "installed":
            assert entry.installed is not None and entry.installed.hint
        elif entry.offline == "online-only":
            assert len(entry.offline_note) > 40, f"{entry.key}: say why nothing runs offline"
        else:
            assert entry.standin, f"{entry.key} needs a stand-in spec"


def test_unknown_key_error_names_the_known_keys() -> None:
    with pytest.raises(KeyError, match="minilm-l6"):
        CATALOG["no-such-model"]


@pytest.mark.parametrize(
    "snippet, problem",
    [
        (
            '[models.x]\nid = "a/b"\nlibrary = "keras"\nlicence = "MIT"\nsize_mb = 1\ntask = "t"\nnotebooks = []\noffline = "stand-in"\n[models.x.standin]\na = 1\n',
            "library",
        ),
        (
            '[models.x]\nid = "a/b"\nlibrary = "tabpfn"\nlicence = "MIT"\nsize_mb = 1\ntask = "t"\nnotebooks = []\noffline = "online-only"\n',
            "offline_note",
        ),
        (
            '[models.x]\nid = "a/b"\nlibrary = "timm"\nlicence = "MIT"\nsize_mb = 1\ntask = "t"\nnotebooks = []\noffline = "stand-in"\n',
            "standin",
        ),
        (
            '[models.x]\nid = "a/b"\nlibrary = "timm"\nlicence = "MIT"\nsize_mb = 1\ntask = "t"\nnotebooks = ["1"]\noffline = "stand-in"\n[models.x.standin]\na = 1\n',
            "two digits",
        ),
        (
            '[models.x]\nid = "a/b"\nlibrary = "timm"\nsize_mb = 1\ntask = "t"\nnotebooks = []\noffline = "stand-in"\n',
            "licence",
        ),
        (
            '[models.x]\nid = "a/b"\nlibrary = "timm"\nlicence = "MIT"\nsize_mb = 1\ntask = "t"\nnotebooks = []\noffline = "packaged"\n[models.x.packaged]\npackage = "p"\nlocate = "m:f"\nfiles = { "w" = "abc" }\nmatches_upstream = true\nprovenance = "p"\n',
            "sha256",
        ),
    ],
)
def test_bad_entries_are_refused(tmp_path: Path, snippet: str, problem: str) -> None:
    path = tmp_path / "catalog.toml"
    path.write_text(snippet)
    with pytest.raises(ValueError, match=problem):
        load_catalog(path)


def test_table_lists_every_model_with_its_licence() -> None:
    table = catalog_table(CATALOG)
    for entry in CATALOG.values():
        assert entry.id in table and entry.licence in table


def test_scanner_finds_models_a_notebook_loads() -> None:
    src = (
        'session = setup(models=["a", "b"])\n'
        'm = session.models["a"]\n'
        'clf = pipeline("ner", model="dslim/bert-base-NER")\n'
        'net = timm.create_model("resnet50", pretrained=True)\n'
        'df = pd.read_csv("data/reviews.csv")\n'
        "!echo magic lines are skipped\n"
    )
    found = scan_source(src)
    assert found.declared == ["a", "b"]
    assert found.used_keys == {"a"}
    assert found.literal_ids == {"dslim/bert-base-NER", "resnet50"}


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.name)
def test_notebook_uses_only_catalog_models(path: Path) -> None:
    number = path.name[:2]
    found = scan_notebook(path)
    ids = {e.id for e in CATALOG.values()}
    unknown_ids = sorted(found.literal_ids - ids)
    assert not unknown_ids, f"{path.name} loads models the catalog does not list: {unknown_ids}"
    for key in found.declared:
        assert key in CATALOG, f"{path.name} declares {key!r}, which is not in the catalog"
        assert number in CATALOG[key].notebooks, f"catalog entry {key!r} should list notebook {number}"
    undeclared = sorted(found.used_keys - set(found.declared))
    assert not undeclared, f"{path.name} reads session.models{undeclared} without declaring them in setup(models=...)"


def test_catalog_notebook_lists_match_the_notebooks() -> None:
    declared = {p.name[:2]: set(scan_notebook(p).declared) for p in notebook_paths()}
    for entry in CATALOG.values():
        for number in entry.notebooks:
            assert number in declared, f"{entry.key} lists notebook {number}, which does not exist"
            assert entry.key in declared[number], f"notebook {number} does not declare {entry.key} in setup()"


@pytest.mark.parametrize("entry", list(CATALOG.values()), ids=lambda e: e.key)
def test_each_id_is_known_to_its_library(entry) -> None:  # type: ignore[no-untyped-def]
    """The catalog's id resolves in the pinned library (no network needed), and offline lands where it looks."""
    from course_utils import offline, standins

    if entry.library == "timm":
        import timm

        cfg = timm.models.get_pretrained_cfg(entry.id)
        assert cfg is not None and cfg.hf_hub_id == offline.hf_repo_id(entry)
    elif entry.library == "open_clip":
        repo, filename = standins.open_clip_repo(entry)
        assert repo.count("/") == 1 and filename.endswith(".safetensors")
    elif entry.library == "torchvision":
        weights = standins.torchvision_weights(entry)
        assert weights.url.endswith(".pth") and entry.id in weights.url.replace("-", "_")
    elif entry.library == "ultralytics":
        from ultralytics.utils import ROOT as ULTRA

        assert entry.id.endswith(".pt")
        assert list(ULTRA.glob(f"cfg/models/*/{entry.standin['yaml'].replace('n.yaml', '.yaml')}"))
    elif entry.library == "tabpfn":
        import os

        os.environ.setdefault("TABPFN_DISABLE_TELEMETRY", "1")
        from tabpfn.model_loading import ModelSource

        assert ModelSource.get_classifier_v2().repo_id == entry.id  # the repository TabPFN's own loader reads
    elif entry.installed is not None:
        assert entry.installed.hint and entry.offline == "installed"
    else:
        assert offline.hf_repo_id(entry) == entry.id and entry.id.count("/") == 1


def test_installed_models_report_missing_packages_with_the_fix(tmp_path: Path) -> None:
    from course_utils import offline

    toml = tmp_path / "c.toml"
    toml.write_text(
        '[models.ocr]\nid = "x"\nlibrary = "tesseract"\nlicence = "Apache-2.0"\nsize_mb = 1\ntask = "t"\n'
        'notebooks = []\noffline = "installed"\n'
        '[models.ocr.installed]\nbinary = "no-such-program-course"\nhint = "apt-get install it"\n'
    )
    entry = load_catalog(toml)["ocr"]
    got = offline.resolve_installed(entry)
    assert got.tier == offline.MISSING and not got.available and not got.is_real
    assert "no-such-program-course" in got.where and "apt-get install it" in got.card()
    present = load_catalog(toml.parent / "c.toml")  # same file; now point at a module that exists
    toml.write_text(toml.read_text().replace('binary = "no-such-program-course"', 'python = "json"'))
    entry = load_catalog(toml)["ocr"]
    assert offline.resolve_installed(entry).is_real and present


def test_installed_route_only_for_installed_libraries(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text(
        '[models.m]\nid = "a/b-1"\nlibrary = "transformers"\nlicence = "MIT"\nsize_mb = 1\ntask = "t"\n'
        'notebooks = []\noffline = "installed"\n[models.m.installed]\npython = "json"\nhint = "h"\n'
    )
    with pytest.raises(ValueError, match="installed"):
        load_catalog(toml)


def test_every_image_loads_and_has_a_licence() -> None:
    from course_utils.catalog import load_images
    from course_utils.images import load_image

    images = load_images()
    assert {"chelsea", "bus"} <= set(images)
    for key, entry in images.items():
        assert entry.licence and entry.credit, key
        img = load_image(key)
        assert img.mode == "RGB" and min(img.size) >= 64, key
    with pytest.raises((KeyError, FileNotFoundError), match="is not a course image"):
        load_image("no-such-image")


def test_images_used_by_notebooks_are_listed_there() -> None:
    from course_utils.catalog import load_images

    sources = {p.name[:2]: "\n".join(code_cells(p)) for p in notebook_paths()}
    for key, entry in load_images().items():
        for number in entry.notebooks:
            assert number in sources, f"image {key} lists notebook {number}, which does not exist"
            assert f'"{key}"' in sources[number], f"notebook {number} does not load image {key!r}"


_ENTRY = 'id = "{id}"\nlibrary = "timm"\nlicence = "MIT"\nsize_mb = 1\ntask = "t"\nnotebooks = []\noffline = "stand-in"\nstandin = {{ a = 1 }}\n'


def test_fragments_are_merged_and_a_key_defined_twice_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from course_utils import catalog

    main, frag = tmp_path / "catalog.toml", tmp_path / "catalog.d"
    frag.mkdir()
    main.write_text("[models.a]\n" + _ENTRY.format(id="x/a-1"))
    (frag / "13-15-x.toml").write_text(
        "[models.b]\n"
        + _ENTRY.format(id="x/b-1")
        + 'code_licence = "BSD-3-Clause"\ndata_licence = "LAION-2B: CC-BY-4.0 metadata"\n'
        '[datasets.d]\nname = "D"\nsource = "scikit-learn"\nlicence = "CC-BY-4.0"\ncredit = "c"\ndescription = "x"\nnotebooks = ["13"]\n'
    )
    monkeypatch.setattr(catalog, "CATALOG_PATH", main)
    monkeypatch.setattr(catalog, "FRAGMENTS_DIR", frag)
    merged = catalog.load_catalog()
    assert set(merged) == {"a", "b"}
    assert merged["b"].code_licence == "BSD-3-Clause" and merged["a"].code_licence == ""
    assert catalog.load_datasets()["d"].notebooks == ("13",)
    assert "BSD-3-Clause" in catalog.catalog_table(merged) and "not recorded" in catalog.catalog_table(merged)
    (frag / "16-18-y.toml").write_text("[models.a]\n" + _ENTRY.format(id="x/c-1"))
    with pytest.raises(ValueError, match=r"\[models\.a\] is defined twice: in catalog.toml and in 16-18-y.toml"):
        catalog.load_catalog()
    (frag / "16-18-y.toml").write_text("[models.c\n")
    with pytest.raises(ValueError, match="16-18-y.toml is not valid TOML"):
        catalog.load_catalog()


def test_a_package_model_of_any_library_is_accepted_with_the_installed_route(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text(
        '[models.w]\nid = "whisper-tiny.en"\nlibrary = "faster-whisper"\nlicence = "MIT"\nsize_mb = 76\ntask = "asr"\n'
        'notebooks = []\noffline = "installed"\n[models.w.installed]\npython = "json"\nhint = "pip install it"\n'
    )
    assert load_catalog(toml)["w"].installed is not None
    toml.write_text(toml.read_text().replace('offline = "installed"', 'offline = "stand-in"'))
    with pytest.raises(ValueError, match="not a hub library"):
        load_catalog(toml)


def test_every_dataset_entry_names_its_notebooks() -> None:
    from course_utils.catalog import load_datasets

    sources = {p.name[:2] for p in notebook_paths()}
    for key, entry in load_datasets().items():
        assert entry.licence and entry.credit and entry.source, key
        for number in entry.notebooks:
            assert number in sources, f"data set {key} lists notebook {number}, which does not exist"
