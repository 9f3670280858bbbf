"""From Settings to the plain values the library takes: the embedder, the retriever, the generators,
the answer chain and the Service. The only place that reads Settings for qa/ and index/ objects."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Mapping

from index.embedder import Embedder, make_embedder
from index.engine import engine_spec
from index.search import Retriever
from qa.chain import Answerer
from qa.gate import GenerationGate, gated
from qa.generators import Generator, LlamaGenerator, OpenAIGenerator
from qa.prompts import PromptLibrary
from qa.service import Service

if TYPE_CHECKING:
    from pathlib import Path

    from policyqa.settings import Settings


def generator_factories(settings: Settings) -> dict[str, Callable[[], Generator]]:
    """Zero-argument constructors for `llama` and `openai` (extractive needs none)."""
    return {
        "llama": lambda: LlamaGenerator(settings.llm_path, n_ctx=settings.llm_ctx, n_threads=settings.llm_threads),
        "openai": lambda: OpenAIGenerator(settings.openai_base_url, settings.openai_model, settings.openai_api_key,
                                          timeout_s=settings.openai_timeout_s),
    }


def build_retriever(settings: Settings, index_dir: Path | None = None, embedder: Embedder | None = None) -> Retriever:
    """The Retriever over `index_dir` (default settings.index_dir) with the configured embedding model and
    index engine (the engine the next build writes; Milvus credentials for reading)."""
    embedder = embedder or make_embedder(settings.embedding_model, batch_size=settings.embed_batch_size)
    return Retriever(index_dir or settings.index_dir, embedder, max_question_chars=settings.max_question_chars,
                     engine=engine_spec(settings))


def build_answerer(settings: Settings, retriever: Retriever,
                   generators: Mapping[str, Callable[[], Generator]] | None = None) -> Answerer:
    """The answer chain over `retriever` with the generators of settings (or `generators`)."""
    factories = generators if generators is not None else generator_factories(settings)
    return Answerer(retriever, factories, PromptLibrary(settings.prompts_dir), default_generator=settings.generator,
                    k=settings.search_k)


def build_service(settings: Settings, *, embedder: Embedder | None = None,
                  generators: Mapping[str, Callable[[], Generator]] | None = None,
                  gate: GenerationGate | None = None) -> Service:
    """The Service the settings describe; `embedder`, `generators`, `gate` replace the configured ones (tests)."""
    gate = gate or GenerationGate(settings.max_concurrent_generations, settings.generation_queue,
                                  settings.generation_wait_s)
    retriever = build_retriever(settings, embedder=embedder)
    factories = gated(generators if generators is not None else generator_factories(settings), gate)
    return Service(retriever, build_answerer(settings, retriever, factories), settings.corpus_dir,
                   max_file_mb=settings.max_file_mb, max_clause_chars=settings.max_clause_chars,
                   search_k=settings.search_k, gate=gate, max_documents=settings.max_documents,
                   keep_versions=settings.keep_versions, watch_interval_s=settings.watch_interval_s)


def item_extractor(settings: Settings, model: str | None = None):
    """How builds read support items: the rules, plus the model `model` (default settings.items_model;
    "off" for none) for at most settings.items_model_budget provisions per build."""
    from index.item_store import ItemExtractor
    from ingest.item_model import ModelReviewer
    from qa.item_model import GeneratorCompleter

    name = model or settings.items_model
    if name == "off":
        return ItemExtractor()
    factories = generator_factories(settings)
    if name not in factories:
        from policyqa.errors import PolicyQAError

        raise PolicyQAError(f"unknown items model '{name}'", value=name, hint=f"use off or one of {', '.join(factories)}")
    completer = GeneratorCompleter(factories[name], PromptLibrary(settings.prompts_dir), name)
    return ItemExtractor(ModelReviewer(completer, budget=settings.items_model_budget))
