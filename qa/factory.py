"""Builds the answer chain from settings: the three generators, prompts and the retriever."""

from __future__ import annotations

from qa.chain import Answerer
from qa.generators import LlamaGenerator, OpenAIGenerator
from qa.prompts import PromptLibrary


def generator_factories(settings) -> dict:
    """Zero-argument constructors for `llama` and `openai` (extractive needs none)."""
    return {
        "llama": lambda: LlamaGenerator(settings.llm_path, n_ctx=settings.llm_ctx, n_threads=settings.llm_threads),
        "openai": lambda: OpenAIGenerator(settings.openai_base_url, settings.openai_model, settings.openai_api_key,
                                          timeout_s=settings.openai_timeout_s),
    }


def build_answerer(settings, retriever) -> Answerer:
    """The Answerer for `retriever` with every generator named in settings."""
    return Answerer(retriever, generator_factories(settings), PromptLibrary(settings.prompts_dir),
                    default_generator=settings.generator, k=settings.search_k)
