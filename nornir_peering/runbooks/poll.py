"""``poll-bgp-sessions``: the state of every BGP session, from every router at once.

Per router, in parallel, the task :func:`~nornir_peering.tasks.get_bgp_state`:
NAPALM's ``get_bgp_neighbors_detail`` (or ``get_bgp_neighbors`` where a driver
lacks it), matched to the inventory's sessions by VRF and remote address. Then,
in the main thread and one transaction: the state of every session, a history
row for every change (:mod:`nornir_peering.store.bgp`).

A session the inventory wants but the router lacks is ``not configured``;
one the router has and the inventory does not know is *unknown*. A router
that cannot be polled fails, and its sessions keep their last state, marked
stale: never silently down.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nornir.core import Nornir

from nornir_peering.inventory import Selection
from nornir_peering.inventory.session import canonical
from nornir_peering.neighbors import SessionState
from nornir_peering.runbooks.fleet import failure, nornir_for, toolkit_data
from nornir_peering.settings import Settings
from nornir_peering.store import open_state, transaction
from nornir_peering.store.bgp import mark_stale, replace_router
from nornir_peering.tasks import get_bgp_state


@dataclass
class RouterPoll:
    """One router's poll: whether it answered, and its sessions."""

    router: str
    reachable: bool
    error: str = ""
    sessions: list[SessionState] = field(default_factory=list)

    @property
    def up(self) -> int:
        """How many sessions are Established."""
        return sum(1 for s in self.sessions if s.up)


@dataclass
class PollReport:
    """Every polled router."""

    routers: list[RouterPoll] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        """The routers that could not be polled."""
        return [r.router for r in self.routers if not r.reachable]

    def as_dict(self) -> dict[str, Any]:
        """The report as ``--json`` prints it."""
        return {
            "failed": self.failed,
            "routers": [
                {
                    "router": r.router,
                    "reachable": r.reachable,
                    "error": r.error,
                    "up": r.up,
                    "total": len(r.sessions),
                    "sessions": [{**asdict(s), "attention": s.attention} for s in r.sessions],
                }
                for r in self.routers
            ],
        }


ALL = "*"  # every BGP group, or every IX, for poll_bgp_sessions' bgp_groups and ixes


def poll_bgp_sessions(
    target: Nornir | Settings,
    selection: Selection | None = None,
    *,
    bgp_groups: tuple[str, ...] = (),
    ixes: tuple[str, ...] = (),
) -> PollReport:
    """Poll the routers of ``target`` (an engineer's Nornir object, or the settings and
    the command line's selection) that have polling on; store and return what they said.

    ``bgp_groups`` / ``ixes`` (the older ``poll_peering_sessions``): only routers
    with sessions in these BGP groups or at these IXes (:data:`ALL`: in any), and only
    those sessions in the report; everything polled is stored.
    """
    nr = nornir_for(target, selection)
    data = toolkit_data(nr.inventory)

    def wanted(session: dict[str, Any]) -> bool:
        if not (bgp_groups or ixes):
            return True
        group, ix = session["group"], session["ix"]
        return bool(
            (group and (group in bgp_groups or ALL in bgp_groups))
            or (ix and (ix in ixes or ALL in ixes))
        )

    chosen = nr.filter(
        filter_func=lambda host: (
            host.get("poll", True) is not False and any(wanted(s) for s in host["sessions"])
        )
    )
    try:
        results = chosen.run(task=get_bgp_state, name="poll-bgp-sessions", on_failed=True)
    finally:
        chosen.close_connections(on_failed=True)
    now = datetime.now(tz=UTC).replace(tzinfo=None)
    report = PollReport()
    state = Path(str(data["state"]))
    with open_state(state, write=True, wait=float(data["lock_wait"])) as db, transaction(db):
        for name in sorted(results):
            host = chosen.inventory.hosts[name]
            first = results[name][0]
            if first.failed:
                stale = [_state(row) for row in mark_stale(db, name)]
                report.routers.append(
                    RouterPoll(name, False, failure(first).splitlines()[0], stale)
                )
                continue
            polled: list[SessionState] = first.result
            written = replace_router(db, name, [_row(s) for s in polled], now)
            for session, row in zip(polled, written, strict=True):
                session.last_established = row["last_established"]
            keep = {
                (s["vrf"], canonical(s["remote_address"])) for s in host["sessions"] if wanted(s)
            }
            shown = [
                s for s in polled if not (bgp_groups or ixes) or (s.vrf, s.remote_address) in keep
            ]
            report.routers.append(RouterPoll(name, True, "", shown))
    return report


_STATE_FIELDS = {f.name for f in fields(SessionState)}


def _row(session: SessionState) -> dict[str, Any]:
    """The stored columns of a session the router reported."""
    row = asdict(session)
    for name in ("router", "last_established", "stale"):
        row.pop(name)
    return row


def _state(row: dict[str, Any]) -> SessionState:
    """A stored session, as the state it was last seen in."""
    return SessionState(**{k: v for k, v in row.items() if k in _STATE_FIELDS})
