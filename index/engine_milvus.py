"""Milvus as the engine: one collection per index version, through `pymilvus.MilvusClient(uri)`.

The same code talks to a Milvus Lite file (the default: `INDEX_DIR/milvus.db`, recorded in the
manifest relative to the folder so a copied folder stays whole) and to a server or cluster
(`http(s)://host:19530` plus a token from POLICYQA_MILVUS_TOKEN, never written down). Each version
folder `v-…` has the collection `pq_v_…` (its name with [^A-Za-z0-9_] as _): CURRENT names the
folder, the folder's manifest names the collection, and `publish` pruning a folder drops its collection.

A row: `row` (INT64 primary key: the clause row), `doc_id`, the units by role in four VARCHAR arrays
(`departments` = every unit, `lead`, `responsible`, `cooperating`), `vector` (the clause vector, which
already carries its context: normalise(clause + 0.7 context), the very row FAISS holds), `tokens` (our
jieba tokens joined by spaces, split again by Milvus's `whitespace` tokenizer, so "3.5%" and "市科技局"
stay one term as in bm25s) and `sparse`, the output of Milvus's BM25 function over `tokens` (k1 1.2,
b 0.75, statistics over the whole collection, as on a server).

Measured choices (SCALE.md, eval/reports/engines.md): FLAT inner product (exact, as FAISS flat; Lite
knows no other); two `search` calls instead of `hybrid_search`, since fusion stays ours; filters as
escaped expressions (`doc_id in [...]`, `array_contains_any(lead, [...])`); Strong consistency, so a
count or search right after a write sees it; `flush` at the end of a build; `load_collection` after
every connect (a reopened Lite collection can come back released).
"""

from __future__ import annotations

import json
import re
import weakref
from importlib import metadata
from pathlib import Path
from typing import Iterable, Sequence
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from index import milvus_lite
from index.engine import ROLES, EngineIndex, EngineSpec, Ranked, Rows, Where, unit_roles
from policyqa.errors import EngineError, IndexFolderError

DEFAULT_FILE = "milvus.db"  # inside the index folder
PREFIX = "pq_"
ROLE_FIELD = {"any": "departments", "lead": "lead", "responsible": "responsible", "cooperating": "cooperating"}
MAX_UNITS, MAX_TOKENS_BYTES, BATCH = 1024, 65535, 1000


def collection_name(version: str) -> str:
    """The collection of a version folder name (v-20261130T120000.123-a1b2c3 -> pq_v_20261130T120000_123_a1b2c3)."""
    return PREFIX + re.sub(r"[^A-Za-z0-9_]", "_", version)


def redact(uri: str) -> str:
    """A server URI without user:password (what the manifest and messages show)."""
    parts = urlsplit(uri)
    if parts.username or parts.password:
        parts = parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else ""))
    return urlunsplit(parts)


def resolve(index_dir: Path, uri: str) -> tuple[str, str]:
    """(what the client opens, what the manifest records) for a URI from settings or a manifest."""
    if not uri or uri == DEFAULT_FILE:
        return str(index_dir / DEFAULT_FILE), DEFAULT_FILE
    if milvus_lite.is_lite(uri):
        path = Path(uri).expanduser()
        path = path if path.is_absolute() else (Path.cwd() / path)
        return str(path.resolve()), str(path.resolve())
    return uri, redact(uri)


def expression(where: Where | None) -> str:
    """A Milvus filter for `where` ("" for none); values escaped as JSON strings."""
    if where is None:
        return ""
    quoted = lambda values: "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"  # noqa: E731
    parts = []
    if where.doc_ids is not None:
        parts.append(f"doc_id in {quoted(where.doc_ids)}")
    if where.units is not None:
        parts.append(f"array_contains_any({ROLE_FIELD[where.role]}, {quoted(where.units)})")
    return " and ".join(parts)


