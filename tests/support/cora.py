"""A stand-in for the Cora citation graph in Planetoid's own file format, for the local test hub.

Same shape and files as the real data set that PyG's ``Planetoid(root, "Cora")`` downloads: 2,708 nodes, 1,433
binary word features, 7 classes of the real sizes, about 5,300 undirected edges; ``ind.cora.{x,tx,allx,y,ty,ally,
graph}`` as Python pickles and ``ind.cora.test.index`` as text, with the real split sizes (140 labelled training
nodes, 1,000 test nodes among the last 1,000 ids, in shuffled order). The content is generated: each class prefers
its own words and most edges join nodes of one class, so a GCN can learn it, as it can on the real graph. It is not
Cora: no number computed on it says anything about the paper's benchmark.
"""

from __future__ import annotations

import pickle
from collections import defaultdict
from pathlib import Path

import numpy as np

NODES, FEATURES, CLASSES = 2708, 1433, 7
#: Nodes per class in the real Cora (they add up to 2,708).
CLASS_SIZES = (818, 426, 418, 351, 298, 217, 180)
EDGES = 5278
TRAIN, TEST = 140, 1000
#: Where PyG's Planetoid downloads the files from (``Planetoid.url``).
PLANETOID_URL = "https://github.com/kimiyoung/planetoid/raw/master/data"
NAMES = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")


def write_cora(folder: Path, seed: int = 0) -> dict[str, Path]:
    """Write the eight ``ind.cora.*`` files into ``folder``; return {download URL: file}."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(CLASSES), CLASS_SIZES))
    # The training nodes (the first 140 ids) are 20 per class, as in Planetoid's public split.
    first = np.concatenate([np.flatnonzero(labels == c)[:20] for c in range(CLASSES)])
    order = np.concatenate([first, np.setdiff1d(np.arange(NODES), first)])
    labels = labels[order]

    pools = [rng.choice(FEATURES, 150, replace=False) for _ in range(CLASSES)]
    x = np.zeros((NODES, FEATURES), dtype=np.float32)
    for node, c in enumerate(labels):
        own = rng.choice(pools[c], 9, replace=False)
        other = rng.choice(FEATURES, 9, replace=False)
        x[node, np.concatenate([own, other])] = 1.0

    by_class = [np.flatnonzero(labels == c) for c in range(CLASSES)]
    edges: set[tuple[int, int]] = set()
    while len(edges) < EDGES:
        a = int(rng.integers(NODES))
        b = int(rng.choice(by_class[labels[a]])) if rng.random() < 0.8 else int(rng.integers(NODES))
        if a != b:
            edges.add((min(a, b), max(a, b)))
    graph: defaultdict[int, list[int]] = defaultdict(list)
    for a, b in sorted(edges):
        graph[a].append(b)
        graph[b].append(a)
    for node in range(NODES):
        graph.setdefault(node, [])

    onehot = np.eye(CLASSES, dtype=np.int64)[labels]
    # Planetoid's files: the test nodes are the last 1,000 ids, listed in shuffled order, and stored in that order.
    test_index = rng.permutation(np.arange(NODES - TEST, NODES))
    rest = np.arange(NODES - TEST)
    arrays = {
        "x": sp.csr_matrix(x[:TRAIN]),
        "allx": sp.csr_matrix(x[rest]),
        "tx": sp.csr_matrix(x[test_index]),
        "y": onehot[:TRAIN],
        "ally": onehot[rest],
        "ty": onehot[test_index],
        "graph": graph,
    }
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in NAMES:
        path = folder / f"ind.cora.{name}"
        if name == "test.index":
            path.write_text("".join(f"{i}\n" for i in test_index))
        else:
            with path.open("wb") as fh:
                pickle.dump(arrays[name], fh, protocol=2)
        out[f"{PLANETOID_URL}/ind.cora.{name}"] = path
    return out
