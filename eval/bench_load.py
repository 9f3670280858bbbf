"""Load test: start the real app on 127.0.0.1, send bounded, time-limited traffic, report a latency table.

    .venv/bin/python -m eval.bench_load [--index DIR] [--duration 15] [--clients 1,8,32]
                                        [--only search,extractive,llama,mixed,uploads] [--out eval/reports/load.md]

Starts `policyqa serve` on a free loopback port (log: load-server.log beside --out) and runs one cell per
(endpoint, clients) where each client posts dev-set questions back to back until `--duration` runs out:
/api/search, /api/ask extractive and llama at each client count, plus a mixed cell (8 llama clients beside
8 search and 8 extractive ones: do they wait behind generation?), and an uploads cell (8 search and 8
extractive clients while one admin uploads the field documents of ../shared/field and deletes them again,
on a second server over a temporary copy of the corpus and index, so yours is never changed). Per cell:
requests, ok, busy (503 from
the generation gate), 4xx, errors (other 5xx, timeouts, connection errors, llama failures), ok/s, ok
p50/p95/p99, busy p50 (fast = no timeout pile-up), and how many llama answers the model really wrote.
Trade-offs: the client shares the server's CPU, so numbers are a floor; one untimed warm-up request per
endpoint keeps model loading out of the table; a client answered "busy" pauses `--busy-pause` s, as one
honouring Retry-After would, so that busy answers do not become a request storm that steals the CPU.
Exits 1 if any search or extractive request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import socket
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import httpx

from eval.harness import load_questions, percentile

ROOT = Path(__file__).resolve().parents[1]
KINDS = {"search": ("/api/search", None), "extractive": ("/api/ask", "extractive"), "llama": ("/api/ask", "llama")}
MIXED = [("llama (mixed)", "llama", 8), ("search (+8 llama)", "search", 8), ("extractive (+8 llama)", "extractive", 8)]


@dataclass(frozen=True)
class Sample:
    """One request: outcome (ok | busy | client | error), latency, why it failed, and whether the LLM wrote it."""

    outcome: str
    ms: float
    reason: str = ""
    generated: bool = False
    version: str = ""  # the index version the answer names


@dataclass
class Cell:
    """The samples of one scenario cell (`kind` is a key of KINDS) and its wall time."""

    name: str
    kind: str
    clients: int
    samples: list[Sample] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, outcome: str) -> int:
        """Number of samples with this outcome."""
        return sum(s.outcome == outcome for s in self.samples)

    def ms(self, p: float, outcome: str = "ok", generated: bool = False) -> str:
        """The p-th percentile latency in ms of samples with this outcome (only generated ones if asked), or '-'."""
        values = [s.ms for s in self.samples if s.outcome == outcome and (s.generated or not generated)]
        return f"{percentile(values, p):.0f}" if values else "-"


def check_host(host: str) -> str:
    """The loopback address for `host`; anything but 127.0.0.1 or localhost is refused."""
    if host not in ("127.0.0.1", "localhost"):
        raise SystemExit(f"Error: bench_load only talks to 127.0.0.1 or localhost, not {host!r}")
    return "127.0.0.1"


def classify(status: int, body: object, kind: str) -> tuple[str, str, bool]:
    """(outcome, reason, generated) of one response; `body` is its parsed JSON (None if not JSON)."""
    body = body if isinstance(body, dict) else {}
    if status == 200:
        if any(str(n).startswith("generator failed") for n in body.get("notes", [])):
            return "error", "generator failed", False  # answered, but by the extractive fallback
        # "not_needed" = refused, listed or extractive before generation; any other status went through the LLM
        status_checked = (body.get("checked") or {}).get("status", "not_needed")
        return "ok", "", kind == "llama" and status_checked != "not_needed"
    if status == 503 and body.get("kind") == "BusyError":
        return "busy", "", False
    return ("client" if 400 <= status < 500 else "error"), f"HTTP {status}", False


def table(cells: list[Cell]) -> str:
    """The Markdown table of every cell; `failures` counts the reasons of 4xx and errors."""
    head = ["cell", "clients", "requests", "ok", "busy", "4xx", "errors", "ok/s", "p50 ms", "p95 ms", "p99 ms",
            "busy p50 ms", "generated", "gen p50 ms", "failures"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in cells:
        why = Counter(s.reason for s in c.samples if s.outcome in ("client", "error"))
        gen = [sum(s.generated for s in c.samples), c.ms(50, generated=True)] if c.kind == "llama" else ["-", "-"]
        fields = [c.name, c.clients, len(c.samples), c.count("ok"), c.count("busy"), c.count("client"),
                  c.count("error"), f"{c.count('ok') / c.seconds if c.seconds else 0:.1f}", c.ms(50), c.ms(95),
                  c.ms(99), c.ms(50, "busy"), *gen, ", ".join(f"{r} ×{n}" for r, n in why.most_common()) or "-"]
        rows.append("| " + " | ".join(map(str, fields)) + " |")
    return "\n".join(rows)


def comparison(cells: list[Cell]) -> str:
    """Search and extractive p50 / p95 at 8 clients, alone and beside 8 llama clients (Markdown)."""
    rows = ["| 8 clients | alone p50 / p95 ms | beside 8 llama p50 / p95 ms |", "|---|---|---|"]
    for kind in ("search", "extractive"):
        alone = next((c for c in cells if c.kind == kind and c.clients == 8 and "llama" not in c.name), None)
        mixed = next((c for c in cells if c.kind == kind and "llama" in c.name), None)
        rows.append(f"| {kind} | " + " | ".join(
            "-" if c is None else f"{c.ms(50)} / {c.ms(95)}" for c in (alone, mixed)) + " |")
    return "\n".join(rows)


async def send(http: httpx.AsyncClient, kind: str, question: str, timeout: float) -> Sample:
    """Post one question to `kind`'s endpoint and classify what comes back."""
    path, generator = KINDS[kind]
    start = time.perf_counter()
    try:
        body = {"question": question} | ({"generator": generator} if generator else {})
        resp = await http.post(path, json=body, timeout=timeout)
        is_json = resp.headers.get("content-type", "").startswith("application/json")
        parsed = resp.json() if is_json else None
        outcome, reason, generated = classify(resp.status_code, parsed, kind)
        version = parsed.get("index_version", "") if isinstance(parsed, dict) else ""
    except httpx.TimeoutException:
        outcome, reason, generated, version = "error", "timeout", False, ""
    except httpx.TransportError as exc:
        outcome, reason, generated, version = "error", f"connection ({type(exc).__name__})", False, ""
    return Sample(outcome, (time.perf_counter() - start) * 1000, reason, generated, version)


