"""The generator seam (`Message`, `Generator`) and its three adapters: local GGUF, OpenAI-compatible, scripted.

Everything that writes answer text goes through `Generator.generate` / `Generator.stream`, so the rest of
the code never sees llama-cpp-python or LangChain. Each adapter's `__init__` only validates and stores
settings; the model or HTTP client is created on first use, once, under a lock (`warm_up()` does it
eagerly). Failures surface as `GeneratorError` / `ModelMissingError` naming the model path or endpoint.

Trade-offs:
- `LlamaGenerator` talks to llama-cpp-python directly instead of through a LangChain wrapper: the only
  maintained one lives in langchain-community, which is being sunset. One llama context is not
  thread-safe, so calls are serialised; a second caller waits for the first answer to finish.
- `OpenAIGenerator` uses `langchain_openai.ChatOpenAI`. ChatOpenAI sends the answer-length cap as
  `max_completion_tokens`, which llama-cpp-python's own server (0.3.x) silently ignores; we send the
  legacy `max_tokens` instead by default, which every OpenAI-compatible server reads. Set
  `max_tokens_field="max_completion_tokens"` for OpenAI's reasoning models, which reject `max_tokens`.
- `timeout_s` bounds each network wait (connect, or the gap between bytes), not the whole answer.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import SecretStr

from policyqa.errors import GeneratorError, ModelMissingError

if TYPE_CHECKING:  # heavy imports happen on first use, not at import time
    from langchain_openai import ChatOpenAI
    from llama_cpp import Llama

ROLES = ("system", "user", "assistant")

# Chat-template control tokens (<|im_start|> …): llama.cpp tokenises message text with special tokens
# on, so a document or question carrying one could open a fake turn. Full-width bars keep it readable.
CONTROL_TOKEN = re.compile(r"<\|([A-Za-z0-9_]{1,40})\|>")


def defuse(text: str) -> str:
    """`text` with chat-template control tokens made inert (<|im_start|> → <｜im_start｜>)."""
    return CONTROL_TOKEN.sub(lambda m: f"<｜{m.group(1)}｜>", text)


@dataclass(frozen=True)
class Message:
    """One chat turn handed to a generator."""

    role: str   # "system" | "user" | "assistant"
    content: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"Message role {self.role!r} is not one of {', '.join(ROLES)}")


class Generator(Protocol):
    """Something that turns chat messages into answer text, whole or as a stream of text pieces.

    `grammar` (GBNF) constrains the reply where the backend can (llama.cpp); others ignore it and the
    reply is parsed and checked the same way."""

    name: str

    def generate(self, messages: Sequence[Message], *, max_tokens: int = 512, grammar: str | None = None) -> str: ...

    def stream(self, messages: Sequence[Message], *, max_tokens: int = 512,
               grammar: str | None = None) -> Iterator[str]: ...


def _check_call(owner: str, messages: Sequence[Message], max_tokens: int) -> None:
    if not messages:
        raise ValueError(f"{owner}: no messages given; pass at least one user Message")
    if max_tokens < 1:
        raise ValueError(f"{owner}: max_tokens must be >= 1, got {max_tokens}")


# --------------------------------------------------------------------------- local GGUF


class LlamaGenerator:
    """A GGUF chat model run in-process by llama-cpp-python, using the chat template inside the file."""

    def __init__(
        self,
        model_path: Path,
        *,
        n_ctx: int = 4096,
        n_threads: int = 2,
        temperature: float = 0.0,
        seed: int = 0,
    ) -> None:
        if n_ctx < 256:
            raise ValueError(f"LlamaGenerator: n_ctx must be >= 256, got {n_ctx}")
        if n_threads < 1:
            raise ValueError(f"LlamaGenerator: n_threads must be >= 1, got {n_threads}")
        if temperature < 0:
            raise ValueError(f"LlamaGenerator: temperature must be >= 0, got {temperature}")
        self.model_path = Path(model_path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.temperature = temperature
        self.seed = seed
        self.name = f"llama:{self.model_path.name}"
        self.load_seconds: float | None = None
        self._llm: Llama | None = None
        self._load_lock = threading.Lock()
        self._call_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LlamaGenerator(model_path={str(self.model_path)!r}, n_ctx={self.n_ctx}, n_threads={self.n_threads})"

    def warm_up(self) -> None:
        """Load the model now rather than on the first question."""
        self._load()

    def _load(self) -> Llama:
        with self._load_lock:
            if self._llm is not None:
                return self._llm
            if not self.model_path.is_file():
                raise ModelMissingError(
                    f"LLM file {self.model_path} not found; build it with "
                    f"`python -m qa.llm_build {self.model_path}` (or `make setup`), or point llm_path at a GGUF file"
                )
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise GeneratorError(
                    f"cannot load {self.model_path}: llama-cpp-python is not installed ({exc}); "
                    "install it: pip install llama-cpp-python==0.3.36"
                ) from exc
            start = time.perf_counter()
            try:
                self._llm = Llama(
                    model_path=str(self.model_path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    seed=self.seed,
                    verbose=False,
                )
            except (ValueError, RuntimeError, OSError) as exc:
                raise GeneratorError(
                    f"llama-cpp-python could not load {self.model_path}: {exc}; "
                    f"check it is a complete GGUF file (rebuild: python -m qa.llm_build {self.model_path} --force)"
                ) from exc
            self.load_seconds = time.perf_counter() - start
            return self._llm

    def generate(self, messages: Sequence[Message], *, max_tokens: int = 512, grammar: str | None = None) -> str:
        """The whole answer as one string."""
        return "".join(self.stream(messages, max_tokens=max_tokens, grammar=grammar))

    def stream(self, messages: Sequence[Message], *, max_tokens: int = 512,
               grammar: str | None = None) -> Iterator[str]:
        """Yield answer text piece by piece, following the GBNF `grammar` if given; holds the model
        until the stream ends or is closed."""
        _check_call(self.name, messages, max_tokens)
        llm = self._load()
        rules = _llama_grammar(grammar) if grammar else None
        with self._call_lock:
            try:
                chunks = llm.create_chat_completion(
                    messages=[{"role": m.role, "content": defuse(m.content)} for m in messages],
                    max_tokens=max_tokens,
                    temperature=self.temperature,
                    seed=self.seed,
                    stream=True,
                    grammar=rules,
                )
                for chunk in chunks:
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece
            except ValueError as exc:  # llama-cpp-python reports an over-long prompt as ValueError
                raise GeneratorError(
                    f"{self.model_path.name} (n_ctx={self.n_ctx}) rejected the prompt: {exc}; "
                    "send fewer or shorter clauses, or raise llm_ctx"
                ) from exc


def _llama_grammar(gbnf: str) -> Any:
    """llama-cpp-python's grammar object for GBNF text; GeneratorError naming the first bad line."""
    from llama_cpp import LlamaGrammar

    try:
        return LlamaGrammar.from_string(gbnf, verbose=False)
    except (ValueError, RuntimeError) as exc:
        raise GeneratorError(f"llama.cpp rejected the answer grammar ({exc}); first line: {gbnf.splitlines()[0][:200]}") from exc


