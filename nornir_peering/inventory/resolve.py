"""Sessions from intent + PeeringDB: the enrichment queries and the rules.

A session is a plain dict (templates and runbooks get plain data). An IX
session exists for each of our connections at the IX, each wanted peer and
each address PeeringDB lists for that peer there (pinned addresses win), in
every family where we have an address. A direct session is written out in
full in its BGP group. PeeringDB fills in what the operator did not: the
peer's name, AS-SET, max-prefix limits, whether it is a route server.
"""

from __future__ import annotations

import functools
import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import Any

import duckdb

from nornir_peering.inventory.files import IntentFile
from nornir_peering.inventory.intent import IX, Overrides, PeeringIntent, WantedPeer
from nornir_peering.store.bgp import last_states

Session = dict[str, Any]
Address = IPv4Address | IPv6Address

# One AS-SET or ASN, as IRR tools accept them: AS-FOO, RIPE::AS-FOO, AS64500:AS-FOO, AS64500.
AS_SET = re.compile(r"^(?:[A-Z0-9-]+::)?(?:AS\d+:)*(?:AS-[A-Z0-9_:-]+|AS\d+)$", re.IGNORECASE)


def as_sets(text: str | None) -> list[str]:
    """The AS-SETs in a PeeringDB ``irr_as_set``; anything else is dropped.

    >>> as_sets("RIPE::AS-FOO, AS-BAR\\n}; evil")
    ['RIPE::AS-FOO', 'AS-BAR']
    """
    return [token for token in re.split(r"[\s,]+", text or "") if AS_SET.match(token)]


def max_prefix(count: int | None, headroom: int) -> int | None:
    """PeeringDB's prefix count plus ``headroom`` percent, rounded up.

    >>> max_prefix(100, 10), max_prefix(None, 10), max_prefix(0, 10)
    (110, None, 0)
    """
    return None if count is None else math.ceil(count * (100 + headroom) / 100)


@dataclass(frozen=True)
class Problem:
    """Drift between intent and PeeringDB: reported, never fatal."""

    kind: str
    message: str
    ix: str | None = None
    asn: int | None = None
    router: str | None = None


@dataclass(frozen=True)
class IXInfo:
    slug: str
    ix_id: int
    ixlan_id: int
    name: str
    rs_asn: int | None
    prefixes: tuple[Any, ...]


@dataclass
class Resolution:
    sessions: dict[str, list[Session]] = field(default_factory=lambda: defaultdict(list))
    connections: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    ixes: dict[str, IXInfo] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class _Port:
    ipv4: str | None
    ipv6: str | None
    is_rs_peer: bool


@dataclass(frozen=True)
class _Net:
    name: str
    as_set: str | None
    prefixes4: int | None
    prefixes6: int | None
    route_server: bool


def resolve(
    intent: PeeringIntent,
    local_asns: dict[str, int],
    db: duckdb.DuckDBPyConnection,
    source: IntentFile,
    *,
    drift_days: int = 14,
) -> Resolution:
    """Every router's sessions. ``local_asns``: router name → its local ASN."""
    result = Resolution()
    result.ixes = _ixes(intent, db, source)
    asns = {p.asn for ix in intent.ixes.values() for p in ix.peers} | {
        s.remote_asn for g in intent.bgp_groups.values() for s in g.sessions
    }
    nets = _nets(db, asns)
    ports = _ports(db, [ix.ixlan_id for ix in result.ixes.values()], asns)
    headroom = intent.local_as.max_prefix_headroom

    for slug, ix in intent.ixes.items():
        info = result.ixes[slug]
        _check_connections(slug, ix, info, source)
        locals_ = [
            (c.router, c.vrf, {4: c.ipv4 and str(c.ipv4), 6: c.ipv6 and str(c.ipv6)})
            for c in ix.connections
        ]
        for index, peer in enumerate(ix.peers):
            found = ports.get((info.ixlan_id, peer.asn), [])
            _check_peer(slug, index, peer, info, found, nets.get(peer.asn), source, result)
            # the peer's side once, then one copy per connection of ours
            remote_side = _ix_sessions(ix, info, peer, found, nets.get(peer.asn), headroom)
            for router, vrf, addresses in locals_:
                for base in remote_side:
                    local = addresses[base["family"]]
                    if local:
                        result.sessions[router].append(
                            {
                                **base,
                                "local_address": local,
                                "local_asn": local_asns[router],
                                "vrf": vrf,
                            }
                        )
        for conn in ix.connections:
            result.connections[conn.router].append(
                {
                    "ix": slug,
                    "ix_id": info.ix_id,
                    "ixlan_id": info.ixlan_id,
                    "ix_name": info.name,
                    "ipv4": str(conn.ipv4) if conn.ipv4 else None,
                    "ipv6": str(conn.ipv6) if conn.ipv6 else None,
                    "vrf": conn.vrf,
                }
            )
    for name, group in intent.bgp_groups.items():
        for direct in group.sessions:
            net = nets.get(direct.remote_asn)
            result.sessions[direct.router].append(
                _session(
                    kind="direct",
                    ix=None,
                    group=name,
                    relationship=direct.relationship or group.relationship,
                    router_asn=local_asns[direct.router],
                    vrf=direct.vrf,
                    remote_asn=direct.remote_asn,
                    remote=direct.remote_address,
                    local=direct.local_address,
                    name=direct.name or (net.name if net else None),
                    net=net,
                    overrides=direct,
                    headroom=headroom,
                    import_policy=direct.import_policy or group.import_policy,
                    export_policy=direct.export_policy or group.export_policy,
                    route_server=False,
                    source="intent",
                )
            )
    _check_duplicates(result, source, intent)
    result.problems.extend(_drift(db, result.ixes, intent, drift_days))
    _attach_polled_state(db, result)
    for sessions in result.sessions.values():
        sessions.sort(key=_order)
    return result


