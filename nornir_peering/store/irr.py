"""The IRR lists of the state file, and the guards that keep a good list from being lost.

Per AS and family (``4``, ``6``: a prefix list; ``0``: the AS-path list, the
member ASNs of its AS-SETs), three tables (migration 4):

``irr_list``
    one row per stored list: what was expanded (``objects``, as bgpq takes them),
    ``host``, ``sources``, ``program`` (with its version: ``bgpq4 1.9``),
    ``commands`` (each run's command line), ``count`` (prefixes or ASNs),
    ``fetched_at`` (the IRR last answered this list), ``changed_at`` (the list
    last changed), ``checked_at``, ``status`` and ``message`` (the last attempt and
    what came of it: a list kept after a failure says so here). Times are UTC.
``irr_prefix``
    ``asn, family, seq, prefix, exact, greater_equal, less_equal``: the entries in
    bgpq's JSON shape (:class:`~nornir_peering.irr.PrefixEntry`), ``seq`` their order.
``irr_asn``
    ``asn, member_asn``: the AS-path lists.

How answers become lists (:func:`plan_updates`, then :func:`apply`):

- A list is the union of the answers of all the AS's objects in that family (an
  AS with two AS-SETs: both sets' prefixes, each entry once, in the order of the
  objects and of bgpq's answers). Lists are replaced whole, never merged with
  what was stored.
- If any object of an AS and family failed (or its answer cannot be stored), the
  list is ``failed`` and stays exactly as it was: half a union is a shrunken list
  that would pass the guards.
- A list the IRR answers empty is stored, unless it replaces a non-empty one: an
  empty stored list means "the IRR has none" (an AS with no IPv6 routes), no row
  means "never fetched". :func:`read_lists` gives the two apart (an empty
  :class:`StoredList` or none at all); what a template does with each is its own
  policy.
- A list that would become empty, or shrink by more than ``max_shrink`` percent
  of its count, is ``held``: the stored one stays; with ``force`` it is applied
  (``updated``, :attr:`ListChange.forced`).
- A prefix list (families 4 and 6) of more than ``limit`` entries is
  ``skipped``: not stored, the stored one stays; ``force`` does not override it.
  AS-path lists have no limit.
- Lists the run did not ask about are left alone.

Rows go in through a CSV file read by DuckDB, staged once for planning and
applying, and out as one string per list, so that a million prefixes take
seconds, not minutes.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shlex
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import duckdb

from nornir_peering.irr import Fetched, PrefixEntry
from nornir_peering.store.connection import transaction

Status = Literal["new", "updated", "unchanged", "failed", "held", "skipped"]
AS_PATH = 0  # the family of an AS-path list
FAMILIES = (AS_PATH, 4, 6)
_APPLIED = ("new", "updated")  # the statuses that replace the stored list
_KEPT = ("failed", "held", "skipped")  # the stored list stays as it was

Key = tuple[int, int]  # (asn, family)


@dataclass(frozen=True)
class Replacement:
    """What :func:`apply` writes for one AS and family: the answer's provenance and
    its entries (``rows``, the bulk-load form; ``count`` of them after the union)."""

    objects: tuple[str, ...]
    host: str
    sources: tuple[str, ...]
    program: str
    commands: tuple[str, ...]
    fetched_at: datetime | None  # the oldest answer of the union; None: when applied
    rows: str = field(repr=False)
    count: int = 0
    stage: str = ""  # the plan's staged rows, if still there (see _stage)


@dataclass(frozen=True)
class ListChange:
    """What a run does to one AS's list in one family (``0``: the AS-path list).

    ``previous``: the entries stored before (None: no list stored); ``count``: the
    entries the IRR answered (None when it failed); ``added`` and ``removed``: the
    difference between the two, also for a list that is held or skipped.
    """

    asn: int
    family: int
    status: Status
    objects: tuple[str, ...] = ()
    added: int = 0
    removed: int = 0
    previous: int | None = None
    count: int | None = None
    message: str = ""
    forced: bool = False  # a held list applied by force
    replacement: Replacement | None = field(default=None, repr=False, compare=False)

    @property
    def applied(self) -> bool:
        """Whether :func:`apply` replaces the stored list with the IRR's answer."""
        return self.status in _APPLIED

    @property
    def kept(self) -> bool:
        """Whether a stored list stays although the IRR was asked for a new one."""
        return self.status in _KEPT and self.previous is not None


