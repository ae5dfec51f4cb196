"""Who is at our IXes that we do not peer with yet: PeeringDB's members of each IX LAN
we are on, against the sessions the inventory has, joined in DuckDB.

One query per question, whatever the number of IXes and members; Python only hands
over our ports and sessions (:class:`Ours`, loaded once by :func:`ours_loaded`) and
reads the answers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import duckdb

from nornir_peering.errors import ConfigError

# Peering Manager's and PeeringDB's values of policy_general, most willing first
POLICIES = ("Open", "Selective", "Restrictive", "No")


@dataclass
class Ours:
    """Our IX ports (router, IX, LAN, family) and our IX sessions, as lines of
    tab-separated fields that DuckDB splits itself: 35,000 sessions reach it in a few
    milliseconds this way (as a list of records or of columns, a tenth of a second and
    more)."""

    ports: list[str] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)
    lans: set[int] = field(default_factory=set)  # every LAN we are on, for shared_ixes

    def add_port(self, router: str, ix: str, ixlan_id: int, family: int, vrf: str) -> None:
        """One of our routers' addresses on an IX LAN, in ``family``, in ``vrf``."""
        self.ports.append(f"{_field(router)}\t{ix}\t{ixlan_id:d}\t{family:d}\t{vrf}")

    def add_sessions(self, router: str, sessions: Iterable[Mapping[str, Any]]) -> None:
        """``router``'s sessions (the inventory's session dicts, IX and direct ones, whose
        IX keys, group names, VRFs and canonical addresses ``peering.yaml``'s validation
        keeps to one field each)."""
        name = _field(router)
        self.sessions.extend(
            f"{name}\t{s['ix'] or ''}\t{s['family']}\t{s['remote_asn']}\t"
            f"{s['remote_address']}\t{s['vrf']}\t{'t' if s['enabled'] else 'f'}"
            for s in sessions
        )


def _field(text: str) -> str:
    """``text`` (a router's name) as one field of a line of :class:`Ours`."""
    if "\t" in text or "\n" in text:
        raise ConfigError(f"hosts.yaml: router {text!r}: a tab or a line break in its name")
    return text


@contextlib.contextmanager
def ours_loaded(db: duckdb.DuckDBPyConnection, ours: Ours) -> Iterator[None]:
    """``ours`` as the temporary tables ``our_ports`` and ``our_sessions`` of ``db``,
    which the queries here read, for the block."""
    split = "string_split(unnest(string_split(?, chr(10))), chr(9))"
    db.execute(
        "CREATE OR REPLACE TEMP TABLE our_ports AS SELECT f[1] AS router, f[2] AS ix, "
        f"f[3]::BIGINT AS ixlan_id, f[4]::INTEGER AS family, f[5] AS vrf FROM (SELECT {split} "
        "AS f) WHERE len(f) = 5",
        ["\n".join(ours.ports)],
    )
    db.execute(
        "CREATE OR REPLACE TEMP TABLE our_sessions AS SELECT f[1] AS router, "
        "nullif(f[2], '') AS ix, f[3]::INTEGER AS family, f[4]::BIGINT AS remote_asn, "
        "f[5] AS remote_address, f[6] AS vrf, f[7] = 't' AS enabled "
        f"FROM (SELECT {split} AS f) WHERE len(f) = 7",
        ["\n".join(ours.sessions)],
    )
    db.execute(
        "CREATE OR REPLACE TEMP TABLE our_lans AS SELECT unnest(?::BIGINT[]) AS ixlan_id",
        [sorted(ours.lans)],
    )
    try:
        yield
    finally:
        for table in ("our_ports", "our_sessions", "our_lans"):
            db.execute(f"DROP TABLE IF EXISTS {table}")


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


