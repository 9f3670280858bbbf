"""Parse-throughput benchmark: unpack the laws collection to a temporary folder, ingest every file.

Prints files, clauses, errors, seconds and clauses/s, and checks that articles (第X条) become clauses
under their chapter path. Run: `.venv/bin/python -m eval.bench_parse [--archive PATH]`.
"""

from __future__ import annotations

import argparse
import re
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from ingest.corpus import load_corpus

DEFAULT_ARCHIVE = Path(__file__).resolve().parents[2] / "shared" / "data" / "laws.tar.gz"


def unpack(archive: Path, into: Path) -> Path:
    """Extract `archive` into `into` (data filter: no links or absolute paths) and return it."""
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into


def run(root: Path) -> dict:
    """Ingest `root` and return the measured numbers."""
    start = time.perf_counter()
    loaded = load_corpus(root)
    seconds = time.perf_counter() - start
    articles = [c for c in loaded.clauses if re.search(r"第[一二三四五六七八九十百零〇\d]+条$", c.id.split("#", 1)[1].split("~")[0])]
    under_chapter = [c for c in articles if len(c.path) >= 2 and re.match(r"第.+章", c.path[0])]
    return {
        "files": len(loaded.documents) + len(loaded.skipped),
        "documents": len(loaded.documents),
        "skipped": loaded.skipped,
        "clauses": len(loaded.clauses),
        "article_clauses": len(articles),
        "article_clauses_under_chapter": len(under_chapter),
        "seconds": seconds,
        "clauses_per_s": len(loaded.clauses) / seconds if seconds else 0.0,
        "chars": sum(len(d.text) for d in loaded.documents),
    }


def main(argv: list[str] | None = None) -> int:
    """Unpack, ingest, print the numbers; exit 1 if any file failed to ingest."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, default=DEFAULT_ARCHIVE)
    args = parser.parse_args(argv)
    if not args.archive.is_file():
        print(f"Error: archive not found: {args.archive} (pass --archive PATH)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        root = unpack(args.archive, Path(tmp))
        r = run(root)
    print(f"files={r['files']} documents={r['documents']} skipped={len(r['skipped'])} clauses={r['clauses']}")
    print(f"articles={r['article_clauses']} under_chapter={r['article_clauses_under_chapter']} chars={r['chars']:,}")
    print(f"parse_seconds={r['seconds']:.1f} clauses_per_s={r['clauses_per_s']:.0f} MB_per_s={r['chars'] * 3 / 1e6 / r['seconds']:.1f}")
    for path, reason in r["skipped"][:20]:
        print(f"skipped: {path}: {reason}")
    return 1 if r["skipped"] else 0


if __name__ == "__main__":
    sys.exit(main())
