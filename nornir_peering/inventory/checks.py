"""The rules intent must keep against PeeringDB: an error names the line of
``peering.yaml`` that breaks one; drift that needs a look is a :class:`Problem`."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from nornir_peering.inventory.cache import IXInfo, NetInfo, Port
from nornir_peering.inventory.files import IntentFile, dotted
from nornir_peering.inventory.intent import IX, Defaults, InventoryEntry, PeeringIntent, WantedPeer
from nornir_peering.inventory.load import Intent
from nornir_peering.inventory.session import Session


@dataclass(frozen=True)
class Problem:
    """Drift between intent and PeeringDB: reported, never fatal."""

    kind: str
    message: str
    ix: str | None = None
    asn: int | None = None
    router: str | None = None


def inside(address: IPv4Address | IPv6Address, info: IXInfo) -> bool:
    """Whether ``address`` is in one of the IX's PeeringDB prefixes."""
    return any(address.version == net.version and address in net for net in info.prefixes)


def check_connections(slug: str, ix: IX, info: IXInfo, source: IntentFile) -> None:
    """Our addresses at the IX are inside its prefixes."""
    for index, conn in enumerate(ix.connections):
        for family in ("ipv4", "ipv6"):
            address = getattr(conn, family)
            if address is not None and not inside(address, info):
                raise source.error(
                    ("ixes", slug, "connections", index, family),
                    f"{address} is outside {info.name}'s prefixes "
                    f"({', '.join(map(str, info.prefixes)) or 'none in PeeringDB'})",
                )


def check_peer(
    slug: str,
    index: int,
    peer: WantedPeer,
    info: IXInfo,
    ports: list[Port],
    net: NetInfo | None,
    source: IntentFile,
) -> list[Problem]:
    """A pinned address outside the IX is an error; one PeeringDB does not list, a peer
    PeeringDB does not know or does not place at the IX, a problem."""
    problems = []
    listed = {a for port in ports for a in (port.ipv4, port.ipv6) if a}
    for family in ("ipv4", "ipv6"):
        for position, address in enumerate(getattr(peer, family)):
            if not inside(address, info):
                raise source.error(
                    ("ixes", slug, "peers", index, family, position),
                    f"{address} is outside {info.name}'s prefixes",
                )
            if str(address) not in listed:
                problems.append(
                    Problem(
                        "pinned-address",
                        f"AS{peer.asn} at {slug}: pinned address {address} is not "
                        "listed in PeeringDB",
                        slug,
                        peer.asn,
                    )
                )
    if ports or peer.ipv4 or peer.ipv6:
        return problems
    if net is None:
        problems.append(
            Problem(
                "not-in-peeringdb",
                f"AS{peer.asn} wanted at {slug} has no PeeringDB record; "
                "no session (pin its addresses to peer anyway)",
                slug,
                peer.asn,
            )
        )
    else:
        problems.append(
            Problem(
                "not-at-ix",
                f"AS{peer.asn} ({net.name}) wanted at {slug} is not at {info.name} "
                "in PeeringDB; no session",
                slug,
                peer.asn,
            )
        )
    return problems


def check_duplicates(
    sessions: dict[str, list[Session]], source: IntentFile, intent: PeeringIntent
) -> None:
    """No router has two sessions with one address in one VRF."""
    for router, found in sessions.items():
        seen: dict[tuple[str, str], Session] = {}
        for session in found:
            key = (session["vrf"], session["remote_address"])
            if key in seen:
                raise source.error(
                    intent_path(session, intent),
                    f"duplicate session: {router} already has {session['remote_address']} "
                    f"(vrf {session['vrf']}) from {_origin(seen[key])}",
                )
            seen[key] = session


def _origin(session: Session) -> str:
    return f"ixes.{session['ix']}" if session["kind"] == "ix" else f"bgp_groups.{session['group']}"


def intent_path(session: Session, intent: PeeringIntent) -> tuple[str | int, ...]:
    """Where in ``peering.yaml`` the operator asked for ``session``."""
    if session["kind"] == "ix":
        assert session["ix"] is not None
        peers = intent.ixes[session["ix"]].peers
        index = next(i for i, p in enumerate(peers) if p.asn == session["remote_asn"])
        return ("ixes", session["ix"], "peers", index)
    assert session["group"] is not None
    group = intent.bgp_groups[session["group"]]
    index = next(
        i
        for i, s in enumerate(group.sessions)
        if str(s.remote_address) == session["remote_address"]
    )
    return ("bgp_groups", session["group"], "sessions", index)


def clear_text_secrets(intent: Intent) -> list[Problem]:
    """A problem for each password written in clear in the intent files, which are read
    in git reviews: it works, but belongs in ``{env: NAME}`` or ``{file: PATH}``."""
    found: list[tuple[IntentFile, tuple[str | int, ...], int | None, str | None]] = []
    peering = intent.peering
    for slug, ix in peering.ixes.items():
        for index, peer in enumerate(ix.peers):
            if isinstance(peer.password, str):
                found.append((intent.peering_file, ("ixes", slug, "peers", index), peer.asn, None))
    for name, group in peering.bgp_groups.items():
        if isinstance(group.password, str):
            found.append((intent.peering_file, ("bgp_groups", name), None, None))
        for index, session in enumerate(group.sessions):
            if isinstance(session.password, str):
                where = ("bgp_groups", name, "sessions", index)
                found.append((intent.peering_file, where, session.remote_asn, session.router))
    elements: list[tuple[IntentFile, tuple[str, ...], InventoryEntry | Defaults, str | None]] = [
        (intent.hosts_file, (name,), entry, name) for name, entry in intent.hosts.items()
    ]
    elements += [
        (intent.groups_file, (name,), entry, None) for name, entry in intent.groups.items()
    ]
    elements.append((intent.defaults_file, (), intent.defaults, None))
    for source, at, entry, router in elements:
        if isinstance(entry.password, str):
            found.append((source, at, None, router))
        for kind, options in entry.connection_options.items():
            if isinstance(options.password, str):
                found.append((source, (*at, "connection_options", kind), None, router))
    return [
        Problem(
            "clear-text-password",
            f"{source.path}:{source.line((*where, 'password')) or '?'}: {dotted(where)}: "
            "password written in clear; give {env: VARIABLE} or {file: PATH} instead",
            str(where[1]) if where[:1] == ("ixes",) else None,
            asn,
            router,
        )
        for source, where, asn, router in found
    ]
