"""The queue as an attacker with access to its Redis would try it, on the lab's real Redis
(TLS, an ACL user) with real ``nornir-peering worker`` processes: nothing a job names
runs but the toolkit's own work, sealed with the job key; nothing read from Redis shows a
secret; no forged result is taken."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import pickle
import subprocess
import sys
import threading
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis import Redis
from rq.job import Callback, Job
from rq.results import Result
from rq.serializers import JSONSerializer
from rq.webhook import Webhook

from nornir_peering.errors import ConfigError
from nornir_peering.jobs.access import Access
from nornir_peering.jobs.locked import RUN
from nornir_peering.jobs.queue import JobQueue, queue
from nornir_peering.jobs.seal import Sealer, new_key
from nornir_peering.lab.topology import peer_password
from nornir_peering.settings import load_settings
from tests.helpers import run

pytestmark = pytest.mark.usefixtures("lab")


@pytest.fixture
def access(project: Path) -> Access:
    return Access.of(load_settings(project / "config.yaml").peering)


@pytest.fixture
def redis(access: Access) -> Redis:
    connection = access.connect()
    connection.flushdb()
    return connection


def burst(project: Path, *options: str, env: dict[str, str] | None = None) -> str:
    """One ``nornir-peering worker --burst`` in the project, run until the queue is empty:
    what it logged."""
    done = subprocess.run(
        [sys.executable, "-m", "nornir_peering", "worker", "--burst", *options],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    return done.stdout + done.stderr


def failed_with(redis: Redis, job_id: str) -> str:
    """The last line of what a failed job's result says."""
    job = Job.fetch(job_id, connection=redis, serializer=JSONSerializer)
    assert job.get_status() == "failed", job.get_status()
    result = job.latest_result()
    assert result is not None
    return (result.exc_string or "").strip().splitlines()[-1]


def test_a_job_naming_any_other_function_fails_unrun(
    project: Path, redis: Redis, tmp_path: Path
) -> None:
    """Enqueued by hand, as anyone who can write to Redis could: os.system('touch ...').
    The worker refuses it in one line naming the function, and nothing runs; a callback
    a job names is not run either."""
    marker = tmp_path / "x"
    planted = queue(redis).enqueue("os.system", f"touch {marker}")
    # RQ imports and runs a job's failure callback by name: never here
    callback = queue(redis).enqueue(RUN, f"touch {marker}", on_failure=Callback("os.system"))
    logged = burst(project)
    assert not marker.exists()
    assert "not nornir-peering's job function" in failed_with(redis, planted.id)
    refusals = [line for line in logged.splitlines() if "refused unrun" in line]
    assert len(refusals) == 1 and "'os.system'" in refusals[0], logged
    assert "Traceback" not in logged
    assert "carries no sealed content" in failed_with(redis, callback.id) or (
        "does not open with the job key" in failed_with(redis, callback.id)
    )


@pytest.mark.parametrize("how", ["one byte changed", "another key", "another job's"])
def test_a_job_that_is_not_exactly_what_the_enqueuer_sealed_is_refused(
    project: Path, redis: Redis, access: Access, how: str
) -> None:
    """One byte of a sealed job changed, a job sealed with another key, a job's sealed
    work copied into another job: each refused by the worker, nothing of it run."""
    sealer = Sealer.from_keys([new_key()]) if how == "another key" else access.sealer()
    batch = JobQueue(redis, sealer).enqueue("poll", {"edge1": ("poll", {"router": {}})}, timeout=60)
    job = Job.fetch(batch.items["edge1"], connection=redis, serializer=JSONSerializer)
    token = str(job.args[0])
    if how == "one byte changed":
        middle = len(token) // 2
        job.args = [token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]]
        job.save()
    elif how == "another job's":
        other = queue(redis).enqueue(RUN, token)
        job = other
    burst(project)
    reason = failed_with(redis, job.id)
    expected = "was found in job" if how == "another job's" else "does not open with the job key"
    assert expected in reason and "refused" in reason


