"""The answer chain, composed with LangChain runnables (LCEL):

    rewrite follow-up → retrieve → plan ─┬─ whole list  → every matching clause, counted
                                         ├─ refuse      → one sentence + "possibly related" clauses
                                         ├─ extractive  → quoted sentences with [n]
                                         └─ generate    → stream tokens → parse [n] → check → answer
                                                          (generator error / failed check → extractive)

Only the clauses an answer cites become citations; refused answers carry the nearest clauses as
`related`, never as support. The generator sees each clause compressed to its most relevant
sentences, which keeps the prompt near 400 tokens so a 2-core CPU answers within seconds.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator, Mapping

from langchain_core.runnables import RunnableGenerator, RunnableLambda

from index.routing import place_names, route
from index.search import Retriever, check_question
from index.snapshot import Snapshot
from ingest.departments import parse_tag
from ingest.normalize import normalize
from ingest.records import Hit
from policyqa.errors import GeneratorError, PolicyQAError
from qa.answer import Answer, Citation
from qa.check import check_answer, parse_citations, split_sentences, supporting_sentences
from qa.extractive import (ASKS_RESPONSIBILITY, best_sentences, clause_quote, extractive_answer, responsibility_line,
                            sentence_score, sentences)
from qa.extractive import best_clause as best_of_document
from qa.followup import rewrite
from qa.generators import Generator, Message
from qa.grounding import best_clause, bigrams, support
from qa.item_answers import item_step
from qa.listing import list_clauses, plan_listing
from qa.prompts import PromptLibrary
from qa.refusal import RefusalPolicy

_HEADING = re.compile(r"[(（]?[一二三四五六七八九十\d]+[)）、.]?[^。；，,]{0,20}")
_MARKERS = re.compile(r"\[\d+\]")
_YES_NO_QUESTION = re.compile(r"能不能|可不可以|是否|能否|可否|有没有|会不会|是不是|行不行|算不算|吗[？?]?\s*$")
_BARE_YES_NO = re.compile(r"^\s*(?:可以|不可以|能|不能|是的|是|不是|会|不会|有|没有)(?:\[\d+\])*[。，,！!]?")
_MODEL_DECLINED = re.compile(r"没有找到相关|未找到相关|没有相关规定|无法回答|没有提及|未提及|没有明确")


def _duties(clause) -> str:
    """The parsed responsibility fields as shown to the model (canonical unit names)."""
    if not clause.departments:
        return ""
    cooperating = f"；配合：{'、'.join(clause.cooperating)}" if clause.cooperating else ""
    return f"（牵头：{'、'.join(clause.lead) or '无'}；责任单位：{'、'.join(clause.departments)}{cooperating}）"


def _heading(clause) -> str:
    """The clause's nearest heading words without its number ("(十)多元科技投入…" → "多元科技投入…"), ≤ 16 chars."""
    for part in reversed(clause.path):
        words = re.sub(r"^[(（]?[一二三四五六七八九十百\d]+[)）、.．]?|^第.+?[章节条]\s*", "", part).strip()
        if len(words) >= 2:
            return words[:16]
    return ""


@dataclass(frozen=True)
class Event:
    """One streamed step: a status line, a token of the answer, or the final Answer."""

    kind: str  # "status" | "token" | "answer"
    text: str = ""
    answer: Answer | None = None


@dataclass
class _Turn:
    """The state one question carries through the chain."""

    question: str
    history: list[str]
    generator: str
    doc: str | list[str] | None
    department: str | None
    snapshot: Snapshot  # the one index version this question reads, start to end
    standalone: str = ""
    hits: list[Hit] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    doc_ids: list[str] = field(default_factory=list)  # documents the question names (or the doc filter)
    plan: str = ""
    answer: Answer | None = None
    messages: list[Message] = field(default_factory=list)
    shown: list[Hit] = field(default_factory=list)  # the clauses the generator saw, numbered from 1
    timings: dict = field(default_factory=dict)
    started: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        """The search found the clause the question names by number (it is the first hit)."""
        return any(n.startswith("clause number") for n in self.notes)


