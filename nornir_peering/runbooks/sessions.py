"""``sessions``: the stored BGP state, read without contacting any router."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nornir_peering.inventory import Selection, select
from nornir_peering.runbooks.fleet import load_inventory
from nornir_peering.settings import Settings
from nornir_peering.store import open_state


@dataclass
class SessionsView:
    """Stored session rows, with their column names."""

    columns: list[str] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def as_dicts(self) -> list[dict[str, Any]]:
        """One dict per row, keyed by column."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def stored_sessions(
    settings: Settings,
    selection: Selection,
    *,
    bgp_state: str | None = None,
    ix: str | None = None,
    asn: int | None = None,
    history: bool = False,
) -> SessionsView:
    """Stored sessions (or their state changes, with ``history``) of the selected routers."""
    inventory = select(load_inventory(settings).inventory, selection)
    routers = sorted(inventory.hosts)
    at_ix = None
    if ix is not None:
        at_ix = [
            (name, s["vrf"], s["remote_address"])
            for name in routers
            for s in inventory.hosts[name]["sessions"]
            if s["ix"] == ix
        ]
    table = "bgp_session_history" if history else "bgp_sessions"
    columns = (
        ["changed_at", "router", "vrf", "remote_address", "remote_asn", "old_state", "new_state"]
        if history
        else [
            "router",
            "vrf",
            "remote_address",
            "remote_asn",
            "state",
            "received_prefixes",
            "accepted_prefixes",
            "advertised_prefixes",
            "max_prefix",
            "last_established",
            "polled_at",
            "stale",
            "wanted",
            "configured",
        ]
    )
    where: list[str] = ["router IN (SELECT unnest(?))"]
    params: list[Any] = [routers]
    if bgp_state is not None:
        where.append(f"lower({'new_state' if history else 'state'}) = lower(?)")
        params.append(bgp_state)
    if asn is not None:
        where.append("remote_asn = ?")
        params.append(asn)
    if at_ix is not None:
        where.append("list_contains(?, [router, vrf, remote_address])")
        params.append([list(key) for key in at_ix])
    order = "changed_at, router, remote_address" if history else "router, vrf, remote_address"
    with open_state(settings.peering.state, wait=settings.peering.lock_wait) as db:
        rows = db.execute(
            f"SELECT {', '.join(columns)} FROM {table} WHERE {' AND '.join(where)} "
            f"ORDER BY {order}",
            params,
        ).fetchall()
    return SessionsView(columns, rows)
