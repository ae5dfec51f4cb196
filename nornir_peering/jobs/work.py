"""The job functions workers run: each takes the JSON payload its enqueuer built and
returns JSON. None of them opens the state file; they reach only Redis, the routers,
the IRR server or PeeringDB.

Every job is RQ's call of :func:`run` with one argument, the job's work sealed with the
job key (:mod:`.seal`): :func:`run` opens it, checks it belongs to this very job and has
not expired, and calls the function it names only if that is one of
:data:`JOB_FUNCTIONS`, the toolkit's own; what it returns, or the error it raised, goes
back sealed too. Workers run no other function (:mod:`.worker`).

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
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from redis.exceptions import LockError
from rq import get_current_job

from nornir_peering.deploy.guard import RemovalGuard
from nornir_peering.errors import ConfigError
from nornir_peering.irr.bgpq import fetch_all
from nornir_peering.jobs import payload
from nornir_peering.jobs.seal import SealBroken, Sealer
from nornir_peering.runbooks.configure import outcome
from nornir_peering.runbooks.fleet import failure
from nornir_peering.secrets import mask
from nornir_peering.settings import PeeringSettings, load_settings
from nornir_peering.tasks import deploy_rendered, get_bgp_state

ROUTER_LOCK = "nornir-peering:router:"  # + router name: one job at a time deploys to it
RESULT_SECONDS = 7 * 86400  # a result opens this long: the batches' keeping time

_sealer: Sealer | None = None  # the worker's job keys (use), inherited by its work horses


def use(sealer: Sealer) -> None:
    """The keys this worker opens jobs and seals results with."""
    global _sealer
    _sealer = sealer


def run(token: str) -> str:
    """Open the current job's sealed work, run its function (one of
    :data:`JOB_FUNCTIONS`), and return its result, or the error it raised in one line
    (masked), sealed for the job. Work that does not open, is another job's, started
    after its time in the queue, asks another time limit than RQ gives it, names any
    other function, or ran already on this machine raises :class:`~.seal.SealBroken`:
    the job fails, nothing of it run."""
    current = get_current_job()
    if current is None or _sealer is None:
        raise SealBroken("run is a job function: a worker runs it, with the job keys")
    work = _sealer.open(token, current.id)
    function = JOB_FUNCTIONS.get(str(work.get("function")))
    if work.get("kind") != "work" or function is None:
        raise SealBroken(
            f"job {current.id} names {work.get('function')!r}, not one of nornir-peering's "
            f"job functions ({', '.join(sorted(JOB_FUNCTIONS))}): refused"
        )
    if work.get("timeout") != current.timeout:
        raise SealBroken(
            f"job {current.id} was given {current.timeout} s to run in Redis, not the "
            f"{work.get('timeout')} s it was sealed with: refused"
        )
    _first_run(current.id)
    try:
        answer: dict[str, Any] = {"result": function(work["payload"])}
    except Exception as exc:  # the job's own error, sealed back: Redis keeps no traceback
        answer = {"error": mask(f"{type(exc).__name__}: {exc}".splitlines()[0])}
    back = {"kind": "result", "batch": work.get("batch"), "item": work.get("item"), **answer}
    return _sealer.seal(current.id, back, seconds=RESULT_SECONDS)


def _first_run(job_id: str) -> None:
    """Refuse a job that ran already on this machine: a sealed job pushed onto the queue
    again before its deadline (a replay) runs once. The ledger is one empty file per job
    under ``~/.cache/nornir-peering/ran``, made with O_EXCL, the first run's; those older
    than two days go (a job's work expires a day and a minute after its enqueuing at
    most: ``job_timeout`` is at most a day)."""
    ledger = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    ledger = ledger / "nornir-peering" / "ran"
    ledger.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(ledger / job_id, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise SealBroken(f"job {job_id} already ran on this worker: refused") from None
    old = time.time() - 2 * 86400
    for entry in ledger.iterdir():
        with contextlib.suppress(OSError):
            if entry.stat().st_mtime < old:
                entry.unlink()


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


# the toolkit's job functions, by the name a sealed job gives: the only ones run() calls
JOB_FUNCTIONS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "deploy": deploy,
    "poll": poll,
    "prefixes": prefixes,
    "peeringdb": peeringdb,
}