@dataclass(frozen=True)
class StoredList:
    """One stored list with its provenance: ``prefixes`` for families 4 and 6,
    ``asns`` (ascending) for the AS-path list (family 0)."""

    asn: int
    family: int
    objects: tuple[str, ...]
    host: str
    sources: tuple[str, ...]
    program: str
    commands: tuple[str, ...]
    count: int
    fetched_at: datetime
    changed_at: datetime
    checked_at: datetime
    status: str  # the last attempt's
    message: str | None  # why the list was kept at the last attempt, if it was
    prefixes: tuple[PrefixEntry, ...] = ()
    asns: tuple[int, ...] = ()


def plan_updates(
    db: duckdb.DuckDBPyConnection,
    fetched: Iterable[Fetched],
    *,
    max_shrink: int = 50,
    limit: int | None = None,
    force: bool = False,
) -> list[ListChange]:
    """What storing ``fetched`` would do, per AS and family, in the order they first
    appear; nothing is written (the module's docstring says how lists are decided).

    ``max_shrink``: the percent of its entries a stored list may lose; ``limit``:
    the most entries a prefix list may have (None: no limit); ``force``: apply the
    lists that would be held. Works on a read-only connection.
    """
    groups: dict[Key, list[Fetched]] = {}
    for answer in fetched:
        groups.setdefault((answer.asn, answer.family), []).append(answer)
    _drop_stages(db)  # an earlier plan's, never applied
    token = secrets.token_hex(6)
    stored = _stored(db, list(groups))
    changes: dict[Key, ListChange] = {}
    candidates: dict[Key, Replacement] = {}
    for key, group in groups.items():
        objects = tuple(dict.fromkeys(answer.object.text for answer in group))
        before = stored.get(key)
        previous = before[0] if before else None
        failures = [f"{a.object.text}: {a.error}" for a in group if a.error is not None]
        if not failures:
            try:
                candidates[key] = _replacement(key, group, objects, token)
                continue
            except _Unstorable as exc:
                failures = [str(exc)]
        changes[key] = ListChange(
            *key,
            "failed",
            objects,
            previous=previous,
            message=f"{'; '.join(failures)}; {_kept(before, key[1])}",
        )
    try:
        _stage(db, candidates, token)
        diffs = _diffs(db, token)
    except BaseException:
        _drop_stages(db)
        raise
    for key, replacement in candidates.items():
        count, added, removed, empty = diffs.get(key, (0, 0, 0, 0))
        before = stored.get(key)
        if empty:
            changes[key] = ListChange(
                *key,
                "failed",
                replacement.objects,
                previous=before[0] if before else None,
                message=f"{empty} empty prefix(es) in the answer; {_kept(before, key[1])}",
            )
            continue
        changes[key] = _decide(
            key,
            dataclasses.replace(replacement, count=count),
            before,
            added,
            removed,
            max_shrink=max_shrink,
            limit=limit,
            force=force,
        )
    return [changes[key] for key in groups]


def apply(
    db: duckdb.DuckDBPyConnection,
    changes: Sequence[ListChange],
    *,
    now: datetime | None = None,
) -> None:
    """Store what :func:`plan_updates` decided, in one transaction of its own (call it
    outside one): the applied lists replace the stored ones, and every stored list
    that was asked about records the attempt (``checked_at``, ``status``,
    ``message``; an unchanged one its new provenance too). A process killed on the
    way leaves the state as it was."""
    now = now or _utcnow()
    replaced = {
        (c.asn, c.family): c.replacement for c in changes if c.applied and c.replacement is not None
    }
    tokens = {r.stage for r in replaced.values()}
    try:
        token = tokens.pop() if len(tokens) == 1 else ""
        if token and _staged(db, token):
            _keys(db, token, list(replaced))  # the applied ones among the staged
        else:
            token = secrets.token_hex(6)
            _stage(db, replaced, token)
        with transaction(db):
            _write(db, changes, now, token)
    finally:
        _drop_stages(db)


