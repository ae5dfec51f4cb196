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

import base64
import contextlib
import gzip
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from nornir_peering.errors import DiskFull, StateBusy, SyncFailed
from nornir_peering.peeringdb import schema
from nornir_peering.peeringdb.fetch import Cancelled, Download, FetchError, StreamingFetcher
from nornir_peering.peeringdb.load import ParsedReply, ReplyError, ReplyParser, apply_reply
from nornir_peering.pids import alive
from nornir_peering.settings import PeeringSettings
from nornir_peering.store import open_state, transaction
from nornir_peering.store.faults import no_room

if TYPE_CHECKING:  # the queue (rq, redis) is imported only by a sync that uses it
    from nornir_peering.jobs.batch import Background, Batch, JobEnd

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
    batch: Batch | None = None  # the downloads, when enqueued with --tasks --no-wait

    @property
    def summary(self) -> str:
        """One line: ``full sync: 1203 created, 4 updated, 0 deleted in 3.1 s``."""
        if self.batch is not None:
            return f"enqueued {len(self.batch.items)} downloads as batch {self.batch.id}"
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
    background: Background | None = None,
) -> SyncReport:
    """Run one sync; raises :class:`SyncFailed` with the cache left untouched. With
    ``background``, each type is downloaded by an RQ worker (one job per type) and
    parsed and applied here."""
    notify = progress or (lambda tag, stage, detail: None)
    lock_wait = settings.lock_wait if wait is None else wait
    report = SyncReport(source=settings.peeringdb_url, started_at=_utcnow())
    started = time.monotonic()

    cursors = _read_cursors(settings.state, lock_wait)
    jobs = [_plan(tag, cursors.get(tag), settings, full) for tag in schema.TAGS]
    for job in jobs:
        notify(job.tag, "queued", job.result.mode)
    if background is not None:
        for job in jobs:
            notify(job.tag, "fetching", "a worker's job")
        downloads = {job.tag: ("peeringdb", _download_job(job, settings)) for job in jobs}
        from nornir_peering.jobs.queue import submit

        submitted = submit(background, "peeringdb", downloads, _batch_meta(jobs, cursors))
        if submitted.ends is None:
            report.batch = submitted.batch
            return report
        for tag, end in submitted.ends.items():
            if not end.ok:
                notify(tag, "failed", end.error)
        collected = apply_downloads(
            settings, submitted.batch, submitted.ends, wait=lock_wait, progress=notify
        )
        submitted.collected()
        collected.seconds = time.monotonic() - started
        return collected

    with _room_for_downloads(settings.state):
        workdir = _workdir(settings.state)
        try:
            _fetch_all(jobs, settings, workdir, notify)
            _apply_and_record(settings, jobs, cursors, report, lock_wait, notify, started)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    report.seconds = time.monotonic() - started
    return report


def apply_downloads(
    settings: PeeringSettings,
    batch: Batch,
    ends: dict[str, JobEnd],
    *,
    wait: float | None = None,
    progress: Progress | None = None,
) -> SyncReport:
    """Parse and apply the downloads a batch's workers made, as one sync: nothing is
    applied unless every type was downloaded, and the cursors are still those the
    downloads were planned from."""
    notify = progress or (lambda tag, stage, detail: None)
    lock_wait = settings.lock_wait if wait is None else wait
    started = time.monotonic()
    report = SyncReport(source=settings.peeringdb_url, started_at=_utcnow())
    jobs = [_Job(tag, since, TypeResult(tag, mode)) for tag, since, mode in batch.meta["plan"]]
    cursors = {
        tag: _Cursor(datetime.fromisoformat(updated) if updated else None, authenticated)
        for tag, (updated, authenticated) in batch.meta["cursors"].items()
    }
    failed = [f"{tag}: job {end.job_id}: {end.error}" for tag, end in ends.items() if not end.ok]
    if failed:
        lines = "\n  ".join(failed)
        raise SyncFailed(f"PeeringDB sync failed, the cache is unchanged:\n  {lines}")
    with _room_for_downloads(settings.state):
        _apply_downloads(settings, jobs, ends, cursors, report, lock_wait, notify, started)
    report.seconds = time.monotonic() - started
    return report


