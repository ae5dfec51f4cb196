"""What the lab's BIRD and FRR routers share: a folder each, a daemon known by its pid
file, and the network namespace they run in."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from nornir_peering.lab.netns import Namespace
from nornir_peering.pids import alive, read_pid, terminate


def missing(programs: Iterable[tuple[str, str]]) -> list[str]:
    """Of ``(program, Debian package)`` pairs (a program is a name on PATH or a path),
    those this machine lacks, as ``program (Debian package NAME)``.

    >>> missing([("sh", "dash"), ("/no/such/bgpd", "frr")])
    ['/no/such/bgpd (Debian package frr)']
    """
    return [
        f"{program} (Debian package {package})"
        for program, package in programs
        if shutil.which(program) is None
    ]


class Daemons:
    """Routing daemons of one kind, each in ``directory/<router>/`` with its ``pid_file``,
    all in ``namespace`` (by default one of their own, in ``directory``)."""

    pid_file = "daemon.pid"
    programs: tuple[tuple[str, str], ...] = ()  # (program, Debian package) they need

    def __init__(self, directory: Path, names: list[str], namespace: Namespace | None) -> None:
        self.directory = directory
        self.names = names
        self.namespace = namespace or Namespace(directory)
        self._own_namespace = namespace is None

    def folder(self, name: str) -> Path:
        """The router's own folder, ``directory/<name>``."""
        return self.directory / name

    def addresses(self) -> list[str]:
        """The addresses the routers use: the namespace's loopback must hold them."""
        raise NotImplementedError

    def pids(self) -> dict[str, int]:
        """The pid of every router whose daemon runs, by name."""
        return {
            name: pid for name in self.names if (pid := self._pid(name)) is not None and alive(pid)
        }

    def enter(self) -> None:
        """The namespace, set up for these routers; a router still running from a
        namespace that has gone is stopped, to start again in the new one."""
        if self.namespace.ensure(self.addresses()):
            self.stop(*self.names)

    def launch(
        self,
        argv: list[str],
        answers: Callable[[], object],
        refusals: tuple[type[Exception], ...],
        timeout: float,
    ) -> None:
        """Start a daemon in the namespace (it forks into the background) and wait until
        ``answers()`` stops raising one of ``refusals``."""
        started = subprocess.run(
            self.namespace.command(argv), capture_output=True, text=True, timeout=timeout
        )
        if started.returncode != 0:
            said = (started.stderr or started.stdout).strip()
            raise RuntimeError(f"{argv[0]} did not start: {said or started.returncode}")
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
        """Stop every router, and the namespace if it is theirs alone."""
        self.stop(*self.names)
        if self._own_namespace:
            self.namespace.stop()

    def running(self, name: str) -> bool:
        """Whether the router's daemon runs, going by its pid file."""
        pid = self._pid(name)
        return pid is not None and alive(pid)

    def _pid(self, name: str) -> int | None:
        return read_pid(self.folder(name) / self.pid_file)
