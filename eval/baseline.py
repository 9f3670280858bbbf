"""The LangChain baseline for `policyqa eval --compare`: what a default LangChain user writes.

Fixed-size chunks (RecursiveCharacterTextSplitter, 500 characters, 50 overlap), HuggingFaceEmbeddings
with normalised vectors, and `langchain_community.vectorstores.FAISS.from_documents`. It is the
reference point our clause-aware retrieval has to beat, so it deliberately keeps LangChain's
defaults: no "query: "/"passage: " prefixes for e5, no clause structure, no metadata routing.

langchain-community is deprecated; this baseline is exactly what a default user writes, so it is
allowed here and only here. Everything else in policyqa uses FAISS and sentence-transformers directly.
Chunks are wrapped as Clause objects (id `lc#<doc>#<n>`, n counting from 1 per document, empty path)
so the harness scores them with the same phrase matching as our clauses.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

from ingest.records import Clause, Hit, SearchResult
from policyqa.errors import ModelMissingError, PolicyQAError, QuestionError

CHUNK_SIZE = 500
CHUNK_OVERLAP = 50


class LangChainBaseline:
    """Chunk, embed and FAISS-index the corpus LangChain's default way; `search` returns top-k chunks."""

    def __init__(self, corpus_texts: dict[str, str], model_path: str, k: int = 5) -> None:
        if not corpus_texts:
            raise PolicyQAError("LangChainBaseline got an empty corpus (pass {doc_id: text} for at least one document)")
        if k < 1:
            raise PolicyQAError(f"LangChainBaseline k must be at least 1, got {k} (use e.g. k=5)")
        self.corpus_texts = dict(corpus_texts)
        self.model_path = model_path
        self.k = k
        self.build_ms: float | None = None
        self._store: Any = None
        self._chunks: dict[str, Clause] = {}

    def chunk(self) -> list[Clause]:
        """Split every document into 500-character chunks wrapped as Clause objects (no model needed)."""
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, add_start_index=True)
        chunks = []
        for doc_id, text in self.corpus_texts.items():
            for n, piece in enumerate(splitter.create_documents([text]), 1):
                start = piece.metadata["start_index"]
                chunks.append(Clause(
                    id=f"lc#{doc_id}#{n}", doc_id=doc_id, doc_title=doc_id, path=(),
                    text=piece.page_content, span=(start, start + len(piece.page_content)),
                ))
        return chunks

    def warm_up(self) -> None:
        """Load the embedding model and build the FAISS store once; later calls do nothing."""
        if self._store is not None:
            return
        if not Path(self.model_path).is_dir():
            raise ModelMissingError(
                f"LangChain baseline: embedding model folder not found: {self.model_path} (run `make setup` to build it)"
            )
        with warnings.catch_warnings():
            # The sunset notice is known and accepted for this one module (see the module docstring).
            warnings.simplefilter("ignore", DeprecationWarning)
            from langchain_community.vectorstores import FAISS
        from langchain_core.documents import Document
        from langchain_huggingface import HuggingFaceEmbeddings

        start = time.perf_counter()
        chunks = self.chunk()
        self._chunks = {c.id: c for c in chunks}
        embeddings = HuggingFaceEmbeddings(model_name=self.model_path, encode_kwargs={"normalize_embeddings": True})
        docs = [Document(page_content=c.text, metadata={"id": c.id}) for c in chunks]
        self._store = FAISS.from_documents(docs, embeddings)
        self.build_ms = (time.perf_counter() - start) * 1000.0

    def search(self, question: str) -> SearchResult:
        """The top-k chunks for `question` as hits; score is cosine similarity (higher is better)."""
        if not question.strip():
            raise QuestionError("LangChain baseline: the question is empty (pass a non-empty question)")
        self.warm_up()
        start = time.perf_counter()
        found = self._store.similarity_search_with_score(question, k=self.k)
        total_ms = (time.perf_counter() - start) * 1000.0
        # FAISS.from_documents builds an IndexFlatL2, which returns squared L2 distances; for unit
        # vectors that is 2 - 2*cos, so 1 - d/2 turns it back into the cosine users expect.
        hits = tuple(
            Hit(clause=self._chunks[doc.metadata["id"]], score=1.0 - float(dist) / 2.0, rank=rank)
            for rank, (doc, dist) in enumerate(found, 1)
        )
        return SearchResult(question=question, hits=hits, timings_ms={"total": total_ms})
