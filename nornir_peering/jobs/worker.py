"""``nornir-peering worker``: RQ workers on the toolkit's queue, with JSON jobs, that run
the toolkit's own job function and nothing else.

RQ imports whatever function a job names, and whatever callbacks it names, so anyone who
can write to the queue's Redis could have a stock worker run ``os.system``. These
workers' jobs, queues and registries are the locked-down ones of :mod:`.locked`, in this
process and in every process of RQ's worker pool: a job whose function is not
:data:`~.locked.RUN` fails unrun, with one log line naming the function, and nothing it
names is imported; callbacks and webhooks never run; nothing is unpickled.
:data:`~.locked.RUN` then opens the job's sealed work with the job key and runs only
the toolkit's job functions (:mod:`.work`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rq import Queue, Worker
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.worker_pool import WorkerPool

from nornir_peering.jobs import work
from nornir_peering.jobs.access import Access
from nornir_peering.jobs.locked import ToolkitJob, ToolkitQueue
from nornir_peering.jobs.queue import QUEUE, queue
from nornir_peering.jobs.seal import SealBroken
from nornir_peering.secrets import mask_logs


def run_workers(
    access: Access, *, workers: int = 1, burst: bool = False, heartbeat: int = 30
) -> None:
    """Run ``workers`` RQ workers until stopped (SIGTERM, Ctrl-C: each finishes its job
    first), or, with ``burst``, until the queue is empty. ``heartbeat``: RQ's
    ``job_monitoring_interval``, how often a busy worker tells Redis it is alive.

    One worker runs in this process; more run as RQ's worker pool, one process each
    (forked: they inherit the job keys).
    """
    mask_logs("rq", "rq.worker")  # a job's error logged by RQ gets no secret
    work.use(access.sealer())
    redis = access.connect()
    worker_class = _worker_class(heartbeat)
    if workers == 1:
        worker_class([queue(redis)], connection=redis).work(burst=burst)
        return
    pool = WorkerPool(
        [QUEUE],
        connection=redis,
        num_workers=workers,
        worker_class=worker_class,
        job_class=ToolkitJob,
        queue_class=ToolkitQueue,
        serializer=JSONSerializer,
    )
    pool.start(burst=burst)


def _worker_class(seconds: int) -> type[Worker]:
    """RQ's Worker with ``job_monitoring_interval=seconds`` (RQ's worker pool passes its
    workers no such argument, so the class carries it), its jobs and queues the locked-down
    ones, and a refused job logged in one line, not as a traceback."""

    class _Worker(Worker):
        def __init__(self, queues: Iterable[Queue | str], *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("job_monitoring_interval", seconds)
            # whatever RQ's pool passes (its workers' queues are stock ones, which unpickle):
            # the locked-down job and queue, JSON
            kwargs.update(job_class=ToolkitJob, queue_class=ToolkitQueue, serializer=JSONSerializer)
            kwargs["log_job_description"] = False  # anyone could have written it: ids only
            locked = [
                ToolkitQueue(q if isinstance(q, str) else q.name, connection=kwargs["connection"])
                for q in queues
            ]
            super().__init__(locked, *args, **kwargs)

        def handle_exception(self, job: Job, *exc_info: Any) -> None:
            if isinstance(exc_info[1], SealBroken):
                self.log.error("%s", exc_info[1])
                return
            super().handle_exception(job, *exc_info)

    return _Worker
