"""``peeringdb-sync``: bring the ``pdb_*`` tables up to date with PeeringDB.

1. *Plan*, reading the cursors: a type with no cursor (or ``full=True``, or a
   change of API key for a private type) is downloaded whole, the others with
   ``since=<cursor - lookback>``.
2. *Fetch*, without any lock: all types concurrently (``concurrency``
   requests at a time), each streamed to a file and parsed to Parquet.
3. *Apply*, under the writer lock, in one transaction: every type, the
   cursors and a run record. Until that commits, the cache is as it was; a
   failure or ``kill -9`` at any earlier moment changes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
from peeringdb.private import PRIVATE_OBJECTS

from nornir_peering.errors import StateBusy, SyncFailed
from nornir_peering.peeringdb import schema
from nornir_peering.peeringdb.fetch import Cancelled, FetchError, StreamingFetcher
from nornir_peering.peeringdb.load import ParsedReply, ReplyError, ReplyParser, apply_reply
from nornir_peering.pids import alive
from nornir_peering.settings import PeeringSettings
from nornir_peering.store import open_state, transaction

#: progress(tag, stage, detail): stages are queued, fetching, parsing, fetched, applying, done
Progress = Callable[[str, str, str], None]


@dataclass
class TypeResult:
    """One object type's part in a sync: how it was fetched, and what it changed."""

    tag: str
    mode: str  # "full" or "incremental"
    url: str = ""
    bytes: int = 0
    received: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    total: int = 0
    seconds: float = 0.0


@dataclass
class SyncReport:
    """One sync: its source, when it started, how long it took, each type's result."""

    source: str
    started_at: datetime
    seconds: float = 0.0
    types: list[TypeResult] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """One line: ``full sync: 1203 created, 4 updated, 0 deleted in 3.1 s``."""
        modes = {t.mode for t in self.types}
        created, updated, deleted = (
            sum(getattr(t, name) for t in self.types) for name in ("created", "updated", "deleted")
        )
        return (
            f"{'full' if modes == {'full'} else 'incremental'} sync: {created} created, "
            f"{updated} updated, {deleted} deleted in {self.seconds:.1f} s"
        )

    def as_dict(self) -> dict[str, object]:
        """The report as JSON data, as ``sync_runs`` records it and ``--json`` prints it."""
        return {
            "source": self.source,
            "started_at": self.started_at.isoformat(),
            "seconds": round(self.seconds, 3),
            "types": [{**asdict(t), "seconds": round(t.seconds, 3)} for t in self.types],
        }


@dataclass(frozen=True)
class _Cursor:
    updated: datetime | None
    authenticated: bool


@dataclass
class _Job:
    tag: str
    since: int | None
    result: TypeResult
    parsed: ParsedReply | None = None


