"""Processes known by their pid: is one alive, stop some, read a pid file.

Shared by the sync (leftover download folders of killed runs) and the lab
(background BIRD daemons and the PeeringDB server).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path


def alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie child of ours does not count."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    with contextlib.suppress(ChildProcessError):
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    return True


def read_pid(path: Path) -> int | None:
    """The pid in a pid file, if the file holds one."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def terminate(pids: Iterable[int], timeout: float = 30.0) -> None:
    """SIGTERM to all of them at once, then wait until they are gone (or ``timeout``)."""
    pids = list(pids)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
