"""The one settings class. Read only by entry points (CLI, app, eval runner); passed down as values.

Every field can be set with an environment variable `POLICYQA_<FIELD>` (e.g. POLICYQA_INDEX_DIR) or a
`.env` file in the working directory. Paths are relative to the working directory.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """All tunable values of policyqa, with the defaults that work offline on a 2-core CPU."""

    model_config = SettingsConfigDict(env_prefix="POLICYQA_", env_file=".env", extra="ignore")

    corpus_dir: Path = ROOT / "corpus"
    index_dir: Path = ROOT / "var" / "index"
    prompts_dir: Path = ROOT / "prompts"

    # Ingest
    max_clause_chars: int = Field(400, ge=50, le=2000)
    max_file_mb: float = Field(20.0, gt=0)
    max_documents: int = Field(500, ge=1)  # uploads beyond this many documents in the index are refused

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
