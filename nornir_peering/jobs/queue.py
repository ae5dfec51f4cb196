"""Batches of jobs on Redis Queue: enqueued by one command, waited for, collected once.

A batch is the jobs of one run (one per router, per batch of AS-SETs, per PeeringDB
type), kept in Redis under ``nornir-peering:batch:<id>``, sealed like its jobs (its
kind, items and what storing its results needs: nobody with access to Redis can change
it), and its jobs' results stay for :data:`KEEP` seconds. A job's end is read from RQ:
finished (its sealed result), or failed: a timeout, a worker that died mid-job (RQ
moves a job whose worker stopped sending heartbeats to its failed registry, as
"abandoned"; every look at the queue here runs that cleanup), or a job refused.

For example::

    jobs = JobQueue(access.connect(), access.sealer())
    batch = jobs.enqueue("poll", {"edge1": ("poll", payload)}, timeout=900)
    ends = jobs.wait(batch, timeout=900)
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.results import Result
from rq.serializers import JSONSerializer

from nornir_peering.jobs.access import JobsUnavailable
from nornir_peering.jobs.batch import Background, Batch, JobEnd
from nornir_peering.jobs.locked import RUN, ToolkitJob, ToolkitQueue
from nornir_peering.jobs.seal import SealBroken, Sealer
from nornir_peering.store.jobs import mark_collected

QUEUE = "nornir-peering"
KEEP = 7 * 86400  # seconds a batch and its jobs' results are kept
START_SLACK = 60  # seconds a job may start past its time in the queue: clocks differ
_BATCH = "nornir-peering:batch:"
_BATCHES = "nornir-peering:batches"  # sorted set of batch ids, by when enqueued

log = logging.getLogger(__name__)


def queue(redis: Redis) -> ToolkitQueue:
    """The toolkit's queue: JSON jobs that run :data:`~.locked.RUN` or nothing."""
    return ToolkitQueue(QUEUE, connection=redis)


