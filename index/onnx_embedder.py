"""The fast embedding path for large corpora: a sentence-transformers folder run by ONNX Runtime with
int8 weights.

`OnnxEmbedder(folder)` serves the folder's encoder from `folder/onnx/model_int8.onnx`. On first use it
exports the encoder to ONNX and quantises its matrix products to int8 (ONNX Runtime dynamic
quantisation), about a minute for multilingual-e5-small, and keeps the file in the folder for later
runs. It applies the folder's own prompts, mean pooling and normalisation, so its vectors stay close
to the float32 model's (cosine ~0.99 for e5-small). On 2 AVX2 cores it embeds the same texts about
2x as fast as LangChain's default build, 2.2x with the build's clause + context vectors
(eval/reports/speed.md); float32 sentence-transformers stays the default for small corpora.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from index.batching import encode_by_length
from policyqa.errors import ModelMissingError

ONNX_INT8 = "+onnx-int8"  # suffix of an embedding model folder: run it through ONNX Runtime in int8
EXPORT = Path("onnx") / "model_int8.onnx"


def _read_json(path: Path) -> dict | list:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def check_folder(folder: Path) -> dict:
    """What the ONNX path needs from a sentence-transformers folder (encoder folder, prompts, length
    limit), or a message naming what does not fit."""
    modules = _read_json(folder / "modules.json") or []
    paths = {m.get("type", "").rsplit(".", 1)[-1]: m.get("path", "") for m in modules}
    encoder = folder / paths.get("Transformer", "")
    if not (encoder / "config.json").is_file():
        raise ModelMissingError(
            f"embedding model folder not found or not a transformers folder: {folder} (`{ONNX_INT8}` needs "
            "a local sentence-transformers folder; run `make setup` to build the default one)")
    pooling_file = folder / paths.get("Pooling", "1_Pooling") / "config.json"
    pooling = _read_json(pooling_file)
    mean = pooling.get("pooling_mode") == "mean" or pooling.get("pooling_mode_mean_tokens")
    if pooling and (not mean or pooling.get("include_prompt") is False):
        raise ModelMissingError(
            f"{folder} does not use plain mean pooling ({pooling_file}); `{ONNX_INT8}` supports mean pooling "
            "over the whole prompted text only: drop the suffix or use `+int8`")
    st_config = _read_json(folder / "config_sentence_transformers.json")
    limit = _read_json(folder / "sentence_bert_config.json").get("max_seq_length") or 512
    return {"encoder": encoder, "prompts": st_config.get("prompts") or {}, "max_length": int(limit)}


def export_int8(encoder: Path, target: Path) -> None:
    """Export the transformers folder `encoder` to ONNX and quantise it to int8 at `target` (written whole or not at all)."""
    import inspect

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(encoder, attn_implementation="eager").eval()
    typed = "token_type_ids" in inspect.signature(model.forward).parameters

    class Encoder(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            extra = {"token_type_ids": torch.zeros_like(input_ids)} if typed else {}
            return self.inner(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state

    example = AutoTokenizer.from_pretrained(encoder)(["示例 example", "示例"], padding=True, return_tensors="pt")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as tmp:
        plain, quantised = Path(tmp) / "model.onnx", Path(tmp) / "model_int8.onnx"
        axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                "hidden": {0: "batch", 1: "tokens"}}
        with torch.no_grad():
            torch.onnx.export(Encoder(model), (example["input_ids"], example["attention_mask"]), str(plain),
                              input_names=["input_ids", "attention_mask"], output_names=["hidden"],
                              dynamic_axes=axes, opset_version=17, dynamo=False)
        quantize_dynamic(str(plain), str(quantised), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
        os.replace(quantised, target)


class OnnxEmbedder:
    """A mean-pooling sentence-transformers folder through ONNX Runtime with int8 matrix products."""

    def __init__(self, folder: str, *, batch_size: int = 32, threads: int | None = None) -> None:
        self.name = folder + ONNX_INT8  # what the index manifest records
        self.folder = Path(folder)
        self.batch_size = batch_size
        self.threads = threads or os.cpu_count() or 1
        self._loaded = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._loaded is None:
                info = check_folder(self.folder)
                import onnxruntime as ort
                from transformers import AutoTokenizer

                path = self.folder / EXPORT
                if not path.is_file():
                    try:
                        export_int8(info["encoder"], path)
                    except (OSError, RuntimeError, ValueError) as exc:
                        raise ModelMissingError(
                            f"cannot export {self.folder} to ONNX at {path}: {exc} (check the folder is "
                            f"writable, or drop the `{ONNX_INT8}` suffix)") from exc
                options = ort.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                try:
                    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
                except Exception as exc:  # onnxruntime raises its own error types for damaged files
                    raise ModelMissingError(
                        f"cannot load {path}: {exc} (delete it; it is exported again on next use)") from exc
                tokenizer = AutoTokenizer.from_pretrained(info["encoder"])
                dimension = int(session.get_outputs()[0].shape[-1])
                self._loaded = (session, tokenizer, info, dimension)
        return self._loaded

    @property
    def dimension(self) -> int:
        """Vector size of the encoder's output."""
        return self._load()[3]

    def _prefix(self, kind: str) -> str:
        prompts = self._load()[2]["prompts"]
        return prompts.get(kind, prompts.get("document", "") if kind == "passage" else "")

    def _encode(self, texts: list[str]) -> np.ndarray:
        session, tokenizer, info, _ = self._load()
        enc = tokenizer(texts, padding=True, truncation=True, max_length=info["max_length"], return_tensors="np")
        mask = enc["attention_mask"].astype(np.int64)
        hidden = session.run(None, {"input_ids": enc["input_ids"].astype(np.int64), "attention_mask": mask})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)

    def embed_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Encode passages with the passage prompt in batches of similar token count."""
        _, tokenizer, info, dimension = self._load()
        prefix = self._prefix("passage")

        def counts(batch: list[str]) -> list[int]:
            return [len(i) for i in tokenizer(batch, truncation=True, max_length=info["max_length"])["input_ids"]]

        prompted = [prefix + t for t in texts]
        return encode_by_length(prompted, counts, self._encode, self.batch_size, dimension, progress)

    def embed_query(self, text: str) -> np.ndarray:
        """Encode one question with the query prompt."""
        return self._encode([self._prefix("query") + text])[0]