def _order(session: Session) -> tuple[Any, ...]:
    return (
        session["kind"],
        session["ix"] or session["group"],
        session["remote_asn"],
        *_address_key(session["remote_address"]),
    )


@functools.lru_cache(maxsize=65536)
def _address_key(text: str) -> tuple[int, int]:
    address = ip_address(text)
    return address.version, int(address)


def _ixes(
    intent: PeeringIntent, db: duckdb.DuckDBPyConnection, source: IntentFile
) -> dict[str, IXInfo]:
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


def _nets(db: duckdb.DuckDBPyConnection, asns: Iterable[int]) -> dict[int, _Net]:
    rows = db.execute(
        "SELECT asn, name, irr_as_set, info_prefixes4, info_prefixes6, "
        "coalesce(list_contains(info_types, 'Route Server'), false) OR info_type = 'Route Server' "
        "FROM pdb_net WHERE asn IN (SELECT unnest(?))",
        [sorted(asns)],
    ).fetchall()
    return {
        asn: _Net(name, as_set or None, p4, p6, bool(rs)) for asn, name, as_set, p4, p6, rs in rows
    }


def _ports(
    db: duckdb.DuckDBPyConnection, ixlans: list[int], asns: Iterable[int]
) -> dict[tuple[int, int], list[_Port]]:
    rows = db.execute(
        "SELECT ixlan_id, asn, ipaddr4, ipaddr6, is_rs_peer FROM pdb_netixlan "
        "WHERE ixlan_id IN (SELECT unnest(?)) AND asn IN (SELECT unnest(?)) ORDER BY id",
        [ixlans, sorted(asns)],
    ).fetchall()
    ports: dict[tuple[int, int], list[_Port]] = defaultdict(list)
    for ixlan, asn, ipv4, ipv6, rs_peer in rows:
        ports[(ixlan, asn)].append(_Port(ipv4, ipv6, bool(rs_peer)))
    return ports


def _inside(address: Address, info: IXInfo) -> bool:
    return any(address.version == net.version and address in net for net in info.prefixes)


def _check_connections(slug: str, ix: IX, info: IXInfo, source: IntentFile) -> None:
    for index, conn in enumerate(ix.connections):
        for family in ("ipv4", "ipv6"):
            address = getattr(conn, family)
            if address is not None and not _inside(address, info):
                raise source.error(
                    ("ixes", slug, "connections", index, family),
                    f"{address} is outside {info.name}'s prefixes "
                    f"({', '.join(map(str, info.prefixes)) or 'none in PeeringDB'})",
                )


def _check_peer(
    slug: str,
    index: int,
    peer: WantedPeer,
    info: IXInfo,
    ports: list[_Port],
    net: _Net | None,
    source: IntentFile,
    result: Resolution,
) -> None:
    listed = {a for port in ports for a in (port.ipv4, port.ipv6) if a}
    for family in ("ipv4", "ipv6"):
        for position, address in enumerate(getattr(peer, family)):
            if not _inside(address, info):
                raise source.error(
                    ("ixes", slug, "peers", index, family, position),
                    f"{address} is outside {info.name}'s prefixes",
                )
            if str(address) not in listed:
                result.problems.append(
                    Problem(
                        "pinned-address",
                        f"AS{peer.asn} at {slug}: pinned address {address} is not "
                        "listed in PeeringDB",
                        slug,
                        peer.asn,
                    )
                )
    if ports or peer.ipv4 or peer.ipv6:
        return
    if net is None:
        result.problems.append(
            Problem(
                "not-in-peeringdb",
                f"AS{peer.asn} wanted at {slug} has no PeeringDB record; "
                "no session (pin its addresses to peer anyway)",
                slug,
                peer.asn,
            )
        )
    else:
        result.problems.append(
            Problem(
                "not-at-ix",
                f"AS{peer.asn} ({net.name}) wanted at {slug} is not at {info.name} "
                "in PeeringDB; no session",
                slug,
                peer.asn,
            )
        )