def read_lists(
    db: duckdb.DuckDBPyConnection, asns: Iterable[int] | None = None
) -> dict[int, dict[int, StoredList]]:
    """The stored lists, of ``asns`` only if given: per ASN, per family (4, 6; 0 for
    the AS-path list). An AS or family never fetched is missing; one whose IRR has
    none has a list without entries."""
    where, params = "", []
    if asns is not None:
        where = " WHERE asn IN (SELECT unnest(?::BIGINT[]))"
        params = [sorted(set(asns))]
    prefixes: dict[Key, tuple[PrefixEntry, ...]] = {}
    exact, low, high = _Flag(0), _Flag(1), _Flag(2)
    for asn, family, text in db.execute(
        "SELECT asn, family, string_agg(concat(prefix, ' ', exact::INTEGER, greater_equal, "
        f"'-', less_equal), ' ' ORDER BY seq) FROM irr_prefix{where} GROUP BY asn, family",
        params,
    ).fetchall():
        words = text.split(" ")  # prefix, flags, prefix, flags...
        flags = words[1::2]
        prefixes[asn, family] = tuple(
            map(
                PrefixEntry,
                words[0::2],
                map(exact.__getitem__, flags),
                map(low.__getitem__, flags),
                map(high.__getitem__, flags),
            )
        )
    members: dict[int, tuple[int, ...]] = {
        asn: tuple(map(int, text.split(" ")))
        for asn, text in db.execute(
            "SELECT asn, string_agg(member_asn::VARCHAR, ' ' ORDER BY member_asn) "
            f"FROM irr_asn{where} GROUP BY asn",
            params,
        ).fetchall()
    }
    lists: dict[int, dict[int, StoredList]] = {}
    for row in db.execute(
        "SELECT asn, family, objects, host, sources, program, commands, count, fetched_at, "
        f"changed_at, checked_at, status, message FROM irr_list{where} ORDER BY asn, family",
        params,
    ).fetchall():
        asn, family, objects, host, sources, program, commands, count = row[:8]
        fetched_at, changed_at, checked_at, status, message = row[8:]
        lists.setdefault(asn, {})[family] = StoredList(
            asn,
            family,
            tuple(objects),
            host,
            tuple(sources),
            program,
            tuple(commands),
            count,
            fetched_at,
            changed_at,
            checked_at,
            status,
            message,
            prefixes=prefixes.get((asn, family), ()) if family != AS_PATH else (),
            asns=members.get(asn, ()) if family == AS_PATH else (),
        )
    return lists


# --- deciding ---------------------------------------------------------------------------


class _Unstorable(Exception):
    """An answer the store cannot take (the runner let something odd through)."""


def _decide(
    key: Key,
    replacement: Replacement,
    before: tuple[int, tuple[str, ...], datetime] | None,
    added: int,
    removed: int,
    *,
    max_shrink: int,
    limit: int | None,
    force: bool,
) -> ListChange:
    asn, family = key
    count = replacement.count
    previous = before[0] if before else None

    def change(status: Status, message: str = "", forced: bool = False) -> ListChange:
        return ListChange(
            asn,
            family,
            status,
            replacement.objects,
            added,
            removed,
            previous,
            count,
            message,
            forced,
            replacement,
        )

    noun = _noun(family)
    if family != AS_PATH and limit is not None and count > limit:
        kept = _kept(before, family)
        return change("skipped", f"{count} {noun}, over the limit of {limit}; {kept}")
    if before is None:
        return change("new", f"{count} {noun}" if count else f"no {noun}: the IRR has none")
    if added == 0 and removed == 0:
        return change("unchanged")
    assert previous is not None
    renamed = ""
    if before[1] != replacement.objects:
        renamed = f" (objects were {', '.join(before[1]) or 'none'})"
    held = ""
    if count == 0:
        held = f"would become empty ({previous} → 0)"
    elif previous and (previous - count) * 100 > max_shrink * previous:
        shrink = (previous - count) * 100 / previous
        held = (
            f"would shrink by {shrink:.0f}% ({previous} → {count}), "
            f"more than max_shrink {max_shrink}%"
        )
    if held and not force:
        return change("held", f"{held}{renamed}; {_kept(before, key[1])}; force applies it")
    if held:
        return change("updated", f"forced: {held}{renamed}", forced=True)
    return change("updated", f"+{added} -{removed} ({previous} → {count}){renamed}")


