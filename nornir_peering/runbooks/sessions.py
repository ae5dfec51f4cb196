"""``sessions``: the stored BGP state, read without contacting any router."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nornir_peering.inventory import Selection, select
from nornir_peering.runbooks.fleet import load_inventory
from nornir_peering.settings import Settings
from nornir_peering.store import open_state
from nornir_peering.store.bgp import stored


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
    with open_state(settings.peering.state, wait=settings.peering.lock_wait) as db:
        columns, rows = stored(
            db, routers, history=history, state=bgp_state, asn=asn, sessions=at_ix
        )
    return SessionsView(list(columns), [tuple(row.values()) for row in rows])
