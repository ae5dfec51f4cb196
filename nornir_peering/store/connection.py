"""Opening the DuckDB state file, with a writer lock and a bounded wait.

DuckDB lets one process open a file read-write, or several read-only, never
both. Writers therefore serialise on an advisory lock file beside the database
(``peering.duckdb.lock``, released by the kernel even after ``kill -9``), and
keep the database open only for their final apply step. Readers retry while a
writer has it open.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import duckdb

from nornir_peering.errors import PeeringError, StateBusy
from nornir_peering.store.faults import state_error
from nornir_peering.store.migrations import (
    SCHEMA_VERSION,
    SECRETS_SCRUBBED,
    migrate,
    schema_version,
)

POLL_SECONDS = 0.05
T = TypeVar("T")


@contextlib.contextmanager
def writer_lock(path: Path, wait: float) -> Iterator[None]:
    """Hold the writer lock of the state file ``path``; wait up to ``wait`` seconds."""
    busy = f"{path}: another writer{{holder}} holds the state file; gave up after {wait:g}s"
    with _hold(path.with_name(path.name + ".lock"), wait, busy):
        yield


@contextlib.contextmanager
def router_lock(state: Path, router: str, wait: float) -> Iterator[None]:
    """Hold the lock of ``router`` (beside the state file ``state``): one run at a time
    loads configuration onto a router. Wait up to ``wait`` seconds."""
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in router)
    busy = f"{router}: another run{{holder}} is deploying to it; gave up after {wait:g}s"
    with _hold(state.parent / "routers" / f"{name}.lock", wait, busy):
        yield


@contextlib.contextmanager
def _hold(lock_path: Path, wait: float, busy: str) -> Iterator[None]:
    """An exclusive ``flock`` on ``lock_path`` (released by the kernel even after
    ``kill -9``), holding our pid; :class:`StateBusy` with ``busy`` (``{holder}``: the
    holder's pid) after ``wait`` seconds."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    message = busy.format(holder=_read_holder(lock_path))
                    raise StateBusy(f"{message} (--wait SECONDS to wait longer)") from None
                time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read_holder(lock_path: Path) -> str:
    try:
        pid = lock_path.read_text().strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid else ""


@contextlib.contextmanager
def open_state(
    path: Path, *, write: bool = False, wait: float = 10.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the state file, migrated to the current schema. A writer's changes are merged
    into the file (a checkpoint) before it is closed: a full disk fails the block then,
    instead of leaving the next writer a log it cannot merge. A damaged file or a full
    disk, met anywhere in the block, is one line (:func:`~.faults.state_error`).

    For example::

        with open_state(Path("state/peering.duckdb")) as db:
            db.sql("select count(*) from pdb_net").fetchone()
    """
    try:
        with _opened(path, write=write, wait=wait) as con:
            yield con
    except (duckdb.Error, OSError) as exc:
        found = state_error(path, exc)
        if found is None:
            raise
        raise found from exc


@contextlib.contextmanager
def _opened(path: Path, *, write: bool, wait: float) -> Iterator[duckdb.DuckDBPyConnection]:
    if write:
        with writer_lock(path, wait):
            con = _connect_waiting(path, read_only=False, wait=wait)
            try:
                pending = _rewrite_pending(path)
                if schema_version(con) == SECRETS_SCRUBBED - 1:
                    # a run log from before secrets were masked: once masked in place, the
                    # file is copied anew; until that is done, the marker says it is owed
                    pending.touch()
                    sync_folder(path.parent)
                migrate(con)
                if pending.exists():
                    con.close()
                    _rewrite(path, pending)
                    con = _connect_waiting(path, read_only=False, wait=wait)
                yield con
                _checkpoint(con, path)
            finally:
                con.close()
        return
    if path.exists():
        con = _connect_waiting(path, read_only=True, wait=wait)
        current = schema_version(con) >= SCHEMA_VERSION
        if not current:
            con.close()
    if not path.exists() or not current:
        with open_state(path, write=True, wait=wait):  # create or migrate it
            pass
        con = _connect_waiting(path, read_only=True, wait=wait)
    try:
        yield con
    finally:
        con.close()


def _checkpoint(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Merge the write-ahead log into the file. DuckDB does so when the last connection
    closes, but says nothing if that fails: the log would be left for the next writer,
    on a disk with no room to merge it, and the run would end as if all were well."""
    try:
        con.execute("CHECKPOINT")
    except duckdb.Error as exc:
        found = state_error(path, exc, logged=True)
        if found is None:
            raise
        raise found from exc


def _rewrite_pending(path: Path) -> Path:
    """The marker beside the state file that says it is still to be copied anew."""
    return path.with_name(path.name + ".rewrite-pending")


def _rewrite(path: Path, pending: Path) -> None:
    """Copy the state file into a new one and put it in its place, atomically: what a
    migration masked in place (a secret) may linger in the old file's freed blocks,
    which DuckDB does not clear. The copy keeps the file's permissions and owner, and
    replaces the file a symlink points to, not the symlink. Interrupted or put off, it
    is done when the file is next opened for writing: ``pending`` stays until it is."""
    if path.with_name(path.name + ".wal").exists():
        return  # not closed cleanly: DuckDB replays the log onto this file, not a copy
    target = path.resolve()
    fresh = target.with_name(target.name + ".rewrite")
    for leftover in (fresh, fresh.with_name(fresh.name + ".wal")):
        leftover.unlink(missing_ok=True)
    copier = duckdb.connect(":memory:", config=CONFIG)
    try:
        copier.execute(f"ATTACH {quoted(target)} AS old (READ_ONLY)")
        copier.execute(f"ATTACH {quoted(fresh)} AS fresh")
        copier.execute("COPY FROM DATABASE old TO fresh")
    finally:
        copier.close()
    copy_ownership(fresh, target.stat())
    with open(fresh, "rb") as file:
        os.fsync(file.fileno())
    os.replace(fresh, target)
    sync_folder(target.parent)
    pending.unlink(missing_ok=True)
    sync_folder(pending.parent)


def copy_ownership(fresh: Path, held: os.stat_result) -> None:
    """Give ``fresh`` the permissions and owner of the file it replaces (``held``)."""
    mode = stat.S_IMODE(held.st_mode)
    try:
        os.chown(fresh, held.st_uid, held.st_gid)  # as root
    except PermissionError:
        try:
            os.chown(fresh, -1, held.st_gid)  # as a member of the file's group
        except PermissionError:
            mode &= 0o700  # the group is the writer's own now: it gets nothing
    os.chmod(fresh, mode)


def sync_folder(folder: Path) -> None:
    """Make the files made, renamed or removed in ``folder`` survive a crash."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def quoted(path: Path) -> str:
    """``path`` as an SQL string literal: ``'state/o''brien.duckdb'``."""
    return "'" + str(path).replace("'", "''") + "'"


# No extension is ever downloaded: the machine may have no internet, and the
# state file must never depend on one.
CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


def _connect(path: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=read_only, config=CONFIG)
    except duckdb.Error as exc:
        if locked(exc):
            raise
        raise state_error(path, exc) or PeeringError(
            f"{path}: cannot open the state file: {exc}"
        ) from exc


def locked(exc: duckdb.Error) -> bool:
    """Whether ``exc`` is DuckDB refusing a file another process has open."""
    return isinstance(exc, duckdb.IOException) and "could not set lock" in str(exc).lower()


def _connect_waiting(path: Path, *, read_only: bool, wait: float) -> duckdb.DuckDBPyConnection:
    return while_locked(lambda: _connect(path, read_only=read_only), path, wait)


def while_locked(action: Callable[[], T], path: Path, wait: float) -> T:
    """``action()``, tried again while another process has ``path`` open to write;
    :class:`StateBusy` after ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return action()
        except duckdb.IOException as exc:
            if not locked(exc):
                raise
            if time.monotonic() >= deadline:
                raise StateBusy(
                    f"{path}: another process has the state file open; gave up after {wait:g}s"
                ) from None
            time.sleep(POLL_SECONDS)


@contextlib.contextmanager
def transaction(db: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All of the block's writes, or none of them."""
    db.execute("BEGIN TRANSACTION")
    try:
        yield db
    except BaseException:
        # a database DuckDB gave up on (a failed write) has nothing left to roll back
        with contextlib.suppress(duckdb.Error):
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
