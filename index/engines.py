"""The engine factory: the EngineIndex class for a name from settings or a manifest.

Its own module so that index/engine.py (the seam every engine imports) imports none of them; each
engine is imported on first use, so pymilvus loads only where Milvus is used.
"""

from __future__ import annotations

from index.engine import ENGINES, EngineIndex
from policyqa.errors import PolicyQAError


def engine_class(name: str) -> type[EngineIndex]:
    """The engine class called `name` (one of ENGINES); PolicyQAError naming the known ones otherwise."""
    if name == "faiss":
        from index.engine_faiss import FaissIndex

        return FaissIndex
    if name == "numpy":
        from index.engine_local import NumpyIndex

        return NumpyIndex
    if name == "milvus":
        from index.engine_milvus import MilvusIndex

        return MilvusIndex
    raise PolicyQAError(f"unknown index engine '{name}'", value=name, hint=f"use one of {', '.join(ENGINES)}")
