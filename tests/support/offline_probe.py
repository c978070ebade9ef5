# mypy: disable-error-code="attr-defined, union-attr, arg-type, index, call-overload, list-item, misc, func-returns-value"
# (this test feeds libraries values their stubs describe more narrowly than they accept, or wrong types on purpose)
"""Run in a fresh process by test_offline.py: load one model of each loader offline, report as JSON.

Each section uses the library's canonical call with the catalog's id, exactly as a notebook does.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from course_utils import setup

KEYS = sys.argv[1].split(",")
session = setup(models=KEYS)
report: dict[str, dict[str, object]] = {}
m = session.models

if "distilbert-sst2" in KEYS:
    from transformers import pipeline

    e = m["distilbert-sst2"]
    clf = pipeline("sentiment-analysis", model=e.id, revision=e.revision)
    out = clf(["I love it", "I hate it"])
    report["transformers"] = {
        "tier": e.tier,
        "labels": sorted(clf.model.config.id2label.values()),
        "predicted": [o["label"] for o in out],
        "scores": [o["score"] for o in out],
        "architecture": type(clf.model).__name__,
        "tokenizer": type(clf.tokenizer).__name__,
        "max_length": clf.tokenizer.model_max_length,
        "specials": [
            clf.tokenizer.cls_token,
            clf.tokenizer.sep_token,
            clf.tokenizer.pad_token,
            clf.tokenizer.mask_token,
        ],
        "standin_note": getattr(clf.model.config, "course_standin", ""),
    }

if "minilm-l6" in KEYS:
    from sentence_transformers import SentenceTransformer

    e = m["minilm-l6"]
    enc = SentenceTransformer(e.id)
    v = enc.encode(
        ["A man is eating food.", "Someone is having a meal.", "The stock market crashed."], normalize_embeddings=True
    )
    report["sentence-transformers"] = {
        "tier": e.tier,
        "dim": int(v.shape[1]),
        "paraphrase": float(v[0] @ v[1]),
        "unrelated": float(v[0] @ v[2]),
    }

if "efficientnet-lite0" in KEYS:
    import timm
    import torch
    from PIL import Image
    from skimage import data

    e = m["efficientnet-lite0"]
    net = timm.create_model(e.id, pretrained=True).eval()
    cfg = timm.data.resolve_data_config({}, model=net)
    x = timm.data.create_transform(**cfg)(Image.fromarray(data.chelsea())).unsqueeze(0)
    with torch.inference_mode():
        top = net(x).softmax(-1).topk(3)
    report["timm"] = {"tier": e.tier, "top3": [int(i) for i in top.indices[0]], "p": float(top.values[0, 0])}

if "deeplabv3-mbv3" in KEYS:
    import torch
    import torchvision

    e = m["deeplabv3-mbv3"]
    weights = torchvision.models.get_weight(e.revision)
    seg = torchvision.models.get_model(e.id, weights=weights).eval()
    with torch.inference_mode():
        out = seg(torch.rand(1, 3, 96, 128))["out"]
    report["torchvision"] = {"tier": e.tier, "shape": list(out.shape), "classes": len(weights.meta["categories"])}

if "yolov8n" in KEYS:
    from skimage import data
    from ultralytics import YOLO

    e = m["yolov8n"]
    det = YOLO(e.id)
    img = data.astronaut()
    res = det.predict(img, conf=0.0, verbose=False)[0]
    boxes = res.boxes.xyxy.numpy()
    report["ultralytics"] = {
        "tier": e.tier,
        "names": len(det.names),
        "first": det.names[0],
        "last": det.names[79],
        "n_boxes": int(len(boxes)),
        "inside": bool(
            len(boxes) == 0
            or (
                (boxes >= -1).all()
                and (boxes[:, [0, 2]] <= img.shape[1] + 1).all()
                and (boxes[:, [1, 3]] <= img.shape[0] + 1).all()
            )
        ),
    }

if "clip-vit-b32" in KEYS:
    import open_clip
    import torch
    from PIL import Image
    from skimage import data

    e = m["clip-vit-b32"]
    model, _, preprocess = open_clip.create_model_and_transforms(e.id, pretrained=e.revision)
    tokenizer = open_clip.get_tokenizer(e.id)
    with torch.inference_mode():
        img = model.encode_image(preprocess(Image.fromarray(data.chelsea())).unsqueeze(0))
        txt = model.encode_text(tokenizer(["a photo of a cat", "a photo of a rocket"]))
    report["open_clip"] = {
        "tier": e.tier,
        "image": list(img.shape),
        "text": list(txt.shape),
        "finite": bool(np.isfinite(img.numpy()).all()),
    }

# Imported here, after setup(), as a notebook does: the first-run test reads whether building stand-ins left
# transformers' progress bars switched on.
from transformers.utils import logging as hf_logging  # noqa: E402

report["progress_bars_on"] = hf_logging.is_progress_bar_enabled()  # type: ignore[assignment]
print("REPORT " + json.dumps(report))