async def client_loop(http: httpx.AsyncClient, kind: str, questions: list[str], counter: itertools.count,
                      deadline: float, timeout: float, busy_pause: float, cell: Cell) -> None:
    """One client: send requests back to back (at least one) until the deadline; each Sample goes to `cell`."""
    while True:
        cell.samples.append(await send(http, kind, questions[next(counter) % len(questions)], timeout))
        if cell.samples[-1].outcome == "busy":
            await asyncio.sleep(min(busy_pause, max(0.0, deadline - time.perf_counter())))
        if time.perf_counter() >= deadline:
            return


async def run_cells(base: str, groups: list[tuple[str, str, int]], questions: list[str], duration: float,
                    timeouts: dict[str, float], busy_pause: float = 1.0, uploads: "Uploads | None" = None) -> list[Cell]:
    """Run groups of (cell name, kind, clients) side by side for `duration` seconds; one Cell per group;
    with `uploads`, its documents are uploaded and deleted again meanwhile."""
    total = sum(n for _, _, n in groups) + (1 if uploads else 0)
    limits = httpx.Limits(max_connections=total, max_keepalive_connections=total)
    async with httpx.AsyncClient(base_url=base, limits=limits, trust_env=False) as http:  # no proxy, ever
        counter, start = itertools.count(), time.perf_counter()

        async def group(name: str, kind: str, n: int) -> Cell:
            cell = Cell(name, kind, n)
            await asyncio.gather(*(client_loop(http, kind, questions, counter, start + duration, timeouts[kind],
                                               busy_pause, cell) for _ in range(n)))
            cell.seconds = time.perf_counter() - start  # its own end: a slow llama group does not dilute search
            return cell
        changes = [uploads.run(http, start + duration)] if uploads else []
        return list(await asyncio.gather(*(group(*g) for g in groups), *changes))[: len(groups)]


