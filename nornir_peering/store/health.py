"""Keeping the state file whole: check it, rebuild a damaged one, back it up.

``check`` opens the file read-only and reads every row of every table, so that DuckDB
verifies the checksum of each block it holds; ``rebuild`` builds a new file, copying the
history only this file has (:data:`~.migrations.TABLES`) wherever it still reads, and
moves the damaged one aside; ``backup`` writes a consistent copy elsewhere.

For example::

    found = check(Path("state/peering.duckdb"), wait=10)
    found.verdict, [t.table for t in found.tables if not t.ok]
    # ('damaged', ['pdb_ixlan'])
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from nornir_peering.errors import ConfigError, ExitCode, PeeringError
from nornir_peering.store.connection import (
    CONFIG,
    copy_ownership,
    quoted,
    sync_folder,
    while_locked,
    writer_lock,
)
from nornir_peering.store.faults import NOT_DUCKDB, damage, state_error
from nornir_peering.store.migrations import KEPT, SCHEMA_VERSION, TABLES, migrate

OK, DAMAGED, NOT_STATE, NEWER = "ok", "damaged", "not a state file", "newer"
EXIT_CODES = {
    OK: ExitCode.OK,
    DAMAGED: ExitCode.FAILED,
    NOT_STATE: ExitCode.USAGE,
    NEWER: ExitCode.USAGE,
}


@dataclass(frozen=True)
class TableCheck:
    """One table of the file: its rows, or why it does not read."""

    table: str
    rows: int | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        """Whether the table reads whole."""
        return not self.error


@dataclass
class CheckReport:
    """What ``state check`` found: a verdict, the schema version and every table."""

    path: Path
    verdict: str = OK
    reason: str = ""
    schema_version: int | None = None
    tables: list[TableCheck] = field(default_factory=list)
    log_pending: bool = False  # changes wait in the write-ahead log, not yet merged

    @property
    def exit_code(self) -> int:
        """0 whole, 1 damaged, 2 not a state file (or one newer than this toolkit)."""
        return EXIT_CODES[self.verdict]

    @property
    def summary(self) -> str:
        """One line: ``state/peering.duckdb: damaged (pdb_ixlan: ...): run ...``."""
        if self.verdict == OK:
            rows = sum(t.rows or 0 for t in self.tables)
            return (
                f"{self.path}: ok, schema version {self.schema_version}, "
                f"{len(self.tables)} tables, {rows} rows"
            )
        if self.verdict == DAMAGED:
            return f"{self.path}: damaged ({self.reason}): run 'nornir-peering state rebuild'"
        return f"{self.path}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        """The report as ``--json`` prints it."""
        return {
            "path": str(self.path),
            "verdict": self.verdict,
            "reason": self.reason,
            "schema_version": self.schema_version,
            "log_pending": self.log_pending,
            "tables": [asdict(t) for t in self.tables],
        }


def check(path: Path, wait: float) -> CheckReport:
    """Check the state file ``path``: open it read-only, check its schema version, read
    every row of every table and look each single-column primary key up in its index."""
    report = CheckReport(path, log_pending=_wal(path).is_file() and _wal(path).stat().st_size > 0)
    if not path.is_file():
        return _verdict(report, NOT_STATE, "no such file")
    try:
        con = _connect_waiting(path, wait)
    except duckdb.Error as exc:
        found = damage(exc)
        if found is None:
            raise PeeringError(f"{path}: cannot open the state file: {exc}") from exc
        verdict = NOT_STATE if found == NOT_DUCKDB else DAMAGED
        return _verdict(report, verdict, found)
    try:
        _check_tables(con, report)
    finally:
        con.close()
    return report


def _check_tables(con: duckdb.DuckDBPyConnection, report: CheckReport) -> None:
    try:
        present = _tables(con)
    except duckdb.Error as exc:
        _verdict(report, DAMAGED, f"its catalog: {_why(exc)}")
        return
    if "schema_version" not in present:
        _verdict(report, NOT_STATE, "a DuckDB database without the toolkit's schema")
        return
    versions = _read(con, "schema_version")
    report.tables.append(versions)
    if not versions.ok:
        _verdict(report, DAMAGED, f"schema_version: {versions.error}")
    else:
        [(version,)] = con.execute("SELECT max(version) FROM schema_version").fetchall()
        report.schema_version = int(version or 0)
        if report.schema_version > SCHEMA_VERSION:
            _verdict(
                report,
                NEWER,
                f"schema version {version}, newer than this nornir-peering's "
                f"({SCHEMA_VERSION}): upgrade nornir-peering",
            )
            return
    for table in expected_tables(report.schema_version or SCHEMA_VERSION):
        found = _read(con, table) if table in present else TableCheck(table, error="missing")
        report.tables.append(found)
        if not found.ok and report.verdict == OK:
            _verdict(report, DAMAGED, f"{table}: {found.error}")


def _read(con: duckdb.DuckDBPyConnection, table: str) -> TableCheck:
    """Read every value of ``table`` (DuckDB verifies each block's checksum as it reads it:
    a count alone comes from the catalog), and look its primary key up in the index."""
    name = _ident(table)
    try:
        [(rows, *_)] = con.execute(
            f"SELECT count(*), bit_xor(hash(COLUMNS(*))) FROM {name}"
        ).fetchall()
        key = _primary_key(con, table)
        if key is not None and rows:
            # the lookups read the index, which a scan does not
            for end in ("min", "max"):
                con.execute(
                    f"SELECT count(*) FROM {name} WHERE {key} = (SELECT {end}({key}) FROM {name})"
                ).fetchall()
    except duckdb.Error as exc:
        return TableCheck(table, error=_why(exc))
    return TableCheck(table, int(rows))


def _primary_key(con: duckdb.DuckDBPyConnection, table: str) -> str | None:
    rows = con.execute(
        "SELECT constraint_column_names FROM duckdb_constraints() WHERE table_name = ? "
        "AND constraint_type = 'PRIMARY KEY' AND database_name = current_database()",
        [table],
    ).fetchall()
    if len(rows) == 1 and len(rows[0][0]) == 1:
        return _ident(rows[0][0][0])
    return None


def expected_tables(version: int) -> list[str]:
    """The tables a state file at schema ``version`` has, ``schema_version`` aside: those a
    new file migrated to that version has."""
    with contextlib.closing(duckdb.connect(":memory:", config=CONFIG)) as con:
        migrate(con, to=version)
        return sorted(_tables(con) - {"schema_version"})


@dataclass(frozen=True)
class TableRebuilt:
    """What ``state rebuild`` did with one table."""

    table: str
    kind: str  # "kept" (history) or the command that fills it again
    outcome: str  # "copied", "lost" or "left empty"
    rows: int = 0
    error: str = ""


@dataclass
class RebuildReport:
    """A rebuild: the file, where the old one went, and every table's outcome."""

    path: Path
    aside: Path
    tables: list[TableRebuilt] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """One line: ``rebuilt ...: 7 tables copied, 1 lost; 3 left for peeringdb-sync``."""
        lost = [t.table for t in self.tables if t.outcome == "lost"]
        refill = sorted({t.kind for t in self.tables if t.outcome == "left empty"})
        copied = sum(1 for t in self.tables if t.outcome == "copied")
        text = f"rebuilt {self.path} ({copied} tables copied"
        text += f"; history lost: {', '.join(lost)})" if lost else "; no history lost)"
        if refill:
            text += f"; run {', '.join(refill)} to fill the rest"
        return f"{text}; the old file is {self.aside}"

    def as_dict(self) -> dict[str, Any]:
        """The report as ``--json`` prints it."""
        return {
            "path": str(self.path),
            "aside": str(self.aside),
            "tables": [asdict(t) for t in self.tables],
        }