class JobQueue:
    """The toolkit's queue on ``redis``, its jobs, results and batches sealed with
    ``sealer``'s keys."""

    def __init__(self, redis: Redis, sealer: Sealer) -> None:
        self.redis = redis
        self.sealer = sealer

    def enqueue(
        self,
        kind: str,
        jobs: Mapping[str, tuple[str, dict[str, Any]]],
        *,
        timeout: float,
        meta: dict[str, Any] | None = None,
    ) -> Batch:
        """Enqueue ``jobs`` (item → (one of :data:`~.work.JOB_FUNCTIONS`, its payload)) as
        one batch. Each job is RQ's call of :data:`~.locked.RUN` with one argument: its
        work (function, payload, batch, item, time limit) sealed for that job, to be
        started within its time in the queue.

        A job may run ``timeout`` seconds, and waits at most that long in the queue for a
        worker before it expires.
        """
        batch = Batch(uuid.uuid4().hex[:12], kind, {}, meta or {}, _now())
        target = queue(self.redis)
        seconds = max(1, int(timeout))
        try:
            for item, (function, payload) in jobs.items():
                job_id = str(uuid.uuid4())
                work = {
                    "kind": "work",
                    "function": function,
                    "payload": payload,
                    "batch": batch.id,
                    "item": item,
                    "timeout": seconds,
                }
                job = target.enqueue(
                    RUN,
                    self.sealer.seal(job_id, work, seconds=seconds + START_SLACK),
                    job_id=job_id,
                    job_timeout=seconds,
                    ttl=seconds,
                    result_ttl=KEEP,
                    failure_ttl=KEEP,
                    description=f"{kind} {item}",
                    meta={"batch": batch.id, "kind": kind, "item": item},
                )
                batch.items[item] = job.id
            self.save(batch)
        except RedisError as exc:
            raise JobsUnavailable(f"cannot enqueue on Redis: {exc}") from None
        return batch

    # -- the batches' records ---------------------------------------------------------

    def save(self, batch: Batch) -> None:
        """Store the batch's record, sealed (again: ``collected`` changes)."""
        sealed = self.sealer.seal(_BATCH + batch.id, {"batch": asdict(batch)}, seconds=KEEP)
        self.redis.set(_BATCH + batch.id, sealed, ex=KEEP)
        self.redis.zadd(_BATCHES, {batch.id: time.time()}, nx=True)  # ordered as enqueued

    def load(self, batch_id: str) -> Batch:
        """The batch of that id."""
        found = self.redis.get(_BATCH + batch_id)
        if found is None:
            raise JobsUnavailable(f"no batch {batch_id} in Redis (gone after {KEEP // 86400} days)")
        try:
            return self._opened_batch(batch_id, found)
        except (SealBroken, TypeError, ValueError, KeyError) as exc:
            raise JobsUnavailable(f"batch {batch_id}: its record was refused: {exc}") from None

    def recent(self) -> list[Batch]:
        """Every batch still kept, oldest first; a record that does not open with the job
        keys is left out (and logged), never trusted."""
        self.redis.zremrangebyscore(_BATCHES, 0, time.time() - KEEP)
        batches = []
        for raw in self.redis.zrange(_BATCHES, 0, -1):
            name = raw.decode() if isinstance(raw, bytes) else str(raw)
            found = self.redis.get(_BATCH + name)
            if found is None:
                continue
            try:
                batch = self._opened_batch(name, found)
            except (SealBroken, TypeError, ValueError, KeyError) as exc:
                log.warning("batch %s left out: its record was refused: %s", name, exc)
                continue
            if batch.collected:
                self._tidy(batch)
            batches.append(batch)
        return batches

    def _opened_batch(self, batch_id: str, found: bytes | str) -> Batch:
        text = found.decode() if isinstance(found, bytes) else found
        batch = Batch(**self.sealer.open(text, _BATCH + batch_id)["batch"])
        if batch.id != batch_id:
            raise SealBroken(f"the record of batch {batch.id} was found as batch {batch_id}")
        return batch

    # -- the jobs ---------------------------------------------------------------------

    def statuses(self, batch: Batch) -> dict[str, tuple[str, Job | None]]:
        """Each job's status (queued, started, finished, failed, ...; ``expired`` when its
        record is gone) and the job, by item."""
        StartedJobRegistry(
            QUEUE, connection=self.redis, job_class=ToolkitJob, serializer=JSONSerializer
        ).cleanup()
        ids = list(batch.items.values())
        jobs = ToolkitJob.fetch_many(ids, connection=self.redis)
        found: dict[str, tuple[str, Job | None]] = {}
        for (item, _), job in zip(batch.items.items(), jobs, strict=True):
            status = job.get_status(refresh=False) if job is not None else None
            found[item] = (str(status.value) if status is not None else "expired", job)
        return found

    def ends(self, batch: Batch) -> dict[str, JobEnd]:
        """The jobs of the batch that have ended, by item. A finished job's result is
        taken only if it opens with the job key and is the result of that job's work (its
        batch, item and function): anything else fails the job."""
        found = {}
        for item, (status, job) in self.statuses(batch).items():
            if status not in _ENDED:
                continue
            job_id = batch.items[item]
            if status == JobStatus.FINISHED.value and job is not None:
                found[item] = self._opened(batch, item, job_id, job.return_value())
            else:
                found[item] = JobEnd(item, job_id, False, error=_why(status, job))
        return found

    def _opened(self, batch: Batch, item: str, job_id: str, value: object) -> JobEnd:
        """A finished job's end from its sealed result: its value, or the error it says."""
        try:
            result = self.sealer.open(value, job_id)
            expected = {"kind": "result", "batch": batch.id, "item": item}
            if {key: result.get(key) for key in expected} != expected:
                raise SealBroken(f"job {job_id}: what it returned is not its result")
        except SealBroken as exc:
            return JobEnd(item, job_id, False, error=f"its result was refused: {exc}")
        if "error" in result:
            return JobEnd(item, job_id, False, error=str(result["error"]))
        return JobEnd(item, job_id, True, result.get("result"))

    def wait(self, batch: Batch, *, timeout: float, interval: float = 0.1) -> dict[str, JobEnd]:
        """Every job's end, waiting until all have ended; one still queued or running after
        ``timeout`` seconds (its own time in the queue and its run) ends the wait failed."""
        deadline = time.monotonic() + 2 * timeout + 10
        while True:
            try:
                found = self.ends(batch)
            except RedisError as exc:
                raise JobsUnavailable(
                    f"lost Redis while waiting for batch {batch.id}: {exc}"
                ) from None
            if len(found) == len(batch.items) or time.monotonic() > deadline:
                break
            time.sleep(interval)  # polling the jobs' status: RQ has no wait for many jobs
        for item, job_id in batch.items.items():
            if item not in found:
                found[item] = JobEnd(
                    item,
                    job_id,
                    False,
                    error=f"not ended after {2 * timeout:.0f} s: still in the queue or running "
                    f"('jobs' shows it; 'jobs collect {batch.id}' stores it once it ends)",
                )
        return found

    def collected(self, batch: Batch) -> None:
        """Mark ``batch`` collected, once its results are stored, and delete its jobs: their
        payloads and results are never needed again. A job still queued is cancelled, as
        its run reported it failed; one still running is deleted once it ends, by the next
        look at the batches (:meth:`recent`). What ``jobs`` lists of each stays in the
        batch's record (:attr:`Batch.ended`)."""
        with_record = self.redis.get(_BATCH + batch.id)
        if with_record is not None:
            try:
                if self._opened_batch(batch.id, with_record).collected:
                    batch.collected = True
                    return  # by another collect meanwhile, whose record stands
            except (SealBroken, TypeError, ValueError, KeyError):
                pass  # written anew below
        found = self.statuses(batch)
        target = queue(self.redis)
        for item, (status, job) in found.items():
            if job is not None and status in _WAITING:
                # cancelled only if taken off the queue before a worker took it
                taken_off = target.remove(job) == 1
                found[item] = (JobStatus.CANCELED.value if taken_off else "started", job)
        batch.ended = {item: [status, ended_at(job)] for item, (status, job) in found.items()}
        batch.collected = True
        self.save(batch)
        _delete_ended(self.redis, found.values())

    def _tidy(self, batch: Batch) -> None:
        """Delete the jobs of a collected batch that were still running when it was
        collected, once they have ended."""
        running = {item for item, (status, _) in batch.ended.items() if status == "started"}
        if not running:
            return
        found = self.statuses(Batch(batch.id, batch.kind, {i: batch.items[i] for i in running}))
        ended = {item: seen for item, seen in found.items() if seen[0] in _ENDED}
        if ended:
            for item, (status, job) in ended.items():
                # what it answered came too late to be stored
                batch.ended[item] = [f"{status} after collection", ended_at(job)]
            self.save(batch)
            _delete_ended(self.redis, ended.values())

    def listed(self, batch: Batch) -> dict[str, list[str | None]]:
        """Each job's status and when it ended, by item: from Redis, or from the batch's
        record once collected."""
        if batch.collected and batch.ended:
            return batch.ended
        return {
            item: [status, ended_at(job)] for item, (status, job) in self.statuses(batch).items()
        }