# --------------------------------------------------------------------------- OpenAI-compatible endpoint


class OpenAIGenerator:
    """A chat model behind an OpenAI-compatible `/v1/chat/completions` endpoint, via langchain-openai."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: SecretStr | str | None,
        *,
        timeout_s: float = 30.0,
        temperature: float = 0.0,
        max_retries: int = 1,
        max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens",
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"OpenAIGenerator: base_url must start with http:// or https://, got {base_url!r}")
        if not model.strip():
            raise ValueError("OpenAIGenerator: model name is empty; set it to the endpoint's model id")
        if timeout_s <= 0:
            raise ValueError(f"OpenAIGenerator: timeout_s must be > 0, got {timeout_s}")
        if not 0 <= max_retries <= 5:
            raise ValueError(f"OpenAIGenerator: max_retries must be 0..5, got {max_retries}")
        if max_tokens_field not in ("max_tokens", "max_completion_tokens"):
            raise ValueError(f"OpenAIGenerator: unknown max_tokens_field {max_tokens_field!r}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout_s = timeout_s
        self.temperature = temperature
        self.max_retries = max_retries
        self.max_tokens_field = max_tokens_field
        self._api_key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key or "")
        self.name = f"openai:{model}@{self.base_url}"
        self._chat: ChatOpenAI | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        key = "'**********'" if self._api_key.get_secret_value() else "None"
        return f"OpenAIGenerator(base_url={self.base_url!r}, model={self.model!r}, api_key={key}, timeout_s={self.timeout_s})"

    def warm_up(self) -> None:
        """Build the HTTP client now (it does not contact the endpoint)."""
        self._client()

    def _client(self) -> ChatOpenAI:
        with self._lock:
            if self._chat is None:
                from langchain_openai import ChatOpenAI

                # Local servers need no key, but the OpenAI client refuses an empty one (and would
                # otherwise read OPENAI_API_KEY from the environment behind our settings' back).
                key = self._api_key if self._api_key.get_secret_value() else SecretStr("not-needed")
                self._chat = ChatOpenAI(
                    base_url=self.base_url,
                    model=self.model,
                    api_key=key,
                    timeout=self.timeout_s,
                    max_retries=self.max_retries,
                    temperature=self.temperature,
                )
            return self._chat

    def _call_kwargs(self, max_tokens: int) -> dict[str, Any]:
        if self.max_tokens_field == "max_tokens":
            # ChatOpenAI renames its own max_tokens to max_completion_tokens; extra_body is sent verbatim.
            return {"extra_body": {"max_tokens": max_tokens}}
        return {"max_tokens": max_tokens}

    @staticmethod
    def _to_langchain(messages: Sequence[Message]) -> list[Any]:
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

        kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
        return [kinds[m.role](content=m.content) for m in messages]

    def _error(self, exc: Exception) -> GeneratorError:
        import httpx
        import openai

        root = exc
        while root.__cause__ is not None and root.__cause__ is not root:  # SDK and LangChain both wrap
            root = root.__cause__
        if isinstance(exc, (openai.APITimeoutError, httpx.TimeoutException)) or isinstance(root, httpx.TimeoutException):
            what = f"did not answer within the {self.timeout_s:g} s timeout"
            hint = "check the server is up and not overloaded, or raise the timeout"
        elif isinstance(exc, (openai.APIConnectionError, httpx.TransportError)):
            what = f"could not be reached ({type(root).__name__}: {root})"
            hint = "start the server or fix the base URL"
        elif isinstance(exc, openai.APIStatusError):
            what = f"answered HTTP {exc.status_code}: {str(exc.message)[:300]}"
            hint = {401: "check the API key", 403: "check the API key's permissions",
                    404: "check the base URL (it usually ends in /v1) and the model name"}.get(
                exc.status_code, "check the server's log, the model name and the API key")
        else:
            what = f"failed: {type(exc).__name__}: {str(exc)[:300]}"
            hint = "check the endpoint speaks the OpenAI chat completions API"
        message = f"OpenAI-compatible endpoint {self.base_url} (model {self.model}) {what}; {hint}"
        secret = self._api_key.get_secret_value()
        if secret:  # a server may echo the key back in an error body
            message = message.replace(secret, "**********")
        return GeneratorError(message)

    def generate(self, messages: Sequence[Message], *, max_tokens: int = 512, grammar: str | None = None) -> str:
        """The whole answer as one string (one non-streaming request); `grammar` is not sent: the
        chat completions API has no GBNF, so the reply is parsed as it comes."""
        _check_call(self.name, messages, max_tokens)
        chat = self._client()
        try:
            reply = chat.invoke(self._to_langchain(messages), **self._call_kwargs(max_tokens))
        except Exception as exc:  # noqa: BLE001 - every failure becomes one GeneratorError
            raise self._error(exc) from None
        return reply.text

    def stream(self, messages: Sequence[Message], *, max_tokens: int = 512,
               grammar: str | None = None) -> Iterator[str]:
        """Yield answer text as the endpoint streams it (server-sent events); `grammar` is not sent."""
        _check_call(self.name, messages, max_tokens)
        chat = self._client()
        try:
            for chunk in chat.stream(self._to_langchain(messages), **self._call_kwargs(max_tokens)):
                if isinstance(chunk.content, str) and chunk.content:
                    yield chunk.content
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc) from None


# --------------------------------------------------------------------------- scripted (tests, demos)


class ScriptedGenerator:
    """A generator that replies from a script: a list of replies used in turn, or a function of the messages.

    It records every call's messages in `.calls` and grammar in `.grammars`, streams in pieces of `chunk_chars` characters, and
    cuts a reply at `max_tokens` characters (about one token per Chinese character).
    """

    def __init__(
        self,
        replies: Sequence[str] | Callable[[Sequence[Message]], str],
        name: str = "scripted",
        *,
        chunk_chars: int = 3,
    ) -> None:
        if isinstance(replies, str):
            raise TypeError("ScriptedGenerator: replies must be a list of strings or a function, not one string")
        if chunk_chars < 1:
            raise ValueError(f"ScriptedGenerator: chunk_chars must be >= 1, got {chunk_chars}")
        self._replies = replies if callable(replies) else list(replies)
        self.name = name
        self.chunk_chars = chunk_chars
        self.calls: list[tuple[Message, ...]] = []
        self.grammars: list[str | None] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ScriptedGenerator(name={self.name!r}, calls={len(self.calls)})"

    def _reply(self, messages: Sequence[Message], max_tokens: int, grammar: str | None) -> str:
        _check_call(self.name, messages, max_tokens)
        with self._lock:
            index = len(self.calls)
            self.calls.append(tuple(messages))
            self.grammars.append(grammar)
        if callable(self._replies):
            reply = self._replies(messages)
        elif index < len(self._replies):
            reply = self._replies[index]
        else:
            raise GeneratorError(
                f"{self.name}: call {index + 1} but the script has only {len(self._replies)} replies; add more replies"
            )
        return reply[:max_tokens]

    def generate(self, messages: Sequence[Message], *, max_tokens: int = 512, grammar: str | None = None) -> str:
        """The next scripted reply (as written: the grammar is recorded, not enforced)."""
        return self._reply(messages, max_tokens, grammar)

    def stream(self, messages: Sequence[Message], *, max_tokens: int = 512,
               grammar: str | None = None) -> Iterator[str]:
        """The next scripted reply in pieces of `chunk_chars` characters."""
        reply = self._reply(messages, max_tokens, grammar)
        for i in range(0, len(reply), self.chunk_chars):
            yield reply[i : i + self.chunk_chars]
