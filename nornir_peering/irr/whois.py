"""Ask an IRR server one thing bgpq cannot: whether a set exists at all.

bgpq4 and bgpq3 print an empty list for a set that has no members and for one
that does not exist (IRRd answers ``D`` to ``!i`` for both), so a set PeeringDB
names by mistake would look like a network that registered nothing. IRRd's
``!m<class>,<key>`` tells them apart: the object's text (``A<length>``) or ``D``
(irrd docs, users/queries.rst: "searches for objects exactly matching the
primary key ... The key is case sensitive"). One short connection per question,
in IRRd's multiple-command mode (``!!``), with the sources selected first.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Sequence
from typing import BinaryIO

WHOIS_PORT = 43
MAX_LINES = 100_000  # of one object's text, before the answer is taken for garbage
_HOST_PORT = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:\[\]]+))(?::(?P<port>\d+))?$")


class WhoisError(Exception):
    """The IRR server could not be asked, or answered something else than IRRd does."""


def split_host(text: str) -> tuple[str, int]:
    """``host[:port]``, as bgpq4's ``-h`` takes it (``[v6]:port`` is read too, although
    bgpq4 cannot use an IPv6 address there: give a name).

    >>> split_host("127.0.0.1:8591"), split_host("rr.ntt.net"), split_host("[::1]:43")
    (('127.0.0.1', 8591), ('rr.ntt.net', 43), ('::1', 43))
    """
    found = _HOST_PORT.match(text)
    if not found:
        raise WhoisError(f"not an IRR server: {text!r}")
    port = int(found["port"]) if found["port"] else WHOIS_PORT
    if not 0 < port < 65536:
        raise WhoisError(f"not a port: {port}")
    return found["v6"] or found["host"], port


def object_exists(
    host: str,
    key: str,
    *,
    object_class: str = "as-set",
    sources: Sequence[str] = (),
    timeout: float = 30.0,
) -> bool:
    """Whether ``host`` (``host[:port]``) has the ``object_class`` object ``key`` in
    ``sources`` (none: the server's default); :class:`WhoisError` when it cannot say."""
    address, port = split_host(host)
    queries = ["!!", "!nnornir-peering"]
    if sources:
        queries.append("!s" + ",".join(sources))
    queries += [f"!m{object_class},{key}", "!q"]
    try:
        with socket.create_connection((address, port), timeout=timeout) as conn:
            conn.sendall("".join(f"{q}\n" for q in queries).encode())
            reader = conn.makefile("rb")
            for query in queries[1:-2]:  # !n and !s: C, or F with the reason
                _expect_done(reader, query)
            return _read_answer(reader, queries[-2])
    except OSError as exc:
        raise WhoisError(f"{host}: {exc.strerror or exc}") from None


def _expect_done(reader: BinaryIO, query: str) -> None:
    line = _line(reader, query)
    if line != "C":
        raise WhoisError(f"{query} answered {line[:120]!r}")


def _read_answer(reader: BinaryIO, query: str) -> bool:
    line = _line(reader, query)
    if line == "D":
        return False
    if line.startswith("A") and line[1:].isdigit():
        # IRRd counts the length in characters, not bytes (a "descr: Zürich" is longer
        # in bytes): read lines up to the "C" line instead; no RPSL line is "C" alone
        for _ in range(MAX_LINES):
            if _line(reader, query) == "C":
                return True
        raise WhoisError(f"{query}: no end to the answer after {MAX_LINES} lines")
    raise WhoisError(f"{query} answered {line[:120]!r}")


def _line(reader: BinaryIO, query: str) -> str:
    raw = reader.readline(4096)
    if not raw:
        raise WhoisError(f"the connection closed before {query} was answered")
    return raw.decode("utf-8", errors="replace").strip()
