"""A client for BIRD's control socket, and parsers for what it answers.

BIRD's reply to a command is a run of lines, each ``CCCC-text`` (more to
come), ``CCCC text`` (the last) or `` text`` (continues the previous code).
Codes 0xxx end a command well, 8xxx and 9xxx are errors; the reply is over
at the first line with a space after its code (birdc's own ``client/``
does the same). The greeting (``0001 BIRD x.y ready.``) is read on connect.

For example::

    with BirdControl("/run/bird/bird.ctl") as bird:
        bird.command("show status").code
    # 13
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any


class Code(IntEnum):
    """The reply codes nornir-peering reads, as BIRD's ``doc/reply_codes`` names them."""

    WELCOME = 1  # the greeting on connect
    RECONFIGURED = 3
    RECONFIGURATION_IN_PROGRESS = 4
    RECONFIGURATION_QUEUED = 5  # taken, after the one in progress
    CONFIRMED = 18  # ``configure confirm``
    NOTHING_TO_DO = 19  # ``configure confirm`` / ``undo`` with no timer or undo left
    CONFIGURATION_OK = 20  # ``configure check``
    VERSION = 1000  # the first line of ``show status``
    INTERFACE_LIST = 1001
    PROTOCOL_LIST = 1002  # a line of ``show protocols``: name, proto, table, state, since, info
    PROTOCOL_DETAILS = 1006  # the lines ``show protocols all`` adds below each protocol
    RUNTIME_ERROR = 8000  # 8xxx run-time errors, 9xxx parse errors


class BirdError(Exception):
    """BIRD answered with an error code, or could not be reached."""


@dataclass(frozen=True)
class Reply:
    """BIRD's whole reply to one command."""

    code: int  # the code of the last line
    lines: list[tuple[int, str]]  # (code, text) for every line, continuations included

    @property
    def text(self) -> str:
        """Every line's text, without the codes."""
        return "\n".join(text for _, text in self.lines)

    @property
    def ok(self) -> bool:
        """Whether the command ended well (not an 8xxx or 9xxx error)."""
        return self.code < Code.RUNTIME_ERROR


