"""Benchmark the two ways to serve the local GGUF: in-process `LlamaGenerator` vs `llama_cpp.server` + `OpenAIGenerator`.

Both answer the same three ~500-token Chinese prompts (a strict system prompt plus four clauses of the
Shuozhou plan, clause order rotated per run so llama.cpp's prefix cache cannot skip the material) after
one untimed warm-up call each. Both stay loaded and take turns run by run, so load from other processes
on a shared machine hits both alike. Prints load time, first-token latency, total time and tokens/s
(p50 of the runs) and the load average.
The server path needs `pip install 'llama-cpp-python[server]==0.3.36'`.

    python eval/bench_llm.py [--model var/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.generators import Generator, LlamaGenerator, Message, OpenAIGenerator  # noqa: E402

DEFAULT_MODEL = ROOT / "var" / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
SOURCE = ROOT / "corpus" / "shuozhou-2014.txt"  # byte-identical to shared/seeds/003_7084a33dffef7d52.txt
SYSTEM = (
    "你是政府政策文件问答助手。只根据材料回答问题,不要使用材料以外的知识。"
    "回答时注明依据的条款编号。如果材料中没有答案,回答“材料中未找到相关内容”。"
)
QUESTIONS = ["城市气化率的目标是多少?由哪个单位牵头?", "技术市场建设有哪些具体措施?", "低碳科技创新专项以什么为主线?"]
MARKERS = ["1.用好", "2.实施低碳", "3.推进产业减碳", "1.加快技术市场"]


@dataclass(frozen=True)
class Run:
    """One timed answer."""

    first_s: float
    total_s: float
    tokens: int
    text: str


def clauses() -> list[str]:
    """Four clauses of the Shuozhou plan, found by their opening words."""
    lines = [line.strip(" \u00a0\u3000") for line in SOURCE.read_text(encoding="utf-8").splitlines()]
    return [next(line for line in lines if line.startswith(marker)) for marker in MARKERS]


def prompt(run: int) -> list[Message]:
    """Run `run`'s prompt: clauses rotated by `run`, question `run`."""
    cs = clauses()
    cs = cs[run % 4 :] + cs[: run % 4]
    material = "\n".join(f"[{i + 1}] {c}" for i, c in enumerate(cs))
    return [Message("system", SYSTEM), Message("user", f"材料:\n{material}\n\n问题:{QUESTIONS[run % 3]}")]


def timed(gen: Generator, messages: list[Message], max_tokens: int, count) -> Run:
    start = time.perf_counter()
    first = None
    pieces = []
    for piece in gen.stream(messages, max_tokens=max_tokens):
        if first is None:
            first = time.perf_counter() - start
        pieces.append(piece)
    total = time.perf_counter() - start
    text = "".join(pieces)
    return Run(first if first is not None else total, total, count(text), text)


def summary(label: str, load_s: float, results: list[Run]) -> None:
    """One line of p50 numbers for one path."""
    p50 = statistics.median
    gen_rate = p50(r.tokens / max(r.total_s - r.first_s, 1e-9) for r in results)
    print(
        f"{label:<12} load {load_s:5.2f}s | first token p50 {p50(r.first_s for r in results):5.2f}s | "
        f"total p50 {p50(r.total_s for r in results):5.2f}s | generation p50 {gen_rate:5.1f} tok/s | "
        f"tokens {[r.tokens for r in results]}",
        flush=True,
    )


def interleaved(paths: dict[str, Generator], runs: int, max_tokens: int, count) -> dict[str, list[Run]]:
    """Warm each path up (untimed), then alternate them run by run so background load hits both alike."""
    for gen in paths.values():
        timed(gen, [Message("user", "你好")], 8, count)  # first-call set-up is not measured
    results: dict[str, list[Run]] = {label: [] for label in paths}
    for i in range(runs):
        for label, gen in paths.items():
            r = timed(gen, prompt(i), max_tokens, count)
            print(f"  run {i + 1} {label:<12} first {r.first_s:5.2f}s total {r.total_s:5.2f}s {r.tokens} tokens "
                  f"(load avg {os.getloadavg()[0]:.2f})", flush=True)
            results[label].append(r)
    return results


def start_server(model: Path, port: int, threads: int, n_ctx: int) -> tuple[subprocess.Popen, float]:
    """Start `python -m llama_cpp.server` on 127.0.0.1:port; return it once /v1/models answers, and the seconds taken."""
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", "local",
           "--n_ctx", str(n_ctx), "--n_threads", str(threads), "--host", "127.0.0.1", "--port", str(port),
           "--verbose", "False"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while time.perf_counter() - start < 180:
        if proc.poll() is not None:
            raise SystemExit(f"Error: llama_cpp.server exited with {proc.returncode}: {proc.stderr.read()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=1):
                return proc, time.perf_counter() - start
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("Error: llama_cpp.server did not answer within 180 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--skip-server", action="store_true")
    args = parser.parse_args()
    if not args.model.is_file():
        print(f"Error: {args.model} not found; run python -m qa.llm_build {args.model}", file=sys.stderr)
        return 1

    from llama_cpp import Llama

    vocab = Llama(model_path=str(args.model), vocab_only=True, verbose=False)

    def count(text: str) -> int:
        return len(vocab.tokenize(text.encode("utf-8"), add_bos=False)) if text else 0

    print(f"load average at start: {os.getloadavg()[0]:.2f} (other processes skew the numbers)", flush=True)
    sizes = [count(m.content) for i in range(args.runs) for m in prompt(i)]
    print(f"model {args.model.name}; prompt ≈ {sum(sizes) // args.runs} tokens of content per run; "
          f"max_tokens {args.max_tokens}; n_threads {args.threads}", flush=True)

    local = LlamaGenerator(args.model, n_ctx=args.n_ctx, n_threads=args.threads)
    start = time.perf_counter()
    local.warm_up()
    loads = {"in-process": time.perf_counter() - start}
    paths: dict[str, Generator] = {"in-process": local}
    proc = None
    try:
        if not args.skip_server:
            # Both stay resident (the GGUF is mmapped once in the page cache); only one computes at a time.
            proc, loads["server+http"] = start_server(args.model, args.port, args.threads, args.n_ctx)
            paths["server+http"] = OpenAIGenerator(
                f"http://127.0.0.1:{args.port}/v1", "local", None, timeout_s=120, max_retries=0
            )
        results = interleaved(paths, args.runs, args.max_tokens, count)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    for label, runs in results.items():
        summary(label, loads[label], runs)
    if len(results) == 2:
        a, b = results.values()
        same = sum(x.text == y.text for x, y in zip(a, b))
        print(f"identical answers on both paths: {same}/{args.runs}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    for i, r in enumerate(results["in-process"]):
        print(f"--- answer {i + 1} (in-process): {r.text[:160]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
