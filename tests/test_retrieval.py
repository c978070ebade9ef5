"""Retrieval maths on matrices whose answers are known by hand."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.measure import loglog_slope, median_seconds
from course_utils.retrieval import neighbour_recall, precision_at_k, rank, recall_at_k

SIM = np.array(
    [
        [0.9, 0.1, 0.3, 0.0],  # query 0: item 0 first
        [0.2, 0.1, 0.8, 0.5],  # query 1: order 2, 3, 0, 1
        [0.4, 0.4, 0.1, 0.9],  # query 2: order 3, then a tie 0/1 (lower index first), 2
    ]
)


def test_rank_orders_by_similarity_and_breaks_ties_by_index() -> None:
    assert rank(SIM).tolist() == [[0, 2, 1, 3], [2, 3, 0, 1], [3, 0, 1, 2]]
    assert rank(SIM, k=2).tolist() == [[0, 2], [2, 3], [3, 0]]
    with pytest.raises(ValueError, match="matrix"):
        rank(np.zeros(3))


def test_recall_at_k_counts_queries_whose_item_is_in_the_top_k() -> None:
    right = [0, 1, 2]  # query 0 ranks it 1st, query 1 ranks it 4th, query 2 ranks it 4th
    assert recall_at_k(SIM, right, k=1) == pytest.approx(1 / 3)
    assert recall_at_k(SIM, right, k=3) == pytest.approx(1 / 3)
    assert recall_at_k(SIM, right, k=4) == 1.0
    assert recall_at_k(SIM, [0, 2, 3], k=1) == 1.0


def test_recall_with_several_right_items_and_precision() -> None:
    mask = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1]], dtype=bool)
    assert recall_at_k(SIM, mask, k=1) == pytest.approx(2 / 3)  # query 1's top item (2) is wrong
    assert recall_at_k(SIM, mask, k=3) == 1.0
    assert precision_at_k(SIM, mask, k=2) == pytest.approx((1 / 2 + 0 + 1 / 2) / 3)


def test_bad_relevance_and_k_are_refused() -> None:
    with pytest.raises(ValueError, match="outside the gallery"):
        recall_at_k(SIM, [0, 1, 4], k=1)
    with pytest.raises(ValueError, match="one gallery index per query"):
        recall_at_k(SIM, [0, 1], k=1)
    with pytest.raises(ValueError, match="at least 1"):
        recall_at_k(SIM, [0, 1, 2], k=0)


def test_neighbour_recall_against_exact_search() -> None:
    exact = np.array([[1, 2, 3], [4, 5, 6]])
    assert neighbour_recall(exact, exact) == 1.0
    assert neighbour_recall(np.array([[3, 2, 9], [-1, -1, 4]]), exact) == pytest.approx((2 + 1) / 6)
    with pytest.raises(ValueError):
        neighbour_recall(exact[:, :2], exact)


def test_loglog_slope_recovers_a_power_law() -> None:
    x = np.array([1e3, 1e4, 1e5])
    assert loglog_slope(x, 3 * x) == pytest.approx(1.0)
    assert loglog_slope(x, 5 * np.sqrt(x)) == pytest.approx(0.5)
    assert loglog_slope(x, np.full(3, 2.0)) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="positive"):
        loglog_slope([1, 2], [0, 1])


def test_median_seconds_runs_warmup_then_repeats() -> None:
    calls: list[int] = []
    seconds = median_seconds(lambda: calls.append(1), repeats=3, warmup=2)
    assert len(calls) == 5 and seconds >= 0