def _kept(before: tuple[int, tuple[str, ...], datetime] | None, family: int) -> str:
    if before is None:
        return "none stored"
    count, _, fetched_at = before
    return (
        f"kept the stored list ({count} {_noun(family)}, fetched {fetched_at:%Y-%m-%d %H:%M} UTC)"
    )


def _noun(family: int) -> str:
    return "ASNs" if family == AS_PATH else "prefixes"


def _stored(
    db: duckdb.DuckDBPyConnection, keys: list[Key]
) -> dict[Key, tuple[int, tuple[str, ...], datetime]]:
    """The stored lists among ``keys``: their count, objects and when fetched."""
    if not keys:
        return {}
    rows = db.execute(
        "SELECT l.asn, l.family, l.count, l.objects, l.fetched_at FROM irr_list l "
        "SEMI JOIN (SELECT unnest(?::BIGINT[]) AS asn, unnest(?::TINYINT[]) AS family) k "
        "ON l.asn = k.asn AND l.family = k.family",
        [[asn for asn, _ in keys], [family for _, family in keys]],
    ).fetchall()
    return {(asn, family): (count, tuple(objects), at) for asn, family, count, objects, at in rows}


def _replacement(
    key: Key, group: list[Fetched], objects: tuple[str, ...], stage: str
) -> Replacement:
    """The union of one AS and family's answers, ready to be staged."""
    asn, family = key
    if family not in FAMILIES:
        raise _Unstorable(f"no such family {family!r} (4, 6, or 0 for the AS-path list)")
    if type(asn) is not int or not 0 < asn < 1 << 32:
        raise _Unstorable(f"not an AS number: {asn!r}")
    rows = _asn_rows(asn, group) if family == AS_PATH else _prefix_rows(asn, family, group)
    times = [a.fetched_at for a in group if a.fetched_at is not None]
    return Replacement(
        objects=objects,
        host=", ".join(dict.fromkeys(a.host for a in group if a.host)),
        sources=tuple(dict.fromkeys(s for a in group for s in a.sources)),
        program=", ".join(dict.fromkeys(a.program for a in group if a.program)),
        commands=tuple(shlex.join(a.command) for a in group if a.command),
        fetched_at=min(times) if times else None,
        rows=rows,
        stage=stage,
    )


# bulk-load forms of a length and of the exact flag; a KeyError for anything else
_LENGTH: dict[int | None, str] = {None: "", **{n: str(n) for n in range(129)}}
_FLAG = {True: "1", False: "0"}


def _prefix_rows(asn: int, family: int, group: list[Fetched]) -> str:
    """CSV rows ``asn,family,seq,prefix,exact,greater_equal,less_equal``."""
    lines: list[str] = []
    head = f"{asn},{family},"
    try:
        for answer in group:
            start = len(lines)
            lines += [
                f"{head}{seq},{e.prefix},{_FLAG[e.exact]},"
                f"{_LENGTH[e.greater_equal]},{_LENGTH[e.less_equal]}"
                for seq, e in enumerate(answer.prefixes, start)
            ]
    except (KeyError, TypeError, AttributeError) as exc:
        raise _Unstorable(f"{answer.object.text}: not a prefix entry ({exc!r})") from None
    text = "\n".join(lines)
    # a prefix with a separator in it would make rows or columns of its own, here or
    # in read_lists (an empty one is loaded as NULL, and counted by _diffs)
    if (
        text.count("\n") != max(len(lines) - 1, 0)
        or text.count(",") != 6 * len(lines)
        or " " in text
    ):
        raise _Unstorable("a prefix with ',', a space or a line break in it")
    return text


