"""What the inventory reads from the PeeringDB cache: the IXes it names, the
networks it wants to peer with and their ports. One query each, whatever the
number of peers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any

import duckdb

from nornir_peering.inventory.files import IntentFile
from nornir_peering.inventory.intent import PeeringIntent


@dataclass(frozen=True)
class IXInfo:
    """An IX LAN as PeeringDB describes it."""

    slug: str  # its key in peering.yaml
    ix_id: int
    ixlan_id: int
    name: str
    rs_asn: int | None
    prefixes: tuple[IPv4Network | IPv6Network, ...]


@dataclass(frozen=True)
class NetInfo:
    """A network (``pdb_net``), as far as sessions need it."""

    name: str
    as_set: str | None
    prefixes4: int | None
    prefixes6: int | None
    route_server: bool


@dataclass(frozen=True)
class Port:
    """A network's port on an IX LAN (``pdb_netixlan``)."""

    ipv4: str | None
    ipv6: str | None
    is_rs_peer: bool


def ixes(
    intent: PeeringIntent, db: duckdb.DuckDBPyConnection, source: IntentFile
) -> dict[str, IXInfo]:
    """Each IX of ``intent`` by slug; one the cache lacks, or an ``ix_id`` with more
    than one LAN, is an error at its line of ``source``."""
    rows = db.execute(
        """
        SELECT l.id, l.ix_id, ix.name, l.rs_asn,
               list(p.prefix ORDER BY p.prefix) FILTER (WHERE p.prefix IS NOT NULL)
        FROM pdb_ixlan l JOIN pdb_ix ix ON ix.id = l.ix_id
        LEFT JOIN pdb_ixpfx p ON p.ixlan_id = l.id
        WHERE l.id IN (SELECT unnest(?)) OR l.ix_id IN (SELECT unnest(?))
        GROUP BY ALL
        """,
        [
            [ix.ixlan_id for ix in intent.ixes.values() if ix.ixlan_id],
            [ix.ix_id for ix in intent.ixes.values() if ix.ix_id],
        ],
    ).fetchall()
    by_lan: dict[int, Any] = {lan[0]: lan for lan in rows}
    by_ix: dict[int, list[Any]] = defaultdict(list)
    for lan in rows:
        by_ix[lan[1]].append(lan)
    found = {}
    for slug, ix in intent.ixes.items():
        if ix.ixlan_id is not None:
            row: Any = by_lan.get(ix.ixlan_id)
            what = f"ixlan {ix.ixlan_id}"
        else:
            lans = by_ix.get(ix.ix_id or 0, [])
            if len(lans) > 1:
                raise source.error(
                    ("ixes", slug, "ix_id"),
                    f"IX {ix.ix_id} has {len(lans)} LANs; name one with ixlan_id",
                )
            row = lans[0] if lans else None
            what = f"IX {ix.ix_id}"
        if row is None:
            key = "ixlan_id" if ix.ixlan_id is not None else "ix_id"
            raise source.error(
                ("ixes", slug, key), f"PeeringDB {what} is not in the cache (run peeringdb-sync?)"
            )
        lan_id, ix_id, name, rs_asn, prefixes = row
        found[slug] = IXInfo(
            slug,
            ix_id,
            lan_id,
            name,
            rs_asn,
            tuple(ip_network(p, strict=False) for p in prefixes or ()),
        )
    return found


def nets(db: duckdb.DuckDBPyConnection, asns: Iterable[int]) -> dict[int, NetInfo]:
    """The networks of ``asns`` that PeeringDB knows, by ASN."""
    rows = db.execute(
        "SELECT asn, name, irr_as_set, info_prefixes4, info_prefixes6, "
        "coalesce(list_contains(info_types, 'Route Server'), false) OR info_type = 'Route Server' "
        "FROM pdb_net WHERE asn IN (SELECT unnest(?))",
        [sorted(asns)],
    ).fetchall()
    return {
        asn: NetInfo(name, as_set or None, p4, p6, bool(rs))
        for asn, name, as_set, p4, p6, rs in rows
    }


def ports(
    db: duckdb.DuckDBPyConnection, ixlans: list[int], asns: Iterable[int]
) -> dict[tuple[int, int], list[Port]]:
    """The ports of ``asns`` on ``ixlans``, by (ixlan, ASN), in PeeringDB's order."""
    rows = db.execute(
        "SELECT ixlan_id, asn, ipaddr4, ipaddr6, is_rs_peer FROM pdb_netixlan "
        "WHERE ixlan_id IN (SELECT unnest(?)) AND asn IN (SELECT unnest(?)) ORDER BY id",
        [ixlans, sorted(asns)],
    ).fetchall()
    found: dict[tuple[int, int], list[Port]] = defaultdict(list)
    for ixlan, asn, ipv4, ipv6, rs_peer in rows:
        found[(ixlan, asn)].append(Port(ipv4, ipv6, bool(rs_peer)))
    return found
