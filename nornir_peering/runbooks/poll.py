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
from nornir.core.task import Result

from nornir_peering.inventory import Selection
from nornir_peering.inventory.session import canonical
from nornir_peering.jobs import payload
from nornir_peering.jobs.batch import Background, Batch, JobEnd
from nornir_peering.jobs.queue import submit
from nornir_peering.neighbors import SessionState
from nornir_peering.runbooks.bounded import run_bounded
from nornir_peering.runbooks.fleet import failure, nornir_for, toolkit_data
from nornir_peering.settings import Settings
from nornir_peering.store import open_state, transaction
from nornir_peering.store.bgp import mark_stale, replace_router
from nornir_peering.store.runs import RunItem
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
    batch: Batch | None = None  # the jobs, when enqueued with --tasks --no-wait

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


def _item(router: str, first: Result) -> RunItem:
    """A router's poll as the run's journal keeps it (what the poll stores comes after
    every router has answered)."""
    if first.failed:
        return RunItem(router, "unreachable", note=failure(first).splitlines()[0])
    return RunItem(router, "answered", note="not stored: the run ended before storing")


ALL = "*"  # every BGP group, or every IX, for poll_bgp_sessions' bgp_groups and ixes


#: a router's poll: its sessions, or why it could not be polled
Polled = list[SessionState] | str


def poll_bgp_sessions(
    target: Nornir | Settings,
    selection: Selection | None = None,
    *,
    bgp_groups: tuple[str, ...] = (),
    ixes: tuple[str, ...] = (),
    background: Background | None = None,
) -> PollReport:
    """Poll the routers of ``target`` (an engineer's Nornir object, or the settings and
    the command line's selection) that have polling on; store and return what they said.

    ``bgp_groups`` / ``ixes`` (the older ``poll_peering_sessions``): only routers
    with sessions in these BGP groups or at these IXes (:data:`ALL`: in any), and only
    those sessions in the report; everything polled is stored. With ``background``,
    each router is polled by an RQ worker and the results stored here.
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
    polled: dict[str, Polled] = {}
    if background is None:
        results = run_bounded(chosen, "poll-bgp-sessions", get_bgp_state, _item)
        for name in results:
            first = results[name][0]
            polled[name] = failure(first).splitlines()[0] if first.failed else first.result
    else:
        jobs = {
            name: ("poll", {"router": payload.router(host)})
            for name, host in sorted(chosen.inventory.hosts.items())
        }
        submitted = submit(background, "poll", jobs)
        if submitted.ends is None:
            return PollReport(batch=submitted.batch)
        polled = polls(submitted.ends)
    keep = None
    if bgp_groups or ixes:
        keep = {
            name: {
                (s["vrf"], canonical(s["remote_address"])) for s in host["sessions"] if wanted(s)
            }
            for name, host in chosen.inventory.hosts.items()
        }
    report = store_polls(Path(str(data["state"])), float(data["lock_wait"]), polled, keep)
    if background is not None:
        submitted.collected()
    return report


def polls(ends: dict[str, JobEnd]) -> dict[str, Polled]:
    """The routers' polls from their jobs' ends (a job that failed: its router could not
    be polled)."""
    found: dict[str, Polled] = {}
    for router, end in ends.items():
        if not end.ok:
            found[router] = f"job {end.job_id}: {end.error}"
        elif "error" in end.value:
            found[router] = str(end.value["error"]).splitlines()[0]
        else:
            found[router] = [payload.session_state(s) for s in end.value["sessions"]]
    return found


def store_polls(
    state: Path,
    lock_wait: float,
    polled: dict[str, Polled],
    keep: dict[str, set[tuple[str, str]]] | None = None,
) -> PollReport:
    """Store every router's poll in one transaction: its sessions' state and history, or,
    for a router that could not be polled, its sessions marked stale. ``keep``: the
    sessions of each router to report (all when None)."""
    now = datetime.now(tz=UTC).replace(tzinfo=None)
    report = PollReport()
    with open_state(state, write=True, wait=lock_wait) as db, transaction(db):
        for name in sorted(polled):
            found = polled[name]
            if isinstance(found, str):
                stale = [_state(row) for row in mark_stale(db, name)]
                report.routers.append(RouterPoll(name, False, found, stale))
                continue
            written = replace_router(db, name, [_row(s) for s in found], now)
            for session, row in zip(found, written, strict=True):
                session.last_established = row["last_established"]
            shown = [s for s in found if keep is None or (s.vrf, s.remote_address) in keep[name]]
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
