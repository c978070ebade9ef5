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

import json
from pathlib import Path
from typing import Any

from .catalog import ModelEntry
from .paths import repo_root

#: Written into every stand-in's config so that code (and people) can tell it apart.
STANDIN_NOTE = "course stand-in: random weights with the real architecture; outputs are meaningless"

_CORPUS = Path(__file__).with_name("data") / "standin_corpus.txt"

_WORDPIECE_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _corpus_lines() -> list[str]:
    lines = _CORPUS.read_text(encoding="utf-8").splitlines()
    # Notebook prose adds the words the course's demos actually use.
    nb_dir = repo_root() / "notebooks"
    if nb_dir.is_dir():
        for nb in sorted(nb_dir.glob("*.ipynb")):
            try:
                cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
            except (OSError, ValueError, KeyError):
                continue
            lines.extend("".join(c.get("source", "")) for c in cells)
    return lines


def train_wordpiece(lowercase: bool, vocab_size: int = 1000) -> Any:
    """Train a BERT-style WordPiece vocabulary on the course corpus; return ``{token: id}``."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=_WORDPIECE_SPECIALS)
    tok.train_from_iterator(_corpus_lines(), trainer=trainer)
    return tok.get_vocab()


def build_transformers(entry: ModelEntry, out: Path) -> None:
    """Build a tiny twin of a transformers model: real config class and architecture, small sizes."""
    import torch
    import transformers

    spec = entry.standin
    if spec.get("tokenizer") != "wordpiece":
        raise NotImplementedError(
            f"{entry.key}: stand-in tokenizer {spec.get('tokenizer')!r} has no builder yet (wordpiece has)"
        )
    vocab = train_wordpiece(lowercase=bool(spec.get("lowercase", True)))
    tokenizer_cls = getattr(transformers, spec["tokenizer_class"])
    tokenizer = tokenizer_cls(
        vocab=vocab,
        do_lower_case=bool(spec.get("lowercase", True)),
        model_max_length=int(spec.get("model_max_length", 512)),
    )
    id2label = {int(k): v for k, v in spec.get("id2label", {}).items()}
    config = transformers.AutoConfig.for_model(
        spec["model_type"],
        vocab_size=len(vocab),
        pad_token_id=vocab["[PAD]"],
        **spec.get("config", {}),
        **({"id2label": id2label, "label2id": {v: k for k, v in id2label.items()}} if id2label else {}),
    )
    config.architectures = [spec["architecture"]]
    config.course_standin = f"{STANDIN_NOTE} (twin of {entry.id})"
    torch.manual_seed(0)
    model = getattr(transformers, spec["architecture"])(config)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


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
