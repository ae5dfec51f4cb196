"""The polled BGP state: ``bgp_sessions`` (the last state of every session) and
``bgp_session_history`` (every change of state). The one module that names their
columns; rows go in and out as plain dicts keyed by column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import duckdb

SESSION_COLUMNS = (
    "router",
    "vrf",
    "remote_address",
    "remote_asn",
    "wanted",  # the inventory asks for it
    "configured",  # the router has it
    "state",  # BGP state, or "not configured"
    "received_prefixes",
    "accepted_prefixes",
    "advertised_prefixes",
    "max_prefix",
    "uptime",
    "last_established",
    "polled_at",
    "stale",  # the router could not be polled since
)
HISTORY_COLUMNS = (
    "changed_at",
    "router",
    "vrf",
    "remote_address",
    "remote_asn",
    "old_state",
    "new_state",
)


def replace_router(
    db: duckdb.DuckDBPyConnection,
    router: str,
    sessions: Iterable[Mapping[str, Any]],
    now: datetime,
) -> list[dict[str, Any]]:
    """Replace ``router``'s rows with ``sessions`` (dicts with the session columns but
    ``router``, ``last_established``, ``polled_at`` and ``stale``), and add a history row
    for each change of state: one statement each, whatever the number of sessions.
    Returns the rows written."""
    previous = {
        (vrf, address): (state, established)
        for vrf, address, state, established in db.execute(
            "SELECT vrf, remote_address, state, last_established FROM bgp_sessions "
            "WHERE router = ?",
            [router],
        ).fetchall()
    }
    rows, changes = [], []
    for session in sessions:
        key = (session["vrf"], session["remote_address"])
        old_state, established = previous.get(key, (None, None))
        up = session["state"] == "Established"
        rows.append(
            {
                **session,
                "router": router,
                "last_established": now if up else established,
                "polled_at": now,
                "stale": False,
            }
        )
        if old_state != session["state"]:
            changes.append(
                {
                    "changed_at": now,
                    "router": router,
                    "vrf": key[0],
                    "remote_address": key[1],
                    "remote_asn": session["remote_asn"],
                    "old_state": old_state,
                    "new_state": session["state"],
                }
            )
    db.execute("DELETE FROM bgp_sessions WHERE router = ?", [router])
    _insert(db, "bgp_sessions", SESSION_COLUMNS, rows)
    _insert(db, "bgp_session_history", HISTORY_COLUMNS, changes)
    return rows


def mark_stale(db: duckdb.DuckDBPyConnection, router: str) -> list[dict[str, Any]]:
    """An unreachable router: its sessions keep their last state, marked stale."""
    db.execute("UPDATE bgp_sessions SET stale = true WHERE router = ?", [router])
    return select_rows(
        db, "bgp_sessions", SESSION_COLUMNS, ["router = ?"], [router], "vrf, remote_address"
    )


def last_states(db: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Every stored session by (router, vrf, remote address)."""
    rows = select_rows(db, "bgp_sessions", SESSION_COLUMNS, [], [], "router")
    return {(r["router"], r["vrf"], r["remote_address"]): r for r in rows}


# what ``nornir-peering sessions`` lists, in its order
LISTED_COLUMNS = (
    "router",
    "vrf",
    "remote_address",
    "remote_asn",
    "state",
    "received_prefixes",
    "accepted_prefixes",
    "advertised_prefixes",
    "max_prefix",
    "last_established",
    "polled_at",
    "stale",
    "wanted",
    "configured",
)


def stored(
    db: duckdb.DuckDBPyConnection,
    routers: list[str],
    *,
    history: bool = False,
    state: str | None = None,
    asn: int | None = None,
    sessions: list[tuple[str, str, str]] | None = None,
) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
    """The stored sessions of ``routers`` (or their changes of state, with ``history``),
    and the columns they have: those in ``state`` (any case), of ``asn``, and among
    ``sessions`` (router, VRF, remote address) when given."""
    columns = HISTORY_COLUMNS if history else LISTED_COLUMNS
    where: list[str] = ["router IN (SELECT unnest(?))"]
    params: list[Any] = [routers]
    if state is not None:
        where.append(f"lower({'new_state' if history else 'state'}) = lower(?)")
        params.append(state)
    if asn is not None:
        where.append("remote_asn = ?")
        params.append(asn)
    if sessions is not None:
        where.append("list_contains(?, [router, vrf, remote_address])")
        params.append([list(key) for key in sessions])
    table = "bgp_session_history" if history else "bgp_sessions"
    order = "changed_at, router, remote_address" if history else "router, vrf, remote_address"
    return columns, select_rows(db, table, columns, where, params, order)


def select_rows(
    db: duckdb.DuckDBPyConnection,
    table: str,
    columns: Iterable[str],
    where: list[str],
    params: list[Any],
    order: str,
) -> list[dict[str, Any]]:
    """Rows of ``table`` as dicts; ``where`` conditions are ANDed."""
    names = list(columns)
    condition = f" WHERE {' AND '.join(where)}" if where else ""
    result = db.execute(
        f"SELECT {', '.join(names)} FROM {table}{condition} ORDER BY {order}", params
    ).fetchall()
    return [dict(zip(names, row, strict=True)) for row in result]


def _insert(
    db: duckdb.DuckDBPyConnection,
    table: str,
    columns: tuple[str, ...],
    rows: list[dict[str, Any]],
) -> None:
    """One multi-row INSERT naming its columns."""
    if not rows:
        return
    marks = "(" + ", ".join("?" * len(columns)) + ")"
    db.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([marks] * len(rows))}",
        [row[column] for row in rows for column in columns],
    )
