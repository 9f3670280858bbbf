"""The answer chain, composed with LangChain runnables (LCEL) in one place (`Answerer.__init__`):

    rewrite follow-up → retrieve → plan ─┬─ whole list  → every matching clause, counted
                                         ├─ refuse      → one sentence + "possibly related" clauses
                                         ├─ extractive  → quoted sentences with [n]
                                         └─ generate    → stream tokens → check → answer
                                                          (JSON under a grammar: qa/structured.py)
                                                          (generator error / failed check → extractive)

The steps (qa/steps.py) take and return a frozen Turn (qa/turn.py); what the generator sees is built
in qa/context.py, the checks after generation run in qa/verify.py, answers without a generator in
qa/replies.py. Only the clauses an answer cites become citations; refused answers carry the nearest
clauses as `related`, never as support.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from functools import partial
from typing import Callable, Iterator, Mapping

from langchain_core.runnables import RunnableGenerator, RunnableLambda

from index.search import Retriever
from index.snapshot import Snapshot
from policyqa import vocab
from policyqa.errors import GeneratorError, PolicyQAError
from qa import context, structured
from qa.answer import Answer, Check
from qa.generators import Generator, Message
from qa.parts import join_answers, split_parts
from qa.prompts import PromptLibrary
from qa.refusal import RefusalPolicy
from qa.replies import extractive_reply
from qa.steps import plan_step, retrieve_step, rewrite_step
from qa.turn import Turn, place_index, refusal_policy
from qa.verify import checked_reply

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """One streamed step: a status line, a token of the model's draft (not yet checked: qa/verify.py may
    drop it or replace the whole answer), or the final, checked Answer."""

    kind: str  # "status" | "token" | "answer"
    text: str = ""
    answer: Answer | None = None


class Answerer:
    """Answers questions from one index with cited clauses; generators are created on first use."""

    def __init__(self, retriever: Retriever, generators: Mapping[str, Callable[[], Generator]], prompts: PromptLibrary,
                 *, default_generator: str = "llama", k: int = 5, context_clauses: int = 2,
                 context_chars: int = 120, max_tokens: int = 160) -> None:
        self.retriever = retriever
        self.factories = dict(generators)
        self.prompts = prompts
        self.default_generator = default_generator
        self.max_tokens = max_tokens
        self._generators: dict[str, Generator] = {}
        self._generators_lock = threading.Lock()
        self._prepare = (RunnableLambda(partial(rewrite_step, retriever=retriever))
                         | RunnableLambda(partial(retrieve_step, retriever=retriever, k=k))
                         | RunnableLambda(partial(plan_step, retriever=retriever, prompts=prompts,
                                                  context_clauses=context_clauses, context_chars=context_chars)))
        self._tokens = RunnableGenerator(self._generate_tokens)

    def generator(self, name: str) -> Generator:
        """The named generator, created once; PolicyQAError for a name that is not configured."""
        self._check_name(name)
        with self._generators_lock:  # two first requests must not load two models
            if name not in self._generators:
                self._generators[name] = self.factories[name]()
            return self._generators[name]

    def stream(self, question: str, *, history: list[str] | tuple = (), generator: str | None = None,
               doc: str | list[str] | None = None, department: str | None = None) -> Iterator[Event]:
        """Answer `question`, yielding status lines and tokens (unchecked drafts), then the final Answer.
        A question with several parts that is refused whole is answered part by part on the same
        snapshot, so a covered part is not lost with an uncovered one (qa/parts.py)."""
        parts, snap = split_parts(question), self.retriever.snapshot()
        for event in self._stream_one(question, history, generator, doc, department, snap):
            if event.kind == "answer" and event.answer.refused and len(parts) > 1:
                break
            yield event
        else:
            return
        answers = []
        for part in parts:
            for event in self._stream_one(part.question, history, generator, doc, department, snap):
                answers += [event.answer] if event.kind == "answer" else []
                yield from [event] if event.kind != "answer" else []
        yield Event("answer", answer=join_answers(question, parts, answers))

    def _stream_one(self, question: str, history, generator: str | None, doc, department,
                    snap: Snapshot) -> Iterator[Event]:
        name = generator or self.default_generator
        if name != "extractive":
            self._check_name(name)
        turn = self._prepare.invoke(Turn(question, tuple(history), name, doc, department, snap, time.perf_counter()))
        if turn.answer is None and turn.plan == "generate":
            yield Event("status", "正在生成并核对…")
            raw, shown = "", ""
            try:
                for token in self._tokens.stream(turn):
                    raw += token
                    readable = structured.readable(raw)  # the quote as it is copied, not the JSON around it
                    if readable.startswith(shown) and len(readable) > len(shown):
                        turn = turn.timed("first_token")
                        yield Event("token", readable[len(shown):])
                        shown = readable
                turn = replace(turn, answer=checked_reply(turn, raw, context.prompt_hash(self.prompts)))
            except GeneratorError as exc:
                turn = turn.noted(f"generator failed: {exc}")
                turn = replace(turn, answer=extractive_reply(turn, Check("fallback", (f"{turn.generator} failed ({exc})",))))
            except PolicyQAError:
                raise  # ours, with its own answer (BusyError → 503 "服务繁忙")
            except Exception as exc:  # noqa: BLE001 - a backend's own error (HTTP, llama.cpp, a bug): quote instead
                # The person still gets the cited clauses, never a chat that waits forever; the cause is logged once.
                log.exception("generator %s raised %s; answering with quotes", turn.generator, type(exc).__name__)
                reason = f"{turn.generator} raised {type(exc).__name__}: {str(exc)[:200]}"
                turn = replace(turn.noted(f"generator failed: {reason}"), answer=extractive_reply(turn, Check("fallback", (reason,))))
        elif turn.answer is None:
            turn = replace(turn, answer=extractive_reply(turn))
        turn = turn.timed("first_token").timed("total")
        yield Event("answer", answer=replace(
            turn.answer, timings_ms=dict(turn.timings), notes=turn.notes, index_version=turn.snapshot.version,
            vocabulary_hash=f"{vocab.digest()}/{turn.snapshot.vocabulary.digest}",
            standalone_question=turn.standalone if turn.standalone != turn.question else ""))

    def warm_up(self, name: str | None = None) -> None:
        """Load generator `name` (default: the default one) and run the system prompt through it once,
        so the first question neither waits for the model nor pays for the shared prompt prefix."""
        name = name or self.default_generator
        if name == "extractive":
            return
        system = Message("system", self.prompts.get("answer_system").render())
        self.generator(name).generate([system, Message("user", "你好")], max_tokens=1)

    def reload(self) -> bool:
        """Switch to the newly published index version (refusal rules and place names follow it, being
        derived per version); True if it switched."""
        return self.retriever.refresh()

    def ask(self, question: str, **kwargs) -> Answer:
        """Answer without streaming."""
        for event in self.stream(question, **kwargs):
            if event.kind == "answer":
                return event.answer
        raise PolicyQAError("the answer chain ended without an answer")  # unreachable by construction

    @staticmethod
    def policy(snap: Snapshot) -> RefusalPolicy:
        """Refusal rules for one index version's documents (built once per version)."""
        return refusal_policy(snap)

    @staticmethod
    def places(snap: Snapshot) -> tuple[set[str], dict[str, set[str]]]:
        """Place and document names of one index version (qa/turn.py:place_index)."""
        return place_index(snap)

    def _check_name(self, name: str) -> None:
        if name not in self.factories:
            raise PolicyQAError(f"unknown generator '{name}'", value=name,
                                hint=f"choose one of extractive, {', '.join(sorted(self.factories))}",
                                zh=f"未配置生成方式“{name}”")

    def _generate_tokens(self, turns: Iterator[Turn]) -> Iterator[str]:
        for turn in turns:
            yield from self.generator(turn.generator).stream(list(turn.messages), max_tokens=self.max_tokens,
                                                             grammar=turn.grammar or None)
