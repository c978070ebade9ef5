"""Stand-ins: tiny (or, where the name fixes the size, full-size) randomly initialised twins.

A stand-in has the real model's architecture class, tokenizer type, special tokens, label
names and preprocessing config, and random weights. It lets a notebook run its canonical
code path with no network; its outputs are meaningless and the course always says so.
Every builder writes into a folder of the course cache, never into a library's own cache.

Builders, one per loader the course uses:

=====================  =========================================================
library                what is written
=====================  =========================================================
transformers           ``config.json`` + ``model.safetensors`` + tokenizer files
timm                   ``config.json`` + ``model.safetensors`` (timm's hub format)
open_clip              ``open_clip_model.safetensors`` (the file open_clip asks the hub for)
torchvision            a state-dict ``.pth`` named like the real checkpoint
ultralytics            a ``.pt`` checkpoint built from the model's YAML, COCO class names
=====================  =========================================================
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .catalog import ModelEntry

#: Written into every stand-in's config so that code (and people) can tell it apart.
STANDIN_NOTE = "course stand-in: random weights with the real architecture; outputs are meaningless"

_CORPUS = Path(__file__).with_name("data") / "standin_corpus.txt"

_WORDPIECE_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
#: Special tokens of each tokenizer family, in the order of the real vocabularies' first ids.
_SPECIALS = {
    "bpe": ["<s>", "<pad>", "</s>", "<unk>", "<mask>"],  # RoBERTa, BART
    "bpe-gpt2": ["<|endoftext|>"],  # GPT-2: one token is bos, eos and unk
    "unigram": ["<pad>", "</s>", "<unk>"],  # T5
    "unigram-xlmr": ["<s>", "<pad>", "</s>", "<unk>"],  # XLM-RoBERTa (TrOCR-small's decoder)
}
STANDIN_VOCAB_SIZE = 1000
#: Raise when a builder changes what it writes: the stand-ins are then rebuilt (see :func:`recipe_fingerprint`).
BUILDERS_VERSION = 2


@contextlib.contextmanager
def _no_progress_bars() -> Iterator[None]:
    """Hide transformers' "Writing model shards" bar while a stand-in is saved, then restore both switches.

    A stand-in is written in well under a second, once per machine; a bar there would be the first thing a
    notebook prints on a clean machine, before the course's status line. ``disable_progress_bar`` also turns
    off huggingface_hub's bars, so that one is put back as it was too.
    """
    import huggingface_hub.utils as hub_utils
    from transformers.utils import logging as hf_logging

    if not hf_logging.is_progress_bar_enabled():
        yield
        return
    hub_off = hub_utils.are_progress_bars_disabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.enable_progress_bar()
        if hub_off:
            hub_utils.disable_progress_bars()


def _corpus_lines() -> list[str]:
    """The stand-in tokenizers' training text: one file that ships with the package.

    It depends on nothing else (not on the notebooks' text), so a stand-in is the same on every
    machine and after every edit of a notebook; it covers every character the demos use, so no
    stand-in tokenizer needs its unknown token for them.
    """
    return _CORPUS.read_text(encoding="utf-8").splitlines()


def recipe_fingerprint() -> str:
    """A short hash of what decides a stand-in besides its catalog entry (the corpus and the builders' version).

    It is part of each stand-in's cache key, so a changed corpus or builder rebuilds the stand-ins
    instead of reusing copies built from the old one.
    """
    import hashlib

    return hashlib.sha256(f"{BUILDERS_VERSION}\n".encode() + _CORPUS.read_bytes()).hexdigest()[:16]


def _train_spm(lines: list[str], model_type: str, vocab_size: int, **options: Any) -> bytes:
    """Train a SentencePiece model (``unigram`` or ``bpe``) on ``lines``; return the serialised model.

    SentencePiece's trainer is deterministic: the same corpus gives the same pieces, scores and ids on
    every machine. (The ``tokenizers`` library's trainers are not: they break ties in hash-map order, so
    its WordPiece and Unigram trainers differ between two calls and its BPE trainer between two
    processes.) ``options`` go to the trainer (``unk_id``, ``eos_id``, ...).
    """
    import io

    import sentencepiece as spm

    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([ln for ln in lines if ln.strip()]),
        model_writer=buffer,
        vocab_size=vocab_size,
        model_type=model_type,
        character_coverage=1.0,
        hard_vocab_limit=False,
        num_threads=1,
        minloglevel=2,
        **{"unk_id": 0, "bos_id": -1, "eos_id": -1, "pad_id": -1, **options},
    )
    return buffer.getvalue()


def _spm_pieces(model: bytes) -> list[tuple[str, float]]:
    """The ordinary pieces of a SentencePiece model with their scores (no control or unknown pieces)."""
    import sentencepiece as spm

    proc = spm.SentencePieceProcessor(model_proto=model)
    return [
        (proc.id_to_piece(i), float(proc.get_score(i)))
        for i in range(proc.get_piece_size())
        if not (proc.is_control(i) or proc.is_unknown(i))
    ]


def train_wordpiece(lowercase: bool, vocab_size: int = STANDIN_VOCAB_SIZE) -> dict[str, int]:
    """Build a BERT-style WordPiece vocabulary from the course corpus; return ``{token: id}``.

    The text is normalised and split into words the way BERT's tokenizer does it; SentencePiece's BPE
    learns the sub-words, which become WordPiece tokens (a word-initial piece as it is, every other
    piece with the ``##`` continuation mark). Every character of the corpus is in the vocabulary in
    both forms, so no word made of those characters becomes ``[UNK]``.
    """
    from tokenizers import normalizers, pre_tokenizers

    normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    splitter = pre_tokenizers.BertPreTokenizer()
    lines = [
        " ".join(word for word, _ in splitter.pre_tokenize_str(normalizer.normalize_str(ln))) for ln in _corpus_lines()
    ]
    tokens = list(_WORDPIECE_SPECIALS)
    for ch in sorted(set("".join(lines)) - {" "}):
        tokens += [ch, "##" + ch]
    for piece, _ in _spm_pieces(_train_spm(lines, "bpe", vocab_size)):
        if piece != "\u2581":
            tokens.append(piece[1:] if piece.startswith("\u2581") else "##" + piece)
    return {tok: i for i, tok in enumerate(dict.fromkeys(tokens))}


def train_byte_bpe(
    specials: list[str], vocab_size: int = STANDIN_VOCAB_SIZE
) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Build a GPT-2-style byte-level BPE from the course corpus; return (vocab, merges).

    The corpus is split into words and mapped to GPT-2's byte alphabet (``Ġ`` for a leading space)
    as the real tokenizer does; SentencePiece's BPE learns the merges on those words, one word per
    sentence so that no merge crosses a word. Each learnt piece becomes one merge of two earlier tokens.
    The vocabulary starts with the special tokens and all 256 byte symbols, so every text can be encoded.
    """
    from tokenizers import pre_tokenizers

    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False)
    words = [word for ln in _corpus_lines() for word, _ in byte_level.pre_tokenize_str(ln)]
    model = _train_spm(words, "bpe", vocab_size, add_dummy_prefix=False, split_by_whitespace=False)
    vocab = {tok: i for i, tok in enumerate(dict.fromkeys([*specials, *sorted(pre_tokenizers.ByteLevel.alphabet())]))}
    merges: list[tuple[str, str]] = []
    for piece, _ in _spm_pieces(model):  # in the order BPE learnt them
        if piece in vocab:
            continue
        splits = [(piece[:k], piece[k:]) for k in range(1, len(piece)) if piece[:k] in vocab and piece[k:] in vocab]
        if splits:  # the split whose parts were learnt earliest
            merges.append(min(splits, key=lambda ab: (max(vocab[ab[0]], vocab[ab[1]]), ab)))
            vocab[piece] = len(vocab)
    return vocab, merges


def train_unigram(specials: list[str], vocab_size: int = STANDIN_VOCAB_SIZE) -> list[tuple[str, float]]:
    """Train a SentencePiece Unigram model (T5, XLM-R) on the course corpus; return [(piece, score)], specials first."""
    return [(tok, 0.0) for tok in specials] + _spm_pieces(_train_spm(_corpus_lines(), "unigram", vocab_size))


def train_marian_spm(folder: Path, vocab_size: int = STANDIN_VOCAB_SIZE) -> dict[str, int]:
    """Train a SentencePiece model with the sentencepiece library (Marian's own format).

    Writes ``source.spm`` and ``target.spm`` into ``folder`` (one shared model, as opus-mt en-de shares
    one vocabulary) and returns Marian's ``vocab.json``: ``</s>`` = 0, ``<unk>`` = 1, the pieces, ``<pad>`` last.
    """
    import sentencepiece as spm

    model = _train_spm(_corpus_lines(), "unigram", vocab_size, eos_id=0, unk_id=1)
    for name in ("source.spm", "target.spm"):
        (folder / name).write_bytes(model)
    proc = spm.SentencePieceProcessor(model_proto=model)
    vocab = {"</s>": 0, "<unk>": 1}
    for i in range(proc.get_piece_size()):
        vocab.setdefault(proc.id_to_piece(i), len(vocab))
    vocab["<pad>"] = len(vocab)
    return vocab


def build_tokenizer(entry: ModelEntry, out: Path) -> Any:
    """Train the stand-in's tokenizer in the real model's family and wrap it in the real tokenizer class."""
    import transformers

    spec = entry.standin
    family = spec.get("tokenizer", "none")
    cls = getattr(transformers, spec["tokenizer_class"]) if family != "none" else None
    common: dict[str, Any] = {
        "model_max_length": int(spec.get("model_max_length", 512)),
        **spec.get("tokenizer_kwargs", {}),
    }
    if cls is None:
        return None
    if family == "wordpiece":
        lower = bool(spec.get("lowercase", True))
        return cls(vocab=train_wordpiece(lowercase=lower), do_lower_case=lower, **common)
    if family in ("bpe", "bpe-gpt2"):
        vocab, merges = train_byte_bpe(_SPECIALS[family])
        return cls(vocab=vocab, merges=merges, **common)
    if family in ("unigram", "unigram-xlmr"):
        return cls(vocab=train_unigram(_SPECIALS[family]), **common)
    if family == "ctc-char":  # wav2vec2 CTC: one token per character, "|" between words, the vocabulary as listed
        vocab_file = out / "vocab.json"
        vocab_file.write_text(json.dumps({tok: i for i, tok in enumerate(spec["ctc_vocab"].split())}))
        return cls(vocab_file=str(vocab_file), **common)
    if family == "marian-spm":
        vocab_file = out / "vocab.json"
        vocab_file.write_text(json.dumps(train_marian_spm(out), ensure_ascii=False))
        return cls(
            source_spm=str(out / "source.spm"), target_spm=str(out / "target.spm"), vocab=str(vocab_file), **common
        )
    raise NotImplementedError(
        f"{entry.key}: stand-in tokenizer family {family!r} (known: wordpiece, bpe, bpe-gpt2, "
        "unigram, unigram-xlmr, marian-spm, ctc-char, none)"
    )


def _label_maps(spec: dict[str, Any]) -> dict[str, Any]:
    if spec.get("labels") == "coco-91":  # DETR's 91 COCO ids, "N/A" in the gaps (torchvision lists the same)
        import torchvision

        names = list(torchvision.models.detection.FasterRCNN_ResNet50_FPN_Weights.DEFAULT.meta["categories"])
        id2label = {i: ("N/A" if i == 0 else n) for i, n in enumerate(names)}
    else:
        id2label = {int(k): v for k, v in spec.get("id2label", {}).items()}
    if not id2label:
        return {}
    label2id = {v: k for k, v in id2label.items()}
    return {"id2label": id2label, "label2id": label2id}


def architecture_class(spec: dict[str, Any]) -> Any:
    """The model class a stand-in is built with: ``transformers.<architecture>``, or the class of that name in
    ``architecture_module`` for a library that builds on transformers (Chronos-Bolt in ``chronos.chronos_bolt``)."""
    import importlib

    import transformers

    module = importlib.import_module(spec["architecture_module"]) if "architecture_module" in spec else transformers
    return getattr(module, spec["architecture"])


def build_transformers(entry: ModelEntry, out: Path) -> None:
    """Build a tiny twin of a transformers model: real config class, architecture, tokenizer family,
    label names, special-token ids, generation config and image processor; small sizes, random weights.

    The ``[models.KEY.standin]`` table says how (see ``catalog.toml``): ``architecture``, ``model_type``,
    ``config`` (small sizes), ``tokenizer`` family + ``tokenizer_class``, ``token_ids`` (config fields given as
    tokens, e.g. ``decoder_start_token_id = "<pad>"``), ``generation`` (generation-config fields),
    ``id2label`` or ``labels``, ``image_processor`` and ``processor_class``; ``encoder``/``decoder`` sub-configs
    for a vision encoder-decoder.
    """
    import torch
    import transformers

    spec = entry.standin
    tokenizer = build_tokenizer(entry, out)
    ids: dict[str, Any] = {f: tokenizer.convert_tokens_to_ids(t) for f, t in spec.get("token_ids", {}).items()}
    if tokenizer is not None and "pad_token_id" not in ids and tokenizer.pad_token_id is not None:
        ids["pad_token_id"] = tokenizer.pad_token_id
    text_sizes: dict[str, Any] = {"vocab_size": len(tokenizer)} if tokenizer is not None else {}
    labels = _label_maps(spec)
    if spec["model_type"] == "vision-encoder-decoder":
        encoder = transformers.AutoConfig.for_model(**spec["encoder"])
        decoder = transformers.AutoConfig.for_model(**spec["decoder"], **text_sizes, **ids)
        config = transformers.VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
        for field, value in ids.items():
            setattr(config, field, value)
    else:
        config = transformers.AutoConfig.for_model(
            spec["model_type"], **text_sizes, **ids, **spec.get("config", {}), **labels
        )
    if "text_token_ids" in spec:  # composite configs (BLIP): the text model's vocabulary and ids live in text_config
        config.text_config.vocab_size = len(tokenizer)
        for field, token in spec["text_token_ids"].items():
            setattr(config.text_config, field, tokenizer.convert_tokens_to_ids(token))
    config.architectures = [spec["architecture"]]
    config.course_standin = f"{STANDIN_NOTE} (twin of {entry.id})"
    torch.manual_seed(0)
    model = architecture_class(spec)(config)
    if "generation" in spec or model.can_generate():
        generation = transformers.GenerationConfig.from_model_config(config)
        gen_ids = {
            f: v
            for f, v in ids.items()
            if f in ("bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id", "forced_eos_token_id")
        }
        settings = dict(spec.get("generation", {}))
        bad = settings.pop("bad_words", None)
        if bad:
            settings["bad_words_ids"] = [[tokenizer.convert_tokens_to_ids(t)] for t in bad]
        generation.update(**gen_ids, **settings)
        model.generation_config = generation
    with _no_progress_bars():
        model.save_pretrained(out)
    image_processor = None
    if "image_processor" in spec:
        ip = spec["image_processor"]
        image_processor = getattr(transformers, ip["class"])(**ip.get("kwargs", {}))
    elif "feature_extractor" in spec:  # audio models: the real feature extractor class with its settings
        fe = spec["feature_extractor"]
        image_processor = getattr(transformers, fe["class"])(**fe.get("kwargs", {}))
    if "processor_class" in spec:
        role = "feature_extractor" if "feature_extractor" in spec else "image_processor"
        parts = {role: image_processor, "tokenizer": tokenizer}
        processor = getattr(transformers, spec["processor_class"])(**{k: v for k, v in parts.items() if v is not None})
        processor.save_pretrained(out)
    else:
        for part in (tokenizer, image_processor):
            if part is not None:
                part.save_pretrained(out)


def build_timm(entry: ModelEntry, out: Path) -> None:
    """Build a randomly initialised timm model of the named architecture in timm's hub format."""
    import timm
    import torch
    from timm.models._hub import save_for_hf

    torch.manual_seed(0)
    model = timm.create_model(entry.id, pretrained=False)
    save_for_hf(model, str(out), safe_serialization=True)
    cfg_path = out / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["course_standin"] = f"{STANDIN_NOTE} (twin of timm/{entry.id})"
    cfg_path.write_text(json.dumps(cfg, indent=2))


def open_clip_repo(entry: ModelEntry) -> tuple[str, str]:
    """Return (hub repo id, weight file name) that open_clip downloads for ``entry``."""
    import open_clip

    cfg = open_clip.get_pretrained_cfg(entry.id, entry.revision)
    repo = str(cfg.get("hf_hub", "")).rstrip("/")
    if not repo:
        raise ValueError(f"open_clip {entry.id}/{entry.revision} is not hosted on the Hugging Face hub")
    return repo, "open_clip_model.safetensors"


def build_open_clip(entry: ModelEntry, out: Path) -> None:
    """Build a randomly initialised open_clip model (its name fixes the size) as the hub's safetensors file."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(0)
    model = open_clip.create_model(entry.id, pretrained=None)
    dtype = getattr(torch, str(entry.standin.get("dtype", "float32")))
    state = {k: v.detach().to(dtype).contiguous() for k, v in model.state_dict().items()}
    out.mkdir(parents=True, exist_ok=True)
    save_file(state, str(out / open_clip_repo(entry)[1]), metadata={"course_standin": STANDIN_NOTE})
    (out / "COURSE_STANDIN.txt").write_text(f"{STANDIN_NOTE} (twin of open_clip {entry.id}/{entry.revision})\n")


def torchvision_weights(entry: ModelEntry) -> Any:
    """Return the torchvision weights enum member named by ``entry.revision``."""
    import torchvision

    return torchvision.models.get_weight(entry.revision)


def build_torchvision(entry: ModelEntry, out_file: Path) -> None:
    """Save a random state dict of the torchvision architecture under the real checkpoint's file name."""
    import torch
    import torchvision

    weights = torchvision_weights(entry)
    kwargs = dict(entry.standin.get("build_kwargs", {}))
    kwargs.setdefault("num_classes", len(weights.meta["categories"]))
    torch.manual_seed(0)
    model = torchvision.models.get_model(entry.id, weights=None, weights_backbone=None, **kwargs)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out_file)
    mark_checkpoint(out_file, f"{STANDIN_NOTE} (twin of torchvision {entry.revision})")


def build_ultralytics(entry: ModelEntry, out_file: Path) -> None:
    """Build an ultralytics checkpoint from the model's YAML with random weights and the COCO class names."""
    import yaml
    from ultralytics import YOLO
    from ultralytics.utils import ROOT

    names_from = entry.standin.get("names", "coco")
    data_yaml = ROOT / "cfg" / "datasets" / f"{names_from}.yaml"
    names = yaml.safe_load(data_yaml.read_text())["names"]
    model = YOLO(entry.standin["yaml"])
    net: Any = model.model
    net.names = dict(names)
    net.args = {"course_standin": STANDIN_NOTE}
    out_file.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(out_file))
    mark_checkpoint(out_file, f"{STANDIN_NOTE} (twin of ultralytics {entry.id})")


