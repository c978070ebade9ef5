# mypy: disable-error-code="attr-defined, union-attr, arg-type, index, call-overload, list-item, misc, func-returns-value"
# (this test feeds libraries values their stubs describe more narrowly than they accept, or wrong types on purpose)
"""Stand-ins keep what the notebook code depends on: tokenizer family and class, labels, generation config.

Each test builds one catalog stand-in into a temporary folder (a second or two, no network) and loads it
back with the canonical Auto classes, as a notebook does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from course_utils import standins
from course_utils.catalog import load_catalog

CATALOG = load_catalog()
TRANSFORMERS_STANDINS = [e for e in CATALOG.values() if e.library == "transformers" and e.offline == "stand-in"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {}


def _build(key: str, built: dict[str, Path], tmp: Path) -> Path:
    if key not in built:
        out = tmp / key
        out.mkdir()
        standins.build_transformers(CATALOG[key], out)
        built[key] = out
    return built[key]


@pytest.mark.parametrize("entry", TRANSFORMERS_STANDINS, ids=lambda e: e.key)
def test_standin_keeps_the_real_interface(entry, built: dict[str, Path], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import json

    import transformers

    folder = _build(entry.key, built, tmp_path)
    spec = entry.standin
    config = transformers.AutoConfig.from_pretrained(folder)
    assert config.architectures == [spec["architecture"]]
    assert "stand-in" in config.course_standin and entry.id in config.course_standin
    if "id2label" in spec:
        assert {int(k): v for k, v in spec["id2label"].items()} == config.id2label
    if spec.get("tokenizer", "none") != "none":
        tok = transformers.AutoTokenizer.from_pretrained(folder)
        # v5: BartTokenizer is RobertaTokenizer; ``loads_as`` where AutoTokenizer's mapping picks another class
        assert type(tok) is getattr(transformers, spec.get("loads_as", spec["tokenizer_class"]))
        assert tok.model_max_length == spec.get("model_max_length", 512)
        text = "Pre-trained models translate, classify and generate text."
        ids = tok(text)["input_ids"]
        assert 3 < len(ids) < 60 and max(ids) < len(tok)
        # byte-level/unigram cover all; a CTC character vocabulary has no punctuation (wav2vec2 reads capitals)
        assert tok.unk_token_id not in ids[1:-1] or spec["tokenizer"] in ("wordpiece", "ctc-char")
        for field, token in spec.get("token_ids", {}).items():
            assert getattr(config if entry.id != "microsoft/trocr-small-printed" else config.decoder, field, None) in (
                tok.convert_tokens_to_ids(token),
                None,
            ), field
    if (folder / "generation_config.json").exists():
        gen = json.loads((folder / "generation_config.json").read_text())
        for field, value in spec.get("generation", {}).items():
            if field == "bad_words":
                tok = transformers.AutoTokenizer.from_pretrained(folder)
                assert gen["bad_words_ids"] == [[tok.convert_tokens_to_ids(t)] for t in value]
            else:
                assert gen[field] == value, field
    model = standins.architecture_class(spec).from_pretrained(folder)
    assert sum(p.numel() for p in model.parameters()) < 30_000_000  # tiny, except a real-size vision backbone


def test_tokenizer_families_are_the_real_ones(tmp_path: Path) -> None:
    """WordPiece, byte-level BPE and SentencePiece split text the way their families do."""
    import transformers

    folders = {k: _build(k, {}, tmp_path) for k in ("bert-ner", "gpt2", "flan-t5-small", "opus-mt-en-de")}
    bert = transformers.AutoTokenizer.from_pretrained(folders["bert-ner"])
    gpt2 = transformers.AutoTokenizer.from_pretrained(folders["gpt2"])
    t5 = transformers.AutoTokenizer.from_pretrained(folders["flan-t5-small"])
    marian = transformers.AutoTokenizer.from_pretrained(folders["opus-mt-en-de"])
    word = "untranslatability"
    assert any(p.startswith("##") for p in bert.tokenize(word))  # WordPiece continuation marks
    assert bert.tokenize("The")[0] == "The" and bert.tokenize("the")[0] == "the"  # cased
    assert all(p.startswith("Ġ") or i == 0 for i, p in enumerate(gpt2.tokenize("a b c")))  # byte-level spaces
    assert gpt2.decode(gpt2("naïve café ☕")["input_ids"]) == "naïve café ☕"  # byte-level: lossless
    assert t5.tokenize("hello world")[0].startswith("▁")  # SentencePiece word-start marks
    assert t5("hi")["input_ids"][-1] == t5.eos_token_id
    assert marian.tokenize("hello world")[0].startswith("▁")
    assert marian("hi")["input_ids"][-1] == marian.eos_token_id == 0


def test_unknown_tokenizer_family_is_refused(tmp_path: Path) -> None:
    from dataclasses import replace

    entry = replace(CATALOG["gpt2"], standin={**CATALOG["gpt2"].standin, "tokenizer": "morse"})
    with pytest.raises(NotImplementedError, match="morse"):
        standins.build_tokenizer(entry, tmp_path)


def test_corpus_covers_every_character_the_notebooks_use() -> None:
    """No stand-in tokenizer has to fall back on its unknown token for a notebook's own text."""
    import json

    from course_utils.paths import repo_root

    alphabet = set("".join(standins._corpus_lines()))
    missing: dict[str, set[str]] = {}
    for nb in sorted((repo_root() / "notebooks").glob("*.ipynb")):
        for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                for ch in "".join(cell["source"]):
                    if not ch.isspace() and ch != "\u2581" and ch not in alphabet:  # U+2581: SentencePiece's own mark
                        missing.setdefault(ch, set()).add(nb.name)
    assert not missing, f"add these characters to {standins._CORPUS.name}: {missing}"


