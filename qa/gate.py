"""A gate that bounds concurrent LLM generation, and generators that hold a slot while they generate.

It wraps the generator seam, so only real generation waits; search, refusals, whole-list and extractive
answers never queue. A full queue fails at once with BusyError instead of piling up.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Iterator, Mapping, Sequence

from policyqa.errors import BusyError
from qa.generators import Generator, Message


class GenerationGate:
    """At most `limit` generations at once and `queue` more waiting; anyone beyond gets BusyError at once."""

    def __init__(self, limit: int = 1, queue: int = 2, wait_s: float = 300.0) -> None:
        if limit < 1 or queue < 0:
            raise ValueError(f"GenerationGate: need limit >= 1 and queue >= 0, got {limit} and {queue}")
        self.limit, self.queue, self.wait_s = limit, queue, wait_s
        self._slots = threading.BoundedSemaphore(limit)
        self._lock = threading.Lock()
        self.pending = 0  # running + waiting

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one generation slot for the duration of the block."""
        busy = BusyError(f"generation queue is full ({self.limit} generating, {self.queue} queued)",
                         hint="retry later or use the extractive generator",
                         zh=f"服务繁忙：已有 {self.limit} 个回答正在生成、{self.queue} 个在排队，请稍后再试，"
                            "或改用“摘录”方式立即回答")
        with self._lock:
            if self.pending >= self.limit + self.queue:
                raise busy
            self.pending += 1
        try:
            if not self._slots.acquire(timeout=self.wait_s):
                raise busy
            try:
                yield
            finally:
                self._slots.release()
        finally:
            with self._lock:
                self.pending -= 1


class GatedGenerator:
    """A Generator that holds a gate slot while it generates; the inner one is created on first use."""

    def __init__(self, factory: Callable[[], Generator], gate: GenerationGate, name: str) -> None:
        self._factory, self._gate, self.name = factory, gate, name
        self._inner: Generator | None = None

    def _get(self) -> Generator:
        if self._inner is None:
            self._inner = self._factory()
            self.name = self._inner.name
        return self._inner

    def generate(self, messages: Sequence[Message], *, max_tokens: int = 512, grammar: str | None = None) -> str:
        """The inner generator's reply, once a slot is free."""
        with self._gate.slot():
            return self._get().generate(messages, max_tokens=max_tokens, grammar=grammar)

    def stream(self, messages: Sequence[Message], *, max_tokens: int = 512,
               grammar: str | None = None) -> Iterator[str]:
        """The inner generator's stream, holding the slot until it ends."""
        with self._gate.slot():
            yield from self._get().stream(messages, max_tokens=max_tokens, grammar=grammar)


def gated(factories: Mapping[str, Callable[[], Generator]], gate: GenerationGate) -> dict[str, Callable[[], Generator]]:
    """Generator factories whose generators share `gate`."""
    return {name: (lambda f=f, n=name: GatedGenerator(f, gate, n)) for name, f in factories.items()}
