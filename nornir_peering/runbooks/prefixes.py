"""``grab-prefixes``: the IRR prefix lists of every peer AS, collected ahead of time.

For every peer AS in the selected routers' sessions, and our own AS: its
objects (the inventory's ``as_set`` override, else PeeringDB's ``irr_as_set``,
else ``AS<asn>``; :mod:`nornir_peering.irr.query`), expanded by bgpq4 or bgpq3
per family and as an AS-path list, ``irr_workers`` runs at once
(:mod:`nornir_peering.irr.bgpq`; an IRR server whose runs time out
``irr_give_up_after`` times in a row is given up, its remaining runs failing unmade).
Then, in the main thread and one transaction,
what is stored changes only where the guards allow (:mod:`nornir_peering.store.irr`):
a failed query, a list that would become empty or shrink past ``max_shrink``
(unless forced), or one past ``limit`` keeps the list stored before.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nornir.core import Nornir

from nornir_peering.inventory import Selection
from nornir_peering.inventory.session import irr_filterable
from nornir_peering.irr import Fetched
from nornir_peering.irr.bgpq import BgpqConfig, Job, fetch_all
from nornir_peering.irr.query import irr_objects
from nornir_peering.jobs import payload
from nornir_peering.jobs.batch import Background, Batch, JobEnd
from nornir_peering.jobs.queue import submit
from nornir_peering.runbooks.fleet import nornir_for, settings_of, toolkit_data
from nornir_peering.settings import Settings
from nornir_peering.store import open_state
from nornir_peering.store.irr import ListChange, apply, plan_updates

FAMILIES = (4, 6, 0)  # IPv4, IPv6, and the AS-path list
ASES_PER_JOB = 25  # with --tasks: the ASes (all their objects, in every family) of one job


@dataclass
class PrefixReport:
    """What a run asked and what it did to each AS's lists."""

    changes: list[ListChange] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what the AS-SET fields held that is not run
    batch: Batch | None = None  # the jobs, when enqueued with --tasks --no-wait
    given_up: dict[str, int] = field(default_factory=dict)  # IRR server: bgpq runs not made

    @property
    def failed(self) -> list[int]:
        """The ASes with a list that failed or was held back: the run exits 1."""
        return sorted({c.asn for c in self.changes if c.status in ("failed", "held")})

    def as_dict(self) -> dict[str, Any]:
        """The report as ``--json`` prints it."""
        return {
            "failed": self.failed,
            "problems": self.problems,
            "given_up": self.given_up,
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
    background: Background | None = None,
) -> PrefixReport:
    """Collect and store the IRR lists of the peers of ``target`` (an engineer's Nornir
    object, or the settings and the command line's selection); ``asns``: only these.
    With ``background``, the bgpq runs are made by RQ workers, :data:`ASES_PER_JOB`
    ASes a job (an AS's lists come whole from one job, or not at all), and the answers
    stored here.

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
    runs: list[list[Job]] = []  # each AS's runs: its objects, in every family
    for asn in sorted(wanted):
        ask = wanted[asn]
        objects, problems = irr_objects(asn, ask.as_set)
        report.problems.extend(f"AS{asn} AS-SET field: {problem}" for problem in problems)
        runs.append(
            [
                Job(asn, obj, family, ask.host, ask.sources, ask.aggregate)
                for obj in objects
                for family in FAMILIES
            ]
        )
    config = BgpqConfig.from_settings(settings.peering)
    guards: dict[str, Any] = {
        "max_shrink": settings.peering.max_shrink,
        "limit": limit,
        "force": force,
    }
    if background is None:
        fetched = fetch_all([run for group in runs for run in group], config)
    else:
        jobs = {}
        for start in range(0, len(runs), ASES_PER_JOB):
            chunk = [run for group in runs[start : start + ASES_PER_JOB] for run in group]
            item = f"AS{chunk[0].asn}-AS{chunk[-1].asn}" if chunk else f"part {start}"
            jobs[item] = (
                "prefixes",
                {
                    "runs": [payload.bgpq_job(run) for run in chunk],
                    "config": payload.bgpq_config(config),
                },
            )
        meta = {
            **guards,
            "problems": report.problems,
            "runs": {item: job["runs"] for item, (_, job) in jobs.items()},
        }
        submitted = submit(background, "prefixes", jobs, meta)
        if submitted.ends is None:
            report.batch = submitted.batch
            return report
        fetched, failed = answers(submitted.ends, submitted.batch)
        report.problems.extend(failed)
    count_given_up(report, fetched)
    report.changes = store_lists(
        Path(str(data["state"])), float(data["lock_wait"]), fetched, **guards
    )
    if background is not None:
        submitted.collected()
    return report


def count_given_up(report: PrefixReport, fetched: list[Fetched]) -> None:
    """Count the runs not made because their IRR server was given up, per server, and
    say so among the report's problems."""
    report.given_up = dict(sorted(Counter(f.host for f in fetched if f.given_up).items()))
    report.problems.extend(
        f"{host}: {runs} bgpq run(s) not made, the server given up after its runs timed out "
        "irr_give_up_after times in a row; their ASes keep the lists stored before"
        for host, runs in report.given_up.items()
    )


def answers(ends: dict[str, JobEnd], batch: Batch) -> tuple[list[Fetched], list[str]]:
    """The bgpq answers of a batch's jobs, and a line for each job that failed: each of
    its runs answers that failure, so that its ASes keep their stored lists and fail."""
    fetched: list[Fetched] = []
    failed = []
    for item, runs in batch.meta["runs"].items():
        end = ends[item]
        if end.ok:
            fetched.extend(payload.fetched_from(found) for found in end.value)
            continue
        failed.append(f"{item}: job {end.job_id} failed: {end.error}")
        for found in runs:
            run = payload.bgpq_job_from(found)
            error = f"job {end.job_id} failed: {end.error}"
            fetched.append(Fetched(run.asn, run.object, run.family, error=error))
    return fetched, failed


def store_lists(
    state: Path,
    lock_wait: float,
    fetched: list[Fetched],
    *,
    max_shrink: int,
    limit: int | None,
    force: bool,
) -> list[ListChange]:
    """Store the answers where the guards allow, in one transaction; what changed."""
    with open_state(state, write=True, wait=lock_wait) as db:
        changes = plan_updates(db, fetched, max_shrink=max_shrink, limit=limit, force=force)
        apply(db, changes)
    return changes
