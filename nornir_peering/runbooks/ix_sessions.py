"""``check-ix-sessions``: the peers still missing at every IX the selected routers are on.

For each of our IX connections (router, IX, and each family we have an address
in), PeeringDB's members of that LAN with no session on that router yet, ranked
(:mod:`nornir_peering.inventory.discovery`); and, each in its own section, peers
we reach over one family only, wanted peers PeeringDB does not place at the IX,
pinned addresses PeeringDB does not list, and sessions the polled state has seen
down for more than a day. Read-only: the cache, the inventory, the polled state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from nornir.core import Nornir

from nornir_peering.inventory import Selection
from nornir_peering.inventory.discovery import (
    Ours,
    ixf_disagreements,
    missing_peers,
    never_established,
    one_family,
    ours_loaded,
)
from nornir_peering.peeringdb.ixf import export_urls, fetch_exports, lan_prefixes
from nornir_peering.runbooks.fleet import nornir_for, settings_of, toolkit_data
from nornir_peering.settings import PeeringSettings, Settings
from nornir_peering.store import open_state
from nornir_peering.store.ixf import exports as stored_exports
from nornir_peering.store.ixf import forget as forget_exports
from nornir_peering.store.ixf import store as store_exports

SECTIONS = (
    "missing",
    "one_family",
    "not_at_ix",
    "gone_from_peeringdb",
    "never_established",
    "ixf_disagreements",
)
DOWN_FOR = timedelta(days=1)  # a configured session down longer than this is listed


@dataclass
class IXReport:
    """The sections of a check, each a list of rows (plain dicts, ``--json``'s)."""

    missing: list[dict[str, Any]] = field(default_factory=list)
    one_family: list[dict[str, Any]] = field(default_factory=list)
    not_at_ix: list[dict[str, Any]] = field(default_factory=list)
    gone_from_peeringdb: list[dict[str, Any]] = field(default_factory=list)
    never_established: list[dict[str, Any]] = field(default_factory=list)
    ixf_disagreements: list[dict[str, Any]] = field(default_factory=list)
    ixf: list[dict[str, Any]] = field(default_factory=list)  # each IX-F export's state
    peered: dict[str, set[int]] = field(default_factory=dict)  # per IX, the ASNs we want

    @property
    def ixf_failed(self) -> list[dict[str, Any]]:
        """The IX-F exports whose last fetch failed (the PeeringDB answer is still given)."""
        return [export for export in self.ixf if export["error"]]

    def as_dict(self) -> dict[str, list[dict[str, Any]]]:
        """The sections by name, and ``ixf``, as ``--json`` prints them."""
        return {name: getattr(self, name) for name in (*SECTIONS, "ixf")}


@dataclass(frozen=True)
class Filters:
    """Which rows an engineer asked for: ``policy`` (``open``...), ``family``, ``asns``."""

    policy: str | None = None
    family: int | None = None
    asns: tuple[int, ...] = ()

    def keep(self, row: dict[str, Any]) -> bool:
        """Whether ``row`` passes (a filter a section has no column for passes)."""
        if self.family is not None and row.get("family", self.family) != self.family:
            return False
        if self.asns and row.get("asn") not in self.asns:
            return False
        if self.policy is not None and "policy_general" in row:
            return str(row["policy_general"] or "").lower() == self.policy.lower()
        return True


def check_ix_sessions(
    target: Nornir | Settings,
    selection: Selection | None = None,
    *,
    ixes: tuple[str, ...] = (),
    filters: Filters | None = None,
    now: datetime | None = None,
    fetch_ixf: bool = True,
) -> IXReport:
    """The check for the IXes the routers of ``target`` connect to (only ``ixes``, if
    given), with the IXes' IX-F exports fetched first (``fetch_ixf``; else the ones
    stored before). For example::

        report = check_ix_sessions(InitNornir(config_file="config.yaml"), ixes=("lab-ix",))
        report.missing[0]["asn"]
    """
    nr = nornir_for(target, selection)
    filters = filters or Filters()
    now = now or datetime.now(tz=UTC).replace(tzinfo=None)
    defaults = nr.inventory.defaults.data
    ours = Ours()
    lans: dict[int, str] = {}  # our IX LANs, and their keys in the inventory
    for host in nr.inventory.hosts.values():
        for conn in host["connections"]:  # host.get() would give Nornir's open connections
            ours.lans.add(conn["ixlan_id"])
            if ixes and conn["ix"] not in ixes:
                continue
            lans[conn["ixlan_id"]] = conn["ix"]
            for family, key in ((4, "ipv4"), (6, "ipv6")):
                if conn[key]:
                    ours.add_port(host.name, conn["ix"], conn["ixlan_id"], family, conn["vrf"])
        # every session counts as one we have (a peer we reach directly on its IX address
        # is not missing); the sections on sessions take the IX ones
        ours.add_sessions(
            host.name,
            (s for s in host["sessions"] if s["kind"] != "ix" or not ixes or s["ix"] in ixes),
        )
    peered: dict[str, set[int]] = {}
    for host in nr.inventory.hosts.values():
        for s in host["sessions"]:
            if s["kind"] == "ix":
                peered.setdefault(s["ix"], set()).add(s["remote_asn"])
    data = toolkit_data(nr.inventory)
    state, wait = Path(str(data["state"])), float(data["lock_wait"])
    if fetch_ixf:
        settings = target if isinstance(target, Settings) else settings_of(nr)
        refresh_ixf(settings.peering, state, wait, lans)
    exclude = excluded(defaults, nr, now.date())
    with open_state(state, wait=wait) as db, ours_loaded(db, ours):
        missing = missing_peers(db, exclude)
        single = one_family(db)
        down = never_established(db, now=now, after=DOWN_FOR)
        disagreements = ixf_disagreements(db, exclude)
        ixf = [{"ix": lans[e["ixlan_id"]], **e} for e in stored_exports(db, sorted(lans))]
    chosen = set(lans.values())
    problems = [p for p in data.get("problems", []) if p.get("ix") in chosen]
    report = IXReport(
        missing=missing,
        one_family=single,
        not_at_ix=[_problem(p) for p in problems if p["kind"] in ("not-at-ix", "not-in-peeringdb")],
        gone_from_peeringdb=[_problem(p) for p in problems if p["kind"] == "pinned-address"],
        never_established=down,
        ixf_disagreements=disagreements,
        ixf=ixf,
        peered=peered,
    )
    for name in SECTIONS:
        setattr(report, name, [row for row in getattr(report, name) if filters.keep(row)])
    return report


def refresh_ixf(settings: PeeringSettings, state: Path, wait: float, lans: dict[int, str]) -> None:
    """Fetch the IX-F exports of ``lans`` and store them: the URLs are read first and the
    state file let go, so that a slow export never holds it."""
    with open_state(state, wait=wait) as db:
        urls = export_urls(db, lans)
        prefixes = lan_prefixes(db, lans)
    fetched = fetch_exports(settings, urls, prefixes)
    with open_state(state, write=True, wait=wait) as db:
        store_exports(db, fetched)
        forget_exports(db, [lan for lan in lans if lan not in urls])


def excluded(defaults: dict[str, Any], nr: Nornir, today: date) -> set[int]:
    """Our ASNs (the local AS, every router's own) and the ``ignore_asns`` whose ``until``
    has not passed (none: for good)."""
    found = {int(defaults["local_as"]["asn"])}
    found |= {int(h.get("local_asn")) for h in nr.inventory.hosts.values() if h.get("local_asn")}
    for ignored in defaults.get("ignore_asns") or []:
        until = ignored.get("until")
        if until is None or date.fromisoformat(str(until)) >= today:
            found.add(int(ignored["asn"]))
    return found


def _problem(problem: dict[str, Any]) -> dict[str, Any]:
    """An inventory problem as a section row."""
    return {"ix": problem["ix"], "asn": problem["asn"], "message": problem["message"]}