def sync_peeringdb(
    settings: PeeringSettings,
    *,
    full: bool = False,
    wait: float | None = None,
    progress: Progress | None = None,
) -> SyncReport:
    """Run one sync; raises :class:`SyncFailed` with the cache left untouched."""
    notify = progress or (lambda tag, stage, detail: None)
    lock_wait = settings.lock_wait if wait is None else wait
    report = SyncReport(source=settings.peeringdb_url, started_at=_utcnow())
    started = time.monotonic()

    cursors = _read_cursors(settings.state, lock_wait)
    jobs = [_plan(tag, cursors.get(tag), settings, full) for tag in schema.TAGS]
    for job in jobs:
        notify(job.tag, "queued", job.result.mode)

    workdir = _workdir(settings.state)
    try:
        _fetch_all(jobs, settings, workdir, notify)
        with open_state(settings.state, write=True, wait=lock_wait) as db, transaction(db):
            if _read_cursors_from(db) != cursors:
                raise StateBusy(
                    "another peeringdb-sync changed the cache while this one was "
                    "downloading; nothing written (the cache is current)"
                )
            _apply_all(db, jobs, settings, notify)
            report.types = [job.result for job in jobs]
            report.seconds = time.monotonic() - started
            db.execute(
                "INSERT INTO sync_runs (started_at, finished_at, source, summary) "
                "VALUES (?, ?, ?, ?)",
                [report.started_at, _utcnow(), report.source, json.dumps(report.as_dict())],
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report.seconds = time.monotonic() - started
    return report


def flush_peeringdb(settings: PeeringSettings, *, wait: float | None = None) -> dict[str, int]:
    """Remove every PeeringDB object and cursor; returns the rows removed per type."""
    removed: dict[str, int] = {}
    lock_wait = settings.lock_wait if wait is None else wait
    with open_state(settings.state, write=True, wait=lock_wait) as db, transaction(db):
        for tag in schema.TAGS:
            [(count,)] = db.execute(f"SELECT count(*) FROM {schema.table(tag)}").fetchall()
            removed[tag] = int(count)
            db.execute(f"DELETE FROM {schema.table(tag)}")
        db.execute("DELETE FROM pdb_sync_cursor")
        db.execute("DELETE FROM pdb_netixlan_log")
    return removed


def _plan(tag: str, cursor: _Cursor | None, settings: PeeringSettings, full: bool) -> _Job:
    authenticated = settings.api_key is not None
    key_changed = (
        cursor is not None and tag in PRIVATE_OBJECTS and cursor.authenticated != authenticated
    )
    if full or cursor is None or cursor.updated is None or key_changed:
        return _Job(tag, None, TypeResult(tag, "full"))
    since = cursor.updated - timedelta(seconds=settings.lookback)
    epoch = int(since.replace(tzinfo=UTC).timestamp())
    return _Job(tag, max(epoch, 1), TypeResult(tag, "incremental"))


def _fetch_all(
    jobs: list[_Job], settings: PeeringSettings, workdir: Path, notify: Progress
) -> None:
    cancel = threading.Event()
    fetcher = StreamingFetcher(settings, workdir, cancel)
    parser = ReplyParser()

    def fetch(job: _Job) -> None:
        began = time.monotonic()
        notify(job.tag, "fetching", fetcher.source(job.tag, job.since)[0])
        download = fetcher.download(job.tag, job.since)
        job.result.url, job.result.bytes = download.url, download.size
        notify(job.tag, "parsing", f"{download.size} bytes")
        try:
            job.parsed = parser.parse(job.tag, download.path)
        except ReplyError as exc:
            raise FetchError(job.tag, f"bad reply from {download.url}: {exc}") from None
        job.result.received = job.parsed.rows
        job.result.seconds = time.monotonic() - began
        notify(job.tag, "fetched", f"{job.parsed.rows} objects")

    try:
        with ThreadPoolExecutor(settings.concurrency, thread_name_prefix="pdb-fetch") as pool:
            futures = [pool.submit(fetch, job) for job in jobs]
            _, pending = wait(futures, return_when=FIRST_EXCEPTION)
            if pending:
                cancel.set()
                wait(pending)
    finally:
        fetcher.close()
        parser.close()
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        first = [e for e in errors if not isinstance(e, Cancelled)] or errors
        for error in first:
            if isinstance(error, FetchError):
                notify(error.tag, "failed", str(error))
        lines = "\n  ".join(_describe(e) for e in first)
        raise SyncFailed(f"PeeringDB sync failed, the cache is unchanged:\n  {lines}")


def _describe(error: BaseException | None) -> str:
    if isinstance(error, FetchError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _apply_all(
    db: duckdb.DuckDBPyConnection,
    jobs: list[_Job],
    settings: PeeringSettings,
    notify: Progress,
) -> None:
    for job in jobs:
        assert job.parsed is not None
        notify(job.tag, "applying", "")
        began = time.monotonic()
        changes = apply_reply(db, job.parsed, full=job.since is None)
        result = job.result
        result.created, result.updated = changes.created, changes.updated
        result.deleted, result.total = changes.deleted, changes.total
        result.seconds += time.monotonic() - began
        _advance_cursor(db, job, settings.api_key is not None)
        notify(job.tag, "done", f"{changes.total} objects")


def _advance_cursor(db: duckdb.DuckDBPyConnection, job: _Job, authenticated: bool) -> None:
    assert job.parsed is not None
    newest = job.parsed.newest
    db.execute(
        """
        INSERT INTO pdb_sync_cursor AS c VALUES (?, ?, ?, now()::TIMESTAMP)
        ON CONFLICT (tag) DO UPDATE SET
            updated = CASE WHEN ? THEN excluded.updated
                           ELSE greatest(c.updated, excluded.updated) END,
            authenticated = excluded.authenticated,
            synced_at = excluded.synced_at
        """,
        [job.tag, newest, authenticated, job.since is None],
    )


def _read_cursors(state: Path, wait: float) -> dict[str, _Cursor]:
    with open_state(state, wait=wait) as db:
        return _read_cursors_from(db)


def _read_cursors_from(db: duckdb.DuckDBPyConnection) -> dict[str, _Cursor]:
    rows = db.execute("SELECT tag, updated, authenticated FROM pdb_sync_cursor").fetchall()
    return {tag: _Cursor(updated, bool(auth)) for tag, updated, auth in rows}


def _workdir(state: Path) -> Path:
    """A private download folder beside the state file; leftovers of killed runs go."""
    root = state.parent / ".peeringdb-sync"
    root.mkdir(parents=True, exist_ok=True)
    for old in root.iterdir():
        pid = old.name.split("-")[0]
        if not pid.isdigit() or not alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    path = root / f"{os.getpid()}-{time.monotonic_ns()}"
    path.mkdir()
    return path


def _utcnow() -> datetime:
    return datetime.now(tz=UTC).replace(tzinfo=None)
