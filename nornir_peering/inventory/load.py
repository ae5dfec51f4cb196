"""Reading ``inventory/`` into validated intent, with cross-references checked.

For example::

    intent = read_intent(Path("inventory"))
    sorted(intent.hosts)
    # ['edge1', 'edge2']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from nornir_peering.inventory.files import IntentFile
from nornir_peering.inventory.intent import Defaults, InventoryEntry, PeeringIntent


@dataclass(frozen=True)
class Intent:
    """Everything in ``inventory/``, validated, with the files it came from (for errors
    that name a line)."""

    hosts: dict[str, InventoryEntry]
    groups: dict[str, InventoryEntry]
    defaults: Defaults
    peering: PeeringIntent
    hosts_file: IntentFile
    groups_file: IntentFile
    peering_file: IntentFile
    defaults_file: IntentFile


def read_intent(
    directory: Path,
    *,
    host_file: str = "hosts.yaml",
    group_file: str = "groups.yaml",
    defaults_file: str = "defaults.yaml",
    peering_file: str = "peering.yaml",
) -> Intent:
    """All intent files of ``directory``; groups and defaults files are optional."""
    hosts_f = IntentFile(directory / host_file)
    groups_f = IntentFile(directory / group_file, required=False)
    defaults_f = IntentFile(directory / defaults_file, required=False)
    peering_f = IntentFile(directory / peering_file)

    hosts = {
        str(n): hosts_f.validate(InventoryEntry, d or {}, (n,))
        for n, d in hosts_f.mapping().items()
    }
    groups = {
        str(n): groups_f.validate(InventoryEntry, d or {}, (n,))
        for n, d in groups_f.mapping().items()
    }
    defaults = defaults_f.validate(Defaults, defaults_f.mapping())
    peering = peering_f.validate(PeeringIntent, peering_f.mapping())
    intent = Intent(hosts, groups, defaults, peering, hosts_f, groups_f, peering_f, defaults_f)
    _check_deploy(intent)
    _check_references(intent)
    return intent


def _check_deploy(intent: Intent) -> None:
    """``deploy: replace`` only on a router itself: in a group or the defaults, one line
    would switch every router below it to replacing its whole configuration."""
    inherited: list[tuple[IntentFile, tuple[str, ...], Defaults | InventoryEntry]] = [
        (intent.defaults_file, (), intent.defaults),
        *((intent.groups_file, (name,), group) for name, group in intent.groups.items()),
    ]
    for source, loc, entry in inherited:
        if entry.data.deploy == "replace":
            raise source.error(
                (*loc, "data", "deploy"),
                "'replace' is set on a router in hosts.yaml, never for a group or the "
                "defaults: every router below would have its whole configuration replaced",
            )


def _check_references(intent: Intent) -> None:
    for source, entries in ((intent.hosts_file, intent.hosts), (intent.groups_file, intent.groups)):
        for name, entry in entries.items():
            for index, parent in enumerate(entry.groups):
                if parent not in intent.groups:
                    raise source.error(
                        (name, "groups", index), f"unknown group {parent!r}{_known(intent.groups)}"
                    )

    peering, source = intent.peering, intent.peering_file
    routers = intent.hosts

    def router(loc: tuple[str | int, ...], name: str) -> None:
        if name not in routers:
            raise source.error(loc, f"unknown router {name!r}{_known(routers)}")

    def policy(loc: tuple[str | int, ...], name: str | None) -> None:
        if name is not None and name not in peering.policies:
            raise source.error(loc, f"unknown policy {name!r}{_known(peering.policies)}")

    for name, pol in peering.policies.items():
        for index, community in enumerate(pol.communities):
            if community not in peering.communities:
                raise source.error(
                    ("policies", name, "communities", index),
                    f"unknown community {community!r}{_known(peering.communities)}",
                )
    for slug, ix in peering.ixes.items():
        for key in ("import_policy", "export_policy"):
            policy(("ixes", slug, key), getattr(ix, key))
        for index, conn in enumerate(ix.connections):
            router(("ixes", slug, "connections", index, "router"), conn.router)
            if conn.ipv4 is None and conn.ipv6 is None:
                raise source.error(
                    ("ixes", slug, "connections", index), "a connection needs ipv4, ipv6 or both"
                )
        seen: dict[int, int] = {}
        for index, peer in enumerate(ix.peers):
            if peer.asn in seen:
                raise source.error(
                    ("ixes", slug, "peers", index, "asn"),
                    f"AS{peer.asn} is already wanted at {slug} (peers[{seen[peer.asn]}])",
                )
            seen[peer.asn] = index
            for key in ("import_policy", "export_policy"):
                policy(("ixes", slug, "peers", index, key), getattr(peer, key))
    for name, group in peering.bgp_groups.items():
        for key in ("import_policy", "export_policy"):
            policy(("bgp_groups", name, key), getattr(group, key))
        for index, session in enumerate(group.sessions):
            router(("bgp_groups", name, "sessions", index, "router"), session.router)
            for key in ("import_policy", "export_policy"):
                policy(("bgp_groups", name, "sessions", index, key), getattr(session, key))
            local = session.local_address
            if local is not None and local.version != session.remote_address.version:
                raise source.error(
                    ("bgp_groups", name, "sessions", index, "local_address"),
                    f"{local} and remote_address {session.remote_address} "
                    "are of different families",
                )
            relationship = session.relationship or group.relationship
            if session.accept_default and relationship != "transit":
                raise source.error(
                    ("bgp_groups", name, "sessions", index, "accept_default"),
                    f"only a transit session may take the default route (this one is "
                    f"{relationship!r})",
                )
        if group.accept_default and any(
            (s.relationship or group.relationship) != "transit" and s.accept_default is not False
            for s in group.sessions
        ):
            raise source.error(
                ("bgp_groups", name, "accept_default"),
                "only transit sessions may take the default route (the group has others)",
            )


def _known(names: Iterable[str]) -> str:
    listed = sorted(names)
    if not listed:
        return " (none defined)"
    shown = ", ".join(listed[:8]) + (", ..." if len(listed) > 8 else "")
    return f" (known: {shown})"