def rebuild(path: Path, wait: float, *, force: bool = False) -> RebuildReport:
    """Build a new state file in place of ``path`` under the writer lock: history copied
    wherever it still reads, what can be fetched or polled again copied when it reads
    whole, the rest left for the next runs; the old file moved aside as
    ``peering.duckdb.damaged-<UTC time>`` (its write-ahead log with it)."""
    with writer_lock(path, wait):
        found = check(path, wait)
        if found.verdict != DAMAGED and not (force and found.verdict in (OK, NOT_STATE)):
            if found.verdict == OK:
                raise ConfigError(
                    f"{path}: the state file reads whole: nothing to rebuild "
                    "(--force rebuilds it all the same)"
                )
            raise ConfigError(f"{found.summary}: nothing rebuilt (--force to rebuild it)")
        if not path.is_file():
            raise ConfigError(f"{path}: no such file: nothing rebuilt")
        fresh = path.with_name(path.name + ".rebuild")
        for leftover in (fresh, _wal(fresh)):
            leftover.unlink(missing_ok=True)
        stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
        report = RebuildReport(path, path.with_name(f"{path.name}.damaged-{stamp}"))
        try:
            _build(path, fresh, found, report)
            rebuilt = check(fresh, wait)
            if rebuilt.verdict != OK:
                raise PeeringError(f"the rebuilt file does not check: {rebuilt.summary}")
            _put_in_place(path, fresh, report.aside)
        finally:
            for leftover in (fresh, _wal(fresh)):
                leftover.unlink(missing_ok=True)
    return report


