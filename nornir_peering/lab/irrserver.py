"""A whois server on loopback that answers the IRRd queries ``bgpq4`` and ``bgpq3`` send.

It serves RPSL objects (:mod:`.rpsl`: the lab's, or a large synthetic set)
and answers as IRRd 4 does (irrd/server/whois/query_parser.py and
query_response.py), for this subset:

- ``!!``: keep the connection open for more queries (no answer at all); without
  it, the server answers one query and closes the connection. ``!q`` closes it.
- ``!n<client>``, ``!t<seconds>`` (1 to 1000: how long an idle connection
  stays open): ``C``.
- ``!s<SOURCES>`` (comma-separated, all known) selects the sources to search,
  in that order: ``C``; ``!s-lc`` lists the selected ones, ``LAB,RIPE``.
- ``!i<set>``: the set's members (names and ASNs, sorted); ``!i<set>,1``:
  resolved recursively, ASNs for an as-set, prefixes for a route-set (the
  routes of its ASNs and as-sets included), loops and missing sets ignored.
  The set is the first found in the selected sources, as-sets before route-sets,
  names without regard to case.
- ``!g<ASn>`` / ``!6<ASn>``: the IPv4 / IPv6 prefixes of route(6) objects with
  that origin, in every selected source; ``!a4<set>`` / ``!a6<set>`` / ``!a<set>``:
  those of every ASN in the as-set, resolved recursively. ``!a`` alone answers
  ``F Missing required set name for A query``, which bgpq4 takes as the sign
  that the server has ``!a`` (switch it off with ``a_queries=False``).
- ``!m<class>,<key>``: the first object of that class and key in the selected
  sources, as RPSL text (``D`` if none): how :mod:`nornir_peering.irr.whois` tells
  an empty set from a missing one.
- ``!j-*`` / ``!j<SOURCES>``: ``LAB:N:0-<serial>`` lines, ``X:Database unknown``
  for an unknown source; ``!v``: a version line.
- Anything that does not start with ``!`` is a RIPE-style query: ``-k``
  (keep open), ``-r`` and ``-F`` (ignored), ``-T <classes>``, ``-s <SOURCES>``,
  ``-a``, ``-V <client>``, then a key (a set's name, ``ASn``, a prefix): the
  objects' RPSL text, blank lines between them.

Answers: ``A<length>\\n<data>\\nC\\n`` (the length counts the data and its
newline), ``C\\n`` for success without data, ``D\\n`` for "key not found" (an
empty result too: IRRd 4 answers ``D`` for an existing set without members),
``F <message>\\n`` for an error. RIPE-style answers end in two empty lines;
none found is ``%  No entries found for the selected source(s).``

``delay`` holds every answer back that many seconds, to stand in for a distant
IRR. The server records the queries it gets (:meth:`IrrServer.logged`).

For example::

    with IrrServer(lab_irr()) as irr:
        subprocess.run(["bgpq4", "-h", f"127.0.0.1:{irr.port}", "-p", "-j", "AS-PEERONE"])
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import socketserver
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import ip_network
from pathlib import Path

from nornir_peering.lab.rpsl import RpslObject, read_rpsl, sources

NOT_FOUND = "%  No entries found for the selected source(s)."
MAX_QUERY = 4096  # bytes in one query line; a longer one is refused
_ASN = re.compile(r"^AS(\d{1,10})$", re.IGNORECASE)


class QueryError(Exception):
    """A query the server refuses: answered ``F <message>`` (``%% ERROR:`` RIPE-style)."""


@dataclass(frozen=True)
class SetEntry:
    """An as-set or route-set as the index holds it: members from ``members:``,
    ``mp-members:`` and the objects whose ``member-of:`` its ``mbrs-by-ref:`` accepts."""

    object_class: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class LoggedQuery:
    """A query the server got: on which connection (counted from 1), what it said, and
    the first line of the answer (``A42``, ``C``, ``D``, ``F ...``; None for no answer)."""

    connection: int
    query: str
    answer: str | None


class IrrIndex:
    """The objects, indexed once: sets by source and name, prefixes by source, family
    and origin, objects by key. Names are upper case; lookups ignore case."""

    def __init__(self, objects: Iterable[RpslObject], order: Sequence[str] | None = None) -> None:
        objects = list(objects)
        self.sources: tuple[str, ...] = tuple(order) if order else sources(objects)
        self.serials = {source: 0 for source in self.sources}
        self.sets: dict[str, dict[str, dict[str, SetEntry]]] = {"as-set": {}, "route-set": {}}
        self.routes: dict[tuple[str, int], dict[str, list[str]]] = defaultdict(dict)
        self.objects: dict[str, list[RpslObject]] = defaultdict(list)
        members: dict[tuple[str, str, str], list[str]] = {}
        refs: dict[tuple[str, str], set[str]] = {}
        for obj in objects:
            source = obj.source
            self.serials[source] = self.serials.get(source, 0) + 1
            self.objects[obj.key.upper()].append(obj)
            if obj.object_class in self.sets:
                name = obj.key.upper()
                found = obj.values("members") + obj.values("mp-members")
                members[(obj.object_class, source, name)] = [_member(m) for m in found]
                refs[(source, name)] = {m.upper() for m in obj.values("mbrs-by-ref")}
            elif obj.object_class in ("route", "route6"):
                origin = (obj.first("origin") or "").upper()
                prefix = ip_network(obj.key, strict=False)
                by_origin = self.routes[(source, prefix.version)]
                by_origin.setdefault(origin, []).append(str(prefix))
        for obj in objects:  # member-of, where the set's mbrs-by-ref allows it (same source)
            maintainers = {m.upper() for m in obj.values("mnt-by")}
            for name in (n.upper() for n in obj.values("member-of")):
                for object_class in ("as-set", "route-set"):
                    key = (object_class, obj.source, name)
                    allowed = refs.get((obj.source, name), set())
                    if key in members and ("ANY" in allowed or allowed & maintainers):
                        members[key].append(_member(obj.key))
        for (object_class, source, name), found in members.items():
            entry = SetEntry(object_class, tuple(dict.fromkeys(found)))
            self.sets[object_class].setdefault(source, {})[name] = entry
        for by_origin in self.routes.values():
            for origin, prefixes in by_origin.items():
                by_origin[origin] = _sorted_prefixes(prefixes)

    def find_set(
        self, name: str, sources: Sequence[str], classes: Sequence[str] = ("as-set", "route-set")
    ) -> SetEntry | None:
        """The set ``name`` of ``classes`` in the first of ``sources`` that has it."""
        name = name.upper()
        for object_class in classes:
            for source in sources:
                entry = self.sets[object_class].get(source, {}).get(name)
                if entry is not None:
                    return entry
        return None

    def members(self, name: str, sources: Sequence[str], recursive: bool = False) -> list[str]:
        """``!i``: the members of set ``name`` (sorted), or all its ASNs (an as-set) or
        prefixes (a route-set) found recursively, each set resolved once; [] if none."""
        root = self.find_set(name, sources)
        if root is None:
            return []
        if not recursive:
            return sorted(set(root.members) - {name.upper()})
        as_set = root.object_class == "as-set"
        found: set[str] = set()
        seen = {name.upper()}
        todo = list(root.members)
        while todo:
            member = todo.pop()
            if _ASN.match(member):
                found.update(self.prefixes([member], sources) if not as_set else [member])
            elif not as_set and _is_prefix(member):
                found.add(member)
            elif member not in seen:
                seen.add(member)
                entry = self.find_set(member, sources)
                if entry is not None and (not as_set or entry.object_class == "as-set"):
                    todo += entry.members
        return sorted(found, key=_prefix_key) if not as_set else sorted(found)

    def prefixes(
        self, origins: Iterable[str], sources: Sequence[str], family: int | None = None
    ) -> list[str]:
        """``!g``/``!6``: the prefixes of route(6) objects with one of ``origins`` (``ASn``,
        any case), in any of ``sources``, of ``family`` (4, 6 or both), each once."""
        wanted = {origin.upper() for origin in origins}
        found: list[str] = []
        for source in sources:
            for version in (4, 6) if family is None else (family,):
                by_origin = self.routes.get((source, version), {})
                for origin in wanted:
                    found += by_origin.get(origin, ())
        return _sorted_prefixes(found)

    def lookup(
        self, key: str, sources: Sequence[str], classes: Sequence[str] = ()
    ) -> list[RpslObject]:
        """The objects named ``key`` (a prefix finds its route objects, whatever their
        origin) in ``sources``, of ``classes`` if given, in source order."""
        if _is_prefix(key):
            key = str(ip_network(key, strict=False))
        found = [
            obj
            for obj in self.objects.get(key.upper(), ())
            if obj.source in sources and (not classes or obj.object_class in classes)
        ]
        return sorted(found, key=lambda obj: sources.index(obj.source))


class WhoisSession:
    """One client connection's state (persistent or not, selected sources) and the
    answers to its queries, as bytes.

    >>> from nornir_peering.lab.rpsl import as_set
    >>> session = WhoisSession(IrrIndex([as_set("AS-FOO", ["AS65001"])]))
    >>> session.answer("!!"), session.answer("!iAS-FOO"), session.answer("!iAS-BAR")
    (None, b'A8\\nAS65001\\nC\\n', b'D\\n')
    """

    def __init__(self, index: IrrIndex, a_queries: bool = True) -> None:
        self.index = index
        self.a_queries = a_queries
        self.persistent = False
        self.timeout = 30.0
        self.sources: list[str] = list(index.sources)
        self.client: str | None = None

    def answer(self, query: str) -> bytes | None:
        """The answer to ``query`` (without its newline); None for ``!!``, which has none."""
        if query.startswith("!"):
            if query.startswith("!!"):  # IRRd: whatever follows
                self.persistent = True
                return None
            try:
                return _irrd_answer(self._irrd(query[1:]))
            except QueryError as exc:
                return f"F {exc}\n".encode()
        try:
            found = self._ripe(query)
        except QueryError as exc:
            return f"%% ERROR: {exc}\n\n\n".encode()
        return f"{found or NOT_FOUND}\n\n\n".encode()

    def _irrd(self, command: str) -> str | None:
        """The data an IRRd command answers: text, "" (key not found) or None (no data)."""
        if not command:
            raise QueryError("Missing IRRD command")
        verb, parameter = command[0], command[1:]
        if verb in "tg6ijns" and not parameter:
            raise QueryError(f"Missing parameter for {verb} query")
        if verb == "n":
            self.client = parameter
            return None
        if verb == "t":
            if not parameter.isdigit() or not 1 <= int(parameter) <= 1000:
                raise QueryError(f"Invalid value for timeout: {parameter}")
            self.timeout = float(parameter)
            return None
        if verb == "s":
            if parameter == "-lc":
                return ",".join(self.sources)
            wanted = parameter.upper().split(",")
            if not all(source in self.index.sources for source in wanted):
                raise QueryError("One or more selected sources are unavailable.")
            self.sources = wanted
            return None
        if verb in "g6":
            return " ".join(
                self.index.prefixes([_asn(parameter)], self.sources, 4 if verb == "g" else 6)
            )
        if verb == "i":
            recursive = parameter.endswith(",1")
            name = parameter.removesuffix(",1")
            return " ".join(self.index.members(name, self.sources, recursive))
        if verb == "a" and self.a_queries:
            family = int(parameter[0]) if parameter[:1] in ("4", "6") else None
            name = parameter[1:] if family else parameter
            if not name:
                raise QueryError("Missing required set name for A query")
            if self.index.find_set(name, self.sources, ("as-set",)) is None:
                return ""
            asns = self.index.members(name, self.sources, recursive=True)
            return " ".join(self.index.prefixes(asns, self.sources, family))
        if verb == "j":
            wanted = self.sources if parameter == "-*" else parameter.upper().split(",")
            return "\n".join(
                f"{source}:N:0-{self.index.serials[source]}"
                if source in self.index.serials
                else f"{source}:X:Database unknown"
                for source in wanted
            )
        if verb == "m":  # IRRd: the first object of that class and key, in the sources
            object_class, comma, key = parameter.partition(",")
            if not comma or not key:
                raise QueryError("Missing object class or key for m query")
            found = self.index.lookup(key, self.sources, [object_class.lower()])
            return found[0].text().rstrip("\n") if found else ""
        if verb == "v":
            return "IRRd -- version 4.4 (nornir-peering lab)"
        raise QueryError(f"Unrecognised command: {verb}")

    def _ripe(self, query: str) -> str:
        """The RPSL text a RIPE-style query finds; "" if none."""
        words = query.split()
        classes: list[str] = []
        found: list[RpslObject] = []
        while words:
            word = words.pop(0)
            if not word.startswith("-"):
                found += self.index.lookup(word, self.sources, classes)
                continue
            flag = word[1:]
            if flag in ("r", "F", "B", "G"):
                continue
            if flag == "k":
                self.persistent = True
            elif flag == "a":
                self.sources = list(self.index.sources)
            elif flag in ("s", "T", "V"):
                if not words:
                    raise QueryError(f"Missing argument for flag/search: {flag}")
                value = words.pop(0)
                if flag == "s":
                    wanted = value.upper().split(",")
                    if not all(source in self.index.sources for source in wanted):
                        raise QueryError("One or more selected sources are unavailable.")
                    self.sources = wanted
                elif flag == "T":
                    classes = [c.lower() for c in value.split(",")]
                else:
                    self.client = value
            else:
                raise QueryError(f"Unrecognised flag/search: {flag}")
        return "\n".join(obj.text() for obj in found).strip("\n")


def _irrd_answer(data: str | None) -> bytes:
    if data is None:
        return b"C\n"
    if not data:
        return b"D\n"
    body = f"{data}\n".encode()
    return b"A%d\n%sC\n" % (len(body), body)


def _asn(text: str) -> str:
    """``ASn`` from ``asN``/``ASn``; a QueryError if it is not an AS number."""
    match = _ASN.match(text.strip())
    if not match or int(match[1]) > 0xFFFFFFFF:
        raise QueryError(f"Invalid AS number {text.upper()}: number part is not numeric")
    return f"AS{int(match[1])}"


def _member(text: str) -> str:
    """A set member as IRRd stores it: names upper case, prefixes as written."""
    return text if _is_prefix(text.split("^")[0]) else text.upper()


def _is_prefix(text: str) -> bool:
    try:
        ip_network(text.split("^")[0], strict=False)
    except ValueError:
        return False
    return "/" in text or ":" in text or text.count(".") == 3


def _prefix_key(text: str) -> tuple[int, int, int, str]:
    """Sort prefixes (ranges too) by family, address and length."""
    network = ip_network(text.split("^")[0], strict=False)
    return network.version, int(network.network_address), network.prefixlen, text


def _sorted_prefixes(prefixes: Iterable[str]) -> list[str]:
    return sorted(set(prefixes), key=_prefix_key)


# -- the server ----------------------------------------------------------------------


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        irr = self.server.irr
        number = irr.opened(self.connection)
        session = WhoisSession(irr.index, irr.a_queries)
        try:
            while not irr.stopping.is_set():
                self.connection.settimeout(session.timeout)
                try:
                    line = self.rfile.readline(MAX_QUERY + 1)
                    too_long = len(line) > MAX_QUERY and not line.endswith(b"\n")
                    if too_long:
                        self._discard_line()
                except OSError:  # a timeout too
                    return
                if not line:
                    return
                query = line.decode("utf-8", errors="backslashreplace").strip()
                if not query:
                    continue
                if query.upper() == "!Q":
                    irr.log(LoggedQuery(number, query, None))
                    return
                if too_long:
                    query = query[:64] + "..."
                    answer: bytes | None = f"F Query longer than {MAX_QUERY} bytes\n".encode()
                else:
                    answer = session.answer(query)
                first = None if answer is None else answer.split(b"\n", 1)[0].decode()
                irr.log(LoggedQuery(number, query, first))
                if answer is not None and not self._send(irr, answer):
                    return
                if not session.persistent:
                    return
        finally:
            irr.closed(self.connection)

    def _discard_line(self) -> None:
        """Read on to the end of the line (1 MiB at most), so that the answer is read
        before the connection closes."""
        for _ in range(16):
            rest = self.rfile.readline(65536)
            if not rest or rest.endswith(b"\n"):
                return

    def _send(self, irr: IrrServer, answer: bytes) -> bool:
        """Send ``answer`` in one write, after the server's delay; False if that failed."""
        if irr.delay and irr.stopping.wait(irr.delay):
            return False
        try:
            self.connection.sendall(answer)
        except OSError:
            return False
        return True


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's 5 overflows when 20 bgpq4 runs connect at once; the kernel then
    # answers with SYN cookies and a client's first line (bgpq4's "!!") can be lost
    request_queue_size = 128
    irr: IrrServer


