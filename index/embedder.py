"""The embedding seam: anything with `embed_passages` and `embed_query` returning unit vectors.

`SentenceTransformerEmbedder` wraps any sentence-transformers model name or folder (the default is
the multilingual-e5-small folder that `make setup` builds). `HashingEmbedder` is a small real
embedder for tests: character bigrams hashed into a fixed number of buckets, instant and
deterministic, good enough to rank clauses that share words with the question.
"""

from __future__ import annotations

import hashlib
import sys
import threading
import zlib
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from index.batching import encode_by_length
from policyqa.errors import ModelMissingError

INT8 = "+int8"  # suffix of an embedding model name: load it with int8 Linear layers


class Embedder(Protocol):
    """Turns passages and queries into L2-normalised float32 vectors of one fixed dimension."""

    name: str
    dimension: int

    def embed_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded once on first use; uses the model's query/passage prompts."""

    def __init__(self, model: str, *, batch_size: int = 16, device: str = "cpu", int8: bool = False) -> None:
        self.name = model + INT8 if int8 else model  # what the index manifest records
        self.path = model
        self.int8 = int8
        self.batch_size = batch_size
        self.device = device
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                if not sys.stderr.isatty():  # a progress bar only where a person watches, not in logs
                    hf_logging.disable_progress_bar()
                looks_local = "/" in self.path or self.path.startswith(".")
                if looks_local and not Path(self.path).exists():
                    raise ModelMissingError(
                        f"embedding model folder not found: {self.path} (run `make setup` to build it, "
                        "or set POLICYQA_EMBEDDING_MODEL to a sentence-transformers model name or path)"
                    )
                try:
                    model = SentenceTransformer(self.path, device=self.device)
                except OSError as exc:
                    raise ModelMissingError(f"cannot load embedding model '{self.path}': {exc}") from exc
                self._model = quantized(model) if self.int8 else model
        return self._model

    @property
    def dimension(self) -> int:
        """Vector size reported by the model."""
        model = self._load()
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim())

    def _prompt(self, kind: str) -> str | None:
        prompts = getattr(self._load(), "prompts", None) or {}
        return kind if kind in prompts else None

    def embed_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Encode passages in batches of similar token count, each distinct text once;
        `progress(n)` after each batch."""
        model = self._load()
        prompt = self._prompt("passage") or self._prompt("document")
        prefix = (getattr(model, "prompts", None) or {}).get(prompt, "") if prompt else ""
        limit = getattr(model, "max_seq_length", None) or 512

        def counts(batch: list[str]) -> list[int]:
            ids = model.tokenizer([prefix + t for t in batch], truncation=True, max_length=limit)["input_ids"]
            return [len(i) for i in ids]

        def encode(batch: list[str]) -> np.ndarray:
            return model.encode(batch, batch_size=len(batch), prompt_name=prompt, normalize_embeddings=True,
                                convert_to_numpy=True, show_progress_bar=False)

        return encode_by_length(texts, counts, encode, self.batch_size, self.dimension, progress)

    def embed_query(self, text: str) -> np.ndarray:
        """Encode one question with the model's query prompt."""
        model = self._load()
        vec = model.encode([text], prompt_name=self._prompt("query"), normalize_embeddings=True,
                           convert_to_numpy=True, show_progress_bar=False)
        return vec[0].astype(np.float32)


class HashingEmbedder:
    """Character-bigram hashing into `dimension` buckets: a fast, deterministic stand-in for tests."""

    def __init__(self, dimension: int = 256) -> None:
        self.name = f"hashing-bigram-{dimension}"
        self.dimension = dimension
        self.passages_embedded = 0  # tests assert on this to prove incremental builds

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dimension, dtype=np.float32)
        chars = [c for c in text if not c.isspace()]
        for a, b in zip(chars, chars[1:]):
            vec[zlib.crc32((a + b).encode("utf-8")) % self.dimension] += 1.0
        norm = np.linalg.norm(vec)
        return vec / norm if norm else vec

    def embed_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Hash each passage; counts how many were embedded."""
        self.passages_embedded += len(texts)
        if progress:
            progress(len(texts))
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """Hash the question the same way as passages."""
        return self._vector(text)


def quantized(model):
    """`model` with its Linear layers in int8 (torch dynamic quantisation): ~1.5x faster on 2 CPU
    cores, vectors at cosine ~0.98 to float32. Used for large corpora (eval/bench.py measures it)."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def make_embedder(name: str, *, batch_size: int = 16) -> Embedder:
    """The embedder a settings value names: `hashing-bigram-N`, or a sentence-transformers model name or
    folder, optionally ending in `+int8` (int8 Linear layers in torch) or, for a local folder,
    `+onnx-int8` (ONNX Runtime with int8 matrix products: the fast path for large corpora)."""
    from index.onnx_embedder import ONNX_INT8, OnnxEmbedder

    if name.startswith("hashing-bigram-"):
        return HashingEmbedder(int(name.rsplit("-", 1)[1]))
    if name.endswith(ONNX_INT8):
        return OnnxEmbedder(name.removesuffix(ONNX_INT8), batch_size=batch_size)
    if name.endswith(INT8):
        return SentenceTransformerEmbedder(name.removesuffix(INT8), batch_size=batch_size, int8=True)
    return SentenceTransformerEmbedder(name, batch_size=batch_size)


def model_fingerprint(name: str) -> str:
    """A short stable description of a model for the index manifest (folder build hash if local)."""
    build = Path(name.split("+", 1)[0]) / "policyqa_build.json"
    if build.is_file():
        return hashlib.sha256(build.read_bytes()).hexdigest()[:16]
    return ""