class Connection:
    """A MilvusClient for one URI, holding the Lite file (milvus_lite.acquire) while it lives."""

    def __init__(self, index_dir: Path, uri: str, spec: EngineSpec) -> None:
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException

        self.target, self.uri = resolve(index_dir, uri)
        self.lite = milvus_lite.is_lite(self.target)
        if self.lite:
            milvus_lite.acquire(Path(self.target))
        # No keepalive pings over Lite's local socket: its engine answers an idle client's pings (a build
        # embedding for minutes) with GOAWAY "too_many_pings", logged to stderr.
        options = {"grpc_options": {"grpc.keepalive_permit_without_calls": 0}} if self.lite else {}
        try:
            self.client = MilvusClient(self.target, token=spec.token.get_secret_value(), timeout=30, **options)
        except (MilvusException, RuntimeError, OSError) as exc:
            self._release()
            raise EngineError(f"cannot open Milvus at {self.uri}: {exc}", value=self.uri,
                              hint="check POLICYQA_MILVUS_URI and POLICYQA_MILVUS_TOKEN, and that the server is up") from exc
        self._finalizer = weakref.finalize(self, Connection._close, self.client, self.target if self.lite else None)

    @staticmethod
    def _close(client, lite_path: str | None) -> None:
        try:
            client.close()
        finally:
            if lite_path:
                milvus_lite.release(Path(lite_path))

    def _release(self) -> None:
        if self.lite:
            milvus_lite.release(Path(self.target))

    def close(self) -> None:
        """Close the client and let the Lite file go (idempotent)."""
        self._finalizer()

    def call(self, method: str, *args, **kwargs):
        """client.method(*args, **kwargs) with Milvus errors as EngineError naming the URI."""
        from pymilvus.exceptions import MilvusException

        try:
            return getattr(self.client, method)(*args, **kwargs)
        except MilvusException as exc:
            raise EngineError(f"Milvus at {self.uri} failed in {method}: {exc}", value=self.uri,
                              hint="see the Milvus server's log; a rebuild (`policyqa build`) writes a fresh collection") from exc


