"""Batching by token count, shared by every embedder (sentence-transformers and ONNX Runtime).

Its own module so that the embedders import it and not each other: `index.embedder.make_embedder`
picks the ONNX path, and the ONNX embedder needs only this.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


def encode_by_length(texts: Sequence[str], counts: Callable[[list[str]], list[int]],
                     encode: Callable[[list[str]], np.ndarray], batch_size: int, dimension: int,
                     progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Vectors for `texts` in their order, encoding each distinct text once in batches of texts with
    similar token counts (`counts`). sentence-transformers sorts by characters, which for text mixing
    Chinese, digits and Latin letters left ~19% of a batch as padding on the laws corpus; by tokens ~3%."""
    unique = list(dict.fromkeys(texts))
    vectors = np.zeros((len(unique), dimension), dtype=np.float32)
    tokens = counts(unique) if unique else []
    order = sorted(range(len(unique)), key=tokens.__getitem__)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        vectors[idx] = encode([unique[i] for i in idx])
        if progress:
            progress(len(idx))
    if len(texts) == len(unique):
        return vectors
    if progress:
        progress(len(texts) - len(unique))  # repeated texts reuse the first one's vector
    row = {text: n for n, text in enumerate(unique)}
    return vectors[[row[t] for t in texts]]
