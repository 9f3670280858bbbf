"""Who may open a Milvus Lite file: one process at a time, said clearly, never a hang or a second server.

Milvus Lite (milvus-lite 2.5.1) runs its engine as a child process per `.db` file, started by the
first MilvusClient of a Python process and kept until that process releases it or exits. A second
process gets "Open local milvus failed" without the file's name, and, worse, its failed attempt
deletes the lock file the owner holds, so a third process can start a second engine on the same
data. So before pymilvus sees a Lite path, this module takes its own flock beside the file
(`.NAME.owner`, index/locks.py) and keeps it for as long as the process uses the file; a process that
finds it held gets `EngineBusyError` naming the file, the holder (pid and command line) and what to
do. Within one process the file is shared by reference count (the app's snapshot, an upload's build
and the journal may all hold it), and the engine child is stopped when the last user lets go.

Why one owner and not one file per version: the app keeps the live index open, uploads and deletions
rebuild inside the app (they go through it anyway: the change journal, the corpus folder), and a Lite
file holding every version's collection keeps one engine child per index folder. A CLI command
that needs the file while the app runs is told to use the app's API or to stop it; several processes
sharing one index is what a Milvus server is for (POLICYQA_MILVUS_URI=http://host:19530).

milvus-lite 2.5.1, the last build on Milvus's own C++ engine (SCALE.md: 10-1000x faster than the 3.x
rewrite here), reads its own version through `pkg_resources`, which setuptools 82 removed; where it is
missing, `load` lends it a two-name stand-in for that one import instead of pinning an old setuptools
for the whole project (whose pkg_resources makes jieba warn on every start).
"""

from __future__ import annotations

import sys
import threading
import types
from importlib import metadata
from pathlib import Path

from index.locks import FileLock, LockHeld
from policyqa.errors import EngineBusyError, EngineError

_LOCK = threading.Lock()
_OWNED: dict[Path, list] = {}  # resolved .db path -> [FileLock, users]


def load() -> None:
    """Import milvus_lite (see the module docstring for the stand-in it may need)."""
    try:
        import milvus_lite  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name != "pkg_resources":
            raise EngineError(f"Milvus Lite is not installed ({exc})", value="milvus-lite",
                              hint="run `make setup` (requirements.lock pins milvus-lite)") from exc
        shim = types.ModuleType("pkg_resources")
        shim.DistributionNotFound = metadata.PackageNotFoundError
        shim.get_distribution = lambda name: types.SimpleNamespace(version=metadata.version(name))
        sys.modules["pkg_resources"] = shim
        try:
            import milvus_lite  # noqa: F401
        finally:
            del sys.modules["pkg_resources"]


def is_lite(uri: str) -> bool:
    """True for a Milvus Lite file (a path ending in .db), False for a server URI."""
    return not uri.startswith(("http://", "https://", "tcp://", "unix:")) and uri.endswith(".db")


def _holder(text: str) -> str:
    """'pid N (command line)' when the holder is alive and readable, else what the lock file says."""
    pid = text.removeprefix("pid ").strip()
    try:
        argv = Path(f"/proc/{int(pid)}/cmdline").read_bytes().split(b"\0")
        return f"pid {pid}: {' '.join(a.decode(errors='replace') for a in argv if a)[:120]}"
    except (ValueError, OSError):
        return text


def busy_error(path: Path, holder: str) -> EngineBusyError:
    """What a process that cannot open the Lite file is told: the file, its owner, what to do."""
    return EngineBusyError(
        f"the Milvus Lite file {path} is open in another process ({_holder(holder)})", value=str(path),
        hint="Milvus Lite serves one process per file. While the app runs, change documents through it (upload or "
             "delete in the UI, POST/DELETE /api/documents) and search with /api/search, or stop it and run this "
             "command again. For several processes on one index, run a Milvus server and set "
             "POLICYQA_MILVUS_URI=http://HOST:19530 (and POLICYQA_MILVUS_TOKEN)",
        zh=f"索引文件 {path} 正被另一个进程（{_holder(holder)}）使用：Milvus Lite 一个文件只能由一个进程打开。"
           "请通过正在运行的应用上传、删除或检索，或先停止它；多个进程共用索引请改用 Milvus 服务器（POLICYQA_MILVUS_URI）。")


def acquire(path: Path) -> None:
    """Count this process as a user of the Lite file `path`; EngineBusyError if another process owns it,
    EngineError if its name is one Milvus Lite refuses."""
    path = Path(path).resolve()
    name = path.name
    if len(name) > 36 or not all(ch.isascii() and (ch.isalnum() or ch in ".-_") for ch in name):
        raise EngineError(f"Milvus Lite cannot use the file name '{name}'", value=str(path),
                          hint="use at most 36 letters, digits, '.', '-' or '_', ending in .db (POLICYQA_MILVUS_URI)")
    if not path.parent.is_dir():
        raise EngineError(f"the folder of the Milvus Lite file {path} does not exist", value=str(path),
                          hint="create it or fix POLICYQA_MILVUS_URI")
    load()
    with _LOCK:
        if path in _OWNED:
            _OWNED[path][1] += 1
            return
        lock = FileLock(path.with_name(f".{name}.owner"))
        try:
            lock.__enter__()
        except LockHeld as held:
            raise busy_error(path, held.holder) from None
        _OWNED[path] = [lock, 1]


def release(path: Path) -> None:
    """One user fewer; the last one stops the engine child and gives the file up."""
    path = Path(path).resolve()
    with _LOCK:
        entry = _OWNED.get(path)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] > 0:
            return
        del _OWNED[path]
        try:
            from milvus_lite.server_manager import server_manager_instance

            if str(path) in server_manager_instance._servers:
                server_manager_instance.release_server(str(path))
        finally:
            entry[0].__exit__(None, None, None)


def users(path: Path) -> int:
    """How many users in this process hold the Lite file (0: not open here)."""
    entry = _OWNED.get(Path(path).resolve())
    return entry[1] if entry else 0
