"""A PeeringDB-compatible API server on loopback, serving a generated dataset.

It answers as PeeringDB does where clients rely on it (:mod:`.pdbapi` has
the details and where they come from):

- ``/api/<tag>`` and ``/api/<tag>/<id>``: ``status=ok`` objects; a single
  object at ``depth=2`` by default, lists at ``depth=0`` (``depth`` up to 3
  on lists and 4 on single objects);
- field filters on any field, with the suffixes ``__in``, ``__contains``,
  ``__startswith``, ``__lt``, ``__lte``, ``__gt``, ``__gte``; text matches
  without regard to case; parameters that name no field are ignored;
- ``since``: objects created or updated after it, deleted ones too, oldest
  update first; ``skip``, ``limit``, ``fields``;
- ``meta.generated`` on replies PeeringDB serves from its cache; a 404 for a
  single object or an ``id=`` query that finds nothing;
- ``/<tag>-0.json``, the public cache files;
- ``Authorization: Api-Key``: contacts that are not public need a valid key,
  an invalid key is refused with 401.

Tests switch on faults through ``/_lab/faults`` (HTTP errors with
``Retry-After``, slow replies, bodies cut short, replies trickled a byte at a time
and never finished) and read the requests it saw from ``/_lab/requests``.

For example::

    with LabServer(Path("dataset")) as lab:
        httpx.get(f"{lab.api_url}/net?asn=64500").json()
"""

from __future__ import annotations

import bisect
import calendar
import ipaddress
import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from nornir_peering.lab.datagen import Dataset, read_dataset
from nornir_peering.lab.ixf import export
from nornir_peering.lab.pdbapi import (
    DEPTH_ROW_LIMIT,
    TRUNCATED,
    Expander,
    Query,
    QueryError,
    Related,
)
from nornir_peering.peeringdb.schema import columns

Reply = tuple[int, dict[str, str], bytes]
Row = dict[str, Any]


