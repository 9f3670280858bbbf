"""Fusion: one score per row from the ranked lists of the dense and the lexical route.

`fuse` is a pure function over two lists of `(row, score)`, best first, so any engine (FAISS + bm25s
here, another vector store later) can hand its lists over. The default rule adapts to each question
and corpus from the scores themselves, with no weight tuned on one corpus:

1. Per-question z-scores. Each route's scores become (s - mean) / std over its list. Unlike min-max
   (every list's top gets 1, however weak) or ranks (RRF), a z-score keeps how far a route's best
   candidates stand above its others for this question: a question that shares rare words with one
   clause gives BM25 an outstanding top; a paraphrase that shares only common words gives it a flat
   list. It is invariant to scaling and shifting either route's scores, so no constant depends on the
   embedding model's cosine range or on BM25's scale.
2. Every candidate scored on both routes. `complete` has each route score the candidates only the
   other found (a dot product with the stored vector; a lookup in the BM25 scores already computed), so
   a candidate's missing score is not guessed. An engine that cannot do that may pass the lists as
   they are: a row missing from a list then gets that list's lowest z.
3. Lexical evidence only promotes. A lexical z below 0 (below the candidates' average) counts as 0:
   shared rare words are evidence for a clause, but their absence is weak evidence against it, since a
   question may paraphrase the clause (楼上扔东西 for 从建筑物中抛掷物品).
4. Weighted by agreement. The lexical route's weight is the share of its `agreement` best candidates
   (5: the clauses an answer is built from) that the dense route also returned among its `depth`
   best. Keyword coincidences that are semantically off the question (none of BM25's top five among
   the dense route's hundred) then move the ranking little; where the routes agree, both count fully.

Measured on the seeds, the field cases and a laws slice (`python -m eval.tune_fusion`, README
"Fusion"): each step is as good or better than the one before on all three; min-max with BM25 weight 3
(the earlier default, tuned on the 193 seed clauses) and RRF are kept as named methods.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

METHODS = ("zscore", "score", "rrf")
Ranked = Sequence[tuple[int, float]]
Scorer = Callable[[list[int]], Sequence[float]]


@dataclass(frozen=True)
class FusionWeights:
    """How the dense and the lexical ranked lists combine (see the module docstring).

    method "zscore": sum of per-list z-scores; "score": min-max per list, weighted sum; "rrf":
    Σ weight / (k0 + rank). `dense` and `bm25` weight the routes; `depth` is how many candidates each
    route hands over; `agreement` > 0 scales the lexical weight by the share of its top `agreement`
    candidates among the dense route's top `depth`; `union`: the retriever has each route score the
    other's candidates (`complete`); `lexical_floor`: zscore lexical values below it are raised to it."""

    method: str = "zscore"
    dense: float = 1.0
    bm25: float = 1.0
    k0: float = 60.0  # RRF's offset (Cormack et al. 2009); unused by the other methods
    depth: int = 100
    agreement: int = 5
    union: bool = True
    lexical_floor: float | None = 0.0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown fusion method {self.method!r}; use one of {', '.join(METHODS)}")


def complete(dense: Ranked, lexical: Ranked, dense_score: Scorer,
             lexical_score: Scorer) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    """Both lists extended to the union of their rows: each route scores (`dense_score` /
    `lexical_score`: rows → scores) the candidates only the other found. Each list keeps its own
    candidates first, in their order, then the added ones best first."""
    d_rows, l_rows = {r for r, _ in dense}, {r for r, _ in lexical}
    out = []
    for own, rows, score in ((dense, sorted(l_rows - d_rows), dense_score),
                             (lexical, sorted(d_rows - l_rows), lexical_score)):
        added = sorted(zip(rows, map(float, score(rows))), key=lambda rs: -rs[1]) if rows else []
        out.append(list(own) + added)
    return out[0], out[1]


def agreement(dense: Ranked, lexical: Ranked, top: int, depth: int) -> float:
    """Share of the lexical route's `top` best rows that are among the dense route's `depth` best."""
    semantic = {row for row, _ in list(dense)[:depth]}
    best = [row for row, _ in list(lexical)[:top]]
    return sum(row in semantic for row in best) / len(best) if best else 0.0


def _minmax(values: list[float]) -> list[float]:
    low, span = min(values), (max(values) - min(values)) or 1.0
    return [(v - low) / span for v in values]


def _zscores(values: list[float]) -> list[float]:
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)) or 1.0
    return [(v - mean) / std for v in values]


def fuse(dense: Ranked | None, lexical: Ranked | None, weights: FusionWeights = FusionWeights()) -> dict[int, float]:
    """{row: fused score} over every row either route returned; None means the route was not run
    (one route alone keeps its order). Higher is better; only the order has a meaning."""
    w_lexical = weights.bm25
    if dense and lexical and weights.agreement:
        w_lexical *= agreement(dense, lexical, weights.agreement, weights.depth)
    lists = [(list(r), w, lex) for r, w, lex in ((dense, weights.dense, False), (lexical, w_lexical, True)) if r is not None]
    if len(lists) == 1:
        lists = [(lists[0][0], 1.0, False)]
    scores: dict[int, float] = {}
    if weights.method == "rrf":
        for ranked, w, _ in lists:
            for pos, (row, _) in enumerate(ranked, start=1):
                scores[row] = scores.get(row, 0.0) + w / (weights.k0 + pos)
        return scores
    lists = [item for item in lists if item[0]]
    rows = {row for ranked, _, _ in lists for row, _ in ranked}
    for ranked, w, lex in lists:
        values = (_zscores if weights.method == "zscore" else _minmax)([v for _, v in ranked])
        if lex and weights.method == "zscore" and weights.lexical_floor is not None:
            values = [max(v, weights.lexical_floor) for v in values]
        own = {row: v for (row, _), v in zip(ranked, values)}
        missing = min(values) if weights.method == "zscore" else 0.0  # ranked below everything it returned
        for row in rows:
            scores[row] = scores.get(row, 0.0) + w * own.get(row, missing)
    return scores
