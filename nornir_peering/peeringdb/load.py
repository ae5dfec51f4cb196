"""Bulk loading of PeeringDB replies with DuckDB: parse to Parquet, apply in SQL.

Parsing happens outside the writer lock: each reply is read once with
``read_json`` and the explicit column types of :mod:`.schema`, checked and
written to a Parquet file. Applying a type is then a handful of set-based
statements inside the sync's one transaction; no row goes through Python.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from nornir_peering.peeringdb import envelope, schema

# A reply is one JSON document; DuckDB's default limit for one is 16 MB.
MIN_OBJECT_SIZE = 16 << 20


class ReplyError(Exception):
    """A reply that is not a PeeringDB list of ``tag`` objects."""


@dataclass(frozen=True)
class ParsedReply:
    """One reply written to Parquet: its file, how many objects, the newest change."""

    tag: str
    parquet: Path
    rows: int
    newest: datetime | None  # the newest ``updated`` in the reply, deleted rows included


@dataclass(frozen=True)
class Changes:
    """What applying one reply did to ``pdb_<tag>``, and how many rows it holds after."""

    created: int
    updated: int
    deleted: int
    total: int


class ReplyParser:
    """Parses replies one at a time on a private in-memory DuckDB.

    One at a time, each read as records and not as one document, with DuckDB's
    memory bounded to ``memory_mb`` (past it, it spills to ``spill``): the peak stays
    the same whatever the size of a reply. DuckDB itself uses both cores for it.
    """

    def __init__(self, memory_mb: int = 128, spill: Path | None = None) -> None:
        config: dict[str, Any] = {
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "memory_limit": f"{memory_mb}MB",
        }
        if spill is not None:
            config["temp_directory"] = str(spill)
        self._db = duckdb.connect(config=config)
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the in-memory DuckDB."""
        self._db.close()

    def parse(self, tag: str, reply: Path) -> ParsedReply:
        """Check ``reply`` and write its objects to ``<reply>.parquet``.

        The ``data`` list is read on its own, as records (:mod:`.envelope`), which
        keeps memory to a few buffers; a reply of another shape, or one DuckDB cannot
        read that way, is read whole, as one document, which gives the exact error."""
        out = reply.with_suffix(".parquet")
        with self._lock:
            try:
                if not self._parse_list(tag, reply, out):
                    self._parse_document(tag, reply, out)
                [(rows, newest, missing_id)] = self._db.execute(
                    f"SELECT count(*), max(updated), count(*) FILTER (WHERE id IS NULL) "
                    f"FROM read_parquet('{_sql_path(out)}')"
                ).fetchall()
            except duckdb.Error as exc:
                raise ReplyError(_first_line(exc)) from None
        if missing_id:
            raise ReplyError(f"{missing_id} object(s) without an id")
        return ParsedReply(tag, out, rows, newest)

    def _parse_list(self, tag: str, reply: Path, out: Path) -> bool:
        """The reply's ``data`` list to Parquet, read as records; False if it cannot be."""
        span = envelope.data_span(reply)
        if span is None:
            return False
        listed = reply.with_suffix(".data.json")
        try:
            envelope.copy_span(reply, span, listed)
            self._db.execute(
                f"COPY (SELECT * FROM read_json(?, columns=?, format='array', "
                f"maximum_object_size=?)) TO '{_sql_path(out)}' (FORMAT parquet)",
                [str(listed), schema.columns(tag), MIN_OBJECT_SIZE],
            )
        except duckdb.Error:
            return False
        finally:
            listed.unlink(missing_ok=True)
        return True

    def _parse_document(self, tag: str, reply: Path, out: Path) -> None:
        """The reply read whole, as one JSON document: checked, its objects to Parquet."""
        max_size = max(MIN_OBJECT_SIZE, reply.stat().st_size + 1024)
        columns = {"meta": "JSON", "data": schema.struct_type(tag) + "[]"}
        db = self._db
        try:
            db.execute(
                "CREATE OR REPLACE TEMP TABLE reply AS SELECT meta, data "
                "FROM read_json(?, columns=?, format='unstructured', maximum_object_size=?)",
                [str(reply), columns, max_size],
            )
            docs = db.execute("SELECT data IS NULL, meta->>'error' FROM reply").fetchall()
            if len(docs) != 1:
                raise ReplyError(f"expected one JSON object, found {len(docs)}")
            no_data, error = docs[0]
            if no_data:
                raise ReplyError(f"reply has no 'data' list{': ' + error if error else ''}")
            db.execute(
                f"COPY (SELECT unnest(r) FROM (SELECT unnest(data) AS r FROM reply)) "
                f"TO '{_sql_path(out)}' (FORMAT parquet)"
            )
        finally:
            db.execute("DROP TABLE IF EXISTS reply")