@dataclass
class Fault:
    """What to do to the next ``times`` requests whose path contains ``match``."""

    match: str = ""
    status: int | None = None
    retry_after: str | None = None
    delay: float = 0.0
    truncate: int | None = None  # send this many bytes of the body, then hang up
    malformed: int | None = None  # send this many bytes as if they were the whole body
    # send the reply one byte every this many seconds, never its last byte: from its
    # status line on with trickle_headers, else after its headers
    trickle: float = 0.0
    trickle_headers: bool = False
    times: int = -1  # -1: until cleared

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        """A fault from what a test posts to ``/_lab/faults``; unknown keys are ignored."""
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class _Table:
    tag: str
    rows: list[Row]  # by id
    changed: list[int] = field(default_factory=list)  # row positions, oldest change first
    stamps: list[float] = field(default_factory=list)  # their change times, for bisect
    by_id: dict[int, Row] = field(default_factory=dict)
    # (authenticated, depth) -> the cached list, and its body without skip, limit or fields
    cache: dict[tuple[bool, int], tuple[list[Row], bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # django-handleref's since(): created or updated after the time
        stamps = [max(_epoch(row["created"]), _epoch(row["updated"])) for row in self.rows]
        self.changed = sorted(range(len(self.rows)), key=stamps.__getitem__)
        self.stamps = [stamps[i] for i in self.changed]
        self.by_id = {row["id"]: row for row in self.rows}

    def changed_since(self, since: int) -> list[Row]:
        """Rows created or updated after ``since``, strictly, oldest update first (rest.py:
        ``since(timestamp=...)`` then ``order_by("updated")``)."""
        start = bisect.bisect_right(self.stamps, since)
        found = [self.rows[i] for i in self.changed[start:]]
        return sorted(found, key=lambda row: (row["updated"], row["id"]))


class _Snapshot:
    """One dataset as the server serves it: its tables, and their relations for ``depth``."""

    def __init__(self, data: Dataset) -> None:
        self.generated = data.generated
        self.tables = {
            tag: _Table(tag, sorted(rows, key=lambda row: row["id"]))
            for tag, rows in data.rows.items()
        }
        self._expanders: dict[bool, Expander] = {}
        self._lock = threading.Lock()
        # the IXes' IX-F member exports (lab/ixf.py), by ixlan id
        self.ixf = {
            row["id"]: json.dumps(export(data, row["id"])).encode()
            for row in data.rows["ixlan"]
            if row["status"] == "ok"
            and (row.get("ixf_ixp_member_list_url") or "").startswith("/ixf/")
        }

    def expander(self, authenticated: bool) -> Expander:
        """What expands objects for a client, who sees private contacts only with a key."""
        with self._lock:
            if authenticated not in self._expanders:
                rows = {tag: table.rows for tag, table in self.tables.items()}
                related = Related(rows, lambda row: _visible(row, authenticated))
                self._expanders[authenticated] = Expander(related)
            return self._expanders[authenticated]


class PeeringDBLab:
    """The dataset, the faults and the request log behind the HTTP server."""

    def __init__(self, dataset: Path | Dataset, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.faults: list[Fault] = []
        self.requests: list[dict[str, Any]] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.load(dataset)

    def load(self, dataset: Path | Dataset) -> None:
        """Serve ``dataset`` (a folder :func:`read_dataset` reads, or one in memory) from now on."""
        snapshot = _Snapshot(read_dataset(dataset) if isinstance(dataset, Path) else dataset)
        with self._lock:
            self.data = snapshot

    def add_fault(self, fault: Fault) -> None:
        """Switch ``fault`` on, after those already on: the first that matches applies."""
        with self._lock:
            self.faults.append(fault)

    def clear_faults(self) -> None:
        """Switch every fault off."""
        with self._lock:
            self.faults.clear()

    def take_fault(self, path: str) -> Fault | None:
        """The fault for a request to ``path``, if one matches; it counts against its ``times``."""
        with self._lock:
            for fault in self.faults:
                if fault.match in path and fault.times != 0:
                    fault.times -= fault.times > 0
                    return fault
        return None

    def log(self, entry: dict[str, Any]) -> None:
        """Record one request; the log keeps the last 1000."""
        with self._lock:
            self.requests.append(entry)
            del self.requests[:-1000]

    def logged(self, *, clear: bool = False) -> list[dict[str, Any]]:
        """The requests recorded, oldest first; ``clear`` forgets them."""
        with self._lock:
            seen = list(self.requests)
            if clear:
                self.requests.clear()
        return seen

    # -- the API ---------------------------------------------------------------

    def reply(self, path: str, query: list[tuple[str, str]], auth: str | None) -> Reply:
        """The status, headers and body the API answers to a GET of ``path`` with ``query``.

        ``auth`` is the request's ``Authorization`` header: a wrong ``Api-Key`` gets 401,
        the right one shows contacts that are not public.
        """
        authenticated = False
        if auth and auth.startswith("Api-Key "):
            if auth.removeprefix("Api-Key ") != self.api_key:
                return _error(401, "Invalid API key")
            authenticated = True
        data = self.data
        parts = [p for p in path.split("/") if p]
        if len(parts) == 2 and parts[0] == "ixf" and parts[1].removesuffix(".json").isdigit():
            found = data.ixf.get(int(parts[1].removesuffix(".json")))
            if found is None:
                return _error(404, "Not found")
            return 200, _JSON, found
        if len(parts) == 1 and parts[0].endswith("-0.json"):
            tag = parts[0].removesuffix("-0.json")
            if tag not in data.tables:
                return _error(404, "Not found")
            return 200, _JSON, self._cached(data, data.tables[tag], False, 0)[1]
        if len(parts) not in (2, 3) or parts[0] != "api" or parts[1] not in data.tables:
            return _error(404, "Not found")
        if len(parts) == 3 and not parts[2].isdigit():
            return _error(404, "Not found")
        table = data.tables[parts[1]]
        try:
            request = Query.parse(dict(query))
            if len(parts) == 3:
                return self._single(data, table, int(parts[2]), request, authenticated)
            return self._list(data, table, request, authenticated)
        except QueryError as exc:
            return _error(400, str(exc))

    def _single(
        self, data: _Snapshot, table: _Table, oid: int, request: Query, authenticated: bool
    ) -> Reply:
        """``/api/<tag>/<id>``: a live object (rest.py: status ok or pending), filters apply."""
        row = table.by_id.get(oid)
        filters = request.filters(columns(table.tag))
        if (
            row is None
            or row["status"] != "ok"
            or not _visible(row, authenticated)
            or not all(f.matches(row) for f in filters)
        ):
            return _error(404, "Not found.")
        expanded = data.expander(authenticated).one(table.tag, row, request.depth_for(True), True)
        return 200, _JSON, _body([request.select(expanded)], None)

    def _list(self, data: _Snapshot, table: _Table, request: Query, authenticated: bool) -> Reply:
        filters = request.filters(columns(table.tag))
        depth = request.depth_for(False)
        if request.cached(filters):
            rows, body = self._cached(data, table, authenticated, depth)
            if request.params.keys() <= {"depth"}:
                return 200, _JSON, body
            return 200, _JSON, _body(list(map(request.select, request.page(rows))), data.generated)
        statuses: tuple[str, ...] = ("ok",)
        candidates = table.rows
        if request.since > 0:  # rest.py: an incremental update, deleted objects included
            candidates, statuses = table.changed_since(request.since), ("ok", "deleted")
        found = [
            row
            for row in candidates
            if row["status"] in statuses
            and _visible(row, authenticated)
            and all(f.matches(row) for f in filters)
        ]
        if not found and "id" in request.params:  # rest.py: is_unique_query
            return _error(404, "Entity not found")
        found = request.page(found)
        meta: dict[str, Any] = {}
        if depth > 0 and len(found) > DEPTH_ROW_LIMIT:
            found = found[:DEPTH_ROW_LIMIT]
            meta["truncated"] = TRUNCATED.format(depth=depth, limit=DEPTH_ROW_LIMIT)
        rows = data.expander(authenticated).many(table.tag, found, depth)
        return 200, _JSON, _body(list(map(request.select, rows)), None, meta)

    def _cached(
        self, data: _Snapshot, table: _Table, authenticated: bool, depth: int
    ) -> tuple[list[Row], bytes]:
        """The whole list at ``depth``, as PeeringDB's cache files have it, and its body."""
        key = (authenticated, max(depth, 0))
        if key not in table.cache:
            live = [r for r in table.rows if r["status"] == "ok" and _visible(r, authenticated)]
            rows = data.expander(authenticated).many(table.tag, live, depth)
            table.cache[key] = rows, _body(rows, data.generated)
        return table.cache[key]


_JSON = {"Content-Type": "application/json"}


def _visible(row: Row, authenticated: bool) -> bool:
    return authenticated or row.get("visible", "Public") == "Public"


def _body(rows: list[Row], generated: float | None, meta: dict[str, Any] | None = None) -> bytes:
    meta = {**(meta or {}), **({"generated": generated} if generated is not None else {})}
    return json.dumps(
        {"meta": meta, "data": rows}, ensure_ascii=False, separators=(",", ":")
    ).encode()


def _error(status: int, message: str) -> Reply:
    return status, _JSON, json.dumps({"meta": {"error": message}, "data": []}).encode()


def _epoch(stamp: str) -> float:
    return float(calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        lab = self.server.lab
        url = urlsplit(self.path)
        query = parse_qsl(url.query, keep_blank_values=True)
        if url.path.startswith("/_lab/"):
            return self._control("GET", url.path)
        lab.log(
            {
                "path": url.path,
                "query": dict(query),
                "user_agent": self.headers.get("User-Agent"),
                "authorization": self.headers.get("Authorization"),
            }
        )
        fault = lab.take_fault(self.path)
        if fault and fault.delay and lab.stopping.wait(fault.delay):
            return
        if fault and fault.status:
            status, headers, body = _error(fault.status, f"lab fault {fault.status}")
            if fault.retry_after is not None:
                headers = {**headers, "Retry-After": fault.retry_after}
        else:
            status, headers, body = lab.reply(url.path, query, self.headers.get("Authorization"))
        length = len(body)
        if fault and fault.malformed is not None:
            body = body[: fault.malformed]
            length = len(body)
        elif fault and fault.truncate is not None:
            body = body[: fault.truncate]
            self.close_connection = True
        elif fault and fault.trickle:
            return self._trickle(status, headers, body, fault)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)

    def _trickle(self, status: int, headers: dict[str, str], body: bytes, fault: Fault) -> None:
        """Send the reply one byte every ``fault.trickle`` seconds, all but its last byte,
        until the client hangs up or the server stops."""
        self.close_connection = True
        lines = [f"HTTP/1.1 {status} {self.responses[status][0]}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        reply = head + body
        start = 0 if fault.trickle_headers else len(head)
        stopping = self.server.lab.stopping
        try:
            self.wfile.write(reply[:start])
            for at in range(start, len(reply) - 1):
                if stopping.wait(fault.trickle):
                    return
                self.wfile.write(reply[at : at + 1])
        except OSError:  # the client hung up
            return
        stopping.wait()

    def do_POST(self) -> None:
        self._control("POST", urlsplit(self.path).path)

    def do_DELETE(self) -> None:
        self._control("DELETE", urlsplit(self.path).path)

    def _control(self, method: str, path: str) -> None:
        lab = self.server.lab
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"null") if length else None
        result: Any = {"ok": True}
        if (method, path) == ("GET", "/_lab/requests"):
            result = lab.logged()
        elif (method, path) == ("DELETE", "/_lab/requests"):
            lab.logged(clear=True)
        elif (method, path) == ("POST", "/_lab/faults"):
            lab.add_fault(Fault.from_json(payload or {}))
        elif (method, path) == ("DELETE", "/_lab/faults"):
            lab.clear_faults()
        elif (method, path) == ("POST", "/_lab/dataset"):
            if not isinstance(payload, dict) or "path" not in payload:
                self.send_error(400, 'expected {"path": DATASET_DIR}')
                return
            lab.load(Path(payload["path"]))
        else:
            self.send_error(404)
            return
        body = json.dumps(result).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    lab: PeeringDBLab


class LabServer:
    """Runs a :class:`PeeringDBLab` on a loopback address in a background thread; over
    HTTPS with ``tls``, a server context holding its certificate."""

    def __init__(
        self,
        dataset: Path | Dataset,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the lab server listens on loopback only, not {host}")
        self.lab = PeeringDBLab(dataset, api_key)
        self._server = _Server((host, port), _Handler)
        self._server.lab = self.lab
        self._scheme = "https" if tls else "http"
        if tls is not None:
            # the handshake happens in the request's thread, at its first read, not in accept()
            self._server.socket = tls.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True, name="pdb-lab"
        )

    @property
    def url(self) -> str:
        """Where the server listens, ``http://HOST:PORT`` (``https``: with ``tls``), with
        the port it was given."""
        host, port = self._server.server_address[:2]
        return f"{self._scheme}://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        """The API's root, ``<url>/api``."""
        return f"{self.url}/api"

    def start(self) -> LabServer:
        """Serve in the background thread; returns the server itself."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, ending the waits of delay faults, and close the socket."""
        self.lab.stopping.set()
        if self._thread.is_alive():  # shutdown() waits for a loop that must be running
            self._server.shutdown()
        self._server.server_close()

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted, then close the socket."""
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def __enter__(self) -> LabServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
