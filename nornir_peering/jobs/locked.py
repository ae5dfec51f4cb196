"""RQ's job and queue, locked down: nothing read from Redis is imported, unpickled, called
or fetched.

A stock RQ job imports the function it names, imports and calls the callbacks it names
(a registry's cleanup calls a failure callback too, in workers and in enqueuers alike),
sends its webhooks, and a stock queue or registry built without a serializer unpickles
what it reads. :class:`ToolkitJob` is RQ's job that calls :data:`RUN` (by reference, no
import) or refuses, never runs a callback or a webhook, and reads and writes JSON
whatever it is given; :class:`ToolkitQueue` is the queue whose jobs and registries are
those. Every queue, registry and fetch of the toolkit's, in workers (RQ's worker pool
included) and in enqueuers, goes through them.
"""

from __future__ import annotations

from typing import Any

from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer

from nornir_peering.jobs.seal import SealBroken

RUN = "nornir_peering.jobs.work.run"  # the one function a job of ours names


class JobRefused(SealBroken):
    """A job that names anything but the toolkit's job function: never run."""


class ToolkitJob(Job):
    """A job that calls :data:`RUN` or nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["serializer"] = JSONSerializer  # JSON, whatever a caller says: never pickle
        super().__init__(*args, **kwargs)

    def restore(self, raw_data: Any) -> Any:
        """RQ's restore, without the webhooks a job names: never sent."""
        restored = super().restore(raw_data)
        self.webhooks = []
        return restored

    @property
    def func(self) -> Any:
        """:func:`~.work.run`, when the job names it (by reference: no import)."""
        if self.func_name != RUN or self.instance is not None:
            raise JobRefused(
                f"job {self.id} refused unrun: it names {self.func_name!r}, not "
                "nornir-peering's job function"
            )
        from nornir_peering.jobs import work  # what runs jobs: not loaded by enqueuers

        return work.run

    @property
    def success_callback(self) -> None:
        """None: a job's callbacks are never imported."""
        return None

    @property
    def failure_callback(self) -> None:
        """None: a job's callbacks are never imported."""
        return None

    @property
    def stopped_callback(self) -> None:
        """None: a job's callbacks are never imported."""
        return None

    def execute_success_callback(self, *args: Any, **kwargs: Any) -> None:
        """Nothing: a job's callbacks are never run."""

    def execute_failure_callback(self, *args: Any, **kwargs: Any) -> None:
        """Nothing: a job's callbacks are never run."""

    def execute_stopped_callback(self, *args: Any, **kwargs: Any) -> None:
        """Nothing: a job's callbacks are never run."""

    def send_webhooks(self, *args: Any, **kwargs: Any) -> None:
        """Nothing: the URLs a job names are never called."""


class ToolkitQueue(Queue):
    """RQ's queue of :class:`ToolkitJob`, in JSON, whatever it is given (RQ's worker pool
    builds its workers' queues with no serializer nor job class)."""

    job_class = ToolkitJob

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["serializer"] = JSONSerializer
        kwargs["job_class"] = ToolkitJob
        super().__init__(*args, **kwargs)
