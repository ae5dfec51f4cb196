"""What a batch of background jobs is, as data: imported without Redis Queue, so that a
command that does not run jobs does not load it (rq and redis cost ~8 MB).

:mod:`.queue` enqueues, waits for and collects them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nornir_peering.jobs.access import Access


@dataclass(frozen=True)
class Background:
    """``--tasks``: the queue the jobs go to (its Redis and the job keys), how long a job
    may wait and run, and whether the command waits for its jobs and stores their results
    (``--no-wait``: ``jobs collect`` does, later)."""

    access: Access
    timeout: float = 900.0
    wait: bool = True
    state: Path | None = None  # where the batches whose results were stored are recorded
    lock_wait: float = 10.0


@dataclass(frozen=True)
class JobEnd:
    """How one job of a batch ended: ``value`` its return value when ``ok``."""

    item: str
    job_id: str
    ok: bool
    value: Any = None
    error: str = ""


@dataclass
class Batch:
    """The jobs of one run: ``items`` maps what each job is for (a router, a batch of
    AS-SETs, a PeeringDB type) to its job id; ``meta``: what storing the results needs."""

    id: str
    kind: str  # configure, poll, prefixes, peeringdb
    items: dict[str, str]
    meta: dict[str, Any] = field(default_factory=dict)
    enqueued_at: str = ""
    collected: bool = False
    #: once collected, each job's status and when it ended (item -> [status, ended_at]),
    #: kept here because the jobs themselves are deleted then
    ended: dict[str, list[str | None]] = field(default_factory=dict)