def _build(old: Path, fresh: Path, found: CheckReport, report: RebuildReport) -> None:
    """Write ``fresh``: the schema at the old file's version, what reads copied, then
    migrated to the current version (as the old file would have been)."""
    version = found.schema_version or SCHEMA_VERSION
    with contextlib.closing(duckdb.connect(":memory:", config=CONFIG)) as con:
        con.execute(f"ATTACH {quoted(fresh)} AS fresh")
        con.execute("USE fresh")
        migrate(con, to=version)
        try:
            con.execute(f"ATTACH {quoted(old)} AS old (READ_ONLY)")
            present = _tables(con, "old")
        except duckdb.Error as exc:  # not even the catalog reads: nothing to copy
            why, present = _why(exc), set()
        else:
            why = "missing"
        readable = {t.table for t in found.tables if t.ok}
        units: dict[str, list[str]] = {}
        for table in expected_tables(version):
            kind = TABLES.get(table, KEPT)
            units.setdefault(table if kind == KEPT else kind, []).append(table)
        for tables in units.values():
            kind = TABLES.get(tables[0], KEPT)
            if all(t in present and t in readable for t in tables):
                report.tables.extend(_copy(con, tables, kind))
                continue
            outcome = "lost" if kind == KEPT else "left empty"
            for table in tables:
                error = why if table not in present else _error(found, table)
                report.tables.append(TableRebuilt(table, kind, outcome, error=error))
        _carry_sequences(con)
        migrate(con)
        con.execute("CHECKPOINT fresh")
        con.execute("USE memory")
        with contextlib.suppress(duckdb.Error):
            con.execute("DETACH old")
        con.execute("DETACH fresh")


def _copy(con: duckdb.DuckDBPyConnection, tables: list[str], kind: str) -> list[TableRebuilt]:
    """Copy ``tables`` from the old file, in one transaction: all of them, or none."""
    con.execute("BEGIN TRANSACTION")
    copied = []
    try:
        for table in tables:
            name = _ident(table)
            con.execute(f"INSERT INTO fresh.main.{name} BY NAME SELECT * FROM old.main.{name}")
            [(rows,)] = con.execute(f"SELECT count(*) FROM fresh.main.{name}").fetchall()
            copied.append(TableRebuilt(table, kind, "copied", int(rows)))
    except duckdb.Error as exc:
        con.execute("ROLLBACK")
        if damage(exc) is None:
            raise
        outcome = "lost" if kind == KEPT else "left empty"
        return [TableRebuilt(t, kind, outcome, error=_why(exc)) for t in tables]
    con.execute("COMMIT")
    return copied


def _carry_sequences(con: duckdb.DuckDBPyConnection) -> None:
    """Bring each sequence of the new file to where the old one stood, so that no run id
    is given twice."""
    try:
        old = dict(
            con.execute(
                "SELECT sequence_name, last_value FROM duckdb_sequences() "
                "WHERE database_name = 'old' AND last_value IS NOT NULL"
            ).fetchall()
        )
    except duckdb.Error:
        return
    for name, last in old.items():
        con.execute(
            f"SELECT max(nextval('fresh.main.{name}')) FROM range(?)", [int(last)]
        ).fetchall()


def _put_in_place(path: Path, fresh: Path, aside: Path) -> None:
    """The old file to ``aside`` (a hard link where the file system has them, so that
    ``path`` is never missing), its write-ahead log with it, then ``fresh`` in its place."""
    copy_ownership(fresh, path.stat())
    with open(fresh, "rb") as file:
        os.fsync(file.fileno())
    try:
        os.link(path, aside)
    except OSError:
        shutil.copy2(path, aside)
    if _wal(path).exists():
        os.replace(_wal(path), _wal(aside))  # never replayed onto the new file
    os.replace(fresh, path)
    path.with_name(path.name + ".rewrite-pending").unlink(missing_ok=True)  # copied anew
    sync_folder(path.parent)


