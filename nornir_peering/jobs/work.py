"""The job functions workers run: each takes the JSON payload its enqueuer built and
returns JSON. None of them opens the state file; they reach only Redis, the routers,
the IRR server or PeeringDB.

A router that fails (unreachable, a refused commit) is a result, not a failed job:
the job did its work and says so. A failed job is one that could not run at all (an
exception here, a timeout, its worker killed).
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from redis.exceptions import LockError
from rq import get_current_job

from nornir_peering.deploy.guard import RemovalGuard
from nornir_peering.errors import ConfigError
from nornir_peering.irr.bgpq import fetch_all
from nornir_peering.jobs import payload
from nornir_peering.runbooks.configure import outcome
from nornir_peering.runbooks.fleet import failure
from nornir_peering.settings import PeeringSettings, load_settings
from nornir_peering.tasks import deploy_rendered, get_bgp_state

ROUTER_LOCK = "nornir-peering:router:"  # + router name: one job at a time deploys to it


def deploy(job: dict[str, Any]) -> dict[str, Any]:
    """Deploy a rendered configuration to one router (``deploy_rendered``), holding the
    router's lock in Redis; the outcome as ``configure-routers --json`` prints it."""
    router = job["router"]
    name = router["name"]
    current = get_current_job()
    assert current is not None, "deploy runs as an RQ job"
    lock = current.connection.lock(
        ROUTER_LOCK + name, timeout=max(1, int(job["timeout"])), blocking_timeout=job["lock_wait"]
    )
    if not lock.acquire():
        return {
            "router": name,
            "status": "failed",
            "note": f"another run is deploying to {name} (waited {job['lock_wait']:g} s)",
            "busy": True,
        }
    nr = payload.one_host(router)
    guard = RemovalGuard(*job["guard"]) if job["guard"] else None
    try:
        results = nr.run(
            task=deploy_rendered,
            name="configure-routers",
            config=job["config"],
            dry_run=job["dry_run"],
            commit_check=job["commit_check"],
            revert_in=job["revert_in"],
            guard=guard,
            allow_replace=bool(job.get("allow_replace")),
            force=bool(job.get("force")),
            on_failed=True,
        )
    finally:
        nr.close_connections(on_failed=True)
        with contextlib.suppress(LockError):  # expired after the job's timeout: not ours now
            lock.release()
    found = outcome(name, results[name][0])
    return {
        "router": found.router,
        "status": found.status,
        "diff": found.diff,
        "committed": found.committed,
        "note": found.note,
        "busy": found.busy,
    }


def poll(job: dict[str, Any]) -> dict[str, Any]:
    """One router's BGP sessions (``get_bgp_state``): ``{"sessions": [...]}`` or
    ``{"error": "..."}`` when it cannot be polled."""
    nr = payload.one_host(job["router"])
    name = job["router"]["name"]
    try:
        results = nr.run(task=get_bgp_state, name="poll-bgp-sessions", on_failed=True)
    finally:
        nr.close_connections(on_failed=True)
    first = results[name][0]
    if first.failed:
        return {"error": failure(first)}
    return {"sessions": [payload.session_json(state) for state in first.result]}


def prefixes(job: dict[str, Any]) -> list[dict[str, Any]]:
    """A batch of bgpq runs (``fetch_all``), answers in the batch's order."""
    config = payload.bgpq_config_from(job["config"])
    runs = [payload.bgpq_job_from(found) for found in job["runs"]]
    return [payload.fetched(answer) for answer in fetch_all(runs, config)]


def peeringdb(job: dict[str, Any]) -> dict[str, Any]:
    """One PeeringDB type downloaded (``StreamingFetcher``), sent back gzipped.

    The API key is the worker's own (``PEERINGDB_API_KEY`` or its config), never
    carried in a job; a sync that the enqueuer runs authenticated needs it.
    """
    from nornir_peering.peeringdb.fetch import StreamingFetcher  # only PeeringDB workers

    api_key = load_settings().peering.peeringdb_key()
    if job["authenticated"] and not api_key:
        raise ConfigError(
            "this sync is authenticated, but this worker has no PeeringDB API key "
            "(PEERINGDB_API_KEY)"
        )
    settings = PeeringSettings(**job["settings"], api_key=api_key if job["authenticated"] else None)
    workdir = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-pdb-job-"))
    fetcher = StreamingFetcher(settings, workdir)
    try:
        download = fetcher.download(job["tag"], job["since"])
        body = gzip.compress(download.path.read_bytes(), compresslevel=1)
    finally:
        fetcher.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "tag": download.tag,
        "url": download.url,
        "size": download.size,
        "seconds": download.seconds,
        "body": base64.b64encode(body).decode(),
    }
