"""The one settings class. Read only by entry points (CLI, app, eval runner); passed down as values.

Every field can be set with an environment variable `POLICYQA_<FIELD>` (e.g. POLICYQA_INDEX_DIR) or a
`.env` file in the working directory. Paths are relative to the working directory.

Uploaded documents and the index live in a data folder outside the source tree (`data_dir`, by default
$XDG_DATA_HOME/policyqa or ~/.local/share/policyqa): `data_dir/corpus` and `data_dir/index` unless
`corpus_dir` / `index_dir` are set. The first build or start seeds an empty corpus folder with the
seed documents of the repository's `corpus/` (see `prepare_corpus`), so the repository is never written to.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "corpus"


def default_data_dir() -> Path:
    """$XDG_DATA_HOME/policyqa, or ~/.local/share/policyqa (the XDG base-directory default)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "policyqa"


class Settings(BaseSettings):
    """All tunable values of policyqa, with the defaults that work offline on a 2-core CPU."""

    model_config = SettingsConfigDict(env_prefix="POLICYQA_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    corpus_dir: Path | None = None  # default: data_dir/corpus
    index_dir: Path | None = None  # default: data_dir/index
    seed_dir: Path = SEEDS  # copied into a corpus folder that does not exist yet
    prompts_dir: Path = ROOT / "prompts"
    keep_versions: int = Field(1, ge=1)  # older index versions kept on disk (rolling back a failed change needs one)
    watch_interval_s: float = Field(2.0, gt=0)  # how often the app looks for versions other processes published

    # Ingest
    max_clause_chars: int = Field(400, ge=50, le=2000)
    max_file_mb: float = Field(20.0, gt=0)
    max_documents: int = Field(500, ge=1)  # uploads beyond this many documents in the index are refused

    # Index engine (index/engine.py): where vectors and BM25 rows live. The next build writes this engine; an
    # index opens with the engine its manifest names. milvus_uri "" is a Milvus Lite file inside the index
    # folder (INDEX_DIR/milvus.db, one process at a time); a .db path, or http(s)://host:19530 for a server.
    engine: Literal["faiss", "numpy", "milvus"] = "faiss"
    milvus_uri: str = ""
    milvus_token: SecretStr = SecretStr("")  # a server's "user:password" or API key; never logged or stored

    # Support items: the model that reads what the rules cannot (off, llama, openai), and how many
    # provisions one build may send it (the laws corpus would send thousands)
    items_model: str = "off"
    items_model_budget: int = Field(20, ge=0)

    # Retrieval
    embedding_model: str = str(ROOT / "var" / "models" / "multilingual-e5-small")
    embed_batch_size: int = Field(16, ge=1)
    search_k: int = Field(5, ge=1, le=200)
    max_question_chars: int = Field(1000, ge=10)

    # Answering
    generator: str = "llama"
    llm_path: Path = ROOT / "var" / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    llm_threads: int = Field(2, ge=1)
    llm_ctx: int = Field(4096, ge=512)
    openai_base_url: str = "http://127.0.0.1:8000/v1"
    openai_model: str = "gpt-4o-mini"
    openai_api_key: SecretStr = SecretStr("")
    openai_timeout_s: float = Field(30.0, gt=0)

    # Serving
    max_concurrent_generations: int = Field(1, ge=1)  # LLM answers at once (one llama context)
    generation_queue: int = Field(2, ge=0)  # more may wait; beyond that the answer is "busy"
    generation_wait_s: float = Field(300.0, gt=0)
    host: str = "127.0.0.1"  # beyond localhost, upload and delete need admin_token (off without one)
    port: int = Field(7860, ge=1, le=65535)
    admin_token: SecretStr = SecretStr("")  # Bearer token (API) / 管理口令 (UI) for upload and delete

    @model_validator(mode="after")
    def _folders(self) -> "Settings":
        if self.corpus_dir is None:
            self.corpus_dir = self.data_dir / "corpus"
        if self.index_dir is None:
            self.index_dir = self.data_dir / "index"
        return self


def prepare_corpus(settings: Settings) -> bool:
    """Create the corpus folder from the seed documents if it does not exist; True if it did so.
    An existing folder (even an empty one) is left alone: it is the user's."""
    corpus = settings.corpus_dir
    if corpus.exists() or not settings.seed_dir.is_dir():
        return False
    corpus.parent.mkdir(parents=True, exist_ok=True)
    tmp = corpus.with_name(f".{corpus.name}.seeding-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(settings.seed_dir, tmp, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    try:
        os.rename(tmp, corpus)  # whole or not at all
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not corpus.exists():
            raise
        return False  # another process seeded it first
    return True