@dataclass(frozen=True)
class BackupReport:
    """A backup: where it was written, and the rows of each table in it."""

    path: Path
    backup: Path
    bytes: int
    tables: list[TableCheck]

    @property
    def summary(self) -> str:
        """One line: ``backed up state/peering.duckdb to ...: 27 tables, 2449 rows``."""
        rows = sum(t.rows or 0 for t in self.tables)
        return f"backed up {self.path} to {self.backup}: {len(self.tables)} tables, {rows} rows"

    def as_dict(self) -> dict[str, Any]:
        """The report as ``--json`` prints it."""
        return {
            "path": str(self.path),
            "backup": str(self.backup),
            "bytes": self.bytes,
            "tables": [asdict(t) for t in self.tables],
        }


def backup(path: Path, target: Path, wait: float, *, force: bool = False) -> BackupReport:
    """Write a consistent copy of the state file to ``target``, under the writer lock;
    a ``target`` that exists is kept unless ``force``."""
    if target.is_dir():
        target = target / path.name
    if target.resolve() == path.resolve():
        raise ConfigError(f"{target}: is the state file itself")
    if target.exists() and not force:
        raise ConfigError(f"{target}: exists; --force to replace it")
    if not target.parent.is_dir():
        raise ConfigError(f"{target.parent}: no such directory")
    if not path.is_file():
        raise ConfigError(f"{path}: no such file: nothing to back up")
    fresh = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with writer_lock(path, wait):
            _copy_database(path, fresh, wait)
        with open(fresh, "rb") as file:
            os.fsync(file.fileno())
        os.replace(fresh, target)
        sync_folder(target.parent)
    finally:
        for leftover in (fresh, _wal(fresh)):
            leftover.unlink(missing_ok=True)
    written = check(target, wait)
    if written.verdict != OK:
        raise PeeringError(f"the backup does not check: {written.summary}")
    return BackupReport(path, target, target.stat().st_size, written.tables)


def _copy_database(path: Path, fresh: Path, wait: float) -> None:
    """The database of ``path`` into the new file ``fresh``.

    Not a CHECKPOINT and a copy of the file: a checkpoint needs the file opened for
    writing, which DuckDB refuses while any other process reads it, and cannot complete
    on a full disk; and a copy of the file alone misses what waits in its write-ahead
    log. Attached read-only, the file is read with its log applied, in one transaction
    (a consistent snapshot), each block's checksum verified (a damaged file fails the
    backup instead of being copied), into a new file that needs no log."""
    with contextlib.closing(duckdb.connect(":memory:", config=CONFIG)) as con:
        try:
            _attach_waiting(con, path, wait)
            con.execute(f"ATTACH {quoted(fresh)} AS backup")
            con.execute("COPY FROM DATABASE state TO backup")
            con.execute("DETACH backup")
        except duckdb.Error as exc:
            found = state_error(path, exc) if damage(exc) else state_error(fresh, exc)
            if found is None:
                raise
            raise found from exc


def _attach_waiting(con: duckdb.DuckDBPyConnection, path: Path, wait: float) -> None:
    """Attach ``path`` read-only as ``state``, waiting up to ``wait`` seconds while
    another process has it open to write."""
    while_locked(lambda: con.execute(f"ATTACH {quoted(path)} AS state (READ_ONLY)"), path, wait)


def _connect_waiting(path: Path, wait: float) -> duckdb.DuckDBPyConnection:
    return while_locked(
        lambda: duckdb.connect(str(path), read_only=True, config=CONFIG), path, wait
    )


def _verdict(report: CheckReport, verdict: str, reason: str) -> CheckReport:
    report.verdict, report.reason = verdict, reason
    return report


def _error(found: CheckReport, table: str) -> str:
    return next((t.error for t in found.tables if t.table == table), "")


def _tables(con: duckdb.DuckDBPyConnection, database: str | None = None) -> set[str]:
    where = "database_name = current_database()" if database is None else "database_name = ?"
    rows = con.execute(
        f"SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND {where}",
        [] if database is None else [database],
    ).fetchall()
    return {str(row[0]) for row in rows}


def _why(exc: duckdb.Error) -> str:
    return damage(exc) or str(exc).splitlines()[0]


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")