def test_a_forged_result_is_refused_by_collect(project: Path, redis: Redis, access: Access) -> None:
    """Poll batches left for 'jobs collect', each job's result then replaced in Redis:
    by one not sealed at all, by one sealed with the key for another job. Collect fails
    that router each time and stores nothing of it."""
    batches = [
        json.loads(
            run("poll-bgp-sessions", "--tasks", "--no-wait", "--limit", "edge1", "--json").stdout
        )
        for _ in range(2)
    ]
    burst(project)
    other = JobQueue(redis, access.sealer()).enqueue("poll", {"edge1": ("poll", {})}, timeout=60)
    sealed_for_another = Job.fetch(
        other.items["edge1"], connection=redis, serializer=JSONSerializer
    ).args[0]
    forgeries = (
        ({"sessions": [{"router": "edge1", "state": "Established"}]}, "carries no sealed content"),
        (sealed_for_another, "was found in job"),
    )
    for enqueued, (forged, why) in zip(batches, forgeries, strict=True):
        job = Job.fetch(enqueued["jobs"]["edge1"], connection=redis, serializer=JSONSerializer)
        Result.create(job, Result.Type.SUCCESSFUL, ttl=600, return_value=forged)
        collected = run("jobs", "collect", enqueued["batch"], "--json")
        assert collected.exit_code == 1
        assert "its result was refused" in collected.stdout and why in collected.stdout


def test_redis_holds_no_secret_while_a_configure_batch_waits(
    project: Path, redis: Redis, access: Access
) -> None:
    """While a configure batch waits in Redis, and while it is enqueued under MONITOR,
    nothing Redis holds or sees shows the lab's MD5 password, a login or a line of a
    rendered configuration."""
    password = peer_password(65005)
    assert password
    seen: list[str] = []
    watcher = access.connect()
    ready = threading.Event()

    def monitor() -> None:
        with watcher.monitor() as feed:
            ready.set()
            for command in feed.listen():
                seen.append(str(command.get("command")))
                if "nornir-peering:batch:" in seen[-1] and "SET" in seen[-1].upper():
                    return

    thread = threading.Thread(target=monitor, daemon=True)
    thread.start()
    assert ready.wait(10)
    rendered = run("render", "--limit", "edge1,edge3", "--show-secrets").stdout
    assert password in rendered
    enqueued = run("configure-routers", "--tasks", "--no-wait", "--commit", "--json")
    assert enqueued.exit_code == 0, enqueued.stderr
    thread.join(30)
    held = everything_in(redis)
    for text in (password, "protocol bgp", "route-map NP_", "NP_BOGONS_V4", "neighbor 127.0"):
        assert text not in held, text
        assert not any(text in command for command in seen), text
    assert any("rq:job:" in command for command in seen)  # MONITOR saw the jobs go in
    assert len([k for k in redis.scan_iter("rq:job:*")]) == 3  # the batch is there
    # the reading would find them: a job enqueued unsealed shows its payload
    canary = queue(redis).enqueue(RUN, f"canary {password}")
    assert password in everything_in(redis)
    canary.delete()


def everything_in(redis: Redis) -> str:
    """Every value Redis holds, read by type, as text; RQ's zlib-compressed job data and
    exceptions inflated, as anyone reading a copy of the database would."""
    parts: list[Any] = []
    for key in redis.scan_iter("*"):
        kind = redis.type(key).decode()
        if kind == "string":
            parts.append(redis.get(key))
        elif kind == "hash":
            for field, value in redis.hgetall(key).items():
                with contextlib.suppress(zlib.error):
                    value = zlib.decompress(value)
                parts.append((field, value))
        elif kind == "list":
            parts.extend(redis.lrange(key, 0, -1))
        elif kind == "set":
            parts.extend(redis.smembers(key))
        elif kind == "zset":
            parts.extend(redis.zrange(key, 0, -1))
        elif kind == "stream":
            parts.extend(redis.xrange(key))
        parts.append(key)
    return repr(parts)


def test_a_worker_with_the_wrong_password_fails_in_one_line(project: Path) -> None:
    wrong = project / "wrong-password"
    wrong.write_text("not-the-password\n")
    config = project / "config-wrong.yaml"
    config.write_text(
        (project / "config.yaml")
        .read_text()
        .replace(
            "redis_password: {file: state/lab/redis/password}",
            f"redis_password: {{file: {wrong}}}",
        )
    )
    result = run("worker", "--config", str(config), "--burst")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot reach Redis at rediss://nornir@127.0.0.1:" in lines[0]
    assert "invalid username-password pair" in lines[0]
    assert "not-the-password" not in result.stderr