def _apply_downloads(
    settings: PeeringSettings,
    jobs: list[_Job],
    ends: dict[str, JobEnd],
    cursors: dict[str, _Cursor],
    report: SyncReport,
    lock_wait: float,
    notify: Progress,
    started: float,
) -> None:
    workdir = _workdir(settings.state)
    parser = ReplyParser(settings.sync_memory, workdir)
    try:
        for job in jobs:
            found = ends[job.tag].value
            path = workdir / f"{job.tag}.json"
            path.write_bytes(gzip.decompress(base64.b64decode(found["body"])))
            download = Download(job.tag, found["url"], path, found["size"], found["seconds"])
            try:
                _parse(job, download, parser, notify)
            except FetchError as exc:
                raise SyncFailed(
                    f"PeeringDB sync failed, the cache is unchanged:\n  {exc}"
                ) from None
        _apply_and_record(settings, jobs, cursors, report, lock_wait, notify, started)
    finally:
        parser.close()
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def _room_for_downloads(state: Path) -> Iterator[None]:
    """A download or its parsing that finds the disk full (the downloads are kept beside
    the state file) is one line: nothing was written."""
    try:
        yield
    except (OSError, SyncFailed) as exc:
        if not no_room(exc):
            raise
        raise DiskFull(
            f"no space left on the disk of {state} for the downloads: nothing was written, "
            "the cache is unchanged; free space there and run again"
        ) from exc


def _download_job(job: _Job, settings: PeeringSettings) -> dict[str, object]:
    """What a worker needs to download one type: never the API key (its own is used)."""
    carried = settings.model_dump(
        include={
            "peeringdb_url",
            "cache_url",
            "timeout",
            "download_timeout",
            "retries",
            "retry_backoff",
            "max_retry_after",
        }
    )
    authenticated = settings.api_key is not None
    return {"tag": job.tag, "since": job.since, "settings": carried, "authenticated": authenticated}


def _batch_meta(jobs: list[_Job], cursors: dict[str, _Cursor]) -> dict[str, object]:
    """What applying the downloads later needs: the plan, and the cursors it was made from."""
    return {
        "plan": [[job.tag, job.since, job.result.mode] for job in jobs],
        "cursors": {
            tag: [c.updated.isoformat() if c.updated else None, c.authenticated]
            for tag, c in cursors.items()
        },
    }


def _apply_and_record(
    settings: PeeringSettings,
    jobs: list[_Job],
    cursors: dict[str, _Cursor],
    report: SyncReport,
    lock_wait: float,
    notify: Progress,
    started: float,
) -> None:
    """Apply every type, the cursors and a run record, in one transaction."""
    with open_state(settings.state, write=True, wait=lock_wait) as db:
        db.execute(f"SET memory_limit = '{settings.sync_memory}MB'")  # spills beyond it
        with transaction(db):
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
        cursor is not None and tag in schema.PRIVATE_TAGS and cursor.authenticated != authenticated
    )
    if full or cursor is None or cursor.updated is None or key_changed:
        return _Job(tag, None, TypeResult(tag, "full"))
    since = cursor.updated - timedelta(seconds=settings.lookback)
    epoch = int(since.replace(tzinfo=UTC).timestamp())
    return _Job(tag, max(epoch, 1), TypeResult(tag, "incremental"))


def _fetch_all(
    jobs: list[_Job], settings: PeeringSettings, workdir: Path, notify: Progress
) -> None:
    fetcher = StreamingFetcher(settings, workdir)
    parser = ReplyParser(settings.sync_memory, workdir)

    def fetch(job: _Job) -> None:
        began = time.monotonic()
        notify(job.tag, "fetching", fetcher.source(job.tag, job.since)[0])
        _parse(job, fetcher.download(job.tag, job.since), parser, notify)
        job.result.seconds = time.monotonic() - began

    try:
        with ThreadPoolExecutor(settings.concurrency, thread_name_prefix="pdb-fetch") as pool:
            futures = [pool.submit(fetch, job) for job in jobs]
            _, pending = wait(futures, return_when=FIRST_EXCEPTION)
            if pending:
                fetcher.stop()
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


def _parse(job: _Job, download: Download, parser: ReplyParser, notify: Progress) -> None:
    """Parse one download to Parquet, for :func:`_apply_all`."""
    began = time.monotonic()
    job.result.url, job.result.bytes = download.url, download.size
    notify(job.tag, "parsing", f"{download.size} bytes")
    try:
        job.parsed = parser.parse(job.tag, download.path)
    except ReplyError as exc:
        raise FetchError(job.tag, f"bad reply from {download.url}: {exc}") from None
    job.result.received = job.parsed.rows
    job.result.seconds = download.seconds + time.monotonic() - began
    notify(job.tag, "fetched", f"{job.parsed.rows} objects")


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
