"""Writing an index version: its folder, its rows in the engine, publishing it, and retiring old ones.

`write_version` is the last step of a build (index/build.py): it writes clauses.jsonl and tokens.jsonl,
creates the version's storage in the chosen engine and fills it, records the engine's entry and every
file's size and sha256 in the manifest, then moves CURRENT (index/store.py `publish`) and drops the
engine storage of the versions publishing deleted (a Milvus collection outlives its folder otherwise).
Any failure before CURRENT moves removes the unfinished folder and its engine storage, so the previous
version stays live and nothing piles up; a full disk becomes an IndexFolderError saying what to do.
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import time
from pathlib import Path

import numpy as np

from index.item_store import ItemExtractor, write_items
from index.engine import EngineSpec, Rows
from index.engines import engine_class
from index.store import CURRENT, MANIFEST, engine_info, file_digest, publish, write_json, write_jsonl
from ingest.records import Clause
from policyqa.errors import IndexFolderError, PolicyQAError

log = logging.getLogger(__name__)


def write_version(index_dir: Path, manifest: dict, clauses: list[Clause], tokens: list[list[str]],
                  matrix: np.ndarray, engine: EngineSpec, keep_versions: int = 0,
                  items: ItemExtractor | None = None) -> Path:
    """Write the version folder and its engine rows, then publish it and prune what publishing retired.
    IndexFolderError (saying what to do; the previous version stays live) if it cannot be written."""
    try:
        version = _write_version(index_dir, manifest, clauses, tokens, matrix, engine, items)
        _publish_or_discard(index_dir, version, keep_versions, engine)
    except OSError as exc:
        raise IndexFolderError(
            f"could not write the new index version in {index_dir}: {exc.strerror or exc}; free disk space "
            f"there (or fix its permissions) and run the build again; the previous version is still live"
        ) from exc
    return version


def _engines_of_versions(index_dir: Path) -> dict[str, dict]:
    """Version name -> its manifest's engine entry, for every version folder with a readable manifest."""
    out = {}
    for folder in index_dir.glob("v-*"):
        try:
            out[folder.name] = engine_info(json.loads((folder / MANIFEST).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return out


def _publish_or_discard(index_dir: Path, version: Path, keep: int = 0, engine: EngineSpec = EngineSpec()) -> None:
    """`publish`, then drop the engine storage of the versions it deleted; if the pointer could not be
    moved to `version`, remove it (and its engine storage) so no stray versions pile up."""
    engines = _engines_of_versions(index_dir)
    try:
        removed = publish(index_dir, version, keep=keep)
    except BaseException:
        try:
            live = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
        except OSError:
            live = ""
        if live != version.name:
            shutil.rmtree(version, ignore_errors=True)
            _drop_quietly(index_dir, engines.get(version.name), engine, [version.name])
        (index_dir / (CURRENT + ".tmp")).unlink(missing_ok=True)
        raise
    groups: dict[tuple, tuple[dict, list[str]]] = {}
    for name in [version.name, *removed]:  # the new version's engine sweeps its own debris too
        info = engines.get(name)
        if info:
            entry = groups.setdefault((info["name"], info.get("uri", "")), (info, []))
            entry[1].extend([name] if name != version.name else [])
    for info, gone in groups.values():
        _drop_quietly(index_dir, info, engine, gone)


def _drop_quietly(index_dir: Path, info: dict | None, engine: EngineSpec, versions: list[str]) -> None:
    """Prune engine storage of retired versions; a failure is logged, never undoes a published build."""
    if not info:
        return
    try:
        engine_class(info["name"]).prune(index_dir, info, engine, versions)
    except PolicyQAError as exc:
        log.warning("could not drop the %s storage of retired index versions %s: %s", info["name"], versions, exc)


def _write_version(index_dir: Path, manifest: dict, clauses: list[Clause], tokens, matrix: np.ndarray,
                   engine: EngineSpec = EngineSpec(), items: ItemExtractor | None = None) -> Path:
    """Write a complete version folder and its engine rows; on any failure remove both and re-raise."""
    now = time.time()  # names sort by build time (to the millisecond), which `publish(keep=…)` relies on
    version = index_dir / f"v-{time.strftime('%Y%m%dT%H%M%S', time.localtime(now))}.{int(now * 1000) % 1000:03d}-{secrets.token_hex(3)}"
    stored = None
    try:
        version.mkdir()
        write_jsonl(version / "clauses.jsonl", (c.to_record() for c in clauses))
        manifest["items"] = write_items(version, clauses, manifest, items)  # support items (index/item_store.py)
        write_jsonl(version / "tokens.jsonl", tokens)
        stored = engine_class(engine.name).create(version, engine, matrix.shape[1])
        stored.upsert(Rows.of(clauses, tokens, matrix))
        manifest["engine"] = stored.save()
        files = [p for p in sorted(version.rglob("*")) if p.is_file()]
        manifest["files"] = {p.relative_to(version).as_posix(): {"bytes": p.stat().st_size, "sha256": file_digest(p)} for p in files}
        write_json(version / MANIFEST, manifest)
    except BaseException:
        shutil.rmtree(version, ignore_errors=True)
        if stored is not None:
            stored.drop()
        raise
    finally:
        if stored is not None:
            stored.close()
    return version
