"""Drift: what PeeringDB changed under the peers we want, from the changes each
sync recorded in ``pdb_netixlan_log``."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb

from nornir_peering.inventory.cache import IXInfo
from nornir_peering.inventory.checks import Problem
from nornir_peering.inventory.intent import PeeringIntent


def drift(
    db: duckdb.DuckDBPyConnection, ixes: dict[str, IXInfo], intent: PeeringIntent, days: int
) -> list[Problem]:
    """Wanted peers whose ports PeeringDB moved or removed in the last ``days`` days."""
    wanted = {
        (ixes[slug].ixlan_id, p.asn): slug for slug, ix in intent.ixes.items() for p in ix.peers
    }
    since = datetime.now() - timedelta(days=days)
    rows = db.execute(
        "SELECT logged_at, ixlan_id, asn, change, ipaddr4_old, ipaddr4_new, ipaddr6_old, "
        "ipaddr6_new FROM pdb_netixlan_log WHERE logged_at >= ? AND change <> 'created' "
        "AND ixlan_id IN (SELECT unnest(?)) ORDER BY logged_at, netixlan_id",
        [since, [info.ixlan_id for info in ixes.values()]],
    ).fetchall()
    problems = []
    for when, ixlan, asn, change, v4_old, v4_new, v6_old, v6_new in rows:
        slug = wanted.get((ixlan, asn))
        if slug is None:
            continue
        day = when.strftime("%Y-%m-%d")
        if change == "deleted":
            old = ", ".join(a for a in (v4_old, v6_old) if a)
            problems.append(
                Problem(
                    "left-ix",
                    f"AS{asn} at {slug}: PeeringDB removed its port {old} on {day}",
                    slug,
                    asn,
                )
            )
            continue
        moves = [
            f"{o or 'none'} → {n or 'none'}"
            for o, n in ((v4_old, v4_new), (v6_old, v6_new))
            if o != n
        ]
        problems.append(
            Problem(
                "address-changed",
                f"AS{asn} at {slug}: address changed "
                f"{', '.join(moves)} on {day}; the session moves",
                slug,
                asn,
            )
        )
    return problems
