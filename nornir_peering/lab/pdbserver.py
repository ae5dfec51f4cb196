"""A PeeringDB-compatible API server on loopback, serving a generated dataset.

It answers what the sync and peeringdb-py ask of PeeringDB:

- ``/api/<tag>`` and ``/api/<tag>/<id>`` with ``since``, ``limit``, ``skip``,
  ``fields``, ``depth=0`` and exact-match filters on any field (``id``,
  ``asn``, ``net_id``, ... and their ``__in`` forms);
- ``status=ok`` objects only, except with ``since``, which also returns
  deleted ones; ``meta.generated`` on unfiltered replies;
- ``/<tag>-0.json``, the public cache files;
- ``Authorization: Api-Key``: contacts that are not public need a valid key,
  an invalid key is refused with 401.

Tests switch on faults through ``/_lab/faults`` (HTTP errors with
``Retry-After``, slow replies, bodies cut short) and read the requests it saw
from ``/_lab/requests``.

For example::

    with LabServer(Path("dataset")) as lab:
        httpx.get(f"{lab.api_url}/net?asn=64500").json()
"""

from __future__ import annotations

import bisect
import calendar
import ipaddress
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from nornir_peering.lab.datagen import Dataset, read_dataset

Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Fault:
    """What to do to the next ``times`` requests whose path contains ``match``."""

    match: str = ""
    status: int | None = None
    retry_after: str | None = None
    delay: float = 0.0
    truncate: int | None = None  # send this many bytes of the body, then hang up
    malformed: int | None = None  # send this many bytes as if they were the whole body
    times: int = -1  # -1: until cleared

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        """A fault from what a test posts to ``/_lab/faults``; unknown keys are ignored."""
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class _Table:
    rows: list[dict[str, Any]]  # by id
    fields: frozenset[str]
    by_updated: list[int] = field(default_factory=list)  # row positions, oldest update first
    updated: list[float] = field(default_factory=list)  # their update times, for bisect
    cache: dict[bool, bytes] = field(default_factory=dict)  # authenticated -> unfiltered body

    def __post_init__(self) -> None:
        stamps = [_epoch(row["updated"]) for row in self.rows]
        self.by_updated = sorted(range(len(self.rows)), key=stamps.__getitem__)
        self.updated = [stamps[i] for i in self.by_updated]

    def changed_since(self, cutoff: float | None) -> list[dict[str, Any]]:
        """Rows updated at or after ``cutoff`` (all rows for None), in id order."""
        if cutoff is None:
            return self.rows
        start = bisect.bisect_left(self.updated, cutoff)
        return [self.rows[i] for i in sorted(self.by_updated[start:])]


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
        data = read_dataset(dataset) if isinstance(dataset, Path) else dataset
        tables = {}
        for tag, rows in data.rows.items():
            rows = sorted(rows, key=lambda row: row["id"])
            tables[tag] = _Table(rows=rows, fields=frozenset(k for row in rows[:50] for k in row))
        with self._lock:
            self.tables, self.generated = tables, data.generated

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
        parts = [p for p in path.split("/") if p]
        if len(parts) == 1 and parts[0].endswith("-0.json"):
            tag = parts[0].removesuffix("-0.json")
            if tag not in self.tables:
                return _error(404, "Not found")
            return 200, _JSON, self._unfiltered(tag, authenticated=False)
        if len(parts) not in (2, 3) or parts[0] != "api" or parts[1] not in self.tables:
            return _error(404, "Not found")
        tag = parts[1]
        params = dict(query)
        if len(parts) == 3:
            if not parts[2].isdigit():
                return _error(404, "Not found")
            params["id"] = parts[2]
        if params.get("depth", "0") != "0":
            return _error(400, "depth > 0 is not served by the lab server")
        params.pop("depth", None)
        if not params:
            return 200, _JSON, self._unfiltered(tag, authenticated)
        try:
            rows = self._select(tag, params, authenticated)
        except ValueError as exc:
            return _error(400, str(exc))
        if len(parts) == 3 and not rows:
            return _error(404, "Not found")
        return 200, _JSON, _body(rows, None)

    def _unfiltered(self, tag: str, authenticated: bool) -> bytes:
        table = self.tables[tag]
        if authenticated not in table.cache:
            rows = [r for r in table.rows if r["status"] == "ok" and _visible(r, authenticated)]
            table.cache[authenticated] = _body(rows, self.generated)
        return table.cache[authenticated]

    def _select(
        self, tag: str, params: dict[str, str], authenticated: bool
    ) -> list[dict[str, Any]]:
        table = self.tables[tag]
        limit = _int(params.pop("limit", "0"), "limit")
        skip = _int(params.pop("skip", "0"), "skip")
        fields = [f for f in params.pop("fields", "").split(",") if f]
        since = params.pop("since", None)
        filters = []
        for key, value in params.items():
            name, _, op = key.partition("__")
            if name not in table.fields or op not in ("", "in"):
                raise ValueError(f"unknown filter {key!r}")
            filters.append((name, set(value.split(",")) if op == "in" else {value}))
        for name in fields:
            if name not in table.fields:
                raise ValueError(f"unknown field {name!r}")
        cutoff = float(since) if since is not None else None
        statuses = ("ok", "deleted") if cutoff is not None else ("ok",)
        out = []
        for row in table.changed_since(cutoff):
            if row["status"] not in statuses or not _visible(row, authenticated):
                continue
            if all(_text(row.get(name)) in wanted for name, wanted in filters):
                out.append({k: row.get(k) for k in fields} if fields else row)
        return out[skip : skip + limit] if limit else out[skip:]


_JSON = {"Content-Type": "application/json"}


def _visible(row: dict[str, Any], authenticated: bool) -> bool:
    return authenticated or row.get("visible", "Public") == "Public"


def _body(rows: list[dict[str, Any]], generated: float | None) -> bytes:
    meta = {"generated": generated} if generated is not None else {}
    return json.dumps(
        {"meta": meta, "data": rows}, ensure_ascii=False, separators=(",", ":")
    ).encode()


def _error(status: int, message: str) -> Reply:
    return status, _JSON, json.dumps({"meta": {"error": message}, "data": []}).encode()


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _int(value: str, name: str) -> int:
    if not value.isdigit():
        raise ValueError(f"{name} must be a whole number")
    return int(value)


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
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)

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
    """Runs a :class:`PeeringDBLab` on a loopback address in a background thread."""

    def __init__(
        self,
        dataset: Path | Dataset,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the lab server listens on loopback only, not {host}")
        self.lab = PeeringDBLab(dataset, api_key)
        self._server = _Server((host, port), _Handler)
        self._server.lab = self.lab
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True, name="pdb-lab"
        )

    @property
    def url(self) -> str:
        """Where the server listens, ``http://HOST:PORT``, with the port it was given."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

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