def _asn_rows(asn: int, group: list[Fetched]) -> str:
    """CSV rows ``asn,member_asn``."""
    members = [m for answer in group for m in answer.asns]
    if not all(type(m) is int and 0 < m < 1 << 32 for m in members):
        raise _Unstorable("a member that is no AS number")
    return "\n".join(f"{asn},{m}" for m in members)


# --- staging ----------------------------------------------------------------------------
#
# plan_updates loads the answers into temporary tables (a CSV file read by DuckDB:
# rows through Python parameters would take minutes), named after a token that its
# Replacements carry; apply writes from them when they are still there, and loads
# the Replacements' rows again when not (a plan applied on another connection, or
# after a later plan). Each plan drops the stages before it.

_PREFIX_COLUMNS = {
    "asn": "BIGINT",
    "family": "TINYINT",
    "seq": "INTEGER",
    "prefix": "VARCHAR",
    "exact": "BOOLEAN",
    "greater_equal": "SMALLINT",
    "less_equal": "SMALLINT",
}
_ASN_COLUMNS = {"asn": "BIGINT", "member_asn": "BIGINT"}
_STAGE_PREFIX = "irr_stage_"


def _table(token: str, part: str) -> str:
    """The temporary table ``part`` (keys, prefix, asn) of the stage ``token``."""
    return f"temp.{_STAGE_PREFIX}{token}_{part}"


def _stage(db: duckdb.DuckDBPyConnection, lists: Mapping[Key, Replacement], token: str) -> None:
    """``lists`` into the stage ``token``: ``keys`` (asn, family), ``prefix`` and ``asn``
    (the columns of ``irr_prefix`` and ``irr_asn``), each entry once."""
    _keys(db, token, list(lists))
    prefix_rows = [r.rows for (_, f), r in lists.items() if r.rows and f != AS_PATH]
    asn_rows = [r.rows for (_, f), r in lists.items() if r.rows and f == AS_PATH]
    _load(db, _table(token, "prefix"), _PREFIX_COLUMNS, prefix_rows, first="seq")
    _load(db, _table(token, "asn"), _ASN_COLUMNS, asn_rows)


def _keys(db: duckdb.DuckDBPyConnection, token: str, keys: list[Key]) -> None:
    db.execute(
        f"CREATE OR REPLACE TEMP TABLE {_table(token, 'keys')} AS "
        "SELECT unnest(?::BIGINT[]) AS asn, unnest(?::TINYINT[]) AS family",
        [[asn for asn, _ in keys], [family for _, family in keys]],
    )


def _load(
    db: duckdb.DuckDBPyConnection,
    table: str,
    columns: dict[str, str],
    chunks: list[str],
    first: str = "",
) -> None:
    """The CSV ``chunks`` into the temporary ``table``, each row once (the ``first``
    of rows alike but for that column)."""
    if not chunks:
        empty = ", ".join(f"NULL::{kind} AS {name}" for name, kind in columns.items())
        db.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {empty} LIMIT 0")
        return
    keys = [name for name in columns if name != first]
    if first:
        select = f"{', '.join(keys)}, min({first}) AS {first}"
        group = f" GROUP BY {', '.join(keys)}"
    else:
        select, group = "DISTINCT *", ""
    fd, path = tempfile.mkstemp(prefix="nornir-peering-irr-", suffix=".csv")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            for chunk in chunks:
                out.write(chunk)
                out.write("\n")
        db.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {select} FROM "
            "read_csv(?, header = false, delim = ',', quote = '', escape = '', "
            f"auto_detect = false, columns = ?){group}",
            [path, columns],
        )
    finally:
        os.unlink(path)