# ---------------------------------------------------------------------------- telling a stand-in apart

#: A file a stand-in repo carries beside its weights (a hub or mirror serving a stand-in serves this file too).
MARKER_FILE = "COURSE_STANDIN.txt"
#: The record :func:`mark_checkpoint` adds to a torch checkpoint (a zip archive) that has no config to carry a note.
MARKER_RECORD = "course_standin.txt"


def _safetensors_note(path: Path) -> str:
    """The ``course_standin`` entry of a safetensors file's metadata ("" when there is none or it does not parse)."""
    try:
        with path.open("rb") as fh:
            size = int.from_bytes(fh.read(8), "little")
            if not 0 < size < 100_000_000:
                return ""
            header = json.loads(fh.read(size))
    except (OSError, ValueError):
        return ""
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return str(meta.get("course_standin", "")) if isinstance(meta, dict) else ""


def _zip_note(path: Path) -> str:
    """The text of :data:`MARKER_RECORD` in a torch zip checkpoint ("" when absent or not a zip file)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.rsplit("/", 1)[-1] == MARKER_RECORD:
                    return archive.read(name).decode("utf-8", "replace")
    except (OSError, zipfile.BadZipFile):
        return ""
    return ""


def standin_marker(path: Path) -> str:
    """The stand-in note a copy carries, or "" for a copy with no marker (real weights).

    A stand-in says what it is wherever it went, also after a download from a hub or a mirror that served it: a
    folder by :data:`MARKER_FILE`, by ``course_standin`` in ``config.json`` (transformers, timm) or in a
    safetensors file's metadata (open_clip); a single checkpoint file (torchvision, ultralytics, TabPFN) by
    :data:`MARKER_RECORD` inside it (see :func:`mark_checkpoint`).
    """
    path = Path(path)
    if path.is_dir():
        marker = path / MARKER_FILE
        if marker.is_file():
            return marker.read_text(encoding="utf-8", errors="replace").strip() or STANDIN_NOTE
        config = path / "config.json"
        if config.is_file():
            try:
                note = json.loads(config.read_text(encoding="utf-8")).get("course_standin", "")
            except (ValueError, AttributeError):
                note = ""
            if note:
                return str(note)
        for weights in sorted(path.glob("*.safetensors")):
            note = _safetensors_note(weights)
            if note:
                return note
        return ""
    if path.is_file():
        return _safetensors_note(path) if path.suffix == ".safetensors" else _zip_note(path)
    return ""


def mark_checkpoint(path: Path, note: str = STANDIN_NOTE) -> None:
    """Add :data:`MARKER_RECORD` to a torch checkpoint (``torch.save``'s zip format); ``torch.load`` ignores it.

    Idempotent. Raises ``ValueError`` for a file that is not a zip archive (a legacy pickle checkpoint).
    """
    import zipfile

    if not zipfile.is_zipfile(path):  # checked first: mode "a" would wrap any other file in a new archive
        raise ValueError(f"{path} is not a torch zip checkpoint; cannot mark it as a stand-in")
    if _zip_note(path):
        return
    with zipfile.ZipFile(path, "a") as archive:
        prefix = archive.namelist()[0].split("/", 1)[0]
        archive.writestr(f"{prefix}/{MARKER_RECORD}", note)


def build_tabpfn(entry: ModelEntry, out_file: Path) -> None:
    """A TabPFN v2 classifier checkpoint with random weights, one narrow layer, marked as a stand-in.

    The course never runs it offline (TabPFN's whole point is its pre-training: offline its cells skip); it exists
    so that a local test hub can serve TabPFN's download, and the course can show that it tells it apart. TabPFN
    builds the network from the checkpoint's config, so download, load, fit and predict run TabPFN's own code as
    with the real checkpoint. One layer of width 32 keeps notebook 21's ten cross-validation fits cheap on one CPU
    thread (two layers of the real width made each fit about ten times slower).
    """
    import dataclasses

    import torch
    from tabpfn.architectures import tabpfn_v2

    config, _ = tabpfn_v2.parse_config({"max_num_classes": 10, "nlayers": 1, "emsize": 32, "nhead": 2})
    torch.manual_seed(0)
    model = tabpfn_v2.get_architecture(config)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": model.state_dict(), "config": dataclasses.asdict(config)}, out_file)
    mark_checkpoint(out_file, f"{STANDIN_NOTE} (twin of {entry.id})")
