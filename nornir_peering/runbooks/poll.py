"""``poll-bgp-sessions``: the state of every BGP session, from every router at once.

Per router, in parallel: NAPALM's ``get_bgp_neighbors_detail`` (or
``get_bgp_neighbors`` where a driver lacks it), matched to the inventory's
sessions by VRF and remote address. Then, in the main thread and one
transaction: the state of every session, a history row for every change.

A session the inventory wants but the router lacks is ``not configured``;
one the router has and the inventory does not know is *unknown*. A router
that cannot be polled fails, and its sessions keep their last state, marked
stale: never silently down.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from ipaddress import ip_address
from typing import Any

import duckdb
from nornir.core.task import Result, Task

from nornir_peering.inventory import Selection
from nornir_peering.inventory.resolve import canonical
from nornir_peering.runbooks.fleet import fleet
from nornir_peering.settings import Settings
from nornir_peering.store import open_state

NOT_CONFIGURED = "not configured"
NEAR_LIMIT = 0.9  # received prefixes at or above this share of max-prefix need attention


@dataclass
class SessionState:
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
        return self.state == "Established"

    @property
    def near_limit(self) -> bool:
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
        return ""


@dataclass
class RouterPoll:
    router: str
    reachable: bool
    error: str = ""
    sessions: list[SessionState] = field(default_factory=list)

    @property
    def up(self) -> int:
        return sum(1 for s in self.sessions if s.up)


@dataclass
class PollReport:
    routers: list[RouterPoll] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        return [r.router for r in self.routers if not r.reachable]

    def as_dict(self) -> dict[str, Any]:
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


def poll_bgp_sessions(
    settings: Settings,
    selection: Selection,
    *,
    bgp_groups: tuple[str, ...] = (),
    ixes: tuple[str, ...] = (),
) -> PollReport:
    """Poll the selected routers that have polling on; store and return what they said.

    ``bgp_groups`` / ``ixes`` (the older ``poll_peering_sessions``): only routers
    with sessions in these BGP groups or at these IXes, and only those
    sessions in the report; everything polled is stored.
    """
    selected = fleet(settings, selection)

    def wanted(session: dict[str, Any]) -> bool:
        return not (bgp_groups or ixes) or session["group"] in bgp_groups or session["ix"] in ixes

    nornir = selected.nornir.filter(
        filter_func=lambda host: (
            host.get("poll", True) is not False and any(wanted(s) for s in host["sessions"])
        )
    )
    try:
        results = nornir.run(task=_poll, name="poll-bgp-sessions", on_failed=True)
    finally:
        nornir.close_connections(on_failed=True)
    now = datetime.now(tz=UTC).replace(tzinfo=None)
    report = PollReport()
    with open_state(settings.peering.state, write=True, wait=settings.peering.lock_wait) as db:
        db.execute("BEGIN TRANSACTION")
        try:
            for name in sorted(results):
                host = nornir.inventory.hosts[name]
                first = results[name][0]
                if first.failed:
                    error = str(first.exception or "failed").strip().splitlines()[0]
                    report.routers.append(RouterPoll(name, False, error, _stale(db, name, now)))
                    continue
                polled = _match(name, host["sessions"], first.result)
                _store(db, polled, now)
                keep = {
                    (s["vrf"], canonical(s["remote_address"]))
                    for s in host["sessions"]
                    if wanted(s)
                }
                shown = [
                    s
                    for s in polled
                    if not (bgp_groups or ixes) or (s.vrf, s.remote_address) in keep
                ]
                report.routers.append(RouterPoll(name, True, "", shown))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return report


def _poll(task: Task) -> Result:
    """The router's BGP neighbors, flattened to one dict per neighbor.

    The details where the driver has them; the summary gives the uptime (the
    details have none in NAPALM's model), and everything where details are
    not implemented."""
    device = task.host.get_connection("napalm", task.nornir.config)
    summary = _from_summary(device.get_bgp_neighbors())
    try:
        detail = device.get_bgp_neighbors_detail()
    except NotImplementedError:
        return Result(task.host, result=summary)
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
    return Result(task.host, result=found)


def _from_summary(neighbors: dict[str, Any]) -> list[dict[str, Any]]:
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


def _match(
    router: str, wanted: list[dict[str, Any]], found: list[dict[str, Any]]
) -> list[SessionState]:
    on_router = {(f["vrf"], f["remote_address"]): f for f in found}
    sessions = []
    for session in wanted:
        vrf, address = session["vrf"], canonical(session["remote_address"])
        seen = on_router.pop((vrf, address), None)
        state = (
            _from_router(router, vrf, address, seen)
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
        sessions.append(_from_router(router, vrf, address, seen))
    return sessions


def _from_router(router: str, vrf: str, address: str, seen: dict[str, Any]) -> SessionState:
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


def _store(db: duckdb.DuckDBPyConnection, sessions: list[SessionState], now: datetime) -> None:
    """Replace the router's rows, and add a history row for each change of state:
    one statement each, whatever the number of sessions."""
    if not sessions:
        return
    router = sessions[0].router
    previous = {
        (vrf, address): (state, established)
        for vrf, address, state, established in db.execute(
            "SELECT vrf, remote_address, state, last_established FROM bgp_sessions "
            "WHERE router = ?",
            [router],
        ).fetchall()
    }
    rows, changes = [], []
    for s in sessions:
        old_state, established = previous.get((s.vrf, s.remote_address), (None, None))
        s.last_established = now if s.up else established
        if old_state != s.state:
            changes.append([now, router, s.vrf, s.remote_address, s.remote_asn, old_state, s.state])
        rows.append(
            [
                router,
                s.vrf,
                s.remote_address,
                s.remote_asn,
                s.wanted,
                s.configured,
                s.state,
                s.received_prefixes,
                s.accepted_prefixes,
                s.advertised_prefixes,
                s.max_prefix,
                s.uptime,
                s.last_established,
                now,
                False,
            ]
        )
    db.execute("DELETE FROM bgp_sessions WHERE router = ?", [router])
    _insert(db, "bgp_sessions", rows)
    _insert(db, "bgp_session_history", changes)


def _insert(db: duckdb.DuckDBPyConnection, table: str, rows: list[list[Any]]) -> None:
    if not rows:
        return
    marks = "(" + ", ".join("?" * len(rows[0])) + ")"
    db.execute(
        f"INSERT INTO {table} VALUES {', '.join([marks] * len(rows))}",
        [value for row in rows for value in row],
    )


def _stale(db: duckdb.DuckDBPyConnection, router: str, now: datetime) -> list[SessionState]:
    """An unreachable router: its sessions keep their last state, marked stale."""
    db.execute("UPDATE bgp_sessions SET stale = true WHERE router = ?", [router])
    rows = db.execute(
        "SELECT vrf, remote_address, remote_asn, wanted, configured, state, received_prefixes, "
        "accepted_prefixes, advertised_prefixes, max_prefix, uptime, last_established "
        "FROM bgp_sessions WHERE router = ? ORDER BY vrf, remote_address",
        [router],
    ).fetchall()
    names = (
        "vrf",
        "remote_address",
        "remote_asn",
        "wanted",
        "configured",
        "state",
        "received_prefixes",
        "accepted_prefixes",
        "advertised_prefixes",
        "max_prefix",
        "uptime",
        "last_established",
    )
    return [
        SessionState(router=router, stale=True, **dict(zip(names, row, strict=True)))
        for row in rows
    ]