def apply_reply(db: duckdb.DuckDBPyConnection, parsed: ParsedReply, *, full: bool) -> Changes:
    """Apply one parsed reply to ``pdb_<tag>`` in the caller's transaction.

    Full: the table becomes exactly the reply's ``ok`` objects. Incremental
    (``since=``): objects in the reply replace ours, unless ours is newer;
    objects that are not ``ok`` (deleted) are removed, and one we never had is
    not created.
    """
    table = schema.table(parsed.tag)
    if not full and parsed.rows == 0:  # nothing changed: the common nightly case
        [(total,)] = db.execute(f"SELECT count(*) FROM {table}").fetchall()
        return Changes(created=0, updated=0, deleted=0, total=total)
    cols = ", ".join(f'"{c}"' for c in schema.columns(parsed.tag))
    source = f"read_parquet('{_sql_path(parsed.parquet)}')"
    if not full and _held_already(db, table, source):
        # the nightly case: the lookback brought back objects exactly as held
        [(total,)] = db.execute(f"SELECT count(*) FROM {table}").fetchall()
        return Changes(created=0, updated=0, deleted=0, total=total)
    db.execute(
        f"CREATE OR REPLACE TEMP TABLE stage AS SELECT {cols} FROM {source} "
        "QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated DESC NULLS LAST, "
        "version DESC NULLS LAST) = 1"
    )
    if not full:
        # never step back in time: a reply older than what we hold loses
        db.execute(
            f"DELETE FROM stage WHERE id IN (SELECT s.id FROM stage s JOIN {table} t USING (id) "
            "WHERE t.updated > s.updated)"
        )
    [(created, updated, deleted)] = db.execute(
        f"""
        SELECT count(*) FILTER (WHERE t.id IS NULL AND s.status = 'ok'),
               count(*) FILTER (WHERE t.id IS NOT NULL AND s.status = 'ok'
                                AND (s.updated IS DISTINCT FROM t.updated
                                     OR s.version IS DISTINCT FROM t.version)),
               count(*) FILTER (WHERE t.id IS NOT NULL AND s.status IS DISTINCT FROM 'ok')
        FROM stage s LEFT JOIN {table} t USING (id)
        """
    ).fetchall()
    if parsed.tag == "netixlan":
        _log_port_changes(db, full=full)
    if full:
        [(deleted,)] = db.execute(
            f"SELECT count(*) FROM {table} "
            "WHERE id NOT IN (SELECT id FROM stage WHERE status = 'ok')"
        ).fetchall()
        db.execute(f"DELETE FROM {table}")
    else:
        db.execute(f"DELETE FROM {table} WHERE id IN (SELECT id FROM stage)")
    db.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM stage WHERE status = 'ok'")
    [(total,)] = db.execute(f"SELECT count(*) FROM {table}").fetchall()
    db.execute("DROP TABLE stage")
    return Changes(created=created, updated=updated, deleted=deleted, total=total)


def _held_already(db: duckdb.DuckDBPyConnection, table: str, source: str) -> bool:
    """Whether every object of the reply is ``ok`` and held with its ``updated`` and
    ``version``: applying it would change nothing, so nothing is written (one query
    instead of the staging, the diff, the delete and the insert)."""
    [(left,)] = db.execute(
        f"SELECT count(*) FROM {source} s WHERE s.status IS DISTINCT FROM 'ok' OR NOT EXISTS "
        f"(SELECT 1 FROM {table} t WHERE t.id = s.id AND t.updated IS NOT DISTINCT FROM "
        "s.updated AND t.version IS NOT DISTINCT FROM s.version)"
    ).fetchall()
    return int(left) == 0


def _log_port_changes(db: duckdb.DuckDBPyConnection, *, full: bool) -> None:
    """Record ports that ``stage`` creates, moves or removes in ``pdb_netixlan_log``."""
    gone = "s.id IS NULL OR s.status <> 'ok'" if full else "s.status <> 'ok'"
    db.execute(
        f"""
        INSERT INTO pdb_netixlan_log
        SELECT now()::TIMESTAMP, t.id, t.asn, t.ixlan_id,
               CASE WHEN {gone} THEN 'deleted' ELSE 'moved' END,
               t.ipaddr4, CASE WHEN {gone} THEN NULL ELSE s.ipaddr4 END,
               t.ipaddr6, CASE WHEN {gone} THEN NULL ELSE s.ipaddr6 END
        FROM pdb_netixlan t LEFT JOIN stage s USING (id)
        WHERE ({gone}) IS TRUE
           OR (s.status = 'ok' AND (s.ipaddr4 IS DISTINCT FROM t.ipaddr4
                                    OR s.ipaddr6 IS DISTINCT FROM t.ipaddr6))
        """
    )
    db.execute(
        """
        INSERT INTO pdb_netixlan_log
        SELECT now()::TIMESTAMP, s.id, s.asn, s.ixlan_id, 'created', NULL, s.ipaddr4, NULL,
               s.ipaddr6
        FROM stage s ANTI JOIN pdb_netixlan t USING (id)
        WHERE s.status = 'ok' AND EXISTS (SELECT 1 FROM pdb_netixlan)
        """
    )


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
