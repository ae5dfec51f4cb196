"""What the lab's BIRD and FRR routers share: a folder each, a daemon known by its pid file."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from nornir_peering.pids import alive, read_pid, terminate


class Daemons:
    """Routing daemons of one kind, each in ``directory/<router>/`` with its ``pid_file``."""

    pid_file = "daemon.pid"

    def __init__(self, directory: Path, names: list[str]) -> None:
        self.directory = directory
        self.names = names

    def folder(self, name: str) -> Path:
        """The router's own folder, ``directory/<name>``."""
        return self.directory / name

    def launch(
        self,
        argv: list[str],
        answers: Callable[[], object],
        refusals: tuple[type[Exception], ...],
        timeout: float,
    ) -> None:
        """Start a daemon (it forks into the background) and wait until ``answers()``
        stops raising one of ``refusals``."""
        subprocess.run(argv, check=True, capture_output=True, text=True)
        deadline = time.monotonic() + timeout
        while True:
            try:
                answers()
                return
            except refusals:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def stop(self, *names: str, timeout: float = 30.0) -> None:
        """Stop these routers (gracefully, about a second): all at once."""
        terminate((pid for pid in map(self._pid, names) if pid is not None), timeout)

    def down(self) -> None:
        """Stop every router."""
        self.stop(*self.names)

    def running(self, name: str) -> bool:
        """Whether the router's daemon runs, going by its pid file."""
        pid = self._pid(name)
        return pid is not None and alive(pid)

    def _pid(self, name: str) -> int | None:
        return read_pid(self.folder(name) / self.pid_file)
