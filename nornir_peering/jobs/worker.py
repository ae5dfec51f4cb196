"""``nornir-peering worker``: RQ workers on the toolkit's queue, with JSON jobs."""

from __future__ import annotations

from typing import Any

from redis import Redis
from rq import Worker
from rq.serializers import JSONSerializer
from rq.worker_pool import WorkerPool

from nornir_peering.jobs.queue import QUEUE, queue
from nornir_peering.secrets import mask_logs


def run_workers(
    redis: Redis, *, workers: int = 1, burst: bool = False, heartbeat: int = 30
) -> None:
    """Run ``workers`` RQ workers until stopped (SIGTERM, Ctrl-C: each finishes its job
    first), or, with ``burst``, until the queue is empty. ``heartbeat``: RQ's
    ``job_monitoring_interval``, how often a busy worker tells Redis it is alive.

    One worker runs in this process; more run as RQ's worker pool, one process each.
    """
    mask_logs("rq", "rq.worker")  # a job's error logged by RQ gets no secret
    worker_class = _with_heartbeat(heartbeat)
    if workers == 1:
        worker_class([queue(redis)], connection=redis, serializer=JSONSerializer).work(burst=burst)
        return
    pool = WorkerPool(
        [QUEUE],
        connection=redis,
        num_workers=workers,
        worker_class=worker_class,
        serializer=JSONSerializer,
    )
    pool.start(burst=burst)


def _with_heartbeat(seconds: int) -> type[Worker]:
    """RQ's Worker with ``job_monitoring_interval=seconds``: RQ's worker pool passes its
    workers no such argument, so the class carries it."""

    class _Worker(Worker):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("job_monitoring_interval", seconds)
            super().__init__(*args, **kwargs)

    return _Worker
