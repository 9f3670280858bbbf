"""Scale benchmark on the laws collection: build, size, memory and warm search latency at 1k/10k/full.

Unpacks ../shared/data/laws.tar.gz to a temporary folder, parses every file outside DLC/ (~65k
articles), and for each size (whole documents drawn in a fixed shuffled order until the clause count
is reached) builds a fresh index with the scale path (`--model`, default the e5 folder through ONNX
Runtime with int8 matrix products), then measures in the same child process: parse and
embed throughput (clauses/s), index size on disk, peak memory (resident set of the build process), and warm
search latency p50/p95 for hybrid, dense and bm25 over sampled questions.

Embedding speed is compared side by side on one fixed sample of clauses: LangChain's default
`FAISS.from_documents` with `HuggingFaceEmbeddings` over one "context\nclause" text each (the naive
build), our fp32 path ("before"), the ONNX int8 path on the same joint texts, and the scale path
("after": ONNX int8, clause and context embedded apart, each distinct context once; see
index/build.py `clause_vectors`), each in a fresh process, `--rounds` times in turn; the table shows
the median (the machine is shared, so single runs vary by ±15%). The naive build runs on the whole corpus only
where it fits `--baseline-max` clauses; larger sizes show its sampled rate.

Writes eval/reports/bench.md (table) and eval/reports/bench.png (latency and build time against size);
`--speed-only` writes just the embedding comparison to eval/reports/speed.md.
Run: `.venv/bin/python -m eval.bench [--sizes 1000,10000,all] [--sample 1500] [--rounds 3] [--speed-only]`.
`--engine faiss,milvus` runs the engine benchmark instead (eval/bench_engines.py: every engine filled
from one cached embedding of the laws, at 10k, all and 1M clauses; eval/reports/engines.md).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eval.bench_parse import DEFAULT_ARCHIVE, unpack

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "eval" / "reports"
E5 = ROOT / "var" / "models" / "multilingual-e5-small"
QUESTIONS = ["劳动合同解除时用人单位应当支付经济补偿的情形", "行政处罚的听证程序", "未成年人保护的学校责任",
             "食品安全事故的处置", "企业所得税的优惠", "环境影响评价文件未经审批擅自开工建设的处罚",
             "公司股东会的职权", "政府采购的方式有哪些", "著作权的保护期限", "道路交通事故的赔偿责任"]


def select(documents: list[tuple[Path, int]], size: int | None, seed: int = 7) -> list[Path]:
    """Whole documents in a fixed shuffled order until `size` clauses (all when size is None)."""
    shuffled = sorted(documents)
    random.Random(seed).shuffle(shuffled)
    chosen, total = [], 0
    for path, count in shuffled:
        if size is not None and total >= size:
            break
        chosen.append(path)
        total += count
    return chosen


def load_laws(archive: Path, into: Path):
    """Unpack the archive into `into`, drop DLC/, parse the rest; returns the CorpusLoad and
    (relative path, clause count) per document, the input of `select`."""
    from ingest.corpus import load_corpus

    root = unpack(archive, into)
    shutil.rmtree(root / "DLC", ignore_errors=True)
    loaded = load_corpus(root)
    counts: dict[str, int] = {}
    for c in loaded.clauses:
        counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
    return loaded, [(Path(d.meta.source), counts[d.meta.doc_id]) for d in loaded.documents if d.meta.doc_id in counts]


def questions(texts: list[str], n: int, seed: int = 11) -> list[str]:
    """Fixed topic questions plus phrases cut from sampled clauses (what a user quoting a law types)."""
    rng = random.Random(seed)
    cut = []
    for text in rng.sample(texts, min(n, len(texts))):
        body = text.split("\n", 1)[-1].strip()
        start = rng.randrange(max(1, len(body) - 20))
        cut.append(body[start : start + 16] or body[:16])
    return QUESTIONS + [q for q in cut if re.search(r"\w", q)]  # a cut of only punctuation is no question


def peak_mb() -> float:
    """Peak resident memory of this process in MB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def child_build(corpus: Path, index_dir: Path, model: str, n_questions: int) -> dict:
    """Build, then search warm; runs in its own process so peak memory is this size's alone."""
    from eval.harness import percentile
    from index.build import build_index
    from index.embedder import make_embedder
    from index.search import Retriever
    from ingest.corpus import load_corpus
    from policyqa.errors import PolicyQAError

    t0 = time.perf_counter()
    loaded = load_corpus(corpus)
    parse_s = time.perf_counter() - t0
    embedder = make_embedder(model, batch_size=32)
    t0 = time.perf_counter()
    report = build_index(loaded, index_dir, embedder)
    build_s = time.perf_counter() - t0
    retriever = Retriever(index_dir, embedder).warm_up()
    qs = questions([c.text for c in loaded.clauses], n_questions)
    latency = {}
    for mode in ("hybrid", "dense", "bm25"):
        retriever.search(qs[0], mode=mode)
        times = []
        for q in qs:
            t = time.perf_counter()
            try:
                retriever.search(q, mode=mode)
            except PolicyQAError as exc:  # a sampled phrase the search refuses must not lose a long build
                print(f"skipped question {q!r}: {exc}", file=sys.stderr)
                continue
            times.append((time.perf_counter() - t) * 1000)
        latency[mode] = (percentile(times, 50), percentile(times, 95))
    return {"clauses": report.clauses, "documents": report.documents, "parse_s": parse_s,
            "parse_rate": report.clauses / parse_s, "build_s": build_s, "embed_s": report.embed_seconds,
            "embed_rate": report.embedded / report.embed_seconds if report.embed_seconds else 0.0,
            "index_mb": folder_mb(index_dir), "peak_mb": peak_mb(), "latency": latency, "questions": len(qs)}


