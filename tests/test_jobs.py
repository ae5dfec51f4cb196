"""``--tasks`` end to end on the lab: real RQ workers (``nornir-peering worker``
processes) on the lab's real Redis, deploying to its BIRD and FRR routers, polling
them, running bgpq4 against the lab IRR and downloading from the lab PeeringDB."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis import Redis
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from nornir_peering.jobs.access import Access
from nornir_peering.jobs.queue import JobQueue, queue
from nornir_peering.lab.control import Lab
from nornir_peering.settings import load_settings
from tests.helpers import SilentServer, free_port, run, wait_until

Workers = Callable[..., list[subprocess.Popen[bytes]]]


@pytest.fixture
def access(lab: Lab, project: Path) -> Access:
    """How the project reaches the lab's queue: TLS, its ACL user, the lab's job key."""
    return Access.of(load_settings(project / "config.yaml").peering)


@pytest.fixture
def redis(access: Access) -> Redis:
    """The lab's Redis (redis_url in the project's config.yaml), emptied: no batch or
    job of an earlier test."""
    connection = access.connect()
    connection.flushdb()
    return connection


@pytest.fixture
def workers(redis: Redis, project: Path) -> Iterator[Workers]:
    """Start ``nornir-peering worker`` processes in the project; stopped at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(count: int = 1, *options: str) -> list[subprocess.Popen[bytes]]:
        before = _registered(redis)
        for _ in range(count):
            started.append(
                subprocess.Popen(
                    [sys.executable, "-m", "nornir_peering", "worker", *options],
                    cwd=project,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        wait_until(lambda: _registered(redis) >= before + count)
        return started[-count:]

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()  # RQ's warm shutdown
    for process in started:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            # an idle worker sometimes misses the first SIGTERM in Redis's blocking pop;
            # a second one is RQ's cold shutdown (noted in the README)
            process.terminate()
            process.wait(timeout=60)


def _registered(redis: Redis) -> int:
    return int(redis.scard("rq:workers:nornir-peering"))


def as_json(*args: str, code: int = 0) -> Any:
    result = run(*args, "--json")
    assert result.exit_code == code, result.stdout + result.stderr
    return json.loads(result.stdout)


def stored_sessions() -> list[tuple[Any, ...]]:
    """What the state holds of every session, but times."""
    keys = ("router", "vrf", "remote_address", "remote_asn", "state", "received_prefixes")
    return sorted(tuple(s.get(k) for k in keys) for s in as_json("sessions"))


def fingerprint(table: str) -> str:
    [row] = as_json(
        "query", f"SELECT md5(string_agg(t::VARCHAR, '|' ORDER BY t.id)) AS digest FROM {table} t"
    )
    return str(row["digest"])


def test_two_workers_give_the_state_a_direct_run_gives(
    lab: Lab, workers: Workers, redis: Redis
) -> None:
    workers(2)
    # deploy: the routers end as a direct commit leaves them (nothing more to commit)
    deployed = as_json("configure-routers", "--commit", "--tasks")
    assert {r["router"]: r["committed"] for r in deployed["routers"]} == {
        "edge1": True,
        "edge2": True,
        "edge3": True,
    }
    # the jobs carried rendered configurations (BGP passwords): gone once collected
    assert job_keys(redis) == []
    again = as_json("configure-routers")
    assert {r["router"]: r["status"] for r in again["routers"]} == {
        "edge1": "unchanged",
        "edge2": "unchanged",
        "edge3": "unchanged",
    }
    # poll: once the sessions are up, the state stored is the direct run's
    assert lab.wait_established(60)
    wait_until(lambda: not as_json("poll-bgp-sessions", code=0)["failed"] and _settled())
    direct = stored_sessions()
    as_json("poll-bgp-sessions", "--tasks")
    assert stored_sessions() == direct
    # prefixes: what the workers' bgpq4 answered is what a direct run answers
    result = run("grab-prefixes", "--tasks", "--json")
    assert result.exit_code == 1  # AS65004's AS-EVIL is in no IRR, as in a direct run
    first = json.loads(result.stdout)
    assert [c["status"] for c in first["lists"] if c["asn"] == 65001] == ["new"] * 3
    direct_run = json.loads(run("grab-prefixes", "--json").stdout)
    assert {
        (c["asn"], c["family"]): c["status"] for c in direct_run["lists"] if c["asn"] != 65004
    } == {(c["asn"], c["family"]): "unchanged" for c in first["lists"] if c["asn"] != 65004}
    # peeringdb: a full sync downloaded by the workers leaves every table as it was
    tables = ("pdb_net", "pdb_netixlan", "pdb_ix", "pdb_poc")
    before = {table: fingerprint(table) for table in tables}
    synced = as_json("peeringdb-sync", "--tasks", "--full")
    assert synced["ok"] and {t["mode"] for t in synced["types"]} == {"full"}
    assert {table: fingerprint(table) for table in tables} == before
    # each run is in the run log, with --tasks among its options
    logged = as_json("runs", "--last", "7")
    assert [r["options"].get("tasks") for r in logged if r["command"] != "configure-routers"][
        :3
    ] == [True, None, True]


def _settled() -> bool:
    """Every wanted session Established in the last stored poll."""
    return all(s["state"] == "Established" for s in as_json("sessions") if s["wanted"])


def job_keys(redis: Redis) -> list[bytes]:
    """What Redis holds of jobs (RQ's job hashes and result streams)."""
    return sorted([*redis.scan_iter("rq:job:*"), *redis.scan_iter("rq:results:*")])


def test_no_wait_prints_the_jobs_and_collect_stores_them(
    lab: Lab, workers: Workers, redis: Redis
) -> None:
    enqueued = as_json("poll-bgp-sessions", "--tasks", "--no-wait")
    batch = enqueued["batch"]
    assert set(enqueued["jobs"]) == {"edge1", "edge2", "edge3"}
    listed = as_json("jobs")
    assert {(j["item"], j["status"], j["collected"]) for j in listed} == {
        ("edge1", "queued", False),
        ("edge2", "queued", False),
        ("edge3", "queued", False),
    }
    not_yet = run("jobs", "collect", batch)
    assert not_yet.exit_code == 1 and "3 of its 3 jobs have not ended yet" in not_yet.stderr
    [burst] = workers(1, "--burst")
    assert burst.wait(timeout=120) == 0  # a burst worker stops once the queue is empty
    assert len(job_keys(redis)) == 6  # each job's payload and result, until collected
    collected = run("jobs", "collect", batch)
    assert collected.exit_code == 0, collected.stderr
    assert {s[0] for s in stored_sessions()} == {"edge1", "edge2", "edge3"}
    [log] = as_json("runs", "--last", "1")
    assert log["command"] == "jobs collect"
    assert log["summary"].startswith(f"batch {batch} (poll): 3 routers polled")
    # collected, the jobs are gone from Redis; the batch's record still lists them
    assert job_keys(redis) == []
    assert {
        (j["item"], j["status"], j["collected"], bool(j["ended_at"])) for j in as_json("jobs")
    } == {
        ("edge1", "finished", True, True),
        ("edge2", "finished", True, True),
        ("edge3", "finished", True, True),
    }
    twice = run("jobs", "collect", batch)
    assert twice.exit_code == 1 and "collected already" in twice.stderr


def test_a_worker_killed_mid_job_fails_its_job(
    lab: Lab, redis: Redis, workers: Workers, project: Path
) -> None:
    """The job waits for edge1's lock, held here, when its worker dies with its work
    horse (a machine going down): RQ reports it abandoned once a heartbeat is missed,
    and nothing reached the router."""
    before = lab.bird.config_file("edge1").read_text()
    lock = redis.lock("nornir-peering:router:edge1", timeout=600)
    assert lock.acquire()
    [worker] = workers(1, "--heartbeat", "1")
    enqueued = as_json(
        "configure-routers", "--commit", "--tasks", "--no-wait", "--limit", "edge1", "--wait", "300"
    )
    wait_until(lambda: as_json("jobs")[0]["status"] == "started")
    horses = _children(worker.pid)
    assert horses  # the work horse running the job
    for pid in (worker.pid, *horses):
        os.kill(pid, signal.SIGKILL)
    worker.wait()
    lock.release()
    wait_until(lambda: as_json("jobs")[0]["status"] == "failed", seconds=120)
    collected = run("jobs", "collect", enqueued["batch"], "--json")
    assert collected.exit_code == 1
    [edge1] = json.loads(collected.stdout)["routers"]
    assert edge1["status"] == "failed" and "the worker running it died" in edge1["note"]
    assert lab.bird.config_file("edge1").read_text() == before


def _children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in found]


def test_a_job_no_worker_takes_fails_its_router(
    lab: Lab, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NORNIR_PEERING_JOB_TIMEOUT", "1")
    report = as_json("poll-bgp-sessions", "--tasks", "--limit", "edge1", code=1)
    assert report["failed"] == ["edge1"]
    assert "no worker took it in time" in report["routers"][0]["error"]


def test_unreachable_redis_is_one_clear_error(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("NORNIR_PEERING_REDIS_URL", f"redis://:s3cret@127.0.0.1:{port}/0")
    for args in (
        ("configure-routers", "--tasks"),
        ("poll-bgp-sessions", "--tasks"),
        ("grab-prefixes", "--tasks"),
        ("peeringdb-sync", "--tasks"),
        ("jobs",),
    ):
        result = run(*args)
        assert result.exit_code == 1, args
        assert f"cannot reach Redis at redis://127.0.0.1:{port}/0" in result.stderr, args
        assert "s3cret" not in result.stdout + result.stderr


def test_bad_job_options_are_usage_errors(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    no_tasks = run("poll-bgp-sessions", "--no-wait")
    assert no_tasks.exit_code == 2 and "--no-wait and --insecure-redis go with --tasks" in (
        no_tasks.stderr
    )
    flush = run("peeringdb-sync", "--flush", "--tasks", "--yes")
    assert flush.exit_code == 2 and "--flush runs here" in flush.stderr
    monkeypatch.setenv("NORNIR_PEERING_REDIS_URL", "http://:s3cret@127.0.0.1/")
    bad = run("jobs")
    assert bad.exit_code == 2 and "NORNIR_PEERING_REDIS_URL: not a redis://" in bad.stderr
    assert "s3cret" not in bad.stderr


def test_a_failed_prefix_job_keeps_the_stored_lists(
    lab: Lab, workers: Workers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker cannot run bgpq4 (its own setting points nowhere): every AS of its job
    fails and keeps the list stored before."""
    stored = json.loads(run("grab-prefixes", "--asn", "65001", "--json").stdout)["lists"]
    assert [c["status"] for c in stored] in (["new"] * 3, ["unchanged"] * 3)
    monkeypatch.setenv("NORNIR_PEERING_BGPQ", "/nonexistent/bgpq4")
    workers(1)  # started with that environment
    result = run("grab-prefixes", "--asn", "65001", "--tasks", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["failed"] == [65001]
    assert [c["status"] for c in report["lists"]] == ["failed"] * 3
    assert all("bgpq4" in c["message"] and "kept" in c["message"] for c in report["lists"])
    assert [c["previous"] for c in report["lists"]] == [c["count"] for c in stored]
    assert any("job" in problem and "failed" in problem for problem in report["problems"])


def test_a_prefix_job_gives_a_silent_irr_up(
    lab: Lab, workers: Workers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job's bgpq runs to an IRR server that never answers: after three timeouts (two
    at once: a fourth may be under way) the worker makes no more, and every stored list
    is kept; waited for or collected later, the report counts the runs not made."""
    asns = ("--asn", "65001,65002")
    stored = json.loads(run("grab-prefixes", *asns, "--json").stdout)["lists"]
    workers(1)
    monkeypatch.setenv("NORNIR_PEERING_IRR_TIMEOUT", "0.5")
    monkeypatch.setenv("NORNIR_PEERING_IRR_WORKERS", "2")
    with SilentServer() as silent:
        monkeypatch.setenv("NORNIR_PEERING_IRR_HOST", silent.address)  # carried by the job
        waited = run("grab-prefixes", *asns, "--tasks", "--json")
        made = [silent.accepted]
        batch = as_json("grab-prefixes", *asns, "--tasks", "--no-wait")["batch"]

        def ended() -> bool:
            return {j["status"] for j in as_json("jobs") if j["batch"] == batch} == {"finished"}

        wait_until(ended)
        collected = run("jobs", "collect", batch, "--json")
        made.append(silent.accepted - made[0])
    for result, runs in zip((waited, collected), made, strict=True):
        assert result.exit_code == 1
        report = json.loads(result.stdout)
        assert 3 <= runs <= 4
        [(host, not_made)] = report["given_up"].items()
        assert host == silent.address and not_made >= 6 - runs  # two ASes, 3 lists each
        assert [c["status"] for c in report["lists"]] == ["failed"] * 6
        assert [c["previous"] for c in report["lists"]] == [c["count"] for c in stored]
    [logged] = as_json("runs", "--last", "1")
    assert logged["command"] == "jobs collect"
    assert logged["summary"].endswith(
        f"; {not_made} bgpq run(s) not made, their IRR server given up"
    )


def test_a_failed_download_job_leaves_the_cache_as_it_was(
    lab: Lab, workers: Workers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An authenticated sync needs the workers' own API key: one without fails its jobs,
    and nothing is applied."""
    workers(1)  # without PEERINGDB_API_KEY
    before = fingerprint("pdb_net")
    monkeypatch.setenv("PEERINGDB_API_KEY", "lab-key")
    result = run("peeringdb-sync", "--tasks", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["ok"] is False
    assert "this worker has no PeeringDB API key" in result.stdout
    assert "lab-key" not in result.stdout + result.stderr
    monkeypatch.delenv("PEERINGDB_API_KEY")
    assert fingerprint("pdb_net") == before


def test_a_trickling_download_fails_its_job_at_download_timeout(
    lab: Lab, project: Path, workers: Workers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lab PeeringDB sends net's reply a byte a second, never finishing: the worker's
    download ends at the download_timeout the enqueuer's settings carry, its job fails
    saying so, and nothing is applied."""
    workers(1)
    before = fingerprint("pdb_net")
    monkeypatch.setenv("NORNIR_PEERING_DOWNLOAD_TIMEOUT", "2")
    monkeypatch.setenv("NORNIR_PEERING_JOB_TIMEOUT", "60")  # a hung job fails the test
    api = load_settings(project / "config.yaml").peering.peeringdb_url
    faults = api.removesuffix("/api") + "/_lab/faults"
    httpx.post(faults, json={"match": "/api/net?", "trickle": 1}, timeout=10).raise_for_status()
    try:
        result = run("peeringdb-sync", "--tasks", "--json")
    finally:
        httpx.delete(faults, timeout=10).raise_for_status()
    assert result.exit_code == 1, result.stdout
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert re.search(
        rf"net: job \S+: FetchError: net: download from {re.escape(api)}/net\?depth=0&"
        r"since=\d+ took longer than download_timeout \(2s\); stopped",
        report["error"],
    ), report["error"]
    assert fingerprint("pdb_net") == before


def test_a_collected_batch_cancels_what_waits_and_deletes_what_ran_once_it_ends(
    redis: Redis, access: Access
) -> None:
    # no worker: edge2 is marked started as a worker marks it, edge3 taken off the
    # queue as a worker takes it (its status not yet changed), and both ended later
    names = ("edge1", "edge2", "edge3")
    jobs = JobQueue(redis, access.sealer())
    batch = jobs.enqueue("poll", {name: ("poll", {}) for name in names}, timeout=60)
    running, taken = (
        Job.fetch(batch.items[name], connection=redis, serializer=JSONSerializer)
        for name in ("edge2", "edge3")
    )
    running.set_status(JobStatus.STARTED)
    assert queue(redis).remove(taken.id) == 1
    jobs.collected(batch)
    assert not redis.exists(f"rq:job:{batch.items['edge1']}")  # cancelled: it never runs
    assert queue(redis).count == 1 and redis.exists(running.key) and redis.exists(taken.key)
    assert jobs.listed(jobs.load(batch.id)) == {
        "edge1": ["canceled", None],
        "edge2": ["started", None],
        "edge3": ["started", None],
    }
    jobs.collected(jobs.load(batch.id))  # a second collect leaves the record alone
    assert jobs.load(batch.id).ended["edge3"] == ["started", None]
    running.set_status(JobStatus.FINISHED)
    taken.set_status(JobStatus.FAILED)
    [seen] = jobs.recent()
    assert not redis.exists(running.key) and not redis.exists(taken.key)
    assert seen.ended["edge2"][0] == "finished after collection"
    assert seen.ended["edge3"][0] == "failed after collection"
