"""Tests for the generator seam, its adapters, and the GGUF assembly.

Default tier: ScriptedGenerator; OpenAIGenerator against a local fake OpenAI server (JSON, SSE, refused
port, slow server, HTTP error, key hygiene); `assemble_gguf` on small synthetic part packages.
`llm` tier: the real 1.5B GGUF through LlamaGenerator, and the assembled file's verification.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
import uuid
from pathlib import Path

import pytest
from fake_openai import free_port, serve_fake_openai

from policyqa.errors import GeneratorError, ModelMissingError
from qa import llm_build
from qa.generators import LlamaGenerator, Message, OpenAIGenerator, ScriptedGenerator
from qa.llm_build import QWEN_1_5B, GGUFSpec, assemble_gguf, is_verified, main, sidecar_path

REPLY = "根据材料,到2015年城市气化率为90%。"
KEY = "sk-test-DO-NOT-LEAK-4242"
ASK = [Message("system", "只根据材料回答。"), Message("user", "2015年城市气化率目标是多少?")]
CJK = re.compile(r"[\u4e00-\u9fff]")


# --------------------------------------------------------------------------- seam and ScriptedGenerator


def test_message_rejects_unknown_role():
    with pytest.raises(ValueError, match="tool"):
        Message("tool", "x")


def test_scripted_replies_in_turn_and_records_calls():
    gen = ScriptedGenerator(["第一", "第二"])
    assert gen.generate(ASK) == "第一"
    assert "".join(gen.stream(ASK[1:])) == "第二"
    assert gen.calls == [tuple(ASK), tuple(ASK[1:])]
    with pytest.raises(GeneratorError, match="only 2 replies"):
        gen.generate(ASK)


def test_scripted_streams_small_chunks_that_join_to_the_reply():
    gen = ScriptedGenerator([REPLY], chunk_chars=4)
    pieces = list(gen.stream(ASK))
    assert "".join(pieces) == REPLY
    assert len(pieces) > 1 and all(1 <= len(p) <= 4 for p in pieces)


def test_scripted_function_sees_messages_and_max_tokens_cuts():
    gen = ScriptedGenerator(lambda msgs: "问:" + msgs[-1].content, name="echo")
    assert gen.generate(ASK, max_tokens=6) == "问:2015"
    assert gen.name == "echo"


def test_scripted_rejects_empty_messages_and_bad_max_tokens():
    gen = ScriptedGenerator(["x"])
    with pytest.raises(ValueError, match="no messages"):
        gen.generate([])
    with pytest.raises(ValueError, match="max_tokens"):
        gen.generate(ASK, max_tokens=0)


# --------------------------------------------------------------------------- OpenAIGenerator


def test_openai_generate_and_stream_return_the_fixed_reply():
    received: list[dict] = []
    with serve_fake_openai([REPLY], received=received) as base_url:
        gen = OpenAIGenerator(base_url, "fake", KEY, timeout_s=5)
        assert gen.generate(ASK, max_tokens=64) == REPLY
        pieces = list(gen.stream(ASK, max_tokens=32))
    assert "".join(pieces) == REPLY
    assert len(pieces) > 1, "the reply should arrive in several SSE chunks"
    plain, streamed = (r["body"] for r in received)
    assert plain["messages"] == [{"role": "system", "content": "只根据材料回答。"},
                                 {"role": "user", "content": "2015年城市气化率目标是多少?"}]
    assert (plain["max_tokens"], streamed["max_tokens"], streamed["stream"]) == (64, 32, True)
    assert "max_completion_tokens" not in plain  # llama-cpp-python's server ignores that field
    assert received[0]["authorization"] == f"Bearer {KEY}"


def test_openai_can_send_max_completion_tokens_instead():
    received: list[dict] = []
    with serve_fake_openai([REPLY], received=received) as base_url:
        gen = OpenAIGenerator(base_url, "fake", None, max_tokens_field="max_completion_tokens")
        assert gen.generate(ASK, max_tokens=16) == REPLY
    body = received[0]["body"]
    assert body["max_completion_tokens"] == 16 and "max_tokens" not in body


def test_openai_unreachable_endpoint_fails_fast_naming_the_url():
    base_url = f"http://127.0.0.1:{free_port()}/v1"
    gen = OpenAIGenerator(base_url, "fake", KEY, timeout_s=3)
    for call in (lambda: gen.generate(ASK), lambda: "".join(gen.stream(ASK))):
        start = time.perf_counter()
        with pytest.raises(GeneratorError) as info:
            call()
        assert time.perf_counter() - start < 5
        assert base_url in str(info.value) and "reached" in str(info.value)
        assert KEY not in str(info.value)


def test_openai_slow_endpoint_times_out():
    with serve_fake_openai([REPLY], delay_s=4) as base_url:
        gen = OpenAIGenerator(base_url, "fake", KEY, timeout_s=0.5, max_retries=0)
        for call in (lambda: gen.generate(ASK), lambda: "".join(gen.stream(ASK))):
            start = time.perf_counter()
            with pytest.raises(GeneratorError, match="timeout") as info:
                call()
            assert time.perf_counter() - start < 3
            assert base_url in str(info.value)


def test_openai_http_error_names_status_not_key():
    with serve_fake_openai([REPLY], status=500) as base_url:
        gen = OpenAIGenerator(base_url, "fake", KEY, max_retries=0)
        with pytest.raises(GeneratorError, match="HTTP 500") as info:
            gen.generate(ASK)
    assert KEY not in str(info.value) and base_url in str(info.value)


def test_openai_key_stays_out_of_repr_and_logs(caplog):
    caplog.set_level(logging.DEBUG)
    with serve_fake_openai([REPLY]) as base_url:
        gen = OpenAIGenerator(base_url, "fake", KEY)
        gen.generate(ASK)
        gen.warm_up()
        assert KEY not in repr(gen) and KEY not in repr(gen._client()) and "**" in repr(gen)
    assert caplog.records, "expected debug logs from the HTTP client"
    assert all(KEY not in r.getMessage() for r in caplog.records)


def test_openai_init_is_cheap_and_validates():
    gen = OpenAIGenerator("http://127.0.0.1:9/v1", "m", None)
    assert gen._chat is None  # nothing built until first use
    with pytest.raises(ValueError, match="base_url"):
        OpenAIGenerator("127.0.0.1:9", "m", None)
    with pytest.raises(ValueError, match="timeout_s"):
        OpenAIGenerator("http://x/v1", "m", None, timeout_s=0)


def test_llama_missing_file_raises_model_missing_naming_the_build_command(tmp_path):
    gen = LlamaGenerator(tmp_path / "absent.gguf")
    with pytest.raises(ModelMissingError, match="absent.gguf.*qa.llm_build"):
        gen.generate(ASK)


def test_llama_corrupt_file_raises_generator_error_naming_it(tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 1024)
    with pytest.raises(GeneratorError, match="broken.gguf.*llm_build"):
        LlamaGenerator(bad).warm_up()


# --------------------------------------------------------------------------- assemble_gguf on synthetic parts


def _fake_spec(tmp_path: Path, monkeypatch, chunks: list[bytes], *, sha256: str | None = None) -> GGUFSpec:
    """Write one tiny importable part package per chunk under tmp_path and return their spec."""
    prefix = f"fakepart-{uuid.uuid4().hex[:8]}-"
    packages = tuple(f"{prefix}{i}" for i in range(1, len(chunks) + 1))
    for package, chunk in zip(packages, chunks):
        mod = tmp_path / "site" / package.replace("-", "_")
        (mod / "data").mkdir(parents=True)
        (mod / "data" / "part.bin").write_bytes(chunk)
        (mod / "__init__.py").write_text(
            "import os\ndef get_part_path():\n"
            "    return os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'part.bin')\n"
        )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    whole = b"".join(chunks)
    return GGUFSpec("fake", packages, "1.0", len(whole), sha256 or hashlib.sha256(whole).hexdigest())


CHUNKS = [b"GGUF" + bytes(range(256)) * 40, bytes(range(255, -1, -1)) * 33, b"tail"]


def test_assemble_concatenates_in_order_and_writes_sidecar(tmp_path, monkeypatch):
    spec = _fake_spec(tmp_path, monkeypatch, CHUNKS)
    out = assemble_gguf(tmp_path / "m" / "model.gguf", spec=spec)
    assert out.read_bytes() == b"".join(CHUNKS)
    assert sidecar_path(out).read_text().split() == [spec.sha256, "model.gguf"]
    assert is_verified(out, spec)
    assert sorted(p.name for p in out.parent.iterdir()) == ["model.gguf", "model.gguf.sha256"]
    assert out.stat().st_mode & 0o777 == 0o644


def test_assemble_skips_a_verified_file_without_reading_parts(tmp_path, monkeypatch):
    spec = _fake_spec(tmp_path, monkeypatch, CHUNKS)
    out = assemble_gguf(tmp_path / "model.gguf", spec=spec)
    for part in (tmp_path / "site").rglob("part.bin"):
        part.unlink()  # a rebuild would now fail
    assert assemble_gguf(out, spec=spec) == out
    with pytest.raises(ModelMissingError, match="chunk"):
        assemble_gguf(out, spec=spec, force=True)
    assert out.read_bytes() == b"".join(CHUNKS), "a failed rebuild must leave the good file alone"


def test_assemble_rebuilds_a_file_changed_after_verification(tmp_path, monkeypatch):
    spec = _fake_spec(tmp_path, monkeypatch, CHUNKS)
    out = assemble_gguf(tmp_path / "model.gguf", spec=spec)
    out.write_bytes(b"X" * spec.size)  # same size, newer than the sidecar
    os.utime(sidecar_path(out), (time.time() - 60, time.time() - 60))
    assert not is_verified(out, spec)
    assemble_gguf(out, spec=spec)
    assert out.read_bytes() == b"".join(CHUNKS)


def test_assemble_hash_mismatch_reports_both_hashes_and_leaves_nothing(tmp_path, monkeypatch):
    spec = _fake_spec(tmp_path, monkeypatch, CHUNKS, sha256="0" * 64)
    out = tmp_path / "model.gguf"
    with pytest.raises(ModelMissingError) as info:
        assemble_gguf(out, spec=spec)
    actual = hashlib.sha256(b"".join(CHUNKS)).hexdigest()
    assert "0" * 64 in str(info.value) and actual in str(info.value)
    assert list(tmp_path.glob("*.gguf*")) == [] and list(tmp_path.glob(".model.gguf*")) == []


def test_assemble_missing_package_names_it_and_the_pip_command(tmp_path, monkeypatch):
    spec = _fake_spec(tmp_path, monkeypatch, CHUNKS)
    spec = GGUFSpec(spec.name, spec.packages + ("fakepart-absent-9",), "1.0", spec.size, spec.sha256)
    with pytest.raises(ModelMissingError, match=r"fakepart-absent-9.*pip install fakepart-absent-9==1\.0"):
        assemble_gguf(tmp_path / "model.gguf", spec=spec)


def test_cli_prints_path_and_seconds_or_one_error_line(tmp_path, monkeypatch, capsys):
    spec = _fake_spec(tmp_path, monkeypatch, CHUNKS)
    monkeypatch.setitem(llm_build.SPECS, "fake", spec)
    assert main([str(tmp_path / "x.gguf"), "--model", "fake"]) == 0
    assert re.fullmatch(r".*x\.gguf\t\d+\.\ds\n", capsys.readouterr().out)
    monkeypatch.setitem(llm_build.SPECS, "fake", GGUFSpec("fake", ("fakepart-absent-1",), "1.0", 1, "0" * 64))
    assert main([str(tmp_path / "y.gguf"), "--model", "fake"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and err.count("\n") == 1 and "pip install fakepart-absent-1==1.0" in err


# --------------------------------------------------------------------------- llm tier: the real 1.5B GGUF

LLM_PATH = Path(os.environ.get("POLICYQA_LLM_PATH", Path(__file__).resolve().parents[1]
                               / "var" / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"))
needs_llm = pytest.mark.skipif(
    not LLM_PATH.is_file(),
    reason=f"{LLM_PATH} not built; run `python -m qa.llm_build {LLM_PATH}` or set POLICYQA_LLM_PATH",
)
CLAUSE = (
    "1.用好“气化山西”的政策,优化能源结构、提高能源效率,结合“气化朔州”重点建设工程项目,加快煤制天然气管线建设,"
    "煤层气应急调峰储气设施建设,加快推进天然气分布式能源发展。加大天然气对成品油替代步伐,到2015年城市气化率为90%,"
    "2020年城市气化率达到98%。(牵头单位:市发展改革委)"
)
GROUNDED = [
    Message("system", "你是政策问答助手。只根据材料回答,材料中没有的内容就说“材料中未找到”。用中文简洁回答。"),
    Message("user", f"材料:\n{CLAUSE}\n\n问题:这项工作由哪个单位牵头?"),
]


@pytest.fixture(scope="module")
def llama() -> LlamaGenerator:
    gen = LlamaGenerator(LLM_PATH)
    gen.warm_up()
    return gen


@pytest.mark.llm
@needs_llm
def test_llama_streams_grounded_chinese_answer(llama):
    pieces = llama.stream(GROUNDED, max_tokens=64)
    first = next(pieces)  # a piece arrives before the rest is generated (speed is eval/bench_llm.py's job)
    rest = list(pieces)
    text = first + "".join(rest)
    assert first and rest
    assert CJK.search(text), text
    assert "发展改革委" in text, text


@pytest.mark.llm
@needs_llm
def test_llama_serialises_concurrent_callers(llama):
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(llama.generate(GROUNDED, max_tokens=24)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == 2 and results[0] == results[1] != ""  # temperature 0: same answer twice


@pytest.mark.llm
@needs_llm
def test_assembled_gguf_is_verified_and_rerun_is_instant():
    if LLM_PATH.stat().st_size != QWEN_1_5B.size:
        pytest.skip(f"{LLM_PATH} is not the packaged 1.5B model")
    assert sidecar_path(LLM_PATH).read_text().split()[0] == QWEN_1_5B.sha256
    assert is_verified(LLM_PATH, QWEN_1_5B)
    start = time.perf_counter()
    assert assemble_gguf(LLM_PATH) == LLM_PATH
    assert time.perf_counter() - start < 1.0, "a verified file must not be re-hashed"
