"""The model behind the item extractor's model path: an answer generator (local llama or an
OpenAI-compatible endpoint) asked with the prompt files item_extract_system / item_extract_user.

It implements ingest/item_model.Completer (`name`, `complete(text)`); the generator is created on the
first call, so a build whose provisions the rules all read never loads a model. What the model says is
checked field by field against the provision in ingest/item_model.py; a failing generator reports
nothing (the rules' items stand) and is counted as a rejection there.
"""

from __future__ import annotations

from typing import Callable

from policyqa.errors import GeneratorError
from qa.generators import Generator, Message
from qa.prompts import PromptLibrary


class GeneratorCompleter:
    """`complete(provision)` → the model's JSON reply, through a generator made on first use."""

    def __init__(self, factory: Callable[[], Generator], prompts: PromptLibrary, name: str, *,
                 max_tokens: int = 512) -> None:
        self.factory = factory
        self.prompts = prompts
        self.name = name
        self.max_tokens = max_tokens
        self._generator: Generator | None = None

    def complete(self, text: str) -> str:
        """The reply to one provision ("" when the generator fails: the rules' items stand, and the
        checks count the reply as rejected)."""
        if self._generator is None:
            self._generator = self.factory()
        messages = [Message("system", self.prompts.get("item_extract_system").render()),
                    Message("user", self.prompts.get("item_extract_user").render(provision=text[:1500]))]
        try:
            return self._generator.generate(messages, max_tokens=self.max_tokens)
        except GeneratorError:
            return ""
