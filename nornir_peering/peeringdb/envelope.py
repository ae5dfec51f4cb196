"""Where a PeeringDB reply's ``data`` list lies in the file, found from its ends only.

A reply is one JSON object, ``{"data": [...], "meta": {...}}`` (PeeringDB's
renderer writes ``data`` first; the cache files have only ``data``; other servers
put ``meta`` first). Read whole, as one document, it costs DuckDB several times
its size in memory (36 MB of ``net`` took 300 MB). The list alone, a top-level
JSON array, DuckDB reads as records, a buffer at a time. So: parse the few
members before the list from the file's head and those after it from its tail,
and hand DuckDB the bytes between. Nothing in the middle is looked at here;
DuckDB checks it as it reads it, and a span that is not one array fails there.

For example::

    span = data_span(Path("net-0.json"))
    span.start, span.end, span.meta   # the list's bytes are [start, end)
"""

from __future__ import annotations

import codecs
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# how much of each end is read: the members around the list are a few bytes
# (PeeringDB's meta is {} or a short message); a reply whose are longer is read whole
WINDOW = 1 << 20
TAIL_WINDOW = 64 << 10
_DECODER = json.JSONDecoder()
_SPACE = " \t\r\n"


@dataclass(frozen=True)
class Span:
    """The byte range of the ``data`` list in a reply, and its ``meta`` member."""

    start: int
    end: int
    meta: Any


def data_span(path: Path) -> Span | None:
    """The ``data`` list's place in the reply at ``path``; None when its ends are not a
    JSON object with a ``data`` list and short members around it (read it whole then).

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
    ...     _ = f.write('{"meta": {"x": "]"}, "data": [{"id": 1}],\\n "more": [1]}')
    >>> span = data_span(Path(f.name))
    >>> Path(f.name).read_bytes()[span.start : span.end], span.meta
    (b'[{"id": 1}]', {'x': ']'})
    """
    size = path.stat().st_size
    with path.open("rb") as file:
        head = file.read(WINDOW)
        file.seek(max(0, size - TAIL_WINDOW))
        tail = file.read(TAIL_WINDOW)
    found = _head(codecs.getincrementaldecoder("utf-8")().decode(head, final=False))
    if found is None:
        return None
    start, before = found
    # a tail that starts inside a character: the bytes counted from the end stay exact
    after = _tail(tail.decode("utf-8", errors="ignore"))
    if after is None:
        return None
    end = size - after[0]
    if end <= start:
        return None
    members = {**before, **after[1]}
    return Span(start, end, members.get("meta"))


def copy_span(path: Path, span: Span, out: Path) -> None:
    """Write the bytes of ``span`` of ``path`` to ``out``, in the kernel where it can."""
    with path.open("rb") as source, out.open("wb") as target:
        offset, left = span.start, span.end - span.start
        while left:
            sent = os.copy_file_range(source.fileno(), target.fileno(), left, offset)
            if not sent:
                raise OSError(f"{path}: shorter than its reply")
            offset, left = offset + sent, left - sent


def _head(text: str) -> tuple[int, dict[str, Any]] | None:
    """The byte offset where ``data``'s list starts, and the members before it."""
    members: dict[str, Any] = {}
    at = _skip(text, 0)
    if not text.startswith("{", at):
        return None
    at += 1
    try:
        while True:
            key, at = _DECODER.raw_decode(text, _skip(text, at))
            at = _skip(text, at)
            if not isinstance(key, str) or not text.startswith(":", at):
                return None
            at = _skip(text, at + 1)
            if key == "data":
                if not text.startswith("[", at):
                    return None
                return len(text[:at].encode()), members
            members[key], at = _DECODER.raw_decode(text, at)
            at = _skip(text, at)
            if not text.startswith(",", at):
                return None  # the object ends, or is cut off here, before any data
            at += 1
    except json.JSONDecodeError:
        return None


def _tail(text: str) -> tuple[int, dict[str, Any]] | None:
    """Bytes from the end of the list's closing bracket to the end of the file, and the
    members after the list: the leftmost ``]`` after which the text is ``, "key": value
    ... }`` and nothing more. (A ``]`` further right can be followed by that too, the end
    of a later member's list; none to its left can, inside the list: what follows one
    there closes more than one level.)"""
    found = None
    at = len(text)
    while (at := text.rfind("]", 0, at)) >= 0:
        members = _closing(text, at + 1)
        if members is not None:
            found = len(text[at + 1 :].encode()), members
    return found


def _closing(text: str, at: int) -> dict[str, Any] | None:
    """The members in ``text[at:]`` if it is ``, "key": value ... }`` and nothing else."""
    members: dict[str, Any] = {}
    try:
        while True:
            at = _skip(text, at)
            if text.startswith("}", at):
                return members if _skip(text, at + 1) == len(text) else None
            if not text.startswith(",", at):
                return None
            key, at = _DECODER.raw_decode(text, _skip(text, at + 1))
            at = _skip(text, at)
            if not isinstance(key, str) or not text.startswith(":", at):
                return None
            members[key], at = _DECODER.raw_decode(text, _skip(text, at + 1))
    except json.JSONDecodeError:
        return None


def _skip(text: str, at: int) -> int:
    while at < len(text) and text[at] in _SPACE:
        at += 1
    return at
