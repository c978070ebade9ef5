"""Retrieval maths for notebooks 13-15: ranking from a similarity matrix, recall@k, neighbour recall.

The notebooks compute similarities with the real libraries (open_clip, transformers, FAISS); these
helpers only score what they return (timing lives in :mod:`course_utils.measure`)::

    >>> import numpy as np
    >>> sim = np.array([[0.9, 0.1, 0.3], [0.2, 0.1, 0.8]])   # 2 queries x 3 gallery items
    >>> recall_at_k(sim, [0, 1], k=1)                         # query 0 finds item 0; query 1 ranks item 1 last
    0.5
    >>> recall_at_k(sim, [0, 1], k=3)
    1.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["neighbour_recall", "precision_at_k", "rank", "recall_at_k"]


def rank(similarity: npt.ArrayLike, k: int | None = None) -> npt.NDArray[np.int64]:
    """Gallery indices of each query, most similar first (ties: the lower index first); the top ``k`` if given.

    Args:
        similarity: ``(queries, gallery)`` scores, higher = more similar.
        k: keep the first ``k`` columns (all when ``None``).
    """
    sim = np.asarray(similarity, dtype=np.float64)
    if sim.ndim != 2:
        raise ValueError(f"similarity must be a (queries, gallery) matrix, got shape {sim.shape}")
    order = np.argsort(-sim, axis=1, kind="stable")
    return order if k is None else order[:, :k]


def _relevance_mask(relevant: npt.ArrayLike | Sequence[Any], shape: tuple[int, int]) -> npt.NDArray[np.bool_]:
    """``relevant`` as a ``(queries, gallery)`` boolean mask (from one index per query, or from a mask)."""
    rel = np.asarray(relevant)
    if rel.shape == shape:
        return rel.astype(bool)
    if rel.ndim == 1 and rel.shape[0] == shape[0] and np.issubdtype(rel.dtype, np.integer):
        if rel.min(initial=0) < 0 or rel.max(initial=0) >= shape[1]:
            raise ValueError(f"a relevant index lies outside the gallery of {shape[1]} items")
        mask = np.zeros(shape, dtype=bool)
        mask[np.arange(shape[0]), rel] = True
        return mask
    raise ValueError(
        f"relevant must hold one gallery index per query ({shape[0]} integers) or a {shape} boolean mask, "
        f"got shape {rel.shape}"
    )


def recall_at_k(similarity: npt.ArrayLike, relevant: npt.ArrayLike | Sequence[Any], k: int) -> float:
    """Fraction of queries with at least one relevant gallery item among their ``k`` most similar.

    Args:
        similarity: ``(queries, gallery)`` scores.
        relevant: the right gallery index of each query, or a ``(queries, gallery)`` boolean mask
            when a query has several right answers (e.g. every image of the same class).
        k: how many of the top-ranked items count (``1 <= k``).
    """
    sim = np.asarray(similarity, dtype=np.float64)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    mask = _relevance_mask(relevant, sim.shape)  # type: ignore[arg-type]
    top = rank(sim, k)
    hits = np.take_along_axis(mask, top, axis=1).any(axis=1)
    return float(hits.mean())


def precision_at_k(similarity: npt.ArrayLike, relevant: npt.ArrayLike | Sequence[Any], k: int) -> float:
    """Mean fraction of relevant items among each query's ``k`` most similar (same arguments as :func:`recall_at_k`)."""
    sim = np.asarray(similarity, dtype=np.float64)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    mask = _relevance_mask(relevant, sim.shape)  # type: ignore[arg-type]
    return float(np.take_along_axis(mask, rank(sim, k), axis=1).mean())


def neighbour_recall(found: npt.ArrayLike, exact: npt.ArrayLike) -> float:
    """Recall of an approximate index against exact search: the mean share of the true ``k`` neighbours it found.

    Args:
        found: ``(queries, k)`` ids returned by the approximate index (``-1`` = no result, as FAISS pads).
        exact: ``(queries, k)`` ids of exact search.
    """
    f, e = np.asarray(found), np.asarray(exact)
    if f.shape != e.shape or f.ndim != 2:
        raise ValueError(f"found {f.shape} and exact {e.shape} must both be (queries, k)")
    shared = [len(set(a[a >= 0].tolist()) & set(b.tolist())) for a, b in zip(f, e, strict=True)]
    return float(np.mean(shared) / e.shape[1])
