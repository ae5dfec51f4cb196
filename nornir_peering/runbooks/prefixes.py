"""``grab-prefixes``: the IRR prefix lists of every peer AS, collected ahead of time.

For every peer AS in the selected routers' sessions, and our own AS: its
objects (the inventory's ``as_set`` override, else PeeringDB's ``irr_as_set``,
else ``AS<asn>``; :mod:`nornir_peering.irr.query`), expanded by bgpq4 or bgpq3
per family and as an AS-path list, ``irr_workers`` runs at once
(:mod:`nornir_peering.irr.bgpq`). Then, in the main thread and one transaction,
what is stored changes only where the guards allow (:mod:`nornir_peering.store.irr`):
a failed query, a list that would become empty or shrink past ``max_shrink``
(unless forced), or one past ``limit`` keeps the list stored before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nornir.core import Nornir

from nornir_peering.inventory import Selection
from nornir_peering.inventory.session import irr_filterable
from nornir_peering.irr.bgpq import BgpqConfig, Job, fetch_all
from nornir_peering.irr.query import irr_objects
from nornir_peering.runbooks.fleet import nornir_for, settings_of, toolkit_data
from nornir_peering.settings import Settings
from nornir_peering.store import open_state
from nornir_peering.store.irr import ListChange, apply, plan_updates

FAMILIES = (4, 6, 0)  # IPv4, IPv6, and the AS-path list


@dataclass
class PrefixReport:
    """What a run asked and what it did to each AS's lists."""

    changes: list[ListChange] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what the AS-SET fields held that is not run

    @property
    def failed(self) -> list[int]:
        """The ASes with a list that failed or was held back: the run exits 1."""
        return sorted({c.asn for c in self.changes if c.status in ("failed", "held")})

    def as_dict(self) -> dict[str, Any]:
        """The report as ``--json`` prints it."""
        return {
            "failed": self.failed,
            "problems": self.problems,
            "lists": [
                {
                    "asn": c.asn,
                    "family": c.family,
                    "status": c.status,
                    "objects": list(c.objects),
                    "added": c.added,
                    "removed": c.removed,
                    "previous": c.previous,
                    "count": c.count,
                    "forced": c.forced,
                    "message": c.message,
                }
                for c in self.changes
            ],
        }


@dataclass(frozen=True)
class Wanted:
    """What to ask the IRR for one AS: its AS-SET field and the operator's IRR server,
    sources and aggregation for it (None: the settings')."""

    as_set: str | None
    host: str | None = None
    sources: tuple[str, ...] | None = None
    aggregate: bool | None = None


def wanted_objects(nr: Nornir) -> tuple[dict[int, Wanted], dict[int, str]]:
    """Per peer AS of ``nr``'s IRR-filtered sessions (not transit or iBGP: their AS-SETs
    filter nothing, and a transit's may hold the whole Internet; not a route server
    without an AS-SET: :func:`~nornir_peering.inventory.session.irr_filterable`), and our
    own, what to
    ask; and the ASes whose sessions disagree on it (the first session's wins)."""
    local = nr.inventory.defaults.data.get("local_as") or {}
    wanted: dict[int, Wanted] = {}
    problems: dict[int, str] = {}
    if local.get("asn"):
        wanted[int(local["asn"])] = Wanted(local.get("as_set"))
    for host in nr.inventory.hosts.values():
        for session in host.get("sessions", []):
            if not irr_filterable(session):
                continue
            asn = int(session["remote_asn"])
            found = Wanted(
                session.get("as_set"),
                session.get("irr_host"),
                tuple(session.get("irr_sources") or ()) or None,
                session.get("irr_aggregate"),
            )
            first = wanted.setdefault(asn, found)
            if first != found and asn != local.get("asn"):
                problems.setdefault(
                    asn,
                    f"AS{asn}: sessions disagree on the AS-SET or IRR server "
                    f"({session['remote_address']} on {host.name}); the first one's is used",
                )
    return wanted, problems


def grab_prefixes(
    target: Nornir | Settings,
    selection: Selection | None = None,
    *,
    asns: tuple[int, ...] = (),
    limit: int | None = None,
    force: bool = False,
) -> PrefixReport:
    """Collect and store the IRR lists of the peers of ``target`` (an engineer's Nornir
    object, or the settings and the command line's selection); ``asns``: only these.

    For example::

        report = grab_prefixes(InitNornir(config_file="config.yaml"), asns=(65001,))
    """
    nr = nornir_for(target, selection)
    settings = target if isinstance(target, Settings) else settings_of(nr)
    data = toolkit_data(nr.inventory)
    wanted, disagreements = wanted_objects(nr)
    if asns:
        wanted = {asn: ask for asn, ask in wanted.items() if asn in asns}
        disagreements = {asn: text for asn, text in disagreements.items() if asn in asns}
    report = PrefixReport(problems=[disagreements[asn] for asn in sorted(disagreements)])
    jobs: list[Job] = []
    for asn in sorted(wanted):
        ask = wanted[asn]
        objects, problems = irr_objects(asn, ask.as_set)
        report.problems.extend(f"AS{asn} AS-SET field: {problem}" for problem in problems)
        jobs.extend(
            Job(asn, obj, family, ask.host, ask.sources, ask.aggregate)
            for obj in objects
            for family in FAMILIES
        )
    fetched = fetch_all(jobs, BgpqConfig.from_settings(settings.peering))
    state = Path(str(data["state"]))
    with open_state(state, write=True, wait=float(data["lock_wait"])) as db:
        report.changes = plan_updates(
            db, fetched, max_shrink=settings.peering.max_shrink, limit=limit, force=force
        )
        apply(db, report.changes)
    return report