def child_langchain(texts: list[str], model: str) -> dict:
    """LangChain's naive build: FAISS.from_documents over HuggingFaceEmbeddings (defaults, normalised)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings

    embeddings = HuggingFaceEmbeddings(model_name=model, encode_kwargs={"normalize_embeddings": True})
    embeddings.embed_query("预热")  # model load is not part of the rate
    t0 = time.perf_counter()
    store = FAISS.from_documents([Document(page_content=t) for t in texts], embeddings)
    seconds = time.perf_counter() - t0
    times = []
    for q in QUESTIONS * 3:
        t = time.perf_counter()
        store.similarity_search(q, k=5)
        times.append((time.perf_counter() - t) * 1000)
    from eval.harness import percentile

    return {"n": len(texts), "seconds": seconds, "rate": len(texts) / seconds, "peak_mb": peak_mb(),
            "search_p50": percentile(times, 50)}


def child_embed(parts: list[list[str]], model: str, joint: bool) -> dict:
    """Our clause vectors for (context, clause) pairs, as the build makes them, or as one joint text
    each when `joint` (model loaded first, so the rate is encoding alone)."""
    from index.build import CONTEXT_WEIGHT, clause_vectors
    from index.embedder import make_embedder

    embedder = make_embedder(model, batch_size=32)
    embedder.embed_query("预热")
    t0 = time.perf_counter()
    clause_vectors(embedder, [tuple(p) for p in parts], weight=None if joint else CONTEXT_WEIGHT)
    seconds = time.perf_counter() - t0
    return {"n": len(parts), "seconds": seconds, "rate": len(parts) / seconds}


def in_child(kind: str, payload: dict, tmp: Path) -> dict:
    """Run `kind` in a fresh interpreter (clean peak memory; one thing on the CPU at a time)."""
    job = tmp / f"job-{time.monotonic_ns()}.json"
    job.write_text(json.dumps({"kind": kind, **payload}, ensure_ascii=False), encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run([sys.executable, "-m", "eval.bench", "--child", str(job)], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"Error: benchmark step {kind} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_child(job: Path) -> None:
    spec = json.loads(job.read_text(encoding="utf-8"))
    kind = spec.pop("kind")
    if kind == "build":
        out = child_build(Path(spec["corpus"]), Path(spec["index"]), spec["model"], spec["questions"])
    elif kind == "langchain":
        out = child_langchain(spec["texts"], spec["model"])
    else:
        out = child_embed(spec["parts"], spec["model"], spec["joint"])
    print(json.dumps(out))


def sized_corpus(root: Path, chosen: list[Path], into: Path) -> Path:
    """Copy the chosen documents (relative paths kept) into a folder of their own."""
    for rel in chosen:
        (into / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, into / rel)
    return into


def table(rows: list[dict], speed: dict, sample: int) -> str:
    """The Markdown report: one row per size, then the embedding comparison on one sample."""
    lines = ["| articles (clauses) | documents | parse clauses/s | embed clauses/s | build s | index MB | peak MB "
             "| hybrid p50/p95 ms | dense p50/p95 ms | bm25 p50/p95 ms | LangChain naive build s | LangChain search p50 ms |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lat = r["latency"]
        lc = r.get("langchain")
        whole = lc is not None and lc["n"] >= r["clauses"]
        lc_build = f"{lc['seconds']:.0f}" if whole else f"≈{r['naive_build_s']:.0f} (est. from its sampled rate)"
        lc_search = f"{lc['search_p50']:.1f}" if whole else "–"
        lines.append(
            f"| {r['clauses']:,} | {r['documents']:,} | {r['parse_rate']:,.0f} | {r['embed_rate']:.1f} | {r['build_s']:.0f} "
            f"| {r['index_mb']:.1f} | {r['peak_mb']:,.0f} | {lat['hybrid'][0]:.1f} / {lat['hybrid'][1]:.1f} "
            f"| {lat['dense'][0]:.1f} / {lat['dense'][1]:.1f} | {lat['bm25'][0]:.1f} / {lat['bm25'][1]:.1f} "
            f"| {lc_build} | {lc_search} |")
    return "\n".join(lines + ["", speed_table(speed, sample)])


def speed_table(speed: dict, sample: int) -> str:
    """The embedding comparison on one sample: median clauses/s per path and each round's figure."""
    naive = speed["naive"]["rate"]
    lines = [f"Embedding speed on one fixed sample of {sample:,} clauses (same model, same machine, same run; "
             f"median of {len(speed['naive']['rates'])} rounds, each path in a fresh process per round):", "",
             "| path | clauses/s (median) | each round | vs naive LangChain |", "|---|---|---|---|"]
    for key, (label, *_) in SPEED_PATHS.items():
        rounds = ", ".join(f"{r:.1f}" for r in speed[key]["rates"])
        lines.append(f"| {label} | {speed[key]['rate']:.1f} | {rounds} | {speed[key]['rate'] / naive:.2f}x |")
    lines.append(f"\nAfter / before: {speed['after']['rate'] / speed['before']['rate']:.2f}x.")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    """Latency (hybrid/dense/bm25 p50) and build time against corpus size, log-scaled sizes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["clauses"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for mode in ("hybrid", "dense", "bm25"):
        left.plot(sizes, [r["latency"][mode][0] for r in rows], marker="o", label=f"{mode} p50")
    left.plot(sizes, [r["latency"]["hybrid"][1] for r in rows], marker="x", linestyle="--", label="hybrid p95")
    left.set(xscale="log", xlabel="clauses", ylabel="ms", title="warm search latency")
    left.legend()
    right.plot(sizes, [r["build_s"] / 60 for r in rows], marker="o", label="policyqa (scale path)")
    right.plot(sizes, [r["naive_build_s"] / 60 for r in rows], marker="s", linestyle="--", label="LangChain naive")
    right.set(xscale="log", yscale="log", xlabel="clauses", ylabel="minutes", title="index build time")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, default=DEFAULT_ARCHIVE)
    parser.add_argument("--sizes", default="1000,10000,all", help="clause counts, comma-separated; all = every file outside DLC/")
    parser.add_argument("--model", default=str(E5) + "+onnx-int8", help="the scale path's embedding model")
    parser.add_argument("--fp32", default=str(E5), help="the naive and 'before' model")
    parser.add_argument("--sample", type=int, default=1500, help="clauses in the embedding-speed comparison")
    parser.add_argument("--baseline-max", type=int, default=2000, help="largest size the naive build runs whole")
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the embedding-speed comparison (median)")
    parser.add_argument("--speed-only", action="store_true", help="only the embedding comparison (speed.md)")
    parser.add_argument("--out", type=Path, default=REPORTS)
    parser.add_argument("--engine", help="compare index engines instead (faiss,milvus): see eval/bench_engines.py")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args(argv)
    if args.engine:  # the engine benchmark is its own program (eval/bench_engines.py, which imports this one)
        given = "--sizes" in (argv if argv is not None else sys.argv[1:])
        command = ["--engine", args.engine, "--sizes", args.sizes if given else "10000,all,1000000", "--archive",
                   str(args.archive), "--model", args.model, "--questions", str(args.questions), "--out", str(args.out)]
        return subprocess.run([sys.executable, "-m", "eval.bench_engines", *command, *rest], cwd=ROOT).returncode
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.child:
        run_child(args.child)
        return 0
    if not args.archive.is_file():
        print(f"Error: archive not found: {args.archive} (pass --archive PATH)", file=sys.stderr)
        return 1
    from index.build import passage_parts

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        root = tmp / "laws"
        t0 = time.perf_counter()
        loaded, documents = load_laws(args.archive, root)
        print(f"parsed {len(loaded.documents)} documents outside DLC/ into {len(loaded.clauses):,} clauses "
              f"in {time.perf_counter() - t0:.1f}s", flush=True)
        metas = {d.meta.doc_id: d.meta for d in loaded.documents}
        parts = [passage_parts(c, metas[c.doc_id]) for c in loaded.clauses]
        texts = [f"{context}\n{text}" for context, text in parts]  # what the naive build embeds
        sample = random.Random(3).sample(parts, min(args.sample, len(parts)))
        speed = measure_speed(sample, args, tmp)
        if args.speed_only:
            report = write_speed(args.out, speed, len(sample), args)
            print(report)
            return 0
        rows = []
        for size in args.sizes.split(","):
            chosen = select(documents, None if size == "all" else int(size))
            corpus = sized_corpus(root, chosen, tmp / f"corpus-{size}")
            row = in_child("build", {"corpus": str(corpus), "index": str(tmp / f"index-{size}"), "model": args.model,
                                     "questions": args.questions}, tmp)
            if row["clauses"] <= args.baseline_max:
                chosen_set = set(chosen)
                chosen_ids = {d for d, m in metas.items() if Path(m.source) in chosen_set}
                mine = [t for t, c in zip(texts, loaded.clauses) if c.doc_id in chosen_ids]
                row["langchain"] = in_child("langchain", {"texts": mine, "model": args.fp32}, tmp)
                row["naive_build_s"] = row["langchain"]["seconds"]
            else:
                row["naive_build_s"] = row["clauses"] / speed["naive"]["rate"]
            rows.append(row)
            shutil.rmtree(tmp / f"index-{size}", ignore_errors=True)
            print(json.dumps(row), flush=True)
            report = write_report(args.out, rows, speed, len(sample), args)  # after every size: a crash keeps the rest
    print(report)
    return 0


SPEED_PATHS = {  # key: (label, child kind, --fp32 or --model, joint text)
    "naive": ("LangChain FAISS.from_documents + HuggingFaceEmbeddings, one \"context\\nclause\" text each (naive)",
              "langchain", "fp32", True),
    "before": ("policyqa fp32 sentence-transformers, clause + context vectors (before)", "embed", "fp32", False),
    "joint": ("policyqa ONNX Runtime int8, one \"context\\nclause\" text each", "embed", "model", True),
    "after": ("policyqa scale path: ONNX Runtime int8, clause + context vectors (after)", "embed", "model", False),
}


def measure_speed(sample: list[tuple[str, str]], args, tmp: Path) -> dict:
    """Clauses/s of each of SPEED_PATHS on `sample`, in turn for `args.rounds` rounds. Every path batches
    by token count except the naive one (sentence-transformers sorts by characters)."""
    speed = {key: {"rates": []} for key in SPEED_PATHS}
    joint = [f"{context}\n{text}" for context, text in sample]
    for _ in range(args.rounds):
        for key, (_, kind, which, as_joint) in SPEED_PATHS.items():
            model = args.fp32 if which == "fp32" else args.model
            payload = {"texts": joint} if kind == "langchain" else {"parts": sample, "joint": as_joint}
            speed[key]["rates"].append(in_child(kind, {**payload, "model": model}, tmp)["rate"])
        print(json.dumps({k: [round(r, 1) for r in v["rates"]] for k, v in speed.items()}), flush=True)
    for value in speed.values():
        value["rate"] = statistics.median(value["rates"])
    return speed


def write_speed(out: Path, speed: dict, sample: int, args) -> str:
    """speed.md and speed.json in `out`: the embedding comparison alone; returns the Markdown."""
    out.mkdir(parents=True, exist_ok=True)
    report = (f"# Embedding speed (laws outside DLC/)\n\n{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores. "
              f"Regenerate: `.venv/bin/python -m eval.bench --speed-only --rounds {args.rounds}`.\n\n"
              + speed_table(speed, sample) + "\n")
    (out / "speed.md").write_text(report, encoding="utf-8")
    (out / "speed.json").write_text(json.dumps(speed, indent=1), encoding="utf-8")
    return report


def write_report(out: Path, rows: list[dict], speed: dict, sample: int, args) -> str:
    """bench.md (table), bench.json (raw numbers) and bench.png (plot) in `out`; returns the Markdown."""
    out.mkdir(parents=True, exist_ok=True)
    header = (f"# Scale benchmark (laws outside DLC/)\n\n{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, "
              f"scale path `{Path(args.model).name}` (both cores). Regenerate: "
              f"`.venv/bin/python -m eval.bench --sizes {args.sizes}`.\n\n")
    report = header + table(rows, speed, sample) + "\n"
    (out / "bench.md").write_text(report, encoding="utf-8")
    (out / "bench.json").write_text(json.dumps({"rows": rows, "speed": speed}, indent=1), encoding="utf-8")
    plot(rows, out / "bench.png")
    return report


if __name__ == "__main__":
    raise SystemExit(main())
