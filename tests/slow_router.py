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
from collections.abc import Callable, Iterator
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
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        self._server.listen()
        self._server.settimeout(0.1)  # the accept loop sees stopped within 0.1 s
        self._spawn(self._accept)

    def release(self) -> None:
        """Send the held command on to BIRD, and everything after it."""
        self.released.set()

    def close(self) -> None:
        """Stop: every connection shut down and closed, every thread ended. Nothing of
        the proxy outlives it (a thread left behind with a socket would act on whatever
        later takes its descriptor's number)."""
        self.stopped.set()
        self.released.set()
        for thread in self._threads[:1]:  # the accept loop: no connection comes after it
            thread.join()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads[1:]:
            thread.join()
        for sock in [*self._sockets, self._server]:
            sock.close()
        self.path.unlink(missing_ok=True)

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._sockets += [client, upstream]
            try:
                upstream.connect(str(self.bird))
            except OSError:  # BIRD is gone: so is this client
                client.shutdown(socket.SHUT_RDWR)
                continue
            self._spawn(self._answers, upstream, client)
            self._spawn(self._commands, client, upstream)

    def _answers(self, upstream: socket.socket, client: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := upstream.recv(65536):
                client.sendall(data)
        with contextlib.suppress(OSError):
            client.shutdown(socket.SHUT_RDWR)

    def _commands(self, client: socket.socket, upstream: socket.socket) -> None:
        with client.makefile("rb") as reader, contextlib.suppress(OSError, ValueError):
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
