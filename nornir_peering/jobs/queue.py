"""Batches of jobs on Redis Queue: enqueued by one command, waited for, collected once.

A batch is the jobs of one run (one per router, per batch of AS-SETs, per PeeringDB
type), kept in Redis under ``nornir-peering:batch:<id>`` with what storing its results
needs; its jobs' results stay for :data:`KEEP` seconds. A job's end is read from RQ:
finished (its return value), or failed: an exception in the job, a timeout, or a
worker that died mid-job (RQ moves a job whose worker stopped sending heartbeats to
its failed registry, as "abandoned"; every look at the queue here runs that cleanup).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.results import Result
from rq.serializers import JSONSerializer

from nornir_peering.jobs.access import JobsUnavailable
from nornir_peering.jobs.batch import Background, Batch, JobEnd
from nornir_peering.jobs.seal import SealBroken, Sealer

QUEUE = "nornir-peering"
RUN = "nornir_peering.jobs.work.run"  # the one function a job names (jobs/work.py)
KEEP = 7 * 86400  # seconds a batch and its jobs' results are kept
_BATCH = "nornir-peering:batch:"
_BATCHES = "nornir-peering:batches"  # sorted set of batch ids, by when enqueued


def queue(redis: Redis) -> Queue:
    """The toolkit's queue (JSON jobs)."""
    return Queue(QUEUE, connection=redis, serializer=JSONSerializer)


def enqueue(
    redis: Redis,
    sealer: Sealer,
    kind: str,
    jobs: Mapping[str, tuple[str, dict[str, Any]]],
    *,
    timeout: float,
    meta: dict[str, Any] | None = None,
) -> Batch:
    """Enqueue ``jobs`` (item → (one of :data:`~.work.JOB_FUNCTIONS`, its payload)) as
    one batch. Each job is RQ's call of :data:`~.work.RUN` with one argument: its function
    and payload sealed for that job (:mod:`.seal`), to be opened before its deadline.

    A job may run ``timeout`` seconds, and waits at most that long in the queue for a
    worker before it expires.
    """
    batch = Batch(uuid.uuid4().hex[:12], kind, {}, meta or {}, _now())
    target = queue(redis)
    seconds = max(1, int(timeout))
    try:
        for item, (function, payload) in jobs.items():
            job_id = str(uuid.uuid4())
            work = {"function": function, "payload": payload, "batch": batch.id, "item": item}
            job = target.enqueue(
                RUN,
                sealer.seal(job_id, work, seconds=2 * seconds + 60),
                job_id=job_id,
                job_timeout=seconds,
                ttl=seconds,
                result_ttl=KEEP,
                failure_ttl=KEEP,
                description=f"{kind} {item}",
                meta={"batch": batch.id, "kind": kind, "item": item},
            )
            batch.items[item] = job.id
        save(redis, batch)
    except RedisError as exc:
        raise JobsUnavailable(f"cannot enqueue on Redis: {exc}") from None
    return batch


@dataclass
class Submitted:
    """A batch enqueued by :func:`submit`: its jobs' ends once waited for (None with
    ``--no-wait``)."""

    redis: Redis
    batch: Batch
    ends: dict[str, JobEnd] | None

    def collected(self) -> None:
        """Mark the batch collected, once its results are stored (:func:`collected`)."""
        collected(self.redis, self.batch)


def collected(redis: Redis, batch: Batch) -> None:
    """Mark ``batch`` collected, once its results are stored, and delete its jobs: their
    payloads (a rendered configuration holds its BGP passwords, a login may be written
    in clear) and results are never needed again. A job still queued is cancelled, as
    its run reported it failed; one still running is deleted once it ends, by the next
    look at the batches (:func:`recent`). What ``jobs`` lists of each stays in the
    batch's record (:attr:`Batch.ended`)."""
    stored = redis.get(_BATCH + batch.id)
    if stored is not None and json.loads(stored).get("collected"):
        batch.collected = True
        return  # by another collect meanwhile, whose record stands
    found = statuses(redis, batch)
    target = queue(redis)
    for item, (status, job) in found.items():
        if job is not None and status in _WAITING:
            # cancelled only if taken off the queue before a worker took it
            taken_off = target.remove(job) == 1
            found[item] = (JobStatus.CANCELED.value if taken_off else "started", job)
    batch.ended = {item: [status, ended_at(job)] for item, (status, job) in found.items()}
    batch.collected = True
    save(redis, batch)
    _delete_ended(found.values())


def _delete_ended(jobs: Iterable[tuple[str, Job | None]]) -> None:
    for status, job in jobs:
        if job is not None and status in _ENDED:
            Result.delete_all(job)  # RQ keeps results apart from the job, which delete leaves
            job.delete()


def _tidy(redis: Redis, batch: Batch) -> None:
    """Delete the jobs of a collected batch that were still running when it was
    collected, once they have ended."""
    running = {item for item, (status, _) in batch.ended.items() if status == "started"}
    if not running:
        return
    found = statuses(redis, Batch(batch.id, batch.kind, {i: batch.items[i] for i in running}))
    ended = {item: seen for item, seen in found.items() if seen[0] in _ENDED}
    if ended:
        for item, (status, job) in ended.items():
            # what it answered came too late to be stored
            batch.ended[item] = [f"{status} after collection", ended_at(job)]
        save(redis, batch)
        _delete_ended(ended.values())


def listed(redis: Redis, batch: Batch) -> dict[str, list[str | None]]:
    """Each job's status and when it ended, by item: from Redis, or from the batch's
    record once collected."""
    if batch.collected and batch.ended:
        return batch.ended
    return {item: [status, ended_at(job)] for item, (status, job) in statuses(redis, batch).items()}