def _staged(db: duckdb.DuckDBPyConnection, token: str) -> bool:
    """Whether the stage ``token`` is on this connection."""
    [(found,)] = db.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?",
        [f"{_STAGE_PREFIX}{token}_asn"],
    ).fetchall()
    return bool(found)


def _drop_stages(db: duckdb.DuckDBPyConnection) -> None:
    """Every stage on this connection."""
    for (name,) in db.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary AND starts_with(table_name, ?)",
        [_STAGE_PREFIX],
    ).fetchall():
        db.execute(f'DROP TABLE IF EXISTS temp."{name}"')


def _diffs(db: duckdb.DuckDBPyConnection, token: str) -> dict[Key, tuple[int, int, int, int]]:
    """Per staged list: its entries, how many are added and removed against the stored
    one, and how many are empty prefixes. A list with no entries now and none stored
    has no row."""
    keys, prefix, asn = (_table(token, part) for part in ("keys", "prefix", "asn"))
    rows = db.execute(
        f"""
        WITH old AS (
            SELECT p.* FROM irr_prefix p SEMI JOIN {keys} k
            ON p.asn = k.asn AND p.family = k.family
        )
        SELECT coalesce(n.asn, o.asn), coalesce(n.family, o.family), count(n.asn),
               count(*) FILTER (WHERE o.asn IS NULL), count(*) FILTER (WHERE n.asn IS NULL),
               count(*) FILTER (WHERE n.asn IS NOT NULL AND n.prefix IS NULL)
        FROM {prefix} n FULL JOIN old o
          ON n.asn = o.asn AND n.family = o.family AND n.prefix = o.prefix
         AND n.exact = o.exact
         AND n.greater_equal IS NOT DISTINCT FROM o.greater_equal
         AND n.less_equal IS NOT DISTINCT FROM o.less_equal
        GROUP BY ALL
        UNION ALL
        SELECT coalesce(n.asn, o.asn), 0, count(n.asn),
               count(*) FILTER (WHERE o.asn IS NULL), count(*) FILTER (WHERE n.asn IS NULL), 0
        FROM {asn} n FULL JOIN (
            SELECT a.* FROM irr_asn a SEMI JOIN {keys} k ON a.asn = k.asn AND k.family = 0
        ) o ON n.asn = o.asn AND n.member_asn = o.member_asn
        GROUP BY ALL
        """
    ).fetchall()
    return {(asn, family): tuple(numbers) for asn, family, *numbers in rows}


# --- writing ----------------------------------------------------------------------------


def _write(
    db: duckdb.DuckDBPyConnection, changes: Sequence[ListChange], now: datetime, token: str
) -> None:
    """Inside :func:`apply`'s transaction: the lists of the stage ``token`` (whose
    ``keys`` are the applied ones) replacing the stored ones, then ``irr_list``."""
    keys, prefix, asn = (_table(token, part) for part in ("keys", "prefix", "asn"))
    for table, join in (
        ("irr_prefix", "irr_prefix.family = k.family"),
        ("irr_asn", "k.family = 0"),
        ("irr_list", "irr_list.family = k.family"),
    ):
        db.execute(f"DELETE FROM {table} USING {keys} k WHERE {table}.asn = k.asn AND {join}")
    db.execute(
        f"INSERT INTO irr_prefix BY NAME SELECT p.* FROM {prefix} p "
        f"SEMI JOIN {keys} k ON p.asn = k.asn AND p.family = k.family"
    )
    db.execute(
        f"INSERT INTO irr_asn BY NAME SELECT a.* FROM {asn} a "
        f"SEMI JOIN {keys} k ON a.asn = k.asn AND k.family = 0"
    )
    _insert_lists(
        db,
        [
            _list_row(c, c.replacement, now) | {"changed_at": now}
            for c in changes
            if c.applied and c.replacement is not None
        ],
    )
    # the others that have a stored list: the attempt, and an unchanged list's provenance
    _update_lists(
        db,
        [
            _list_row(c, c.replacement if c.status == "unchanged" else None, now)
            for c in changes
            if not c.applied and c.previous is not None
        ],
    )