def test_standins_depend_on_the_shipped_corpus_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same corpus gives the same tokenizer; a changed corpus changes the cache key, so it is rebuilt."""
    import subprocess
    import sys

    from course_utils import offline

    # Every tokenizer family, trained in two fresh processes (hash seeds differ between processes).
    script = (
        "import hashlib, json, tempfile, pathlib; from course_utils import standins as s; "
        "d = [s.train_wordpiece(False), s.train_wordpiece(True), s.train_byte_bpe(s._SPECIALS['bpe']), "
        "s.train_byte_bpe(s._SPECIALS['bpe-gpt2']), s.train_unigram(s._SPECIALS['unigram']), "
        "s.train_marian_spm(pathlib.Path(tempfile.mkdtemp()))]; "
        "print(hashlib.sha256(json.dumps(d).encode()).hexdigest())"
    )
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True) for _ in "ab"]
    assert runs[0].stdout.strip() and runs[0].stdout == runs[1].stdout, [r.stdout for r in runs]
    before_print, before_key = standins.recipe_fingerprint(), offline._fake_commit(CATALOG["bert-ner"], offline.STANDIN)
    packaged_key = offline._fake_commit(CATALOG["minilm-l6"], offline.PACKAGED)
    edited = tmp_path / "corpus.txt"
    edited.write_text(standins._CORPUS.read_text(encoding="utf-8") + "One more line.\n", encoding="utf-8")
    monkeypatch.setattr(standins, "_CORPUS", edited)
    assert standins.recipe_fingerprint() != before_print
    assert offline._fake_commit(CATALOG["bert-ner"], offline.STANDIN) != before_key
    assert offline._fake_commit(CATALOG["minilm-l6"], offline.PACKAGED) == packaged_key  # real copies: no rebuild


def test_audio_standins_run_their_pipelines(tmp_path: Path) -> None:
    """AST keeps its feature extractor and label names; wav2vec2 keeps its CTC character vocabulary."""
    import numpy as np
    import transformers

    ast = _build("ast-audioset", {}, tmp_path)
    clf = transformers.pipeline("audio-classification", model=str(ast))
    assert type(clf.feature_extractor).__name__ == "ASTFeatureExtractor"
    got = clf(np.zeros(16_000, dtype=np.float32), top_k=3)
    assert len(got) == 3 and {g["label"] for g in got} <= set(CATALOG["ast-audioset"].standin["id2label"].values())
    w2v = _build("wav2vec2-base-960h", {}, tmp_path)
    asr = transformers.pipeline("automatic-speech-recognition", model=str(w2v))
    vocab = asr.tokenizer.get_vocab()
    assert vocab["<pad>"] == 0 and vocab["|"] == 4 and vocab["E"] == 5 and len(vocab) == 32
    assert (
        asr.tokenizer.decode([vocab["H"], vocab["H"], 0, vocab["I"], vocab["|"], vocab["A"]]) == "HI A"
    )  # CTC collapse
    assert set(asr(np.zeros(16_000, dtype=np.float32))["text"]) <= set(vocab) | {" "} | set("<>unk")


def test_chronos_bolt_standin_forecasts_quantiles(tmp_path: Path) -> None:
    import torch

    pytest.importorskip("chronos")
    from chronos import BaseChronosPipeline

    folder = _build("chronos-bolt-tiny", {}, tmp_path)
    pipe = BaseChronosPipeline.from_pretrained(str(folder))
    q, mean = pipe.predict_quantiles(
        torch.arange(60, dtype=torch.float32), prediction_length=12, quantile_levels=[0.1, 0.5, 0.9]
    )
    assert type(pipe).__name__ == "ChronosBoltPipeline" and q.shape == (1, 12, 3) and mean.shape == (1, 12)
