"""Building every router's sessions from intent and the PeeringDB cache.

An IX session exists for each of our connections at the IX, each wanted peer
and each address PeeringDB lists for that peer there (pinned addresses win), in
every family where we have an address. A direct session is written out in full
in its BGP group. PeeringDB fills in what the operator did not: the peer's name,
AS-SET, max-prefix limits, whether it is a route server.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any, Literal

import duckdb

from nornir_peering.inventory import cache
from nornir_peering.inventory.cache import IXInfo, NetInfo, Port
from nornir_peering.inventory.checks import (
    Problem,
    check_connections,
    check_duplicates,
    check_peer,
)
from nornir_peering.inventory.drift import drift
from nornir_peering.inventory.files import IntentFile
from nornir_peering.inventory.intent import IX, Overrides, PeeringIntent, Secret, WantedPeer
from nornir_peering.inventory.session import (
    Connection,
    IRRLists,
    PolledState,
    Session,
    as_sets,
    irr_filterable,
    with_headroom,
)
from nornir_peering.secrets import SecretRef
from nornir_peering.store.bgp import last_states
from nornir_peering.store.irr import read_lists


@dataclass
class Resolution:
    """Every router's sessions and IX ports, the IXes, and the drift found."""

    sessions: dict[str, list[Session]] = field(default_factory=lambda: defaultdict(list))
    connections: dict[str, list[Connection]] = field(default_factory=lambda: defaultdict(list))
    ixes: dict[str, IXInfo] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # every customer's stored IRR list, whatever router it is on (exports take a tagged
    # route only inside one of them, on every router): asn, family, prefixes, asns
    customer_lists: list[dict[str, Any]] = field(default_factory=list)


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
    result.ixes = cache.ixes(intent, db, source)
    asns = {p.asn for ix in intent.ixes.values() for p in ix.peers} | {
        s.remote_asn for g in intent.bgp_groups.values() for s in g.sessions
    }
    nets = cache.nets(db, asns)
    ports = cache.ports(db, [ix.ixlan_id for ix in result.ixes.values()], asns)
    headroom = intent.local_as.max_prefix_headroom

    for slug, ix in intent.ixes.items():
        info = result.ixes[slug]
        check_connections(slug, ix, info, source)
        for index, peer in enumerate(ix.peers):
            found = ports.get((info.ixlan_id, peer.asn), [])
            net = nets.get(peer.asn)
            result.problems.extend(check_peer(slug, index, peer, info, found, net, source))
            # the peer's side once, then one copy per connection of ours
            for remote_side in _ix_sessions(ix, info, peer, found, net, headroom):
                for conn in ix.connections:
                    local = conn.ipv4 if remote_side["family"] == 4 else conn.ipv6
                    if local is not None:
                        session = remote_side.copy()
                        session["local_address"] = str(local)
                        session["local_asn"] = local_asns[conn.router]
                        session["vrf"] = conn.vrf
                        result.sessions[conn.router].append(session)
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
                    local_asn=local_asns[direct.router],
                    vrf=direct.vrf,
                    remote_asn=direct.remote_asn,
                    remote=direct.remote_address,
                    local=direct.local_address,
                    name=direct.name or (net.name if net else None),
                    net=net,
                    overrides=direct,
                    password=direct.password if direct.password is not None else group.password,
                    update_source=direct.update_source or group.update_source,
                    accept_default=(
                        direct.accept_default
                        if direct.accept_default is not None
                        else group.accept_default
                    ),
                    headroom=headroom,
                    import_policy=direct.import_policy or group.import_policy,
                    export_policy=direct.export_policy or group.export_policy,
                    route_server=False,
                    source="intent",
                )
            )
    check_duplicates(result.sessions, source, intent)
    result.problems.extend(drift(db, result.ixes, intent, drift_days))
    _attach_polled_state(db, result)
    _attach_irr_lists(db, result)
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


def _ix_sessions(
    ix: IX, info: IXInfo, peer: WantedPeer, ports: list[Port], net: NetInfo | None, headroom: int
) -> list[Session]:
    """The sessions with ``peer`` at an IX, seen from its side; ours is filled in per router."""
    route_server = peer.route_server
    if route_server is None:
        route_server = peer.asn == info.rs_asn or bool(net and net.route_server)
    sessions = []
    for family, pinned in (("ipv4", peer.ipv4), ("ipv6", peer.ipv6)):
        source: Literal["pinned", "peeringdb"]
        if pinned:
            remotes: list[IPv4Address | IPv6Address] = list(pinned)
            source = "pinned"
        else:
            remotes = [ip_address(a) for a in (getattr(p, family) for p in ports) if a]
            source = "peeringdb"
        for remote in remotes:
            sessions.append(
                _session(
                    kind="ix",
                    ix=info,
                    group=None,
                    relationship="route-server" if route_server else "peer",
                    local_asn=0,
                    vrf="",  # set per connection of ours, below
                    remote_asn=peer.asn,
                    remote=remote,
                    local=None,
                    name=net.name if net else None,
                    net=net,
                    overrides=peer,
                    password=peer.password,
                    headroom=headroom,
                    import_policy=peer.import_policy or ix.import_policy,
                    export_policy=peer.export_policy or ix.export_policy,
                    route_server=route_server,
                    source=source,
                )
            )
    return sessions