def _ix_sessions(
    ix: IX, info: IXInfo, peer: WantedPeer, ports: list[_Port], net: _Net | None, headroom: int
) -> list[Session]:
    """The sessions with ``peer`` at an IX, seen from its side; ours is filled in per router."""
    route_server = peer.route_server
    if route_server is None:
        route_server = peer.asn == info.rs_asn or bool(net and net.route_server)
    sessions = []
    for family, pinned in (("ipv4", peer.ipv4), ("ipv6", peer.ipv6)):
        if pinned:
            remotes: list[Address] = list(pinned)
            origin = "pinned"
        else:
            remotes = [ip_address(a) for a in (getattr(p, family) for p in ports) if a]
            origin = "peeringdb"
        for remote in remotes:
            sessions.append(
                _session(
                    kind="ix",
                    ix=info,
                    group=None,
                    relationship="route-server" if route_server else "peer",
                    router_asn=0,
                    vrf="",
                    remote_asn=peer.asn,
                    remote=remote,
                    local=None,
                    name=net.name if net else None,
                    net=net,
                    overrides=peer,
                    headroom=headroom,
                    import_policy=peer.import_policy or ix.import_policy,
                    export_policy=peer.export_policy or ix.export_policy,
                    route_server=route_server,
                    source=origin,
                )
            )
    return sessions


def _session(
    *,
    kind: str,
    ix: IXInfo | None,
    group: str | None,
    relationship: str,
    router_asn: int,
    vrf: str,
    remote_asn: int,
    remote: Any,
    local: Any,
    name: str | None,
    net: _Net | None,
    overrides: Overrides,
    headroom: int,
    import_policy: str | None,
    export_policy: str | None,
    route_server: bool,
    source: str,
) -> Session:
    limit4 = overrides.max_prefix4
    if limit4 is None and net is not None:
        limit4 = max_prefix(net.prefixes4, headroom)
    limit6 = overrides.max_prefix6
    if limit6 is None and net is not None:
        limit6 = max_prefix(net.prefixes6, headroom)
    as_set = overrides.as_set or (net.as_set if net else None)
    family = remote.version
    return {
        "kind": kind,
        "ix": ix.slug if ix else None,
        "ix_id": ix.ix_id if ix else None,
        "ixlan_id": ix.ixlan_id if ix else None,
        "ix_name": ix.name if ix else None,
        "group": group,
        "relationship": relationship,
        "local_asn": router_asn,
        "local_address": str(local) if local is not None else None,
        "vrf": vrf,
        "remote_asn": remote_asn,
        "remote_address": str(remote),
        "family": family,
        "name": name or f"AS{remote_asn}",
        "description": overrides.description,
        "as_set": as_set,
        "as_sets": as_sets(as_set),
        "max_prefix4": limit4,
        "max_prefix6": limit6,
        "max_prefix": limit4 if family == 4 else limit6,
        "import_policy": import_policy,
        "export_policy": export_policy,
        "password": overrides.password,
        "enabled": overrides.enabled,
        "is_route_server": route_server,
        "address_source": source,
        "prefix_list": None,  # filled in from the IRR tables once they exist
        "state": None,  # filled in from polled BGP state once it exists
    }


def _check_duplicates(result: Resolution, source: IntentFile, intent: PeeringIntent) -> None:
    for router, sessions in result.sessions.items():
        seen: dict[tuple[str, str], Session] = {}
        for session in sessions:
            key = (session["vrf"], session["remote_address"])
            if key in seen:
                first = seen[key]
                raise source.error(
                    _where(session, intent),
                    f"duplicate session: {router} already has {session['remote_address']} "
                    f"(vrf {session['vrf']}) from {_label(first)}",
                )
            seen[key] = session


def _label(session: Session) -> str:
    return f"ixes.{session['ix']}" if session["kind"] == "ix" else f"bgp_groups.{session['group']}"


def _where(session: Session, intent: PeeringIntent) -> tuple[str | int, ...]:
    if session["kind"] == "ix":
        peers = intent.ixes[session["ix"]].peers
        index = next(i for i, p in enumerate(peers) if p.asn == session["remote_asn"])
        return ("ixes", session["ix"], "peers", index)
    group = intent.bgp_groups[session["group"]]
    index = next(
        i
        for i, s in enumerate(group.sessions)
        if str(s.remote_address) == session["remote_address"]
    )
    return ("bgp_groups", session["group"], "sessions", index)


def _attach_polled_state(db: duckdb.DuckDBPyConnection, result: Resolution) -> None:
    """Each session's last polled state (``poll-bgp-sessions``), or None if never polled."""
    polled = last_states(db)
    for router, sessions in result.sessions.items():
        for session in sessions:
            found = polled.get((router, session["vrf"], canonical(session["remote_address"])))
            if found is not None:
                session["state"] = {
                    name: value.isoformat() if isinstance(value, datetime) else value
                    for name, value in found.items()
                    if name in POLLED
                }


# what a session's ``state`` holds (the template interface)
POLLED = (
    "state",
    "received_prefixes",
    "accepted_prefixes",
    "advertised_prefixes",
    "last_established",
    "polled_at",
    "stale",
)


def canonical(address: str) -> str:
    """An address as ``ipaddress`` writes it, so that the same address compares equal.

    >>> canonical("2001:DB8:0::1")
    '2001:db8::1'
    """
    return str(ip_address(address))


def _drift(
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