@dataclass
class Submitted:
    """A batch enqueued by :func:`submit`: its jobs' ends once waited for (None with
    ``--no-wait``)."""

    jobs: JobQueue
    background: Background
    batch: Batch
    ends: dict[str, JobEnd] | None

    def collected(self) -> None:
        """Mark the batch collected, once its results are stored: in the state, and in
        Redis, where its jobs are deleted."""
        if self.background.state is not None:
            mark_collected(
                self.background.state, self.background.lock_wait, self.batch.id, self.batch.kind
            )
        self.jobs.collected(self.batch)


def submit(
    background: Background,
    kind: str,
    jobs: Mapping[str, tuple[str, dict[str, Any]]],
    meta: dict[str, Any] | None = None,
) -> Submitted:
    """Enqueue ``jobs`` on ``background``'s queue as one batch (:meth:`JobQueue.enqueue`)
    and, unless ``--no-wait``, wait for them (:meth:`JobQueue.wait`)."""
    target = JobQueue(background.access.connect(), background.access.sealer())
    try:
        target.recent()  # which deletes what is left of the jobs of batches collected before
    except RedisError as exc:
        raise JobsUnavailable(f"cannot read the batches on Redis: {exc}") from None
    batch = target.enqueue(kind, jobs, timeout=background.timeout, meta=meta)
    ended = target.wait(batch, timeout=background.timeout) if background.wait else None
    return Submitted(target, background, batch, ended)


def _delete_ended(redis: Redis, jobs: Iterable[tuple[str, Job | None]]) -> None:
    for status, job in jobs:
        if job is not None and status in _ENDED:
            Result.delete_all(job)  # RQ keeps results apart from the job, which delete leaves
            try:
                job.delete()
            except ValueError:  # RQ lists an execution of a killed worker it no longer has
                redis.delete(job.key, job.execution_registry.key)


def ended_at(job: Job | None) -> str | None:
    """When a job ended, as the run log and the batches write times (UTC, to the second)."""
    if job is None or job.ended_at is None:
        return None
    return job.ended_at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


_ENDED = {JobStatus.FINISHED.value, JobStatus.FAILED.value, JobStatus.STOPPED.value}
_ENDED |= {JobStatus.CANCELED.value, "expired"}
_WAITING = {JobStatus.QUEUED.value}

# what a job that did not finish says, in words of this code only: the text RQ keeps of
# a failure is in Redis, where anyone could have written it
_KNOWN_FAILURES = (
    ("AbandonedJobError", "the worker running it died (abandoned job): nothing of it was stored"),
    ("JobTimeoutException", "timed out on its worker"),
    ("JobRefused", "refused by its worker: it names another function than nornir-peering's"),
    ("has expired", "refused by its worker: it started after its time in the queue"),
    ("was found in job", "refused by its worker: its sealed work is another job's"),
    ("does not open with the job key", "refused by its worker: it does not open with the job key"),
    ("already ran", "refused by its worker: it ran already (a replay)"),
)


def _why(status: str, job: Job | None) -> str:
    """One line saying why a job did not finish."""
    if status == "expired" or job is None:
        return "expired in the queue: no worker took it in time (is 'nornir-peering worker' up?)"
    result = job.latest_result()
    text = (result.exc_string if result is not None else "") or ""
    for marker, why in _KNOWN_FAILURES:
        if marker in text:
            return why if marker != "JobTimeoutException" else f"timed out after {job.timeout} s"
    return f"job {status} on its worker (the worker's log says why)"


def _now() -> str:
    return datetime.now(tz=UTC).replace(tzinfo=None).isoformat(timespec="seconds")
