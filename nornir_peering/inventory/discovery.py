"""Who is at our IXes that we do not peer with yet: PeeringDB's members of each IX LAN
we are on, against the sessions the inventory has, joined in DuckDB.

One query per question, whatever the number of IXes and members; Python only hands
over our ports and sessions (as lists of structs) and reads the answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import duckdb

# Peering Manager's and PeeringDB's values of policy_general, most willing first
POLICIES = ("Open", "Selective", "Restrictive", "No")


@dataclass(frozen=True)
class OurPort:
    """One of our routers' addresses on an IX LAN, in one family."""

    router: str
    ix: str  # the inventory's key of the IX
    ixlan_id: int
    family: int  # 4 or 6


@dataclass(frozen=True)
class OurSession:
    """An IX session the inventory has on a router."""

    router: str
    ix: str
    family: int
    remote_asn: int
    remote_address: str
    vrf: str


# what an engineer decides with, per row (the ``--json`` keys, in this order)
ROW_COLUMNS = (
    "router",
    "ix",
    "family",
    "asn",
    "name",
    "address",
    "policy_general",
    "is_rs_peer",
    "never_via_route_servers",
    "operational",
    "prefixes",
    "shared_ixes",
    "source",
)

# The default ranking: open policy first, then more prefixes (in the family), more of
# our IXes shared, and peers we cannot reach through the route servers (not on them, or
# asking never to be) before those we can; ties by ASN and address.
RANKING = """
    list_position(?, policy_general) NULLS LAST,
    prefixes DESC NULLS LAST,
    shared_ixes DESC,
    (NOT is_rs_peer OR coalesce(never_via_route_servers, false)) DESC,
    asn, family, address, router
"""


def missing_peers(
    db: duckdb.DuckDBPyConnection,
    ports: Sequence[OurPort],
    sessions: Sequence[OurSession],
    exclude: Iterable[int],
) -> list[dict[str, Any]]:
    """Every member address on the LANs of ``ports``, in each port's family, that has no
    session on that router: PeeringDB's ``netixlan`` rows with status ``ok`` (a
    non-operational one is listed, with ``operational`` false) and the IX-F exports'
    members (``source``: ``peeringdb``, ``ixf`` or ``both``), without the ASNs in
    ``exclude`` (ours, the ignored ones), ranked (:data:`RANKING`)."""
    if not ports:
        return []
    result = db.execute(
        f"""
        WITH ports AS (SELECT unnest(?::STRUCT(router VARCHAR, ix VARCHAR, ixlan_id BIGINT,
                                              family INTEGER)[], recursive := true)),
        have AS (SELECT unnest(?::STRUCT(router VARCHAR, address VARCHAR)[],
                               recursive := true)),
        -- every port either source lists: PeeringDB's netixlan, the IX's IX-F export
        listed AS (
            SELECT ixlan_id, asn, lower(ipaddr4) AS ipaddr4, lower(ipaddr6) AS ipaddr6,
                   coalesce(is_rs_peer, false) AS is_rs_peer,
                   coalesce(operational, true) AS operational, NULL AS name, 'peeringdb' AS src
            FROM pdb_netixlan WHERE status = 'ok'
            UNION ALL
            SELECT ixlan_id, asn, ipaddr4, ipaddr6, is_rs_peer, true, name, 'ixf'
            FROM ixf_member
        ),
        members AS (
            SELECT * FROM listed
            WHERE ixlan_id IN (SELECT ixlan_id FROM ports)
              AND asn NOT IN (SELECT unnest(?::BIGINT[]))
        ),
        shared AS (SELECT asn, count(DISTINCT ixlan_id) AS shared_ixes FROM members GROUP BY asn),
        addresses AS (
            SELECT p.router, p.ix, p.family, m.asn,
                   CASE p.family WHEN 4 THEN m.ipaddr4 ELSE m.ipaddr6 END AS address,
                   m.is_rs_peer, m.operational, m.name, m.src
            FROM ports p JOIN members m USING (ixlan_id)
        ),
        candidates AS (
            SELECT router, ix, family, asn, address,
                   bool_or(is_rs_peer) AS is_rs_peer,
                   coalesce(bool_and(operational) FILTER (WHERE src = 'peeringdb'), true)
                       AS operational,
                   any_value(name) FILTER (WHERE src = 'ixf') AS ixf_name,
                   CASE WHEN count(DISTINCT src) = 2 THEN 'both' ELSE any_value(src) END
                       AS source
            FROM addresses WHERE address IS NOT NULL GROUP BY ALL
        ),
        rows AS (
            SELECT c.router, c.ix, c.family, c.asn, coalesce(n.name, c.ixf_name) AS name,
                   c.address, n.policy_general,
                   c.is_rs_peer, n.info_never_via_route_servers AS never_via_route_servers,
                   c.operational,
                   CASE c.family WHEN 4 THEN n.info_prefixes4 ELSE n.info_prefixes6 END
                       AS prefixes,
                   s.shared_ixes, c.source
            FROM candidates c
            JOIN shared s USING (asn)
            LEFT JOIN pdb_net n ON n.asn = c.asn AND n.status = 'ok'
            WHERE NOT EXISTS (
                  SELECT 1 FROM have h WHERE h.router = c.router AND h.address = c.address
              )
        )
        SELECT DISTINCT ON (router, address) {", ".join(ROW_COLUMNS)} FROM rows
        ORDER BY {RANKING}
        """,
        [
            [asdict(p) for p in ports],
            [{"router": s.router, "address": s.remote_address.lower()} for s in sessions],
            sorted(set(exclude)),
            list(POLICIES),
        ],
    )
    return _dicts(result)


