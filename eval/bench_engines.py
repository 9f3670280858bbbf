"""Engine benchmark: FAISS + bm25s against Milvus (Lite) at 10k, the whole laws corpus and 1M clauses.

Embedding is the same for every engine (index/build.py), so it is done once: the laws corpus outside
DLC/ is built into a FAISS index folder (`--cache`, then reused) and every engine is filled from its
vectors and jieba tokens. `--model` makes those vectors: the scale path (e5 through ONNX int8, ~25 min
for the 70k clauses on an idle 2-core machine), or `hashing-bigram-384`, character-bigram hashing of
the same texts into as many dimensions, in a minute. Engine figures do not depend on which: flat
search reads every allowed vector whatever its values, and sizes and write rates depend on the
dimension alone; retrieval quality is measured on the dev set instead (tests/test_milvus.py). The 1M size repeats the laws
rows with distinct ids and documents (`<doc>~rN`) and vectors perturbed by Gaussian noise of norm
`--noise` before normalising (cosine ≈0.96 to the original), the tokens unchanged. Each clause gets
one of 50 synthetic units (the laws name none) so the department filter has a realistic 2% selectivity.

Per engine and size, in a fresh process: the write (rows/s and seconds to create, fill, flush and save a
version, embedding excluded), the version's size on disk (for Milvus Lite: the .db file), peak memory
(this process and, for Milvus Lite, its engine child) and warm search latency p50/p95 over `--questions`
questions (vectors and tokens made once, beforehand) for dense and BM25, without a filter, with a
one-document filter and with a one-unit filter. Writes eval/reports/engines.md and engines.json.

Run: `.venv/bin/python -m eval.bench_engines --engine faiss,milvus --sizes 10000,all,1000000`
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.bench import E5, REPORTS, ROOT, load_laws, questions
from eval.bench_parse import DEFAULT_ARCHIVE

CACHE = ROOT / "var" / "bench" / "laws-index"
UNITS = [f"单位{i:02d}" for i in range(50)]


@dataclass(frozen=True)
class BenchClause:
    """What an engine reads from a clause: its document and units (a full Clause per row at 1M would
    measure the benchmark's own records, not the engine)."""

    doc_id: str
    departments: tuple[str, ...]
    lead: tuple[str, ...] = ()
    cooperating: tuple[str, ...] = ()


def ensure_cache(cache: Path, archive: Path, model: str) -> None:
    """Build the laws index folder that every engine is filled from, unless it is there."""
    from index.build import build_index
    from index.embedder import make_embedder
    from index.store import read_manifest

    if read_manifest(cache) is not None:
        return
    with tempfile.TemporaryDirectory() as tmp:
        loaded, _ = load_laws(archive, Path(tmp))
        print(f"embedding {len(loaded.clauses):,} clauses into {cache} (once)", flush=True)
        build_index(loaded, cache, make_embedder(model, batch_size=32))


def bench_rows(cache: Path, size: int | None, noise: float, seed: int = 5):
    """Rows for one size: a prefix of the cache's rows, or (beyond it) copies with new ids and
    perturbed vectors; returns (Rows, doc ids in order)."""
    from index.engine import Rows
    from index.store import open_index

    data = open_index(cache, verify=False)
    n = len(data.clauses)
    vectors, size = data.vectors(), size or n
    rng = np.random.default_rng(seed)
    clauses, tokens, blocks = [], [], []
    for copy in range(-(-size // n)):
        take = min(n, size - copy * n)
        suffix = f"~r{copy}" if copy else ""
        clauses += [BenchClause(c.doc_id + suffix, (UNITS[(i * 7 + copy) % len(UNITS)],)) for i, c in enumerate(data.clauses[:take])]
        tokens += data.tokens[:take]  # the same lists: shared, not copied
        block = vectors[:take]
        if copy:
            block = block + noise * rng.standard_normal(block.shape).astype(np.float32) / np.sqrt(block.shape[1])
            block /= np.linalg.norm(block, axis=1, keepdims=True)
        blocks.append(block.astype(np.float32))
    data.engine.close()
    return Rows.of(clauses, tokens, np.vstack(blocks))


class PeakMemory:
    """Peak resident memory (MB) of this process plus its children (Milvus Lite's engine), sampled."""

    def __init__(self, every: float = 0.2) -> None:
        import psutil

        self.process, self.every, self.peak = psutil.Process(), every, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> tuple[float, float]:
        """(this process, its children) resident MB now."""
        own = self.process.memory_info().rss
        children = 0
        for child in self.process.children(recursive=True):
            try:
                children += child.memory_info().rss
            except Exception:  # a child that just ended
                pass
        return own / 1e6, children / 1e6

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, sum(self.now()))

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, sum(self.now()))


def p50_p95(times: list[float]) -> tuple[float, float]:
    from eval.harness import percentile

    return round(percentile(times, 50), 2), round(percentile(times, 95), 2)


def child(job: dict) -> dict:
    """Fill one engine with one size and measure it (runs in its own process)."""
    from index.engine import EngineSpec, Where
    from index.engines import engine_class

    rows = bench_rows(Path(job["cache"]), job["size"], job["noise"])
    queries = json.loads(Path(job["queries"]).read_text(encoding="utf-8"))
    folder = Path(job["index"]) / "v-bench"
    folder.mkdir(parents=True)
    spec = EngineSpec(job["engine"])
    with PeakMemory() as memory:
        before = sum(memory.now())
        t0 = time.perf_counter()
        engine = engine_class(spec.name).create(folder, spec, rows.vectors.shape[1])
        engine.upsert(rows)
        engine.save()
        write_s = time.perf_counter() - t0
        after_write = memory.now()
        docs = sorted({c.doc_id for c in rows.clauses})
        filters = {"": None, "doc": lambda i: Where(doc_ids=(docs[(i * 97) % len(docs)],)),
                   "unit": lambda i: Where(units=(UNITS[i % len(UNITS)],))}
        latency = {}
        for name, make in filters.items():
            for kind in ("dense", "bm25"):
                times = []
                for i, q in enumerate(queries * 2):
                    where = make(i) if make else None
                    t = time.perf_counter()
                    if kind == "dense":
                        engine.dense(np.asarray(q["vector"], np.float32), 100, where)
                    else:
                        engine.lexical(q["tokens"], 100, where)
                    times.append((time.perf_counter() - t) * 1000)
                latency[f"{kind}{'+' + name if name else ''}"] = p50_p95(times[len(queries) // 2:])  # first ones warm up
        engine.close()
    disk = sum(p.stat().st_size for p in Path(job["index"]).rglob("*") if p.is_file())
    return {"engine": spec.name, "clauses": len(rows.ids), "write_s": round(write_s, 1),
            "write_rate": round(len(rows.ids) / write_s), "disk_mb": round(disk / 1e6, 1),
            "memory_mb": round(after_write[0] + after_write[1] - before), "engine_child_mb": round(after_write[1]),
            "peak_mb": round(memory.peak), "latency": latency}


def make_queries(cache: Path, model: str, n: int, out: Path) -> None:
    """Question vectors and tokens, made once with the real model and the index's tokenizer."""
    from index.embedder import make_embedder
    from index.lexical import Tokenizer
    from index.store import read_manifest

    _, manifest = read_manifest(cache)
    with open(cache / "CURRENT", encoding="utf-8") as fh:
        version = cache / fh.read().strip()
    with open(version / "clauses.jsonl", encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh]
    qs = questions(texts, n)
    embedder, tokenizer = make_embedder(model), Tokenizer(manifest.get("user_words", []))
    rows = [{"question": q, "vector": embedder.embed_query(q).tolist(), "tokens": tokenizer.tokens(q)} for q in qs]
    out.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")


def table(results: list[dict]) -> str:
    """The Markdown table, one row per engine and size."""
    kinds = ["dense", "dense+doc", "dense+unit", "bm25", "bm25+doc", "bm25+unit"]
    lines = ["| engine | clauses | write rows/s | write s | on disk MB | index memory MB (engine child) | peak MB | "
             + " | ".join(f"{k} p50/p95 ms" for k in kinds) + " |", "|---" * (7 + len(kinds)) + "|"]
    for r in results:
        lat = " | ".join(f"{r['latency'][k][0]:.1f} / {r['latency'][k][1]:.1f}" for k in kinds)
        lines.append(f"| {r['engine']} | {r['clauses']:,} | {r['write_rate']:,} | {r['write_s']:,.0f} | {r['disk_mb']:,.0f} "
                     f"| {r['memory_mb']:,} ({r['engine_child_mb']:,}) | {r['peak_mb']:,} | {lat} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="faiss,milvus", help="engines, comma-separated (faiss, milvus, numpy)")
    parser.add_argument("--sizes", default="10000,all,1000000", help="clause counts; all = the whole laws corpus")
    parser.add_argument("--cache", type=Path, default=CACHE, help="laws index folder the engines are filled from")
    parser.add_argument("--archive", type=Path, default=DEFAULT_ARCHIVE)
    parser.add_argument("--model", default=str(E5) + "+onnx-int8")
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--noise", type=float, default=0.3, help="norm of the perturbation of repeated vectors")
    parser.add_argument("--out", type=Path, default=REPORTS)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child.read_text(encoding="utf-8")))))
        return 0
    ensure_cache(args.cache, args.archive, args.model)
    results = []
    with tempfile.TemporaryDirectory(dir=args.cache.parent) as tmp:
        queries = Path(tmp) / "queries.json"
        make_queries(args.cache, args.model, args.questions, queries)
        for size in args.sizes.split(","):
            for engine in args.engine.split(","):
                job = {"engine": engine, "size": None if size == "all" else int(size), "cache": str(args.cache),
                       "noise": args.noise, "queries": str(queries), "index": str(Path(tmp) / f"{engine}-{size}")}
                job_file = Path(tmp) / "job.json"
                job_file.write_text(json.dumps(job), encoding="utf-8")
                done = subprocess.run([sys.executable, "-m", "eval.bench_engines", "--child", str(job_file)], cwd=ROOT,
                                      env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True)
                if done.returncode != 0:
                    print(f"Error: {engine} at {size} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
                    return 1
                results.append(json.loads(done.stdout.strip().splitlines()[-1]))
                print(json.dumps(results[-1]), flush=True)
                write_report(args, results)
    print(table(results))
    return 0


def write_report(args, results: list[dict]) -> None:
    """engines.md and engines.json in args.out (after every row: a crash keeps the rest)."""
    args.out.mkdir(parents=True, exist_ok=True)
    header = (f"# Engines: FAISS + bm25s and Milvus Lite on the laws corpus\n\n{time.strftime('%Y-%m-%d %H:%M')}, "
              f"{os.cpu_count()} cores (shared). Regenerate: `.venv/bin/python -m eval.bench_engines --engine {args.engine} "
              f"--sizes {args.sizes} --model {args.model}` (vectors: see eval/bench_engines.py). Latencies are one engine call (top 100) with "
              "the question already embedded; index memory is what this process and its engine child grew by while "
              "writing.\n\n")
    (args.out / "engines.md").write_text(header + table(results) + "\n", encoding="utf-8")
    (args.out / "engines.json").write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
