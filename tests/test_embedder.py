"""Embedding paths: batching by token count, and the ONNX Runtime int8 path (tiny real model; real e5 in the model tier)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import ROOT
from index import onnx_embedder
from index.batching import encode_by_length
from index.embedder import SentenceTransformerEmbedder, make_embedder, model_fingerprint
from index.onnx_embedder import EXPORT, OnnxEmbedder
from policyqa.errors import ModelMissingError

E5 = ROOT / "var" / "models" / "multilingual-e5-small"


def test_batches_follow_token_counts_not_characters_and_keep_input_order():
    # character length and token count disagree on purpose: digits are few tokens, Chinese many
    texts = ["12345678901234567890", "政策", "ABCDEFGHIJKLMNOPQRST", "创新券", "政策", "9876543210987654321"]
    tokens = {"12345678901234567890": 3, "政策": 9, "ABCDEFGHIJKLMNOPQRST": 4, "创新券": 10, "9876543210987654321": 2}
    batches, done = [], []

    def encode(batch):
        batches.append(batch)
        return np.stack([np.full(4, texts.index(t) + 1, dtype=np.float32) for t in batch])

    vectors = encode_by_length(texts, lambda b: [tokens[t] for t in b], encode, 2, 4, done.append)
    assert batches == [["9876543210987654321", "12345678901234567890"], ["ABCDEFGHIJKLMNOPQRST", "政策"], ["创新券"]]
    assert [int(v[0]) for v in vectors] == [1, 2, 3, 4, 2, 6]  # input order; the repeat reuses the first vector
    assert sum(done) == len(texts)
    assert encode_by_length([], lambda b: [], encode, 2, 4).shape == (0, 4)


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    """A real but tiny sentence-transformers folder (random 2-layer BERT, the e5 tokenizer, e5's prompts)."""
    if not (E5 / "tokenizer.json").is_file():
        pytest.skip(f"e5 tokenizer not built at {E5}; run `make setup`")
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny") / "tiny-st"
    tokenizer = AutoTokenizer.from_pretrained(E5)
    torch.manual_seed(0)
    bert = BertModel(BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                intermediate_size=64, max_position_embeddings=512), add_pooling_layer=False)
    raw = folder.parent / "raw"
    bert.save_pretrained(raw)
    tokenizer.save_pretrained(raw)
    word = models.Transformer(str(raw), max_seq_length=128)
    model = SentenceTransformer(modules=[word, models.Pooling(32, "mean"), models.Normalize()],
                                prompts={"query": "query: ", "passage": "passage: "})
    model.save(str(folder))
    return folder


TEXTS = ["企业研发费用加计扣除按实际发生额的100%在税前加计扣除。", "对新认定的高新技术企业给予10万元奖励。",
         "市科技局牵头，市财政局配合。", "passage text in English", "对新认定的高新技术企业给予10万元奖励。"]


def test_onnx_path_matches_the_float_model(tiny_folder):
    from sentence_transformers import SentenceTransformer

    embedder = make_embedder(str(tiny_folder) + "+onnx-int8", batch_size=2)
    assert isinstance(embedder, OnnxEmbedder) and embedder.name == str(tiny_folder) + "+onnx-int8"
    reference = SentenceTransformer(str(tiny_folder), device="cpu")
    vectors = embedder.embed_passages(TEXTS)
    expected = reference.encode(TEXTS, prompt_name="passage", normalize_embeddings=True)
    assert vectors.shape == (len(TEXTS), embedder.dimension) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert ((vectors * expected).sum(axis=1) > 0.98).all()
    query = embedder.embed_query("高新技术企业奖励多少")
    with_prompt = reference.encode(["高新技术企业奖励多少"], prompt_name="query", normalize_embeddings=True)[0]
    assert float(query @ with_prompt) > 0.98
    assert (tiny_folder / EXPORT).is_file()
    assert not list((tiny_folder / EXPORT).parent.glob(".export-*"))  # no half-written export left behind


def test_onnx_export_is_reused(tiny_folder, monkeypatch):
    make_embedder(str(tiny_folder) + "+onnx-int8").embed_query("预热")  # exported by now, whatever ran first

    def refuse(*_):
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_embedder, "export_int8", refuse)
    assert OnnxEmbedder(str(tiny_folder)).embed_query("创新券").shape == (32,)


def test_onnx_path_refuses_what_it_cannot_serve(tiny_folder, tmp_path, monkeypatch):
    with pytest.raises(ModelMissingError, match="make setup"):
        OnnxEmbedder(str(tmp_path / "absent")).embed_query("x")
    cls = tmp_path / "cls"
    shutil.copytree(tiny_folder, cls, ignore=shutil.ignore_patterns("onnx"))
    pooling = cls / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config.update(pooling_mode="cls")
    pooling.write_text(json.dumps(config))
    with pytest.raises(ModelMissingError, match="plain mean pooling"):
        OnnxEmbedder(str(cls)).embed_query("x")

    unwritable = tmp_path / "unwritable"
    shutil.copytree(tiny_folder, unwritable, ignore=shutil.ignore_patterns("onnx"))

    def disk_full(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(onnx_embedder, "export_int8", disk_full)
    with pytest.raises(ModelMissingError, match="No space left.*writable"):
        OnnxEmbedder(str(unwritable)).embed_query("x")
    (unwritable / EXPORT).parent.mkdir()
    (unwritable / EXPORT).write_bytes(b"not an onnx file")
    with pytest.raises(ModelMissingError, match="delete it"):
        OnnxEmbedder(str(unwritable)).embed_query("x")


def test_fingerprint_ignores_the_path_suffix(tmp_path):
    (tmp_path / "policyqa_build.json").write_text("{}")
    plain = model_fingerprint(str(tmp_path))
    assert plain and model_fingerprint(str(tmp_path) + "+onnx-int8") == plain == model_fingerprint(str(tmp_path) + "+int8")


@pytest.mark.model
def test_real_e5_onnx_int8_agrees_with_float32(seed_corpus):
    if not (E5 / "policyqa_build.json").is_file():
        pytest.skip(f"embedding model not built at {E5}; run `make setup`")
    passages = [c.text for c in seed_corpus.clauses]
    fast, exact = OnnxEmbedder(str(E5)), SentenceTransformerEmbedder(str(E5), batch_size=16)
    a, b = fast.embed_passages(passages), exact.embed_passages(passages)
    assert (a * b).sum(axis=1).min() > 0.97
    for question, phrase in (("没有抵押物的小企业怎么贷款", "无担保、无抵押"), ("科技创新券怎么申请使用", "科技创新券"),
                             ("人才分类评价和职称评定", "职称评定"), ("研发费用加计扣除", "加计扣除")):
        ranked = np.argsort(-(a @ fast.embed_query(question)))[:5]
        assert any(phrase in passages[i] for i in ranked), question
        assert ranked[0] == int(np.argmax(b @ exact.embed_query(question))), question