def test_redis_on_another_machine_needs_tls_and_a_password_or_insecure_redis(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """redis:// to another machine is refused before any connection is tried, password or
    not (192.0.2.1 is never reached); rediss:// needs a password or a client certificate,
    and the server's certificate is always checked."""
    monkeypatch.setenv("NORNIR_PEERING_REDIS_URL", "redis://192.0.2.1:6379/0")
    for args in (("worker", "--burst"), ("poll-bgp-sessions", "--tasks"), ("jobs",)):
        result = run(*args)
        assert result.exit_code == 2, (args, result.stderr)
        assert "reaches Redis on another machine in clear" in result.stderr
        assert "--insecure-redis" in result.stderr
    refused = {
        "redis://192.0.2.1:6379/0": "in clear",
        "redis://user:pw@192.0.2.1:6379/0": "in clear",  # the password would cross in clear
        "rediss://192.0.2.1:6379/0": "without a password",
        "rediss://u:pw@192.0.2.1:6379/0?ssl_cert_reqs=none": "always checked",
        "rediss://u:pw@127.0.0.1:6379/0?ssl_check_hostname=false": "always checked",
    }
    for url, why in refused.items():
        with pytest.raises(ConfigError, match=why) as failed:
            Access(url).check_transport()
        assert "pw" not in str(failed.value)
    Access("redis://192.0.2.1:6379/0", insecure=True).check_transport()  # asked for
    Access("rediss://u:pw@192.0.2.1:6379/0").check_transport()
    Access("rediss://192.0.2.1:6379/0", password="pw").check_transport()
    Access("rediss://192.0.2.1:6379/0", tls_cert="client.pem").check_transport()
    Access("redis://127.0.0.1:6379/0").check_transport()  # this machine
    Access("redis://localhost:6379/0").check_transport()
    Access("unix:///run/redis/redis.sock").check_transport()


def test_keys_change_one_machine_at_a_time(project: Path, redis: Redis) -> None:
    """Rotation: the new key first goes in as job_key_previous everywhere (opened, not yet
    used), then becomes job_key while the old one stays previous: a worker and an
    enqueuer at different steps still open each other's jobs and results."""
    secrets = project / "state" / "lab"
    old = (secrets / "job.key").read_text().strip()
    new = new_key()
    (project / "new.key").write_text(new + "\n")
    config = (project / "config.yaml").read_text()
    worker_config = project / "config-worker.yaml"  # step 1: the new key only opens
    worker_config.write_text(
        config.replace(
            "job_key: {file: state/lab/job.key}",
            "job_key: {file: state/lab/job.key}\n    job_key_previous: {file: new.key}",
        )
    )
    enqueuer = Sealer.from_keys([new, old])  # step 2: the new key seals
    jobs = JobQueue(redis, enqueuer)
    batch = jobs.enqueue("poll", {"edge1": ("poll", _edge1(project))}, timeout=60)
    burst(project, "--config", str(worker_config))
    [end] = jobs.ends(batch).values()
    assert end.ok and end.value["sessions"], end.error
    # the worker sealed its result with its current key, the old one: an enqueuer that
    # had dropped it too early could not take it
    [early] = JobQueue(redis, Sealer.from_keys([new])).ends(batch).values()
    assert not early.ok and "does not open with the job key" in early.error


def _edge1(project: Path) -> dict[str, Any]:
    """edge1 as a poll job carries it."""
    from nornir import InitNornir

    from nornir_peering.jobs import payload

    nr = InitNornir(config_file=str(project / "config.yaml"), logging={"enabled": False})
    return {"router": payload.router(nr.inventory.hosts["edge1"])}


class _Planted:
    """Unpickled, it runs a shell command: what a pickle in Redis could do."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, (self.command,))


def plant_abandoned(redis: Redis, job_id: str, **fields: Any) -> None:
    """A job hash of the attacker's, and an expired entry for it in the started-jobs
    registry: RQ's registry cleanup (in workers, and in enqueuers looking at the jobs)
    fetches it and calls its failure callback."""
    data = zlib.compress(json.dumps([RUN, None, ["x"], {}]).encode())
    redis.hset(
        f"rq:job:{job_id}",
        mapping={
            "data": data,
            "origin": "nornir-peering",
            "status": "started",
            "created_at": "2026-01-01T00:00:00.000000Z",
            **fields,
        },
    )
    redis.zadd("rq:wip:nornir-peering", {f"{job_id}:exec1": 1})


@pytest.mark.parametrize("workers", ["1", "2"])
def test_nothing_planted_in_redis_is_unpickled_imported_or_called(
    project: Path, redis: Redis, workers: str
) -> None:
    """Planted as expired started jobs: one naming a failure callback and one stopped
    callback in a module of the project's directory (which a worker's and an enqueuer's
    cwd puts on sys.path), one whose meta is a pickle running a command, one in the
    intermediate queue whose result is such a pickle. A worker (alone, or RQ's worker
    pool) and an enqueuer looking at its jobs ('jobs') clean the registries up: nothing
    is imported, called or unpickled."""
    marker = project / f"planted-{workers}"
    (project / f"planted{workers}.py").write_text(
        f"open({str(marker)!r}, 'a').write('imported\\n')\n"
        f"def touch(*args, **kwargs):\n    open({str(marker)!r}, 'a').write('called\\n')\n"
    )
    batch = json.loads(
        run("poll-bgp-sessions", "--tasks", "--no-wait", "--limit", "edge1", "--json").stdout
    )["batch"]

    def plant() -> None:
        plant_abandoned(redis, "cb", failure_callback_name=f"planted{workers}.touch")
        plant_abandoned(redis, "stop", stopped_callback_name=f"planted{workers}.touch")
        plant_abandoned(redis, "pickled", meta=pickle.dumps(_Planted(f"touch {marker}")))
        redis.hset(
            "rq:job:inter",
            mapping={"data": b"x", "result": pickle.dumps(_Planted(f"touch {marker}"))},
        )
        redis.lpush("rq:intermediate:nornir-peering", "inter")

    plant()
    listed = subprocess.run(
        [sys.executable, "-m", "nornir_peering", "jobs", "--json"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert [j["batch"] for j in json.loads(listed.stdout)] == [batch]
    assert redis.zcard("rq:wip:nornir-peering") == 0  # the enqueuer cleaned them up
    plant()
    logged = burst(project, "-n", workers)
    assert redis.zcard("rq:wip:nornir-peering") == 0, logged  # the worker did too
    assert not marker.exists(), marker.read_text()
    assert run("jobs", "collect", batch).exit_code == 0  # the real job ran meanwhile


def test_webhooks_a_job_names_are_never_sent(project: Path, redis: Redis) -> None:
    """RQ sends the webhooks a job names when it ends: a worker on the management
    network would make whatever request anyone who can write to Redis wrote there. A
    job refused unrun and a job of the toolkit's that finishes, each naming one to a
    server on loopback: the server hears nothing from the workers."""
    heard: list[str] = []

    class Listener(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._heard()

        def do_POST(self) -> None:
            self._heard()

        def _heard(self) -> None:
            heard.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Listener)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        refused = queue(redis).enqueue(
            "os.system", "true", webhooks=[Webhook(f"{url}/refused", "failed")]
        )
        jobs = JobQueue(redis, Access.of(load_settings(project / "config.yaml").peering).sealer())
        batch = jobs.enqueue("poll", {"edge1": ("poll", _edge1(project))}, timeout=60)
        job = Job.fetch(batch.items["edge1"], connection=redis, serializer=JSONSerializer)
        job.webhooks = [Webhook(f"{url}/finished", "finished")]
        job.save()
        burst(project)
        assert failed_with(redis, refused.id).endswith("not nornir-peering's job function")
        [end] = jobs.ends(batch).values()
        assert end.ok, end.error
        assert heard == []
        httpx.get(f"{url}/here")  # the server would have heard them
        assert heard == ["/here"]
    finally:
        server.shutdown()


def test_a_job_pushed_onto_the_queue_again_does_not_run_again(
    project: Path, redis: Redis, access: Access
) -> None:
    """A finished job's id pushed back onto the queue (a replay, as of an older
    configure after a newer one) is refused by the worker: it ran already here."""
    jobs = JobQueue(redis, access.sealer())
    batch = jobs.enqueue("poll", {"edge1": ("poll", _edge1(project))}, timeout=60)
    burst(project)
    [end] = jobs.ends(batch).values()
    assert end.ok, end.error
    redis.lpush("rq:queue:nornir-peering", batch.items["edge1"])
    logged = burst(project)
    assert "already ran on this worker: refused" in logged
    assert "already ran" in failed_with(redis, batch.items["edge1"])
    [replayed] = jobs.ends(batch).values()
    assert not replayed.ok and replayed.error == "refused by its worker: it ran already (a replay)"


def test_a_jobs_own_work_given_back_as_its_result_is_refused(
    project: Path, redis: Redis, access: Access
) -> None:
    """A job's sealed work is in Redis for anyone to read, sealed for that job: given as
    its result, it is refused (it is work, not a result)."""
    batch = json.loads(
        run("poll-bgp-sessions", "--tasks", "--no-wait", "--limit", "edge1", "--json").stdout
    )
    job = Job.fetch(batch["jobs"]["edge1"], connection=redis, serializer=JSONSerializer)
    Result.create(job, Result.Type.SUCCESSFUL, ttl=600, return_value=job.args[0])
    job.set_status("finished")
    collected = run("jobs", "collect", batch["batch"], "--json")
    assert collected.exit_code == 1
    assert "its result was refused" in collected.stdout
    assert "what it returned is not its result" in collected.stdout


def test_a_batch_record_not_sealed_with_the_job_key_is_never_trusted(
    project: Path, redis: Redis, access: Access
) -> None:
    """Batch records written by hand (plain JSON forcing an IRR list that shrank; a real
    sealed record copied under another id) are left out of 'jobs' and refused by
    'jobs collect'; 'jobs' and '--tasks' runs go on."""
    enqueued = json.loads(
        run("poll-bgp-sessions", "--tasks", "--no-wait", "--limit", "edge1", "--json").stdout
    )
    real = redis.get(f"nornir-peering:batch:{enqueued['batch']}")
    forged = {
        "id": "forged",
        "kind": "prefixes",
        "items": {"edge1": enqueued["jobs"]["edge1"]},
        "meta": {"force": True},
        "enqueued_at": "2026-12-07T00:00:00",
    }
    redis.set("nornir-peering:batch:forged", json.dumps(forged))
    redis.set("nornir-peering:batch:copied", real)
    redis.zadd("nornir-peering:batches", {"forged": 1e10, "copied": 1e10})
    listed = run("jobs", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert {j["batch"] for j in json.loads(listed.stdout)} == {enqueued["batch"]}
    for name, why in (("forged", "does not open with the job key"), ("copied", "was found in")):
        refused = run("jobs", "collect", name)
        assert refused.exit_code == 1
        assert f"batch {name}: its record was refused" in refused.stderr and why in refused.stderr
    assert run("poll-bgp-sessions", "--tasks", "--no-wait", "--limit", "edge1").exit_code == 0


def test_a_batch_record_put_back_as_it_was_is_not_collected_again(
    project: Path, redis: Redis
) -> None:
    """A copy of a batch's record from before it was collected (an old dump of Redis)
    put back: the state knows the batch was stored, and 'jobs collect' stores nothing
    of it again, named or not."""
    enqueued = json.loads(
        run("poll-bgp-sessions", "--tasks", "--no-wait", "--limit", "edge1", "--json").stdout
    )
    key = f"nornir-peering:batch:{enqueued['batch']}"
    before = redis.get(key)
    burst(project)
    assert run("jobs", "collect", enqueued["batch"]).exit_code == 0
    redis.set(key, before)
    again = run("jobs", "collect", enqueued["batch"])
    assert again.exit_code == 1 and "collected already" in again.stderr
    everything = run("jobs", "collect", "--json")
    assert everything.exit_code == 0, everything.stderr
    assert enqueued["batch"] not in everything.stdout
