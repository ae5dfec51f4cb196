"""A download's wall-clock deadline that holds whatever the server does.

httpx's timeouts are per operation: ``read`` bounds one wait for data, so a server that
sends a byte a second is never late for any read, and a download (its headers too:
h11 reads them in pieces) can last for ever. httpx has no overall limit, and closing a
response from another thread does not wake a read blocked on its socket. So a
:class:`Deadline` keeps a handle of its own on each connection its download opens (a
duplicate of the socket, taken through httpcore's ``trace`` request extension when the
TCP connection is made, before TLS and the request) and, when the time is up or the
download is stopped, shuts the connection down: the blocked read returns at once (end of
stream), httpx raises, and the caller reads :attr:`Deadline.ended` to say why.

For example::

    with Deadline(900) as deadline:
        client.get(url, extensions={"trace": deadline.trace})
        deadline.release()
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any, Literal

Reason = Literal["late", "stopped"]


class Deadline:
    """``seconds`` from now, for one download: its connections are shut down then. Its
    client must open a connection per request (no keep-alive): a reused one is not seen."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.ended: Reason | None = None  # why the connections were shut down
        self._lock = threading.Lock()
        self._held: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self.end, args=("late",))
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        self.release()

    @property
    def remaining(self) -> float:
        """Seconds left (0 once passed)."""
        return max(0.0, self.at - time.monotonic())

    @property
    def passed(self) -> bool:
        """Whether the download is over: its time is up, or it was stopped."""
        return self.ended is not None or time.monotonic() >= self.at

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's ``trace`` extension: hold each TCP connection as it is made (and shut
        it at once if the deadline ended meanwhile)."""
        if event != "connection.connect_tcp.complete":
            return
        found = info["return_value"].get_extra_info("socket")
        if not isinstance(found, socket.socket):
            return
        held = found.dup()  # a descriptor of its own: valid whatever httpcore closes
        with self._lock:
            self._held.append(held)
            if self.ended is not None:
                _shut(held)

    def end(self, reason: Reason) -> None:
        """Shut down the download's connections now (the first reason stays)."""
        with self._lock:
            if self.ended is None:
                self.ended = reason
            for sock in self._held:
                _shut(sock)

    def release(self) -> None:
        """Let go of the connections held so far (an attempt is over)."""
        with self._lock:
            held, self._held = self._held, []
            for sock in held:
                sock.close()


def _shut(sock: socket.socket) -> None:
    """Shut ``sock`` down both ways: a read blocked on it, in any thread, returns."""
    with contextlib.suppress(OSError):  # not connected any more: nothing to wake
        sock.shutdown(socket.SHUT_RDWR)
