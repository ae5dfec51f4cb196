"""The queue as an attacker with access to its Redis would try it, on the lab's real Redis
(TLS, an ACL user) with real ``nornir-peering worker`` processes: nothing a job names
runs but the toolkit's own work, sealed with the job key; nothing read from Redis shows a
secret; no forged result is taken."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import zlib
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from rq.job import Callback, Job
from rq.results import Result
from rq.serializers import JSONSerializer

from nornir_peering.errors import ConfigError
from nornir_peering.jobs.access import Access
from nornir_peering.jobs.queue import RUN, ends, enqueue, queue
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
    batch = enqueue(redis, sealer, "poll", {"edge1": ("poll", {"router": {}})}, timeout=60)
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
    other = enqueue(redis, access.sealer(), "poll", {"edge1": ("poll", {})}, timeout=60)
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


def test_plain_redis_to_another_machine_needs_a_password_or_insecure_redis(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """redis:// to another machine without a password is refused before any connection
    is tried (192.0.2.1 is never reached: the project's config has no redis_password)."""
    config = project / "config-plain.yaml"
    config.write_text(
        "\n".join(
            line
            for line in (project / "config.yaml").read_text().splitlines()
            if not line.strip().startswith(("redis_password", "redis_url"))
        )
        + "\n"
    )
    monkeypatch.setenv("NORNIR_PEERING_REDIS_URL", "redis://192.0.2.1:6379/0")
    for args in (("worker", "--burst"), ("poll-bgp-sessions", "--tasks"), ("jobs",)):
        result = run(args[0], "--config", str(config), *args[1:])
        assert result.exit_code == 2, (args, result.stderr)
        assert "in clear and without a password" in result.stderr
        assert "--insecure-redis" in result.stderr
    with pytest.raises(ConfigError, match="in clear and without a password"):
        Access("redis://192.0.2.1:6379/0").check_transport()
    Access("redis://192.0.2.1:6379/0", insecure=True).check_transport()  # asked for
    Access("redis://user:pw@192.0.2.1:6379/0").check_transport()  # a password
    Access("redis://192.0.2.1:6379/0", password="pw").check_transport()
    Access("rediss://192.0.2.1:6379/0").check_transport()  # TLS
    Access("redis://127.0.0.1:6379/0").check_transport()  # this machine


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
    batch = enqueue(redis, enqueuer, "poll", {"edge1": ("poll", _edge1(project))}, timeout=60)
    burst(project, "--config", str(worker_config))
    [end] = ends(redis, batch, enqueuer).values()
    assert end.ok and end.value["sessions"], end.error
    # the worker sealed its result with its current key, the old one: an enqueuer that
    # had dropped it too early could not take it
    [early] = ends(redis, batch, Sealer.from_keys([new])).values()
    assert not early.ok and "does not open with the job key" in early.error


def _edge1(project: Path) -> dict[str, Any]:
    """edge1 as a poll job carries it."""
    from nornir import InitNornir

    from nornir_peering.jobs import payload

    nr = InitNornir(config_file=str(project / "config.yaml"), logging={"enabled": False})
    return {"router": payload.router(nr.inventory.hosts["edge1"])}