class BirdControl:
    """A connection to one BIRD control socket."""

    def __init__(self, path: str, timeout: float = 30.0) -> None:
        self.path = path
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._file: Any = None
        self._busy = threading.Lock()  # held while a command waits for its answer

    def open(self) -> None:
        """Connect to the socket and read BIRD's greeting.

        Failing to connect, no greeting within the timeout, or a greeting that is not
        BIRD's, is a :class:`BirdError`.
        """
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except OSError as exc:
            sock.close()
            raise BirdError(
                f"cannot connect to BIRD at {self.path}: {exc.strerror or exc}"
            ) from None
        with self._busy:
            self._sock, self._file = sock, sock.makefile("rwb")
            try:
                hello = self._read()
            except (BirdError, OSError) as exc:
                self._close()
                if isinstance(exc, BirdError):
                    raise
                raise BirdError(f"no greeting from BIRD at {self.path}: {exc}") from None
            if hello.code != Code.WELCOME:
                self._close()
                raise BirdError(f"{self.path} did not greet as BIRD does: {hello.text!r}")

    def close(self) -> None:
        """Close the connection, if open; closing twice does no harm. From another thread,
        while a command waits for BIRD's answer, the socket is only shut down, which wakes
        the command (it fails, and closes the connection itself): closing the file under
        a read would fail it otherwise than as a lost connection."""
        if not self._busy.acquire(blocking=False):
            sock = self._sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            return
        try:
            self._close()
        finally:
            self._busy.release()

    def _close(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
        if self._sock is not None:
            self._sock.close()
        self._sock = self._file = None

    def __enter__(self) -> BirdControl:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def command(self, line: str) -> Reply:
        """Send one command; the whole reply, error codes included."""
        if "\n" in line:
            raise ValueError("one command, one line")
        with self._busy:
            if self._file is None:
                raise BirdError("not connected")
            try:
                self._file.write(line.encode() + b"\n")
                self._file.flush()
                return self._read()
            except (OSError, BirdError) as exc:
                self._close()
                if isinstance(exc, BirdError):
                    raise
                raise BirdError(f"lost the connection to BIRD at {self.path}: {exc}") from None

    def checked(self, line: str) -> Reply:
        """Like :meth:`command`, but an error reply raises :class:`BirdError`."""
        reply = self.command(line)
        if not reply.ok:
            raise BirdError(f"{line}: {reply.text}")
        return reply

    def _read(self) -> Reply:
        lines: list[tuple[int, str]] = []
        code = 0
        while True:
            raw = self._file.readline()
            if not raw:
                raise BirdError(f"BIRD at {self.path} closed the connection")
            text = raw.decode("utf-8", "replace").rstrip("\n")
            if len(text) >= 5 and text[:4].isdigit() and text[4] in "- ":
                code = int(text[:4])
                lines.append((code, text[5:]))
                if text[4] == " ":
                    return Reply(code, lines)
            else:  # " text": more of the previous code
                lines.append((code, text[1:]))


# -- parsing ---------------------------------------------------------------------

_SINCE_FULL = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class Protocol:
    """One protocol of ``show protocols all``."""

    name: str
    proto: str
    table: str
    state: str
    since: datetime | None
    info: str
    attributes: dict[str, str] = field(default_factory=dict)
    channels: dict[str, dict[str, str]] = field(default_factory=dict)


def parse_status(reply: Reply) -> dict[str, Any]:
    """``show status``: version, router id, hostname and times."""
    status: dict[str, Any] = {}
    for code, text in reply.lines:
        if code == Code.VERSION:
            status["version"] = text.removeprefix("BIRD ").strip()
        elif text.startswith("Router ID is "):
            status["router_id"] = text.removeprefix("Router ID is ").strip()
        elif text.startswith("Hostname is "):
            status["hostname"] = text.removeprefix("Hostname is ").strip()
        elif text.startswith("Current server time is "):
            status["now"] = _time(text.removeprefix("Current server time is "))
        elif text.startswith("Last reboot on "):
            status["started"] = _time(text.removeprefix("Last reboot on "))
    return status


def parse_protocols(reply: Reply, now: datetime) -> list[Protocol]:
    """``show protocols all``: every protocol with its details and channels.

    ``since`` may be a time of day only (BIRD's ``iso short`` format for
    today); ``now`` gives it its date.
    """
    protocols: list[Protocol] = []
    current: Protocol | None = None
    channel: dict[str, str] | None = None
    for code, text in reply.lines:
        if code == Code.PROTOCOL_LIST:
            parts = text.split(None, 5)
            if len(parts) < 4:
                continue
            since, info = _since(parts[4:], now)
            current = Protocol(parts[0], parts[1], parts[2], parts[3], since, info)
            protocols.append(current)
            channel = None
        elif code == Code.PROTOCOL_DETAILS and current is not None:
            stripped = text.strip()
            if not stripped:
                continue
            if stripped.startswith("Channel "):
                channel = current.channels.setdefault(stripped.removeprefix("Channel "), {})
                continue
            key, sep, value = stripped.partition(":")
            if sep:  # after a "Channel" line, everything is that channel's
                target = current.attributes if channel is None else channel
                target.setdefault(key.strip(), value.strip())
    return protocols


def _since(parts: list[str], now: datetime) -> tuple[datetime | None, str]:
    """The Since column (``HH:MM:SS.sss`` or ``YYYY-MM-DD HH:MM:SS``) and the rest."""
    if not parts:
        return None, ""
    rest = " ".join(parts)
    words = rest.split()
    if _SINCE_FULL.match(words[0]) and len(words) > 1:
        return _time(f"{words[0]} {words[1]}"), " ".join(words[2:])
    try:
        clock = datetime.strptime(words[0].split(".")[0], "%H:%M:%S").time()
    except ValueError:
        return None, rest
    when = datetime.combine(now.date(), clock)
    if when > now + timedelta(minutes=1):  # before midnight, yesterday
        when -= timedelta(days=1)
    return when, " ".join(words[1:])


def _time(text: str) -> datetime | None:
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    return None


def route_counts(channel: dict[str, str]) -> dict[str, int]:
    """``Routes: 2 imported, 1 filtered, 1 exported, 2 preferred`` as numbers."""
    counts = {"imported": 0, "filtered": 0, "exported": 0, "preferred": 0}
    for number, word in re.findall(r"(\d+) (\w+)", channel.get("Routes", "")):
        if word in counts:
            counts[word] = int(number)
    return counts