def ended_at(job: Job | None) -> str | None:
    """When a job ended, as the run log and the batches write times (UTC, to the second)."""
    if job is None or job.ended_at is None:
        return None
    return job.ended_at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def submit(
    background: Background,
    kind: str,
    jobs: Mapping[str, tuple[str, dict[str, Any]]],
    meta: dict[str, Any] | None = None,
) -> Submitted:
    """Enqueue ``jobs`` on ``background``'s Redis as one batch (:func:`enqueue`) and,
    unless ``--no-wait``, wait for them (:func:`wait`)."""
    sealer = background.access.sealer()
    redis = background.access.connect()
    try:
        recent(redis)  # which deletes what is left of the jobs of batches collected before
    except RedisError as exc:
        raise JobsUnavailable(f"cannot read the batches on Redis: {exc}") from None
    batch = enqueue(redis, sealer, kind, jobs, timeout=background.timeout, meta=meta)
    ended = wait(redis, batch, sealer, timeout=background.timeout) if background.wait else None
    return Submitted(redis, batch, ended)


def save(redis: Redis, batch: Batch) -> None:
    """Store the batch's record (again: ``collected`` changes)."""
    redis.set(_BATCH + batch.id, json.dumps(asdict(batch)), ex=KEEP)
    redis.zadd(_BATCHES, {batch.id: time.time()}, nx=True)  # ordered as enqueued


def load(redis: Redis, batch_id: str) -> Batch:
    """The batch of that id."""
    found = redis.get(_BATCH + batch_id)
    if found is None:
        raise JobsUnavailable(f"no batch {batch_id} in Redis (gone after {KEEP // 86400} days)")
    return Batch(**json.loads(found))


def recent(redis: Redis) -> list[Batch]:
    """Every batch still kept, oldest first."""
    redis.zremrangebyscore(_BATCHES, 0, time.time() - KEEP)
    batches = []
    for raw in redis.zrange(_BATCHES, 0, -1):
        name = raw.decode() if isinstance(raw, bytes) else str(raw)
        found = redis.get(_BATCH + name)
        if found is not None:
            batch = Batch(**json.loads(found))
            if batch.collected:
                _tidy(redis, batch)
            batches.append(batch)
    return batches


def statuses(redis: Redis, batch: Batch) -> dict[str, tuple[str, Job | None]]:
    """Each job's status (queued, started, finished, failed, ...; ``expired`` when its
    record is gone) and the job, by item."""
    StartedJobRegistry(QUEUE, connection=redis, serializer=JSONSerializer).cleanup()
    ids = list(batch.items.values())
    jobs = Job.fetch_many(ids, connection=redis, serializer=JSONSerializer)
    found: dict[str, tuple[str, Job | None]] = {}
    for (item, _), job in zip(batch.items.items(), jobs, strict=True):
        status = job.get_status(refresh=False) if job is not None else None
        found[item] = (str(status.value) if status is not None else "expired", job)
    return found


_ENDED = {JobStatus.FINISHED.value, JobStatus.FAILED.value, JobStatus.STOPPED.value}
_ENDED |= {JobStatus.CANCELED.value, "expired"}
_WAITING = {JobStatus.QUEUED.value}


def ends(redis: Redis, batch: Batch, sealer: Sealer) -> dict[str, JobEnd]:
    """The jobs of the batch that have ended, by item. A finished job's result is taken
    only if it opens with the job key and names its job: anything else fails the job."""
    found = {}
    for item, (status, job) in statuses(redis, batch).items():
        if status not in _ENDED:
            continue
        job_id = batch.items[item]
        if status == JobStatus.FINISHED.value and job is not None:
            found[item] = _opened(item, job_id, job.return_value(), sealer)
        else:
            found[item] = JobEnd(item, job_id, False, error=_why(status, job))
    return found


def _opened(item: str, job_id: str, value: object, sealer: Sealer) -> JobEnd:
    """A finished job's end from its sealed result: its value, or the error it reports."""
    try:
        result = sealer.open(value, job_id)
    except SealBroken as exc:
        return JobEnd(item, job_id, False, error=f"its result was refused: {exc}")
    if "error" in result:
        return JobEnd(item, job_id, False, error=str(result["error"]))
    return JobEnd(item, job_id, True, result.get("result"))


def wait(
    redis: Redis, batch: Batch, sealer: Sealer, *, timeout: float, interval: float = 0.1
) -> dict[str, JobEnd]:
    """Every job's end, waiting until all have ended; one still queued or running after
    ``timeout`` seconds (its own time in the queue and its run) ends the wait failed."""
    deadline = time.monotonic() + 2 * timeout + 10
    while True:
        try:
            found = ends(redis, batch, sealer)
        except RedisError as exc:
            raise JobsUnavailable(f"lost Redis while waiting for batch {batch.id}: {exc}") from None
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


def _why(status: str, job: Job | None) -> str:
    """One line saying why a job did not finish."""
    if status == "expired" or job is None:
        return "expired in the queue: no worker took it in time (is 'nornir-peering worker' up?)"
    result = job.latest_result()
    text = (result.exc_string if result is not None else "") or ""
    if "AbandonedJobError" in text:
        return "the worker running it died (abandoned job): nothing of it was stored"
    if "JobTimeoutException" in text:
        return f"timed out after {job.timeout} s on its worker"
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"job {status}"


def _now() -> str:
    return datetime.now(tz=UTC).replace(tzinfo=None).isoformat(timespec="seconds")
