"""A BIRD that answers slowly, for the lab: a proxy on a control socket of its own,
in front of a real BIRD, that passes everything through until the client sends a
command starting with ``at``; then it holds that command (BIRD never sees it, the client
waits, as with a BIRD slow to reconfigure) or trickles (a continuation line every
``every`` seconds, never the end of the reply: a router that keeps the socket busy and
never answers). A router's data is pointed at the proxy for a while with
:func:`slow_bird`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import yaml


class SlowBird:
    """The proxy; ``reached`` is set once a client has sent the command ``at``."""

    def __init__(
        self, path: Path, bird: Path, at: bytes, *, trickle: bool = False, every: float = 0.2
    ) -> None:
        self.path, self.bird, self.at = path, bird, at
        self.trickle, self.every = trickle, every
        self.reached = threading.Event()
        self.released = threading.Event()
        self.trickled = 0  # lines sent while trickling
        self.stopped = threading.Event()
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        self._server.listen()
        threading.Thread(target=self._accept, daemon=True).start()

    def release(self) -> None:
        """Send the held command on to BIRD, and everything after it."""
        self.released.set()

    def close(self) -> None:
        self.stopped.set()
        self.released.set()
        self._server.close()
        self.path.unlink(missing_ok=True)

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(str(self.bird))
            threading.Thread(target=self._answers, args=(upstream, client), daemon=True).start()
            threading.Thread(target=self._commands, args=(client, upstream), daemon=True).start()

    def _answers(self, upstream: socket.socket, client: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := upstream.recv(65536):
                client.sendall(data)
        with contextlib.suppress(OSError):
            client.shutdown(socket.SHUT_RDWR)

    def _commands(self, client: socket.socket, upstream: socket.socket) -> None:
        reader = client.makefile("rb")
        with contextlib.suppress(OSError, ValueError):
            while line := reader.readline():
                if line.startswith(self.at) and not self.released.is_set():
                    self.reached.set()
                    if self.trickle:
                        self._trickle(client)
                        return
                    self.released.wait()
                    if self.stopped.is_set():
                        return
                upstream.sendall(line)
        with contextlib.suppress(OSError):
            upstream.shutdown(socket.SHUT_RDWR)

    def _trickle(self, client: socket.socket) -> None:
        """A reply that never ends: a line now and then, until the client goes."""
        with contextlib.suppress(OSError):
            while not self.stopped.wait(self.every):
                client.sendall(b"1002-still working\n")
                self.trickled += 1


@contextlib.contextmanager
def slow_bird(
    project: Path, router: str, at: bytes, *, trickle: bool = False
) -> Iterator[SlowBird]:
    """``router`` of the lab project reached through a :class:`SlowBird` for a while."""
    hosts = project / "inventory" / "hosts.yaml"
    original = hosts.read_text()
    folder = project / "state" / "lab" / "bird" / router
    proxy = SlowBird(folder / "slow.ctl", folder / "bird.ctl", at, trickle=trickle)
    data = yaml.safe_load(original)
    data[router]["connection_options"]["napalm"]["extras"]["optional_args"]["socket"] = str(
        proxy.path
    )
    hosts.write_text(yaml.safe_dump(data, sort_keys=False))
    try:
        yield proxy
    finally:
        hosts.write_text(original)
        proxy.close()