def one_family(
    db: duckdb.DuckDBPyConnection, ports: Sequence[OurPort], sessions: Sequence[OurSession]
) -> list[dict[str, Any]]:
    """Peers we have sessions with on a router at an IX in one family only, where
    PeeringDB lists them in the other too: per row the family and the peer's address we
    lack, and whether our connection there has an address in that family at all
    (``our_port``: false means the fix is ours)."""
    if not sessions:
        return []
    result = db.execute(
        """
        WITH ports AS (SELECT unnest(?::STRUCT(router VARCHAR, ix VARCHAR, ixlan_id BIGINT,
                                              family INTEGER)[], recursive := true)),
        have AS (SELECT unnest(?::STRUCT(router VARCHAR, ix VARCHAR, family INTEGER,
                                         remote_asn BIGINT)[], recursive := true)),
        single AS (
            SELECT router, ix, remote_asn AS asn, min(family) AS family
            FROM have GROUP BY ALL HAVING count(DISTINCT family) = 1
        ),
        lans AS (SELECT DISTINCT router, ix, ixlan_id FROM ports),
        rows AS (
            SELECT s.router, s.ix, 10 - s.family AS family, s.asn, n.name,
                   lower(CASE s.family WHEN 4 THEN m.ipaddr6 ELSE m.ipaddr4 END) AS address,
                   EXISTS (SELECT 1 FROM ports p WHERE p.router = s.router AND p.ix = s.ix
                           AND p.family = 10 - s.family) AS our_port
            FROM single s
            JOIN lans l USING (router, ix)
            JOIN pdb_netixlan m ON m.ixlan_id = l.ixlan_id AND m.asn = s.asn
                               AND m.status = 'ok'
            LEFT JOIN pdb_net n ON n.asn = s.asn AND n.status = 'ok'
        )
        SELECT * FROM rows WHERE address IS NOT NULL ORDER BY router, ix, asn, address
        """,
        [
            [asdict(p) for p in ports],
            [
                {"router": s.router, "ix": s.ix, "family": s.family, "remote_asn": s.remote_asn}
                for s in sessions
            ],
        ],
    )
    return _dicts(result)


def ixf_disagreements(
    db: duckdb.DuckDBPyConnection, ports: Sequence[OurPort], exclude: Iterable[int]
) -> list[dict[str, Any]]:
    """Members whose addresses in a family differ between PeeringDB and the IX's IX-F
    export (both list the member in that family on that LAN, with other addresses)."""
    if not ports:
        return []
    result = db.execute(
        """
        WITH lans AS (SELECT DISTINCT ix, ixlan_id FROM (SELECT unnest(?::STRUCT(ix VARCHAR,
                                                  ixlan_id BIGINT)[], recursive := true))),
        pdb AS (
            SELECT ixlan_id, asn, family, list(DISTINCT address ORDER BY address) AS addresses
            FROM (SELECT ixlan_id, asn, 4 AS family, lower(ipaddr4) AS address
                  FROM pdb_netixlan WHERE status = 'ok'
                  UNION ALL
                  SELECT ixlan_id, asn, 6, lower(ipaddr6) FROM pdb_netixlan WHERE status = 'ok')
            WHERE address IS NOT NULL GROUP BY ALL
        ),
        ixf AS (
            SELECT ixlan_id, asn, family, list(DISTINCT address ORDER BY address) AS addresses
            FROM (SELECT ixlan_id, asn, 4 AS family, ipaddr4 AS address FROM ixf_member
                  UNION ALL SELECT ixlan_id, asn, 6, ipaddr6 FROM ixf_member)
            WHERE address IS NOT NULL GROUP BY ALL
        )
        SELECT l.ix, asn, family, p.addresses AS peeringdb, x.addresses AS ixf
        FROM lans l JOIN pdb p USING (ixlan_id) JOIN ixf x USING (ixlan_id, asn, family)
        WHERE p.addresses <> x.addresses AND asn NOT IN (SELECT unnest(?::BIGINT[]))
        ORDER BY l.ix, asn, family
        """,
        [[{"ix": p.ix, "ixlan_id": p.ixlan_id} for p in ports], sorted(set(exclude))],
    )
    return _dicts(result)


def never_established(
    db: duckdb.DuckDBPyConnection,
    sessions: Sequence[OurSession],
    *,
    now: datetime,
    after: timedelta = timedelta(days=1),
) -> list[dict[str, Any]]:
    """The inventory's IX sessions that the polled state has seen down for more than
    ``after``: never Established since first polled, or not since ``last_established``."""
    if not sessions:
        return []
    result = db.execute(
        """
        WITH wanted AS (SELECT unnest(?::STRUCT(router VARCHAR, ix VARCHAR, family INTEGER,
                                                remote_asn BIGINT, remote_address VARCHAR,
                                                vrf VARCHAR)[], recursive := true)),
        first_seen AS (
            SELECT router, vrf, remote_address, min(changed_at) AS first_seen
            FROM bgp_session_history GROUP BY ALL
        )
        SELECT w.router, w.ix, w.family, w.remote_asn AS asn, w.remote_address AS address,
               b.state, b.last_established, f.first_seen,
               coalesce(b.last_established, f.first_seen) AS down_since
        FROM wanted w
        JOIN bgp_sessions b USING (router, vrf, remote_address)
        LEFT JOIN first_seen f USING (router, vrf, remote_address)
        WHERE b.state <> 'Established' AND b.configured
          AND coalesce(b.last_established, f.first_seen, b.polled_at) < ?
        ORDER BY down_since, router, address
        """,
        [[asdict(s) for s in sessions], now - after],
    )
    return _dicts(result)


def _dicts(result: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [column[0] for column in result.description or ()]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
