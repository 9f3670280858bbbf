"""One exclusive lock per file in an index folder (flock), shared across processes.

The kernel drops a flock when its process dies, so a held lock always means a live holder: a crash
never leaves a stale lock behind. The holder writes "pid N" into the file so that whoever is refused
can say who holds it. Used for INDEX_DIR/build.lock (one build at a time) and INDEX_DIR/change.lock
(one corpus change at a time, qa/journal.py).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Callable


class LockHeld(Exception):
    """The lock is held by `holder` ("pid N", or "another process")."""

    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


class FileLock:
    """`with FileLock(path):` holds an exclusive flock on `path`. If another process holds it: LockHeld
    at once, or, with `on_wait`, `on_wait(holder)` and then wait for it."""

    def __init__(self, path: Path, on_wait: Callable[[str], None] | None = None) -> None:
        self.path = Path(path)
        self.on_wait = on_wait
        self._fh = None

    def __enter__(self) -> "FileLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            if self.on_wait is None:
                fh.close()
                raise LockHeld(holder) from None
            self.on_wait(holder)
            fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        self._fh = fh
        return self

    def __exit__(self, *exc) -> None:
        self._fh.close()  # closing the file releases the flock
        self._fh = None