def missing_peers(db: duckdb.DuckDBPyConnection, exclude: Iterable[int]) -> list[dict[str, Any]]:
    """Every member address on the LANs of our ports, in each port's family, that has no
    session on that router: PeeringDB's ``netixlan`` rows with status ``ok`` (a
    non-operational one is listed, with ``operational`` false) and the IX-F exports'
    members (``source``: ``peeringdb``, ``ixf`` or ``both``), without the ASNs in
    ``exclude`` (ours, the ignored ones), ranked (:data:`RANKING`)."""
    result = db.execute(
        f"""
        WITH ports AS (SELECT * FROM our_ports),
        -- every port either source lists: PeeringDB's netixlan, the IX's IX-F export
        listed AS (
            SELECT ixlan_id, asn, lower(ipaddr4) AS ipaddr4, lower(ipaddr6) AS ipaddr6,
                   coalesce(is_rs_peer, false) AS is_rs_peer,
                   coalesce(operational, true) AS operational, NULL AS name, 'peeringdb' AS src
            FROM pdb_netixlan WHERE status = 'ok'
            UNION ALL
            SELECT ixlan_id, asn, ipaddr4, ipaddr6, is_rs_peer, operational, name, 'ixf'
            FROM ixf_member
        ),
        members AS (
            SELECT * FROM listed
            WHERE ixlan_id IN (SELECT ixlan_id FROM our_lans)
              AND asn NOT IN (SELECT unnest(?::BIGINT[]))
        ),
        -- over every LAN we are on, not only the ones asked about
        shared AS (SELECT asn, count(DISTINCT ixlan_id) AS shared_ixes FROM members GROUP BY asn),
        addresses AS (
            SELECT p.router, p.ix, p.vrf, p.family, m.asn,
                   CASE p.family WHEN 4 THEN m.ipaddr4 ELSE m.ipaddr6 END AS address,
                   m.is_rs_peer, m.operational, m.name, m.src
            FROM ports p JOIN members m USING (ixlan_id)
        ),
        candidates AS (
            SELECT router, ix, vrf, family, asn, address,
                   bool_or(is_rs_peer) AS is_rs_peer,
                   coalesce(bool_and(operational) FILTER (WHERE src = 'peeringdb'),
                            bool_and(operational)) AS operational,
                   any_value(name) FILTER (WHERE src = 'ixf') AS ixf_name,
                   CASE WHEN count(DISTINCT src) = 2 THEN 'both' ELSE any_value(src) END
                       AS source
            FROM addresses WHERE address IS NOT NULL GROUP BY ALL
        ),
        rows AS (
            SELECT c.router, c.ix, c.vrf, c.family, c.asn, coalesce(n.name, c.ixf_name) AS name,
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
                  SELECT 1 FROM our_sessions h
                  WHERE h.router = c.router AND h.vrf = c.vrf AND h.remote_address = c.address
              )
        )
        SELECT {", ".join(ROW_COLUMNS)} FROM rows ORDER BY {RANKING}
        """,
        [sorted(set(exclude)), list(POLICIES)],
    )
    # one row per router, address and AS (two inventory keys of one LAN would give two):
    # the first by rank, here rather than DISTINCT ON, which costs the query a third more
    seen: set[tuple[str, str, int]] = set()
    rows = []
    for row in _dicts(result):
        key = (row["router"], row["address"], row["asn"])
        if key not in seen:
            seen.add(key)
            rows.append(row)
    return rows


