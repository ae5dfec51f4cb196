"""``jobs collect``: store the results of batches enqueued with ``--tasks --no-wait``.

A batch is collected once all its jobs have ended, by the same code that stores a
waiting run's results: the polls (:func:`~.poll.store_polls`), the IRR lists with
their guards (:func:`~.prefixes.store_lists`), the PeeringDB downloads as one sync
(:func:`~nornir_peering.peeringdb.sync.apply_downloads`); a configure batch stores
nothing but its run log entry. Storing twice what a batch answered changes nothing
more (the same states, the same lists), so a collect killed after it stored and
before it marked the batch collected is harmless when run again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nornir_peering.errors import PeeringError
from nornir_peering.jobs.access import Access
from nornir_peering.jobs.batch import Batch
from nornir_peering.jobs.queue import JobQueue
from nornir_peering.peeringdb.sync import SyncReport, apply_downloads
from nornir_peering.runbooks.configure import ConfigureReport, outcomes
from nornir_peering.runbooks.poll import PollReport, polls, store_polls
from nornir_peering.runbooks.prefixes import PrefixReport, answers, count_given_up, store_lists
from nornir_peering.settings import Settings
from nornir_peering.store.jobs import collected_batches, mark_collected

Report = ConfigureReport | PollReport | PrefixReport | SyncReport


@dataclass
class Collected:
    """The batches collected, with the report of each, and those not ended yet."""

    reports: list[tuple[Batch, Report]] = field(default_factory=list)
    pending: list[Batch] = field(default_factory=list)


def collect(settings: Settings, access: Access, batch_id: str | None = None) -> Collected:
    """Store the results of ``batch_id``, or of every batch not collected yet whose
    jobs have all ended; a result that does not open with the job keys of ``access``
    fails its job. A batch the state says it stored already is never stored again,
    whatever its record in Redis says."""
    jobs = JobQueue(access.connect(), access.sealer())
    peering = settings.peering
    stored = collected_batches(peering.state, peering.lock_wait)
    if batch_id is not None:
        batches = [jobs.load(batch_id)]
        if batches[0].collected or batch_id in stored:
            raise PeeringError(f"batch {batch_id} was collected already")
    else:
        batches = [b for b in jobs.recent() if not b.collected and b.id not in stored]
    done = Collected()
    for batch in batches:
        ended = jobs.ends(batch)
        if len(ended) < len(batch.items):
            if batch_id is not None:
                raise PeeringError(
                    f"batch {batch_id}: {len(batch.items) - len(ended)} of its "
                    f"{len(batch.items)} jobs have not ended yet ('jobs' shows them)"
                )
            done.pending.append(batch)
            continue
        done.reports.append((batch, _store(settings, batch, ended)))
        mark_collected(peering.state, peering.lock_wait, batch.id, batch.kind)
        jobs.collected(batch)
    return done


def _store(settings: Settings, batch: Batch, ended: dict[str, Any]) -> Report:
    """Store what one batch's jobs answered, as the waiting command would have."""
    peering = settings.peering
    if batch.kind == "configure":
        return ConfigureReport(commit=bool(batch.meta.get("commit")), routers=outcomes(ended))
    if batch.kind == "poll":
        return store_polls(peering.state, peering.lock_wait, polls(ended))
    if batch.kind == "prefixes":
        fetched, failed = answers(ended, batch)
        report = PrefixReport(problems=[*batch.meta["problems"], *failed])
        count_given_up(report, fetched)
        report.changes = store_lists(
            peering.state,
            peering.lock_wait,
            fetched,
            max_shrink=batch.meta["max_shrink"],
            limit=batch.meta["limit"],
            force=batch.meta["force"],
        )
        return report
    if batch.kind == "peeringdb":
        return apply_downloads(peering, batch, ended)
    raise PeeringError(f"batch {batch.id}: unknown kind {batch.kind!r}")