class _Server6(_Server):
    address_family = socket.AF_INET6


class IrrServer:
    """Serves an IRR (objects, or a folder :func:`.rpsl.write_rpsl` wrote) on a loopback
    address, a thread per connection, in a background thread (:meth:`start`) or this one
    (:meth:`serve_forever`); port 0 picks a free one."""

    def __init__(
        self,
        irr: Path | Iterable[RpslObject],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        delay: float = 0.0,
        a_queries: bool = True,
        sources: Sequence[str] | None = None,
    ) -> None:
        address = ipaddress.ip_address(host)
        if not address.is_loopback:
            raise ValueError(f"the lab IRR server listens on loopback only, not {host}")
        objects = read_rpsl(irr) if isinstance(irr, Path) else list(irr)
        self.index = IrrIndex(objects, sources)
        self.delay = delay
        self.a_queries = a_queries
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._log: list[LoggedQuery] = []
        self._connections: set[socket.socket] = set()
        self._count = 0
        self.peak_connections = 0  # the most connections open at once
        server_class = _Server6 if address.version == 6 else _Server
        self._server = server_class((host, port), _Handler)
        self._server.irr = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True, name="irr-lab"
        )

    @property
    def host(self) -> str:
        """The address the server listens on."""
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        """The port the server listens on (the one it was given, if it was given 0)."""
        return int(self._server.server_address[1])

    @property
    def address(self) -> str:
        """``host:port``, as ``bgpq4 -h`` and ``bgpq3 -h`` take it (IPv6 in brackets, which
        they cannot take: they split host and port at the first colon)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def log(self, entry: LoggedQuery) -> None:
        """Record one query; the log keeps the last 10,000."""
        with self._lock:
            self._log.append(entry)
            del self._log[:-10000]

    def logged(self, *, clear: bool = False) -> list[LoggedQuery]:
        """The queries recorded, oldest first; ``clear`` forgets them."""
        with self._lock:
            seen = list(self._log)
            if clear:
                self._log.clear()
        return seen

    def opened(self, connection: socket.socket) -> int:
        """Count a new connection, to close it at :meth:`stop`; its number."""
        with self._lock:
            self._connections.add(connection)
            self.peak_connections = max(self.peak_connections, len(self._connections))
            self._count += 1
            return self._count

    def closed(self, connection: socket.socket) -> None:
        """Forget a connection its handler is done with."""
        with self._lock:
            self._connections.discard(connection)

    def start(self) -> IrrServer:
        """Serve in the background thread; returns the server itself."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: end delays, shut open connections down, close the socket."""
        self.stopping.set()
        if self._thread.is_alive():  # shutdown() waits for a loop that must be running
            self._server.shutdown()
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        self._server.server_close()

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted, then close the socket."""
        try:
            self._server.serve_forever()
        finally:
            self.stop()

    def __enter__(self) -> IrrServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