class Answerer:
    """Answers questions from one index with cited clauses; generators are created on first use."""

    def __init__(self, retriever: Retriever, generators: Mapping[str, Callable[[], Generator]], prompts: PromptLibrary,
                 *, default_generator: str = "llama", k: int = 5, context_clauses: int = 2,
                 context_chars: int = 120, max_tokens: int = 160) -> None:
        self.retriever = retriever
        self.factories = dict(generators)
        self.prompts = prompts
        self.default_generator = default_generator
        self.k = k
        self.context_clauses = context_clauses
        self.context_chars = context_chars
        self.max_tokens = max_tokens
        self._generators: dict[str, Generator] = {}
        self._generators_lock = threading.Lock()
        self._prepare = RunnableLambda(self._rewrite) | RunnableLambda(self._retrieve) | RunnableLambda(self._plan)
        self._tokens = RunnableGenerator(self._generate_tokens)

    # ---- public -------------------------------------------------------------------------
    def generator(self, name: str) -> Generator:
        """The named generator, created once."""
        if name not in self.factories:
            raise PolicyQAError(f"unknown generator '{name}'", value=name,
                                hint=f"choose one of {', '.join(sorted(self.factories))}", zh=f"未配置生成方式“{name}”")
        with self._generators_lock:  # two first requests must not load two models
            if name not in self._generators:
                self._generators[name] = self.factories[name]()
            return self._generators[name]

    def stream(self, question: str, *, history: list[str] | tuple = (), generator: str | None = None,
               doc: str | list[str] | None = None, department: str | None = None) -> Iterator[Event]:
        """Answer `question`, yielding status lines and tokens, then the final Answer."""
        name = generator or self.default_generator
        if name != "extractive" and name not in self.factories:
            raise PolicyQAError(f"unknown generator '{name}'", value=name,
                                hint=f"choose one of extractive, {', '.join(sorted(self.factories))}",
                                zh=f"未配置生成方式“{name}”")
        turn = _Turn(question, list(history), name, doc, department, self.retriever.snapshot(), started=time.perf_counter())
        turn = self._prepare.invoke(turn)
        if turn.answer is None and turn.plan == "generate":
            yield Event("status", f"正在用 {turn.generator} 生成回答…")
            parts: list[str] = []
            try:
                for token in self._tokens.stream(turn):
                    if not parts:
                        turn.timings["first_token"] = self._ms(turn)
                    parts.append(token)
                    yield Event("token", token)
                turn.answer = self._checked(turn, "".join(parts))
            except GeneratorError as exc:
                turn.notes.append(f"generator failed: {exc}")
                turn.answer = self._extractive(turn, checked=f"fell back to extractive: {turn.generator} failed ({exc})")
        elif turn.answer is None:
            turn.answer = self._extractive(turn)
        turn.timings.setdefault("first_token", self._ms(turn))
        turn.timings["total"] = self._ms(turn)
        answer = replace(turn.answer, timings_ms=dict(turn.timings), notes=tuple(turn.notes),
                         standalone_question=turn.standalone if turn.standalone != turn.question else "",
                         index_version=turn.snapshot.version)
        yield Event("answer", answer=answer)

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

    # ---- chain steps ----------------------------------------------------------------------
    def _rewrite(self, turn: _Turn) -> _Turn:
        snap = turn.snapshot
        turn.standalone = check_question(rewrite(turn.question.strip(), turn.history, snap.documents, snap.units),
                                         self.retriever.max_question_chars)
        if turn.standalone != turn.question.strip():
            turn.notes.append(f"follow-up rewritten: {turn.standalone}")
        return turn

    def _retrieve(self, turn: _Turn) -> _Turn:
        t0 = time.perf_counter()
        result = self.retriever.search(turn.standalone, k=self.k, doc=turn.doc, department=turn.department,
                                       snapshot=turn.snapshot)
        turn.hits = list(result.hits)
        turn.notes += list(result.notes)
        places, _ = self.places(turn.snapshot)
        turn.terms = [t for t in turn.snapshot.tokenizer.tokens(turn.standalone) if t not in places]
        turn.timings["retrieve"] = (time.perf_counter() - t0) * 1000
        return turn

    def _plan(self, turn: _Turn) -> _Turn:
        snap = turn.snapshot
        r = route(turn.standalone, snap.documents, snap.units)
        doc_ids = turn.doc_ids = self.retriever.resolve_docs(turn.doc, snap) or list(r.doc_ids)
        plan = plan_listing(turn.standalone, list(r.departments), doc_ids, turn.terms, self.places(snap)[0])
        if plan:
            items = list_clauses(plan, snap.clauses, doc_ids or None)
            if items:
                turn.answer = self._listing(turn, plan, items)
                turn.plan = "list"
                return turn
        if (found := item_step(turn, self.policy(snap))) is not None:  # amounts and units from support items
            turn.answer, turn.plan = found, "items"
            return turn
        refusal = self.policy(snap).decide(turn.standalone, turn.terms, turn.hits, exact=turn.exact)
        if refusal:
            turn.answer = Answer(question=turn.question, text=refusal.message, refused=True,
                                 related=tuple(turn.hits[:3]), generator=turn.generator)
            turn.notes.append(f"refused ({refusal.rule})")
            turn.plan = "refuse"
            return turn
        turn.plan = "extractive" if turn.generator == "extractive" else "generate"
        if turn.plan == "generate":
            turn.messages = self._messages(turn)
        return turn

    def _generate_tokens(self, turns: Iterator[_Turn]) -> Iterator[str]:
        for turn in turns:
            yield from self.generator(turn.generator).stream(turn.messages, max_tokens=self.max_tokens)

    # ---- answer builders --------------------------------------------------------------------
    @staticmethod
    def policy(snap: Snapshot) -> RefusalPolicy:
        """Refusal rules for one index version's documents (built once per version)."""
        return snap.derived("refusal", lambda: RefusalPolicy(dict(snap.documents)))

    @staticmethod
    def places(snap: Snapshot) -> tuple[set[str], dict[str, set[str]]]:
        """Names users call one version's documents by (places, aliases, titles), and each name in normal
        form → the documents it names, longest names first; built once per version."""
        def build() -> tuple[set[str], dict[str, set[str]]]:
            names: set[str] = set()
            docs: dict[str, set[str]] = {}
            for doc_id, meta in snap.documents.items():
                for name in place_names(meta):
                    names.add(name)
                    docs.setdefault(normalize(name), set()).add(doc_id)
            return names, {n: docs[n] for n in sorted(docs, key=len, reverse=True)}
        return snap.derived("places", build)

    def _context(self, hit: Hit, terms: list[str]) -> str:
        """A clause cut to its most relevant sentences (in text order), after a short label (place and
        last heading) and before its responsibility tag: few tokens, since prompt tokens cost ~10 ms each."""
        sents = sentences(hit.clause.text)
        scored = sorted(range(len(sents)), key=lambda i: -sentence_score(sents[i], terms, True))
        keep, size = set(), 0
        for i in scored:
            if size + len(sents[i]) > self.context_chars and keep:
                break
            keep.add(i)
            size += len(sents[i])
        text = "".join(sents[i] for i in sorted(keep))
        c = hit.clause
        label = "·".join(x for x in (c.region or c.doc_title[:10], _heading(c)) if x)
        return f"（{label}）{text}{_duties(c)}"

    def _shown(self, turn: _Turn) -> list[Hit]:
        """The clauses the generator sees: the top ones, or for a comparison the best clause of each
        document it names (chosen as the extractive answer chooses them)."""
        if len(turn.doc_ids) > 1:
            groups = [[i for i, h in enumerate(turn.hits) if h.clause.doc_id == d] for d in turn.doc_ids]
            picked = [best_of_document(turn.standalone, turn.terms, turn.hits, rows) for rows in groups if rows]
            picked = [turn.hits[i] for i in picked if i is not None]
            if len(picked) > 1:
                return picked[:3]
        return turn.hits[: self.context_clauses]

    def _messages(self, turn: _Turn) -> list[Message]:
        turn.shown = self._shown(turn)
        clauses = "\n".join(f"[{i}]{self._context(h, turn.terms)}" for i, h in enumerate(turn.shown, start=1))
        system = self.prompts.get("answer_system")
        user = self.prompts.get("answer_user")
        return [Message("system", system.render()), Message("user", user.render(clauses=clauses, question=turn.standalone))]

    def _prompt_hash(self) -> str:
        return self.prompts.get("answer_system").short_hash + "+" + self.prompts.get("answer_user").short_hash

    def _citations(self, turn: _Turn, text: str, numbers: list[int], hits: list[Hit]) -> tuple[Citation, ...]:
        cites = []
        for n in numbers:
            hit = hits[n - 1]
            # Sentences end at 。！？ unless a closing quote or marker follows ("…。”[1]" stays whole).
            own = [s for s in re.split(r"\n|(?<=[。！？])(?![”’\[])", text) if f"[{n}]" in s]
            support = tuple(dict.fromkeys(x for s in own for x in supporting_sentences(hit.clause.text, s)))
            cites.append(Citation(n, hit.clause, support[:2]))
        return tuple(cites)

    def _extractive(self, turn: _Turn, checked: str = "not needed") -> Answer:
        text, cited = extractive_answer(turn.standalone, turn.terms, turn.hits, exact=turn.exact, docs=turn.doc_ids)
        if not cited:
            return Answer(question=turn.question, text="现有文件中没有找到能回答这个问题的句子。", refused=True,
                          related=tuple(turn.hits[:3]), generator="extractive", checked=checked)
        hits = [turn.hits[i] for i in cited]
        numbers = list(range(1, len(hits) + 1))
        return Answer(question=turn.question, text=text, citations=self._citations(turn, text, numbers, hits),
                      generator="extractive", checked=checked)

    def _checked(self, turn: _Turn, raw: str) -> Answer:
        hits = turn.shown
        texts = [h.clause.text + _duties(h.clause) for h in hits]  # what the model was shown
        text, numbers = parse_citations(raw.strip(), len(hits))
        if not _YES_NO_QUESTION.search(turn.standalone):
            # A small model opens who/what answers with 可以; that is not an answer to them. If nothing
            # else is left, the fallback below quotes the clauses instead.
            text = _BARE_YES_NO.sub("", text, count=1)
        if _MODEL_DECLINED.search(text) and len(text) < 40:
            # The model says the clauses do not answer. Believe it only where the clauses cover the
            # question weakly; otherwise quote them (false refusals count as failures too).
            coverage, _ = self.policy(turn.snapshot).coverage(turn.terms, turn.hits)
            if coverage < 0.75:
                return Answer(question=turn.question, text="现有文件中没有找到相关规定。", refused=True,
                              related=tuple(turn.hits[:3]), generator=turn.generator, checked="model declined",
                              prompt_hash=self._prompt_hash())
            return self._extractive(turn, checked=f"fell back to extractive: {turn.generator} declined but the clauses match")
        text, ungrounded = self._ground(text, texts, turn, hits)
        text, numbers = parse_citations(text, len(hits))
        # Figures the user stated are premises, not claims (a false premise is refused earlier).
        premise = f"\n{turn.standalone}"
        result = check_answer(text, {n: texts[n - 1] + premise for n in numbers}, turn.snapshot.units)
        kept, kept_numbers = parse_citations(result.kept_text, len(hits))
        dropped = [r for _, r in result.dropped] + ungrounded
        if len(_MARKERS.sub("", kept).strip("。，,. \n")) < 2 or not kept_numbers:
            return self._extractive(turn, checked=f"fell back to extractive: {'; '.join(dropped) or 'no citation'}")
        kept, kept_numbers = self._with_sources(kept, kept_numbers, hits, turn)
        checked = "passed" if not dropped else f"dropped {len(dropped)} sentence(s): " + "; ".join(dropped)
        return Answer(question=turn.question, text=kept, citations=self._citations(turn, kept, kept_numbers, hits),
                      generator=turn.generator, checked=checked, prompt_hash=self._prompt_hash())

    def _ground(self, text: str, texts: list[str], turn: _Turn, hits: list[Hit]) -> tuple[str, list[str]]:
        """Attribute unmarked sentences to their best clause; drop sentences the clauses do not carry,
        and sentences that name a place or document none of their clauses comes from or mentions."""
        out, dropped, question = [], [], turn.standalone
        for sentence in split_sentences(text):
            cited = [int(n) for n in re.findall(r"\[(\d+)\]", sentence)]
            body = _MARKERS.sub("", sentence).strip()
            if not bigrams(body):  # nothing but framing: "依据条款[1]和[2]。"
                continue
            if cited:
                score = max(support(body, texts[n - 1], question) for n in cited)
            else:
                best, score = best_clause(body, texts, question)
                cited = [best + 1]
                sentence = body.rstrip("。；;") + f"[{best + 1}]。"
            if score < 0.5:
                dropped.append(f"'{body[:20]}' is not in the cited clause")
                continue
            if stray := self._stray_place(body, [hits[n - 1] for n in cited], turn.snapshot):
                dropped.append(f"'{body[:20]}' names {stray}, which its clause is not from")
                continue
            out.append(sentence)
        return "".join(out), dropped

    def _stray_place(self, sentence: str, cited: list[Hit], snap: Snapshot) -> str:
        """A place or document name in `sentence` that belongs to none of the cited clauses' documents
        and is not in their text ("朔州的规定是…[2]" where [2] is 阳泉's clause), or ""."""
        _, places = self.places(snap)
        s = normalize(sentence)
        docs = {h.clause.doc_id for h in cited}
        texts = "".join(normalize(h.clause.text) for h in cited)
        taken = [False] * len(s)
        for name, named_docs in places.items():  # longest names first: 阳泉市 before 阳泉
            start = s.find(name)
            while start >= 0:
                span = range(start, start + len(name))
                if not any(taken[i] for i in span):
                    for i in span:
                        taken[i] = True
                    if not named_docs & docs and name not in texts:
                        return name
                start = s.find(name, start + 1)
        return ""

    def _with_sources(self, text: str, numbers: list[int], hits: list[Hit], turn: _Turn) -> tuple[str, list[int]]:
        """The generated answer, followed by the source wording a reader needs to trust it: the whole
        clause when the question names one by number, the responsibility tag as written when the
        question asks who leads, one quote per document for comparisons, and the best sentence of
        each cited clause when the answer is too short to stand alone ("可以[1]"). Returns the text and
        the clause numbers it now cites."""
        numbers = list(numbers)
        extra: list[str] = []
        if turn.exact:
            extra.append("原文：" + clause_quote(hits[0], 1, source=False))
            numbers.append(1)
        if ASKS_RESPONSIBILITY.search(turn.standalone):
            answered = normalize(text)
            for n in sorted(set(numbers)):
                written = [parse_tag(t, aliases=False) for t in hits[n - 1].clause.tags]
                named = [u for tag in written if tag for u in tag[1]]
                if named and not all(u in answered for u in named):
                    extra.append(responsibility_line(hits[n - 1], n))
        if len({h.clause.doc_id for h in hits}) > 1 and len(turn.doc_ids) > 1:
            for n, hit in enumerate(hits, start=1):
                picks = best_sentences(turn.standalone, turn.terms, [hit], per_clause=2, limit=2)
                if picks:
                    quoted = "".join(p.sentence.rstrip("。；;") + "。" for p in picks)
                    extra.append(f"{hit.clause.region or hit.clause.doc_title}：“{quoted}”[{n}]")
                    numbers.append(n)
        elif not extra and len(_MARKERS.sub("", text)) < 24:
            for n in numbers[:2]:
                sents = sentences(hits[n - 1].clause.text)
                if sents:
                    best = max(sents, key=lambda s: sentence_score(s, turn.terms, True))
                    extra.append(f"原文：“{best.rstrip('。')}。”[{n}]")
        return text + ("\n" + "\n".join(extra) if extra else ""), sorted(set(numbers))

    def _listing(self, turn: _Turn, plan, items) -> Answer:
        if plan.kind == "department":
            role = "牵头" if plan.lead_only else "牵头或参与"
            head = f"{plan.key}{role}的工作共 {len(items)} 项："
        else:
            head = f"涉及“{plan.key}”的条款共 {len(items)} 项："
        lines, cites = [head], []
        for n, c in enumerate(items, start=1):
            # Best-matching sentence; a bare heading ("(一)新材料") only when nothing else is there.
            best = max(sentences(c.text) or [c.text.strip()], key=lambda s: (sentence_score(s, turn.terms, False), not _HEADING.fullmatch(s.strip()), len(s)))
            role = ""
            if plan.kind == "department":
                role = "（牵头）" if plan.key in c.lead else "（参与）"
            lines.append(f"{n}. 《{c.doc_title}》{c.path_text}{role}：{best.strip()[:80]}[{n}]")
            cites.append(Citation(n, c, (best.strip(),)))
        return Answer(question=turn.question, text="\n".join(lines), citations=tuple(cites), generator="structured",
                      checked="not needed", count=len(items))

    @staticmethod
    def _ms(turn: _Turn) -> float:
        return (time.perf_counter() - turn.started) * 1000