_LIST_TYPES = {
    "asn": "BIGINT",
    "family": "TINYINT",
    "objects": "VARCHAR[]",
    "host": "VARCHAR",
    "sources": "VARCHAR[]",
    "program": "VARCHAR",
    "commands": "VARCHAR[]",
    "count": "BIGINT",
    "fetched_at": "TIMESTAMP",
    "changed_at": "TIMESTAMP",
    "checked_at": "TIMESTAMP",
    "status": "VARCHAR",
    "message": "VARCHAR",
}


def _list_row(change: ListChange, replacement: Replacement | None, now: datetime) -> dict[str, Any]:
    """An ``irr_list`` row; without ``replacement``, only the attempt (the rest NULL)."""
    row: dict[str, Any] = dict.fromkeys(_LIST_TYPES)
    row |= {
        "asn": change.asn,
        "family": change.family,
        "checked_at": now,
        "status": change.status,
        "message": change.message if change.status in _KEPT or change.forced else None,
    }
    if replacement is not None:
        row |= {
            "objects": list(replacement.objects),
            "host": replacement.host,
            "sources": list(replacement.sources),
            "program": replacement.program,
            "commands": list(replacement.commands),
            "count": replacement.count,
            "fetched_at": replacement.fetched_at or now,
        }
    return row


def _unnest(rows: list[dict[str, Any]]) -> tuple[str, list[list[Any]]]:
    """``rows`` as a SELECT of one ``unnest`` per column, and its parameters."""
    select = ", ".join(f"unnest(?::{kind}[]) AS {name}" for name, kind in _LIST_TYPES.items())
    return f"SELECT {select}", [[row[name] for row in rows] for name in _LIST_TYPES]


def _insert_lists(db: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        select, params = _unnest(rows)
        db.execute(f"INSERT INTO irr_list BY NAME {select}", params)


def _update_lists(db: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """The attempt in each of ``rows``' stored lists, and the provenance where given.
    List columns are set only where they differ: DuckDB rewrites them slowly."""
    if not rows:
        return
    select, params = _unnest(rows)
    lists = ("objects", "sources", "commands")
    given = ("host", "program", "fetched_at")
    attempt = ("checked_at", "status", "message")
    settings = [f"{name} = coalesce(u.{name}, irr_list.{name})" for name in given]
    settings += [f"{name} = u.{name}" for name in attempt]
    match = "irr_list.asn = u.asn AND irr_list.family = u.family"
    db.execute(f"CREATE OR REPLACE TEMP TABLE irr_list_update AS {select}", params)
    try:
        db.execute(
            f"UPDATE irr_list SET {', '.join(settings)} FROM irr_list_update u WHERE {match}"
        )
        differ = " OR ".join(f"u.{name} IS DISTINCT FROM irr_list.{name}" for name in lists)
        db.execute(
            f"UPDATE irr_list SET {', '.join(f'{name} = u.{name}' for name in lists)} "
            f"FROM irr_list_update u WHERE {match} AND u.objects IS NOT NULL AND ({differ})"
        )
    finally:
        db.execute("DROP TABLE IF EXISTS temp.irr_list_update")


class _Flag(dict[str, Any]):
    """``exact`` (0), ``greater_equal`` (1) or ``less_equal`` (2) by the flags
    :func:`read_lists` fetches them as (``1-``, ``024-32``): few are distinct."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index

    def __missing__(self, flags: str) -> Any:
        low, _, high = flags[1:].partition("-")
        parts = (flags[0] == "1", int(low) if low else None, int(high) if high else None)
        self[flags] = parts[self.index]
        return parts[self.index]


def _utcnow() -> datetime:
    """Now in UTC, without a zone, as the store keeps times."""
    return datetime.now(tz=UTC).replace(tzinfo=None)
