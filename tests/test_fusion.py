"""Fusion (index/fusion.py): hand-computed values, invariances, and each part of the default rule."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from index.fusion import FusionWeights, agreement, complete, fuse

PLAIN = FusionWeights(agreement=0, union=False, lexical_floor=None)


def order(scores: dict[int, float]) -> list[int]:
    return [row for row, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))]


def test_zscore_hand_computed() -> None:
    dense = [(1, 0.9), (2, 0.8), (3, 0.7)]  # z: 1.2247, 0, -1.2247
    lexical = [(3, 10.0), (4, 0.0)]  # z: 1, -1
    s = fuse(dense, lexical, PLAIN)
    assert s[1] == pytest.approx(1.2247449 - 1.0)  # missing from the lexical list: its lowest z
    assert s[2] == pytest.approx(0.0 - 1.0)
    assert s[3] == pytest.approx(-1.2247449 + 1.0)
    assert s[4] == pytest.approx(-1.2247449 - 1.0)  # missing from the dense list: its lowest z
    assert order(s) == [1, 3, 2, 4]


def test_zscore_ignores_each_routes_scale_and_shift() -> None:
    rng = random.Random(3)
    for _ in range(50):
        dense = sorted(((i, rng.random()) for i in range(20)), key=lambda x: -x[1])
        lexical = sorted(((i, rng.random() * 30) for i in range(10, 40)), key=lambda x: -x[1])
        base = order(fuse(dense, lexical))
        a, b = rng.uniform(0.1, 5), rng.uniform(-3, 3)
        assert order(fuse([(r, a * v + b) for r, v in dense], [(r, a * 7 * v) for r, v in lexical])) == base


def test_one_route_keeps_its_order() -> None:
    lexical = [(5, 9.0), (2, 3.0), (7, 1.0)]
    for method in ("zscore", "score", "rrf"):
        assert order(fuse(None, lexical, FusionWeights(method=method))) == [5, 2, 7]
        assert order(fuse(lexical, None, FusionWeights(method=method))) == [5, 2, 7]
    assert fuse([], [(1, 2.0)]) == {1: 0.0}  # an empty route adds nothing


def test_rrf_and_minmax_hand_computed() -> None:
    dense, lexical = [(1, 0.9), (2, 0.5)], [(2, 4.0), (3, 2.0)]
    rrf = fuse(dense, lexical, replace(PLAIN, method="rrf", k0=60.0))
    assert rrf == pytest.approx({1: 1 / 61, 2: 1 / 62 + 1 / 61, 3: 1 / 62})
    mm = fuse(dense, lexical, replace(PLAIN, method="score", bm25=3.0))
    assert mm == pytest.approx({1: 1.0, 2: 0.0 + 3.0, 3: 0.0})


def test_complete_scores_the_other_routes_candidates() -> None:
    dense, lexical = [(1, 0.9), (2, 0.8)], [(3, 7.0), (2, 5.0)]
    d, l = complete(dense, lexical, lambda rows: [0.1 * r for r in rows], lambda rows: [float(r) for r in rows])
    assert d == [(1, 0.9), (2, 0.8), (3, pytest.approx(0.3))]
    assert l == [(3, 7.0), (2, 5.0), (1, 1.0)]
    assert complete(dense, [], lambda rows: [], lambda rows: [0.0] * len(rows)) == (dense, [(1, 0.0), (2, 0.0)])


def test_agreement_is_the_share_of_lexical_tops_the_dense_route_found() -> None:
    dense = [(r, 1.0 - r / 100) for r in range(10)]
    assert agreement(dense, [(3, 9.0), (50, 8.0), (4, 7.0), (60, 6.0)], top=4, depth=10) == 0.5
    assert agreement(dense, [(3, 9.0), (50, 8.0)], top=4, depth=3) == 0.0  # row 3 is the dense route's 4th
    assert agreement(dense, [], top=5, depth=10) == 0.0


def test_keyword_coincidence_off_the_dense_route_moves_little() -> None:
    # The dense route prefers row 0; BM25's favourites (rows 100-102) are nowhere in its candidates.
    dense = [(r, 0.90 - r * 0.001) for r in range(100)]
    dense[0] = (0, 0.92)
    lexical = [(100 + r, 30.0 - r) for r in range(3)] + [(r, 1.0) for r in range(1, 60)]
    assert agreement(dense, lexical, 5, 100) == 0.4
    assert order(fuse(dense, lexical, PLAIN))[:3] == [100, 101, 102]  # equal weights: the coincidence wins
    assert order(fuse(dense, lexical, replace(PLAIN, agreement=5)))[:3] == [0, 1, 2]


def test_lexical_floor_means_no_shared_words_is_no_penalty() -> None:
    # Row 1 is the dense route's best but shares no word with the question (a paraphrase).
    dense = [(1, 0.99), (2, 0.90), (3, 0.89), (4, 0.70)]
    lexical = [(2, 3.0), (3, 3.0), (4, 3.0), (1, 0.0)]
    assert order(fuse(dense, lexical, PLAIN))[0] == 2
    assert order(fuse(dense, lexical, replace(PLAIN, lexical_floor=0.0)))[0] == 1


def test_default_is_the_measured_rule() -> None:
    w = FusionWeights()
    assert (w.method, w.dense, w.bm25, w.agreement, w.union, w.lexical_floor) == ("zscore", 1.0, 1.0, 5, True, 0.0)
    with pytest.raises(ValueError, match="unknown fusion method 'mean'; use one of zscore, score, rrf"):
        FusionWeights(method="mean")