def _session(
    *,
    kind: Literal["ix", "direct"],
    ix: IXInfo | None,
    group: str | None,
    relationship: str,
    local_asn: int,
    vrf: str,
    remote_asn: int,
    remote: IPv4Address | IPv6Address,
    local: IPv4Address | IPv6Address | None,
    name: str | None,
    net: NetInfo | None,
    overrides: Overrides,
    password: Secret | None,
    update_source: str | None = None,
    accept_default: bool = False,
    headroom: int,
    import_policy: str | None,
    export_policy: str | None,
    route_server: bool,
    source: Literal["peeringdb", "pinned", "intent"],
) -> Session:
    limit4 = overrides.max_prefix4
    if limit4 is None and net is not None:
        limit4 = with_headroom(net.prefixes4, headroom)
    limit6 = overrides.max_prefix6
    if limit6 is None and net is not None:
        limit6 = with_headroom(net.prefixes6, headroom)
    as_set = overrides.as_set or (net.as_set if net else None)
    family: Literal[4, 6] = 4 if remote.version == 4 else 6
    return {
        "kind": kind,
        "ix": ix.slug if ix else None,
        "ix_id": ix.ix_id if ix else None,
        "ixlan_id": ix.ixlan_id if ix else None,
        "ix_name": ix.name if ix else None,
        "group": group,
        "relationship": relationship,
        "local_asn": local_asn,
        "local_address": str(local) if local is not None else None,
        "update_source": update_source,
        "accept_default": accept_default,
        "vrf": vrf,
        "remote_asn": remote_asn,
        "remote_address": str(remote),
        "family": family,
        "name": name or f"AS{remote_asn}",
        "description": overrides.description,
        "as_set": as_set,
        "as_sets": as_sets(as_set),
        "irr_host": overrides.irr_host,
        "irr_sources": list(overrides.irr_sources),
        "irr_aggregate": overrides.irr_aggregate,
        "max_prefix4": limit4,
        "max_prefix6": limit6,
        "max_prefix": limit4 if family == 4 else limit6,
        "import_policy": import_policy,
        "export_policy": export_policy,
        # a reference stays one ({"env": NAME}, {"file": PATH}): it is revealed at render
        "password": (
            password.model_dump(exclude_none=True) if isinstance(password, SecretRef) else password
        ),
        "enabled": overrides.enabled,
        "is_route_server": route_server,
        "address_source": source,
        "prefix_list": None,  # filled in from the stored IRR lists (grab-prefixes)
        "state": None,  # filled in from polled BGP state once it exists
    }


def _attach_polled_state(db: duckdb.DuckDBPyConnection, result: Resolution) -> None:
    """Each session's last polled state (``poll-bgp-sessions``), or None if never polled."""
    polled = last_states(db)
    if not polled:
        return
    for router, sessions in result.sessions.items():
        for session in sessions:
            # both sides are canonical: sessions are built with str(ip_address(...)),
            # and the poll stores addresses the same way
            found = polled.get((router, session["vrf"], session["remote_address"]))
            if found is not None:
                session["state"] = _polled_state(found)


def _attach_irr_lists(db: duckdb.DuckDBPyConnection, result: Resolution) -> None:
    """The stored IRR lists (``grab-prefixes``) of each IRR-filtered session's peer: the
    entries of its family and the AS-path list; None where that family was never fetched."""
    peers = {
        s["remote_asn"]
        for sessions in result.sessions.values()
        for s in sessions
        if irr_filterable(s)
    }
    stored = read_lists(db, peers) if peers else {}
    if not stored:
        return
    shared: dict[tuple[int, int], IRRLists | None] = {}  # one per AS and family, every router
    for sessions in result.sessions.values():
        for session in sessions:
            if not irr_filterable(session):
                continue
            asn, family = session["remote_asn"], session["family"]
            if (asn, family) not in shared:
                lists = stored.get(asn, {})
                prefixes, path = lists.get(family), lists.get(0)
                shared[asn, family] = (
                    {"prefixes": list(prefixes.prefixes), "asns": list(path.asns) if path else []}
                    if prefixes
                    else None
                )
            session["prefix_list"] = shared[asn, family]
    customers = {
        (s["remote_asn"], s["family"])
        for sessions in result.sessions.values()
        for s in sessions
        if s["relationship"] == "customer" and s["prefix_list"] is not None
    }
    result.customer_lists = [
        {"asn": asn, "family": family, **(shared[asn, family] or {})}
        for asn, family in sorted(customers)
    ]


def _polled_state(row: dict[str, Any]) -> PolledState:
    def text(value: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime) else value

    return {
        "state": row["state"],
        "received_prefixes": row["received_prefixes"],
        "accepted_prefixes": row["accepted_prefixes"],
        "advertised_prefixes": row["advertised_prefixes"],
        "last_established": text(row["last_established"]),
        "polled_at": text(row["polled_at"]),
        "stale": row["stale"],
    }