@dataclass
class Uploads:
    """Corpus changes during a cell: each file uploaded, then each uploaded document deleted, round after
    round until the deadline; counts what succeeded and why the rest failed."""

    files: list[Path]
    done: Counter = field(default_factory=Counter)
    failed: Counter = field(default_factory=Counter)
    versions: list[str] = field(default_factory=list)

    async def change(self, http: httpx.AsyncClient, action: str, **request) -> dict:
        """One upload or delete; the response body, or {} after counting a failure."""
        try:
            resp = await http.request("POST" if action == "upload" else "DELETE", **request, timeout=300)
        except httpx.TransportError as exc:
            self.failed[f"{action}: connection ({type(exc).__name__})"] += 1
            return {}
        if resp.status_code != 200:
            self.failed[f"{action}: HTTP {resp.status_code}"] += 1
            return {}
        body = resp.json()
        self.done[body["action"]] += 1
        if body.get("build"):
            self.versions.append(body["build"]["version"])
        return body

    async def run(self, http: httpx.AsyncClient, deadline: float) -> None:
        """Upload and delete until `deadline` (the change in progress then still finishes)."""
        while time.perf_counter() < deadline:
            added = []
            for path in self.files:
                body = await self.change(http, "upload", url="/api/documents", files={"file": (path.name, path.read_bytes())})
                if body.get("action") == "upload":
                    added.append(body["doc_id"])
                if time.perf_counter() >= deadline:
                    break
            for doc_id in added:
                await self.change(http, "remove", url=f"/api/documents/{doc_id}")

    def summary(self, cells: list[Cell]) -> str:
        """One Markdown line: changes made and failed, index versions published and seen in answers."""
        seen = {s.version for c in cells for s in c.samples if s.version}
        failed = ", ".join(f"{r} ×{n}" for r, n in self.failed.most_common()) or "none"
        return (f"- corpus changes during the uploads cell: {self.done['upload']} uploads, {self.done['remove']} "
                f"deletions, {self.done['unchanged']} identical uploads stored once; failed: {failed}; "
                f"{len(self.versions)} index versions published, {len(seen)} distinct versions named in answers")