class LiteHold:
    """This process's hold on a Lite file for as long as a build runs (released by `close`)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def close(self) -> None:
        """Let the file go (the engine child stops when nobody else here holds it)."""
        milvus_lite.release(self.path)


def _schema(client, dimension: int):
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=512)
    for role in ROLES:
        schema.add_field(ROLE_FIELD[role], DataType.ARRAY, element_type=DataType.VARCHAR,
                         max_capacity=MAX_UNITS, max_length=256)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    schema.add_field("tokens", DataType.VARCHAR, max_length=MAX_TOKENS_BYTES, enable_analyzer=True,
                     analyzer_params={"tokenizer": "whitespace"})
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["tokens"],
                                 output_field_names=["sparse"]))
    index = client.prepare_index_params()
    index.add_index("vector", index_type="FLAT", metric_type="IP")
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                    params={"bm25_k1": 1.2, "bm25_b": 0.75})
    return schema, index


def _joined(tokens: Sequence[str]) -> str:
    """Tokens joined by spaces, cut at a token boundary to fit the VARCHAR (bytes)."""
    text = " ".join(tokens)
    if len(text.encode()) <= MAX_TOKENS_BYTES:
        return text
    return text.encode()[:MAX_TOKENS_BYTES].decode(errors="ignore").rsplit(" ", 1)[0]


def _entity(row: int, clause, tokens: Sequence[str], vector: np.ndarray) -> dict:
    roles = unit_roles(clause)
    entity = {"row": int(row), "doc_id": clause.doc_id, "vector": np.asarray(vector, np.float32).tolist(),
              "tokens": _joined(tokens)}
    entity.update({ROLE_FIELD[r]: list(units[:MAX_UNITS]) for r, units in roles.items()})
    return entity


class MilvusIndex(EngineIndex):
    """One version as one Milvus collection (see the module docstring)."""

    name = "milvus"

    def __init__(self, conn: Connection, collection: str, dimension: int, fresh: bool = False) -> None:
        self.conn = conn
        self.collection = collection
        self.dimension = dimension
        self._fresh = fresh  # created here and never deleted from: plain inserts suffice

    @classmethod
    def session(cls, index_dir: Path, spec: EngineSpec):
        """Held for a whole build so that a busy Lite file or an unreachable server fails before any
        embedding: a Lite file's ownership (no connection idles meanwhile), or a server checked once."""
        target, _ = resolve(index_dir, spec.uri)
        if milvus_lite.is_lite(target):
            milvus_lite.acquire(Path(target))
            return LiteHold(Path(target))
        conn = Connection(index_dir, spec.uri, spec)
        try:
            conn.call("list_collections")
        finally:
            conn.close()
        return None

    @classmethod
    def create(cls, folder: Path, spec: EngineSpec, dimension: int) -> "MilvusIndex":
        """The collection of version `folder`, new and empty (an existing one of that name is replaced)."""
        conn = Connection(folder.parent, spec.uri, spec)
        name = collection_name(folder.name)
        if conn.call("has_collection", name):
            conn.call("drop_collection", name)
        schema, index = _schema(conn.client, dimension)
        conn.call("create_collection", name, schema=schema, index_params=index, consistency_level="Strong")
        conn.call("load_collection", name)
        return cls(conn, name, dimension, fresh=True)

    @classmethod
    def open(cls, folder, info, spec, clauses, tokens) -> "MilvusIndex":
        """Connect to the manifest's URI and load the version's collection; IndexFolderError if it is gone."""
        conn = Connection(folder.parent, info.get("uri", ""), spec)
        name = info.get("collection") or collection_name(folder.name)
        if not conn.call("has_collection", name):
            conn.close()
            raise IndexFolderError(f"the Milvus collection {name} of {folder.name} is missing at {conn.uri}", value=name)
        conn.call("load_collection", name)
        return cls(conn, name, int(info.get("dimension", 0)))

    def upsert(self, rows: Rows) -> None:
        """Insert (a fresh collection) or upsert the rows, in batches of BATCH."""
        method = "insert" if self._fresh else "upsert"
        for start in range(0, len(rows.ids), BATCH):
            stop = min(start + BATCH, len(rows.ids))
            data = [_entity(rows.ids[i], rows.clauses[i], rows.tokens[i], rows.vectors[i]) for i in range(start, stop)]
            self.conn.call(method, self.collection, data)

    def delete_documents(self, doc_ids: Iterable[str]) -> int:
        """Delete by `doc_id in [...]`; returns how many rows went."""
        doc_ids = tuple(doc_ids)
        if not doc_ids:
            return 0
        before = self.count()
        self.conn.call("delete", self.collection, filter=expression(Where(doc_ids=doc_ids)))
        self._fresh = False
        return before - self.count()

    def count(self) -> int:
        """count(*) of the collection."""
        return int(self.conn.call("query", self.collection, filter="", output_fields=["count(*)"])[0]["count(*)"])

    def _search(self, data: list, field: str, metric: str, k: int, where: Where | None) -> Ranked:
        if k <= 0 or (where is not None and where.empty):
            return []
        hits = self.conn.call("search", self.collection, data=data, anns_field=field, limit=min(k, 16384),
                              filter=expression(where), output_fields=[], search_params={"metric_type": metric})
        return [(int(h["id"]), float(h["distance"])) for h in hits[0]]

    def dense(self, query: np.ndarray, k: int, where: Where | None = None) -> Ranked:
        """FLAT inner-product search over `vector`."""
        return self._search([np.asarray(query, np.float32).reshape(-1).tolist()], "vector", "IP", k, where)

    def lexical(self, tokens: Sequence[str], k: int, where: Where | None = None) -> Ranked:
        """Milvus BM25 over `sparse` for the tokens joined by spaces."""
        if not tokens:
            return []
        return [(row, s) for row, s in self._search([_joined(tokens)], "sparse", "BM25", k, where) if s > 0]

    def vectors(self, rows: Sequence[int]) -> np.ndarray:
        """Stored vectors of `rows` (KeyError for a row not stored), read back in chunks."""
        found: dict[int, list] = {}
        rows = [int(r) for r in rows]
        for start in range(0, len(rows), BATCH):
            chunk = rows[start:start + BATCH]
            for hit in self.conn.call("query", self.collection, filter=f"row in {chunk}", output_fields=["row", "vector"]):
                found[int(hit["row"])] = hit["vector"]
        return np.asarray([found[r] for r in rows], dtype=np.float32).reshape(len(rows), self.dimension)

    def save(self) -> dict:
        """Flush; the manifest entry names the URI (no token) and the collection."""
        self.conn.call("flush", self.collection)
        versions = {}
        for lib in ("pymilvus", "milvus-lite"):
            try:
                versions[lib] = metadata.version(lib)
            except metadata.PackageNotFoundError:
                pass
        return {"name": self.name, "uri": self.conn.uri, "collection": self.collection, "dimension": self.dimension,
                "index": "FLAT", "metric": "IP", "bm25": {"k1": 1.2, "b": 0.75, "tokenizer": "whitespace"},
                "library_versions": versions}

    def close(self) -> None:
        """Close the client (and let a Lite file go when no one else here holds it)."""
        self.conn.close()

    def drop(self) -> None:
        """Drop this version's collection."""
        if self.conn.call("has_collection", self.collection):
            self.conn.call("drop_collection", self.collection)

    @classmethod
    def prune(cls, index_dir: Path, info: dict, spec: EngineSpec, removed: Sequence[str]) -> None:
        """Drop the collections of `removed` versions; in the folder's own Lite file also those whose
        folder is gone (a build killed before it published)."""
        conn = Connection(index_dir, info.get("uri", ""), spec)
        try:
            doomed = {collection_name(v) for v in removed}
            if conn.uri == DEFAULT_FILE:
                live = {collection_name(p.name) for p in index_dir.glob("v-*") if p.is_dir()}
                doomed |= {c for c in conn.call("list_collections") if c.startswith(PREFIX) and c not in live}
            for name in sorted(doomed):
                if conn.call("has_collection", name):
                    conn.call("drop_collection", name)
        finally:
            conn.close()