def one_family(db: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Peers we have sessions with on a router at an IX in one family only, where
    PeeringDB lists them in the other too: per row the family and the peer's address we
    lack, and whether our connection there has an address in that family at all
    (``our_port``: false means the fix is ours)."""
    result = db.execute(
        """
        WITH ports AS (SELECT * FROM our_ports),
        have AS (SELECT * FROM our_sessions WHERE ix IS NOT NULL),
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
        """
    )
    return _dicts(result)


def ixf_disagreements(
    db: duckdb.DuckDBPyConnection, exclude: Iterable[int]
) -> list[dict[str, Any]]:
    """Members whose addresses in a family differ between PeeringDB and the IX's IX-F
    export (both list the member in that family on that LAN, with other addresses)."""
    result = db.execute(
        """
        WITH lans AS (SELECT DISTINCT ix, ixlan_id FROM our_ports),
        pdb AS (
            SELECT ixlan_id, asn, family, list(DISTINCT address ORDER BY address) AS addresses
            FROM (SELECT ixlan_id, asn, 4 AS family, lower(ipaddr4) AS address
                  FROM pdb_netixlan WHERE status = 'ok'
                  UNION ALL
                  SELECT ixlan_id, asn, 6, lower(ipaddr6) FROM pdb_netixlan WHERE status = 'ok')
            WHERE address IS NOT NULL AND ixlan_id IN (SELECT ixlan_id FROM lans)
              AND ixlan_id IN (SELECT ixlan_id FROM ixf_member)  -- an export to compare with
            GROUP BY ALL
        ),
        ixf AS (
            SELECT ixlan_id, asn, family, list(DISTINCT address ORDER BY address) AS addresses
            FROM (SELECT ixlan_id, asn, 4 AS family, ipaddr4 AS address FROM ixf_member
                  UNION ALL SELECT ixlan_id, asn, 6, ipaddr6 FROM ixf_member)
            WHERE address IS NOT NULL AND ixlan_id IN (SELECT ixlan_id FROM lans) GROUP BY ALL
        )
        SELECT l.ix, asn, family, p.addresses AS peeringdb, x.addresses AS ixf
        FROM lans l JOIN pdb p USING (ixlan_id) JOIN ixf x USING (ixlan_id, asn, family)
        WHERE p.addresses <> x.addresses AND asn NOT IN (SELECT unnest(?::BIGINT[]))
        ORDER BY l.ix, asn, family
        """,
        [sorted(set(exclude))],
    )
    return _dicts(result)


def never_established(
    db: duckdb.DuckDBPyConnection, *, now: datetime, after: timedelta = timedelta(days=1)
) -> list[dict[str, Any]]:
    """The inventory's enabled IX sessions that the polled state has seen down for more
    than ``after``: never Established since the router has had them, or not since
    ``last_established``."""
    result = db.execute(
        """
        WITH wanted AS (SELECT * FROM our_sessions WHERE ix IS NOT NULL AND enabled),
        -- since when the router has had the session: its last arrival (the poll records
        -- a session not yet deployed as 'not configured', one seen anew without a state)
        first_seen AS (
            SELECT router, vrf, remote_address, max(changed_at) AS first_seen
            FROM bgp_session_history
            WHERE old_state IS NULL OR old_state = 'not configured'
            GROUP BY ALL
        ),
        down AS (
            SELECT w.router, w.ix, w.family, w.remote_asn AS asn, w.remote_address AS address,
                   b.state, b.last_established, f.first_seen,
                   -- the later of the two: a session up long ago, removed, then configured
                   -- again, has been down since it came back
                   CASE WHEN b.last_established IS NULL THEN f.first_seen
                        WHEN f.first_seen IS NULL THEN b.last_established
                        ELSE greatest(b.last_established, f.first_seen) END AS down_since,
                   b.polled_at
            FROM wanted w
            JOIN bgp_sessions b USING (router, vrf, remote_address)
            LEFT JOIN first_seen f USING (router, vrf, remote_address)
            WHERE b.state <> 'Established' AND b.configured
        )
        SELECT router, ix, family, asn, address, state, last_established, first_seen,
               down_since
        FROM down WHERE coalesce(down_since, polled_at) < ?
        ORDER BY down_since, router, address
        """,
        [now - after],
    )
    return _dicts(result)


def _dicts(result: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [column[0] for column in result.description or ()]
    return [dict(zip(names, row)) for row in result.fetchall()]  # noqa: B905 (same length)