def settle(base: str, limit_s: float) -> None:
    """Wait until the generation gate is empty: requests a client gave up on keep generating on the server."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        health = httpx.get(base + "/api/health", timeout=10, trust_env=False).json()
        if not (health.get("generation") or {}).get("pending"):
            return
        time.sleep(1)
    print(f"warning: generation still pending after {limit_s:.0f} s; starting the next cell anyway", file=sys.stderr)


@contextmanager
def server(index: Path, host: str, log_path: Path, wait_s: float = 300.0,
           corpus: Path | None = None) -> Iterator[tuple[str, dict]]:
    """`policyqa serve` on a free port for the block: yields its base URL and /api/health; stopped afterwards."""
    env = dict(os.environ, POLICYQA_INDEX_DIR=str(index)) | ({"POLICYQA_CORPUS_DIR": str(corpus)} if corpus else {})
    with socket.socket() as s:
        s.bind((host, 0))
        port = s.getsockname()[1]
    with log_path.open("wb") as log:  # a file, not a pipe: a full pipe would block the server's access log
        proc = subprocess.Popen([sys.executable, "-m", "faces.cli", "serve", "--host", host, "--port", str(port)],
                                cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        base, end, health = f"http://{host}:{port}", time.monotonic() + wait_s, None
        while health is None:
            if (code := proc.poll()) is not None or time.monotonic() > end:
                state = f"no health in {wait_s:.0f} s" if code is None else f"exited with code {code}"
                tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
                raise SystemExit(f"Error: the server {state}; last lines of {log_path}:\n{tail}")
            time.sleep(0.5)
            try:
                resp = httpx.get(base + "/api/health", timeout=5, trust_env=False)
                health = resp.json() if resp.status_code == 200 else None
            except httpx.TransportError:
                pass
        yield base, health
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv: list[str] | None = None) -> int:
    """Start the server, run the cells, print and write the report; 1 if a search or extractive request failed."""
    from policyqa.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, help="index folder (default: settings.index_dir; built if missing)")
    parser.add_argument("--host", default="127.0.0.1", help="127.0.0.1 or localhost; nothing else is allowed")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of traffic per cell")
    parser.add_argument("--clients", default="1,8,32", help="comma-separated client counts")
    parser.add_argument("--only", default="search,extractive,llama,mixed,uploads",
                        help="cells: search,extractive,llama,mixed,uploads")
    parser.add_argument("--uploads", type=Path, default=ROOT.parent / "shared" / "field",
                        help="folder whose */docs/* files the uploads cell uploads and deletes")
    parser.add_argument("--uploads-duration", type=float, default=60.0,
                        help="seconds of the uploads cell (each upload embeds its document, so it needs longer)")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout, search and extractive")
    parser.add_argument("--llama-timeout", type=float, default=120.0, help="per-request timeout, llama")
    parser.add_argument("--busy-pause", type=float, default=1.0, help="seconds a client waits after a busy answer")
    parser.add_argument("--all-questions", action="store_true", help="also send the unanswerable questions")
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "reports" / "load.md")
    args = parser.parse_args(argv)
    host, settings = check_host(args.host), Settings()
    index = (args.index or settings.index_dir).resolve()
    clients = [int(n) for n in args.clients.split(",") if n.strip()]
    only = [k.strip() for k in args.only.split(",") if k.strip()]
    if unknown := set(only) - {*KINDS, "mixed", "uploads"}:
        raise SystemExit(f"Error: unknown --only cells {sorted(unknown)}; choose from search,extractive,llama,mixed,uploads")
    upload_files = sorted(p for p in args.uploads.glob("*/docs/*") if p.is_file()) if "uploads" in only else []
    if "uploads" in only and not upload_files:
        raise SystemExit(f"Error: no documents to upload under {args.uploads}/*/docs/; pass --uploads DIR")
    questions = [q.question for q in load_questions(ROOT / "eval" / "questions.jsonl")[0]
                 if q.answerable or args.all_questions]
    if not (index / "CURRENT").is_file():
        print(f"no index at {index}; building it with `policyqa build`", file=sys.stderr)
        build = [sys.executable, "-m", "faces.cli", "build", "--index", str(index), "--quiet"]
        if subprocess.run(build, cwd=ROOT).returncode:
            raise SystemExit(f"Error: `policyqa build --index {index}` failed (see above)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    timeouts = {"search": args.timeout, "extractive": args.timeout, "llama": args.llama_timeout}
    load_before = os.getloadavg()[0]
    plan = [[(k, k, n)] for k in KINDS if k in only for n in clients] + ([MIXED] if "mixed" in only else [])
    cells: list[Cell] = []
    with server(index, host, args.out.parent / "load-server.log") as (base, health):
        needed = {k for groups in plan for _, k, _ in groups}
        for kind in [k for k in KINDS if k in needed]:
            warm = asyncio.run(run_cells(base, [(kind, kind, 1)], questions, 0, timeouts))[0].samples[0]
            print(f"warm-up {kind}: {warm.outcome} in {warm.ms:.0f} ms {warm.reason}", file=sys.stderr)
        for groups in plan:
            settle(base, args.llama_timeout)
            print("running " + " + ".join(f"{name} × {n}" for name, _, n in groups) + f" for {args.duration:g} s",
                  file=sys.stderr)
            cells += asyncio.run(run_cells(base, groups, questions, args.duration, timeouts, args.busy_pause))
    uploads = Uploads(upload_files) if upload_files else None
    if uploads:
        cells += upload_cell(index, settings.corpus_dir, host, args, questions, timeouts, uploads)
    gen = health.get("generation") or {}
    report = "\n".join([
        f"# Load test, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC", "",
        f"- machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}; "
        f"1-min load average before the run: {load_before:.2f}",
        f"- server: `policyqa serve` on {host}; index {index} ({health.get('clauses')} clauses, "
        f"embedding model {health.get('model')})",
        f"- settings: max_concurrent_generations={gen.get('limit')}, generation_queue={gen.get('queue')}, "
        f"generation_wait_s={settings.generation_wait_s:g}, llm_threads={settings.llm_threads}",
        f"- traffic: {args.duration:g} s per cell, clients {args.clients}, {len(questions)} questions cycled, "
        f"timeouts {args.timeout:g} s (llama {args.llama_timeout:g} s), pause after busy {args.busy_pause:g} s"
        + (f"; the uploads cell runs {args.uploads_duration:g} s" if uploads else ""), "",
        table(cells), "", *([comparison(cells), ""] if "mixed" in only else []),
        *([uploads.summary([c for c in cells if "uploads" in c.name]), ""] if uploads else [])])
    print(report)
    args.out.write_text(report, encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    failed = any(c.kind != "llama" and c.count("ok") < len(c.samples) for c in cells)
    return 1 if failed or (uploads and uploads.failed) else 0


def upload_cell(index: Path, corpus: Path, host: str, args, questions: list[str], timeouts: dict[str, float],
                uploads: Uploads) -> list[Cell]:
    """8 search and 8 extractive clients while `uploads` changes the corpus, on a server over a temporary
    copy of `corpus` and `index` (what the cell changes is thrown away)."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory(prefix="policyqa-load-") as tmp:
        shutil.copytree(corpus, Path(tmp) / "corpus")
        shutil.copytree(index, Path(tmp) / "index", ignore=shutil.ignore_patterns("*.lock"))
        with server(Path(tmp) / "index", host, args.out.parent / "load-server-uploads.log",
                    corpus=Path(tmp) / "corpus") as (base, _):
            groups = [("search (+uploads)", "search", 8), ("extractive (+uploads)", "extractive", 8)]
            print(f"running 8 search + 8 extractive clients while uploading {len(uploads.files)} files "
                  f"for {args.uploads_duration:g} s", file=sys.stderr)
            return asyncio.run(run_cells(base, groups, questions, args.uploads_duration, timeouts, args.busy_pause, uploads))


if __name__ == "__main__":
    raise SystemExit(main())
