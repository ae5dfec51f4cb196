"""BGP neighbors as routers report them, matched to the sessions the inventory wants.

Pure functions over NAPALM's getter output: :func:`neighbors` reads a device,
:func:`match` pairs what it said with ``host["sessions"]``; the task
``get_bgp_state`` runs both, the poll runbook stores what they find.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from ipaddress import ip_address
from typing import Any

from nornir_peering.inventory.session import Session, canonical

NOT_CONFIGURED = "not configured"
NEAR_LIMIT = 0.9  # received prefixes at or above this share of max-prefix need attention


@dataclass
class SessionState:
    """A BGP session as a router reported it, beside what the inventory wants of it."""

    router: str
    vrf: str
    remote_address: str
    remote_asn: int | None
    wanted: bool
    configured: bool
    state: str
    received_prefixes: int | None = None
    accepted_prefixes: int | None = None
    advertised_prefixes: int | None = None
    max_prefix: int | None = None
    uptime: int | None = None
    last_established: datetime | None = None
    stale: bool = False

    @property
    def up(self) -> bool:
        """Whether the session is Established."""
        return self.state == "Established"

    @property
    def near_limit(self) -> bool:
        """Whether the peer sends 90% or more of its max-prefix limit."""
        return bool(
            self.max_prefix
            and self.received_prefixes is not None
            and self.received_prefixes >= NEAR_LIMIT * self.max_prefix
        )

    @property
    def attention(self) -> str:
        """Why this session needs a look, or ``""``."""
        if self.stale:
            return "router not reachable: last known state"
        if not self.wanted:
            return "unknown: on the router, not in the inventory"
        if not self.configured:
            return "not configured on the router"
        if not self.up:
            return f"not established ({self.state})"
        if self.near_limit:
            return f"{self.received_prefixes} prefixes, limit {self.max_prefix}"
        if self.filtered:
            return f"{self.filtered} of {self.received_prefixes} received prefixes filtered"
        return ""

    @property
    def filtered(self) -> int:
        """How many received prefixes the import policy rejected (IRR, bogons, ...)."""
        if self.received_prefixes is None or self.accepted_prefixes is None:
            return 0
        return max(0, self.received_prefixes - self.accepted_prefixes)


def neighbors(device: Any) -> list[dict[str, Any]]:
    """What a NAPALM ``device`` says of its BGP neighbors, one dict per neighbor.

    The details where the driver has them; the summary gives the uptime (the
    details have none in NAPALM's model), and everything where details are
    not implemented."""
    summary = from_summary(device.get_bgp_neighbors())
    try:
        detail = device.get_bgp_neighbors_detail()
    except NotImplementedError:
        return summary
    uptimes = {(s["vrf"], s["remote_address"]): s["uptime"] for s in summary}
    found = []
    for vrf, by_asn in detail.items():
        for remote_asn, neighbors in by_asn.items():
            for n in neighbors:
                address = canonical(n["remote_address"])
                found.append(
                    {
                        "vrf": vrf,
                        "remote_address": address,
                        "remote_asn": int(remote_asn),
                        "state": n["connection_state"] or ("Established" if n["up"] else "Idle"),
                        "received": n["received_prefix_count"],
                        "accepted": n["accepted_prefix_count"],
                        "advertised": n["advertised_prefix_count"],
                        "uptime": uptimes.get((vrf, address)),
                    }
                )
    return found


def from_summary(neighbors: dict[str, Any]) -> list[dict[str, Any]]:
    """NAPALM's ``get_bgp_neighbors``, one dict per neighbor.

    >>> from_summary({"global": {"router_id": "", "peers": {"192.0.2.1": {"remote_as": 65001,
    ...     "is_up": False, "is_enabled": False, "uptime": -1, "address_family": {}}}}})[0]["state"]
    'Shutdown'
    """
    found = []
    for vrf, data in neighbors.items():
        for address, peer in data.get("peers", {}).items():
            remote = ip_address(address)
            family = peer.get("address_family", {}).get(f"ipv{remote.version}", {})
            found.append(
                {
                    "vrf": vrf,
                    "remote_address": str(remote),
                    "remote_asn": peer["remote_as"],
                    "state": "Established"
                    if peer["is_up"]
                    else ("Idle" if peer["is_enabled"] else "Shutdown"),
                    "received": family.get("received_prefixes"),
                    "accepted": family.get("accepted_prefixes"),
                    "advertised": family.get("sent_prefixes"),
                    "uptime": peer.get("uptime"),
                }
            )
    return found


def match(router: str, wanted: list[Session], found: list[dict[str, Any]]) -> list[SessionState]:
    """The router's sessions: each one the inventory wants (``not configured`` when the
    router lacks it), then each one the router has that the inventory does not know.

    Matched by VRF and remote address, written as ``ipaddress`` writes it.

    >>> [s.state for s in match("r1", [{"vrf": "global", "remote_address": "2001:DB8::1",
    ...     "remote_asn": 65001}], [])]
    ['not configured']
    """
    on_router = {(f["vrf"], f["remote_address"]): f for f in found}
    sessions = []
    for session in wanted:
        vrf, address = session["vrf"], canonical(session["remote_address"])
        seen = on_router.pop((vrf, address), None)
        state = (
            from_router(router, vrf, address, seen)
            if seen
            else SessionState(
                router,
                vrf,
                address,
                session["remote_asn"],
                wanted=True,
                configured=False,
                state=NOT_CONFIGURED,
            )
        )
        state.wanted, state.max_prefix = True, session.get("max_prefix")
        sessions.append(state)
    for (vrf, address), seen in sorted(on_router.items()):
        sessions.append(from_router(router, vrf, address, seen))
    return sessions


def from_router(router: str, vrf: str, address: str, seen: dict[str, Any]) -> SessionState:
    """A session as the router reported it; NAPALM's -1 (unknown count) becomes None."""

    def count(value: Any) -> int | None:
        return int(value) if isinstance(value, int) and value >= 0 else None

    return SessionState(
        router,
        vrf,
        address,
        seen["remote_asn"],
        wanted=False,
        configured=True,
        state=seen["state"],
        received_prefixes=count(seen["received"]),
        accepted_prefixes=count(seen["accepted"]),
        advertised_prefixes=count(seen["advertised"]),
        uptime=count(seen.get("uptime")),
    )
