"""The licence families, "may I use this for X" and the audit of everything the catalog lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from course_utils import catalog, licences
from course_utils.licences import ASK, CONDITIONS, NO, USES, YES, audit, family, identify, may_i, may_i_use


@pytest.mark.parametrize(
    ("text", "lid", "fam"),
    [
        ("MIT", "mit", "permissive"),
        ("Apache-2.0", "apache-2.0", "permissive"),
        ("Apache 2.0 License", "apache-2.0", "permissive"),
        ("Apache License 2.0", "apache-2.0", "permissive"),
        ("BSD-3-Clause (scikit-image sample data; no separate licence stated)", "bsd-3-clause", "permissive"),
        ("CC0-1.0", "cc0-1.0", "public domain"),
        ("public domain (no known copyright restrictions)", "public-domain", "public domain"),
        ("AGPL-3.0 (shipped in the ultralytics wheel)", "agpl-3.0", "network copyleft"),
        ("GPL-3.0-or-later", "gpl-3.0", "copyleft"),
        ("LGPL-3.0", "lgpl-3.0", "weak copyleft"),
        ("LGPL-3+/GPL-3+", "gpl-3.0", "copyleft"),  # two licences named: the stricter counts
        ("CC BY-NC-SA 4.0", "cc-by-nc-sa-4.0", "non-commercial"),
        ("cc-by-nc-4.0", "cc-by-nc-4.0", "non-commercial"),
        ("openrail", "openrail", "responsible AI (RAIL)"),
        ("bigscience-bloom-rail-1.0", "bigscience-bloom-rail-1.0", "responsible AI (RAIL)"),
        ("creativeml-openrail-m", "creativeml-openrail-m", "responsible AI (RAIL)"),
        ("gemma", "gemma", "bespoke terms"),
        ("llama3.1", "llama3.1", "bespoke terms"),
        ("ImageNet-1k: non-commercial research terms", "non-commercial", "non-commercial"),
        ("LAION-2B: CC-BY-4.0 metadata", "cc-by-4.0", "permissive"),
        ("code Apache-2.0; weights CC BY-NC-SA 4.0", "cc-by-nc-sa-4.0", "non-commercial"),  # the stricter counts
    ],
)
def test_identify_reads_ids_and_free_text(text: str, lid: str, fam: str) -> None:
    lic = identify(text)
    assert (lic.id, lic.family) == (lid, fam)


@pytest.mark.parametrize(
    "text",
    [
        "",
        None,
        "none stated (model card); base model roberta-base is MIT",
        "unknown",
        "other",
        "WebText (scraped web pages; not released)",
        "submitted to MITx",
        "a licence invented next year",
    ],
)
def test_what_is_not_recognised_stays_unknown(text: str | None) -> None:
    assert family(text) == "unknown"
    assert may_i(text, "commercial product").verdict == ASK


def test_the_lecture_families_answer_as_the_lecture_says() -> None:
    # Apache 2.0 / MIT: commercial use; CC BY-NC: not in production; RAIL: use restrictions.
    assert may_i("Apache-2.0", "commercial product").verdict == CONDITIONS
    assert may_i("MIT", "internal tool").verdict == YES
    assert may_i("CC-BY-NC-4.0", "commercial product").verdict == NO
    assert may_i("CC-BY-NC-4.0", "SaaS").verdict == NO
    assert may_i("CC-BY-NC-4.0", "redistribution").verdict == CONDITIONS
    assert may_i("CC-BY-NC-ND-4.0", "fine-tune and publish").verdict == NO
    rail = may_i("bigscience-openrail-m", "SaaS")
    assert rail.verdict == CONDITIONS and "restrictions" in rail.reasons[0]
    assert may_i("CC0-1.0", "fine-tune and publish").verdict == YES


def test_agpl_network_clause_and_gpl_differ_on_saas() -> None:
    agpl, gpl = may_i("AGPL-3.0", "SaaS"), may_i("GPL-3.0", "SaaS")
    assert agpl.verdict == CONDITIONS and "network" in agpl.reasons[0] and "source" in agpl.reasons[0]
    assert gpl.verdict == YES and "not distribution" in gpl.reasons[0]
    assert may_i("GPL-3.0", "internal tool").verdict == YES
    assert may_i("AGPL-3.0", "internal tool").verdict == CONDITIONS


def test_bespoke_terms_send_you_to_read_them() -> None:
    for lid in ("gemma", "llama2", "llama3"):
        for use in USES:
            assert may_i(lid, use).verdict == ASK


def test_every_use_has_an_answer_with_a_reason_for_every_family() -> None:
    samples = ["CC0-1.0", "MIT", "MPL-2.0", "GPL-3.0", "AGPL-3.0", "CC-BY-NC-SA-4.0", "openrail", "gemma", ""]
    assert sorted({family(s) for s in samples}) == sorted(licences.FAMILIES)
    for text in samples:
        for use in USES:
            answer = may_i(text, use)
            assert answer.verdict in licences.VERDICTS and answer.reasons and answer.reasons[0]
    with pytest.raises(ValueError, match="not one of"):
        may_i("MIT", "selling it to aliens")


def test_combined_answer_keeps_the_worst_part() -> None:
    ok = may_i_use("MIT", "commercial product", code="Apache-2.0", data="CC0-1.0")
    assert ok.verdict == CONDITIONS and len(ok.reasons) == 3
    nc_weights = may_i_use("CC-BY-NC-4.0", "commercial product", code="Apache-2.0", data="CC0-1.0")
    assert nc_weights.verdict == NO
    agpl_code = may_i_use("MIT", "SaaS", code="AGPL-3.0", data="CC0-1.0")
    assert agpl_code.verdict == CONDITIONS and any("AGPL" in r or "Affero" in r for r in agpl_code.reasons)
    # data under non-commercial terms: unsettled whether it binds the weights, so "ask", not "no" and not "yes"
    nc_data = may_i_use(
        "Apache-2.0", "commercial product", code="Apache-2.0", data="ImageNet-1k: non-commercial research terms"
    )
    assert nc_data.verdict == ASK and "unsettled" in nc_data.reasons[-1]
    # a part nobody recorded is unknown: never an unconditional yes
    missing = may_i_use("MIT", "internal tool", code="", data="")
    assert missing.verdict == ASK and "not recorded" in " ".join(missing.reasons)
    assert licences.worst([YES, NO, CONDITIONS]) == NO


def test_audit_covers_every_catalog_entry_image_and_data_set() -> None:
    rows = audit()
    keys = {(r.kind, r.key) for r in rows}
    assert {("model", k) for k in catalog.load_catalog()} <= keys
    assert {("image", k) for k in catalog.load_images()} <= keys
    assert {("data set", k) for k in catalog.load_datasets()} <= keys
    assert len(rows) == len(catalog.load_catalog()) + len(catalog.load_images()) + len(catalog.load_datasets())
    for row in rows:
        assert row.weights and row.code and row.data  # "unknown" or "-", never empty
        assert set(row.families()) == {"weights", "code", "data"}
        for use in USES:
            assert row.answer(use).verdict in licences.VERDICTS


def test_audit_of_a_later_entry_shows_missing_parts_as_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    main, frag = tmp_path / "catalog.toml", tmp_path / "catalog.d"
    frag.mkdir()
    main.write_text(
        '[models.a]\nid = "x/a-1"\nlibrary = "timm"\nlicence = "MIT"\nsize_mb = 1\ntask = "t"\nnotebooks = []\n'
        'offline = "stand-in"\nstandin = { a = 1 }\n'
    )
    (frag / "30-30-later.toml").write_text(
        '[models.b]\nid = "x/b-1"\nlibrary = "some-new-engine"\nlicence = "a licence invented next year"\nsize_mb = 1\n'
        'task = "t"\nnotebooks = []\noffline = "installed"\ncode_licence = "GPL-3.0"\n'
        'data_licence = "ImageNet-1k: non-commercial research terms"\n'
        '[models.b.installed]\npython = "no_such_module_here"\nhint = "install it"\n'
        '[datasets.d]\nname = "D"\nsource = "somewhere"\nlicence = "CC-BY-NC-4.0"\ncredit = "c"\ndescription = "x"\nnotebooks = []\n'
    )
    monkeypatch.setattr(catalog, "CATALOG_PATH", main)
    monkeypatch.setattr(catalog, "FRAGMENTS_DIR", frag)
    rows = {r.key: r for r in audit()}
    assert set(rows) >= {"a", "b", "d"}
    a, b, d = rows["a"], rows["b"], rows["d"]
    assert a.data == "unknown" and a.families()["data"] == "unknown"
    assert "package metadata: timm" in a.code  # read from the installed package, and marked so
    assert b.families() == {"weights": "unknown", "code": "copyleft", "data": "non-commercial"}
    assert b.answer("commercial product").verdict == ASK
    assert d.kind == "data set" and d.answer("commercial product").verdict == NO


def test_package_licence_reads_installed_metadata() -> None:
    assert family(licences.package_licence("timm")) == "permissive"
    assert licences.package_licence("no-such-distribution-anywhere") == ""


@pytest.mark.parametrize(
    "text",
    [
        "MIT, except for military use",
        "MIT License\n\nCopyright (c) 2020 Ada\n\nPermission is hereby granted, free of charge, to any person...",
        "Free for any use, like Apache-2.0 and MIT",
        "Apache-2.0 but not for commercial use without our written permission",
        "CC0-1.0 only for the images; the weights are ours",
        "Acme Model Licence v2 (see LICENSE.md)",
        "x" * 20_000 + " MIT",
    ],
)
def test_licence_text_that_is_not_an_identifier_is_never_yes(text: str) -> None:
    for use in USES:
        answer = may_i(text, use)
        assert answer.verdict in (ASK, NO), (use, answer)
        assert answer.reasons[0].startswith("read it yourself") or answer.verdict == NO, answer
        assert len(answer.reasons[0]) < 400, "the reason stays short whatever the text's length"
    assert may_i(text, "internal tool").verdict == ASK and "read it yourself" in may_i(text, "internal tool").reasons[0]


def test_an_identifier_with_a_plain_note_still_answers() -> None:
    assert may_i("Apache 2.0 License (package metadata: transformers)", "internal tool").verdict == YES
    assert may_i("BSD-3-Clause (torchvision)", "SaaS").verdict == YES
    assert may_i("MIT License", "redistribution").verdict == CONDITIONS


def test_tabpfn_terms_keep_the_attribution_clause_and_its_synthetic_data() -> None:
    weights = "Prior Labs License (Apache-2.0 with an attribution clause; model card of Prior-Labs/TabPFN-v2-clf)"
    assert identify(weights).id == "prior-labs"
    for use in USES:
        answer = may_i(weights, use)
        assert answer.verdict == CONDITIONS and "attribution" in answer.reasons[0]
    data = "none: pre-trained only on synthetic tables drawn from a prior (Hollmann et al., Nature 2025)"
    assert may_i_use("MIT", "SaaS", code="Apache-2.0", data=data).verdict == YES
    # synthetic speech *plus* real noise and music sets is not synthetic-only
    mixed = "trained on synthetic speech (text-to-speech voices) plus noise and music sets"
    assert may_i_use("MIT", "SaaS", code="Apache-2.0", data=mixed).verdict != YES
