"""The IXes' IX-F member exports in the state file (migration 5).

``ixf_export``
    per IX LAN: the export's ``url``, when the last good one was fetched
    (``fetched_at``), when it was last tried (``checked_at``) and why that failed
    (``error``, NULL when it did not).
``ixf_member``
    the last good export's members: ``ixlan_id, asn, name, ipaddr4, ipaddr6,
    is_rs_peer, operational``, one row per member connection (canonical addresses).

A failed fetch records its error and keeps the members of the last good export; a LAN
whose PeeringDB record no longer names an export loses its rows (:func:`forget`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from nornir_peering.store.connection import transaction


@dataclass(frozen=True)
class Export:
    """What fetching one IX LAN's export gave: its members, or an error."""

    ixlan_id: int
    url: str
    checked_at: datetime
    members: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    error: str | None = None


def store(db: duckdb.DuckDBPyConnection, exports: Sequence[Export]) -> None:
    """Record ``exports`` in one transaction: a good one replaces its LAN's members, a
    failed one only says so."""
    with transaction(db):
        for found in exports:
            good = found.error is None
            db.execute(
                "INSERT INTO ixf_export VALUES (?, ?, ?, ?, ?) ON CONFLICT (ixlan_id) DO UPDATE "
                "SET url = excluded.url, checked_at = excluded.checked_at, "
                "error = excluded.error, "
                "fetched_at = coalesce(excluded.fetched_at, ixf_export.fetched_at)",
                [
                    found.ixlan_id,
                    found.url,
                    found.checked_at if good else None,
                    found.checked_at,
                    found.error,
                ],
            )
            if good:
                db.execute("DELETE FROM ixf_member WHERE ixlan_id = ?", [found.ixlan_id])
                if found.members:  # one statement, whatever the number of members
                    db.execute(
                        "INSERT INTO ixf_member SELECT ?, asn, name, ipaddr4, ipaddr6, "
                        "is_rs_peer, operational FROM (SELECT unnest(?::STRUCT(asn BIGINT, "
                        "name VARCHAR, ipaddr4 VARCHAR, ipaddr6 VARCHAR, is_rs_peer BOOLEAN, "
                        "operational BOOLEAN)[], recursive := true))",
                        [found.ixlan_id, list(found.members)],
                    )


def forget(db: duckdb.DuckDBPyConnection, ixlans: Sequence[int]) -> None:
    """Drop what is stored of the exports of ``ixlans`` (PeeringDB names none for them now)."""
    with transaction(db):
        for table in ("ixf_member", "ixf_export"):
            db.execute(
                f"DELETE FROM {table} WHERE ixlan_id IN (SELECT unnest(?::BIGINT[]))",
                [list(ixlans)],
            )


def exports(db: duckdb.DuckDBPyConnection, ixlans: Sequence[int]) -> list[dict[str, Any]]:
    """The recorded state of the exports of ``ixlans``."""
    result = db.execute(
        "SELECT ixlan_id, url, fetched_at, checked_at, error FROM ixf_export "
        "WHERE ixlan_id IN (SELECT unnest(?::BIGINT[])) ORDER BY ixlan_id",
        [list(ixlans)],
    )
    names = [c[0] for c in result.description or ()]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
