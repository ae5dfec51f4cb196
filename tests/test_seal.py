"""Sealed jobs without Redis: what opens, what does not, and the worker's job class."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis import Redis
from rq.job import Job

from nornir_peering.errors import ConfigError
from nornir_peering.jobs import work
from nornir_peering.jobs.access import Access
from nornir_peering.jobs.locked import RUN, JobRefused, ToolkitJob
from nornir_peering.jobs.seal import SealBroken, Sealer, new_key
from nornir_peering.settings import load_settings

KEY, OTHER = new_key(), new_key()


def test_a_sealed_job_opens_for_its_job_only_and_shows_nothing() -> None:
    sealer = Sealer.from_keys([KEY])
    token = sealer.seal(
        "job-1", {"function": "deploy", "payload": {"config": "s3cret!"}}, seconds=60
    )
    assert "s3cret" not in token and "deploy" not in token
    assert sealer.open(token, "job-1")["payload"] == {"config": "s3cret!"}
    with pytest.raises(SealBroken, match="was found in job job-2"):
        sealer.open(token, "job-2")


@pytest.mark.parametrize("position", [0, 20, -5])
def test_one_byte_changed_does_not_open(position: int) -> None:
    sealer = Sealer.from_keys([KEY])
    token = sealer.seal("job-1", {"function": "poll"}, seconds=60)
    changed = token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]
    changed = changed if position != -5 else token[:-5] + changed[-5:]
    assert changed != token
    with pytest.raises(SealBroken, match="does not open with the job key"):
        sealer.open(changed, "job-1")


def test_another_key_and_an_expired_job_do_not_open() -> None:
    token = Sealer.from_keys([OTHER]).seal("job-1", {"function": "poll"}, seconds=60)
    with pytest.raises(SealBroken, match="does not open with the job key"):
        Sealer.from_keys([KEY]).open(token, "job-1")
    late = Sealer.from_keys([KEY]).seal("job-1", {"function": "poll"}, seconds=-1)
    with pytest.raises(SealBroken, match="has expired"):
        Sealer.from_keys([KEY]).open(late, "job-1")
    with pytest.raises(SealBroken, match="carries no sealed content"):
        Sealer.from_keys([KEY]).open({"function": "poll"}, "job-1")


def test_two_keys_while_they_change() -> None:
    """Sealed with the first key, opened with either."""
    old, both = Sealer.from_keys([KEY]), Sealer.from_keys([OTHER, KEY])
    assert both.open(old.seal("j", {}, seconds=60), "j")["job"] == "j"
    assert old.open(Sealer.from_keys([KEY, OTHER]).seal("j", {}, seconds=60), "j")
    with pytest.raises(SealBroken):
        old.open(both.seal("j", {}, seconds=60), "j")


def test_a_short_or_plain_key_or_none_is_refused() -> None:
    with pytest.raises(SealBroken, match="too short or too plain"):
        Sealer.from_keys(["short"])
    with pytest.raises(SealBroken, match="too short or too plain"):
        Sealer.from_keys(["ab" * 30])  # long, but 2 different characters
    with pytest.raises(ConfigError, match="background jobs need a job key"):
        Access("redis://127.0.0.1:6379/0").sealer()


@pytest.mark.parametrize("name", ["os.system", "no_such_module.boom", "builtins.eval"])
def test_the_workers_job_class_refuses_any_other_function_unimported(name: str) -> None:
    """Named anything but the toolkit's job function, a job is refused before its
    function is imported (a module that does not exist raises no ImportError)."""
    offline = Redis()  # never sent a command: no connection is made
    job = ToolkitJob(id="x1", connection=offline)
    job._func_name = name
    with pytest.raises(JobRefused, match=f"it names '{name}'"):
        job.func  # noqa: B018
    job._failure_callback_name = "os.system"
    job._success_callback_name = "os.system"
    assert job.failure_callback is None and job.success_callback is None
    toolkit = ToolkitJob(id="x2", connection=offline)
    toolkit._func_name = RUN
    assert toolkit.func is work.run
    stock = Job(id="x3", connection=offline)
    stock._func_name = "no_such_module.boom"
    with pytest.raises(ValueError, match="no_such_module"):  # RQ's own job imports it
        stock.func  # noqa: B018


def test_run_refuses_work_that_names_any_other_function(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Sealed with the right key, for the right job, but naming a function outside the
    toolkit's, or given another time limit than sealed, or run a second time: refused,
    nothing called."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    sealer = Sealer.from_keys([KEY])
    work.use(sealer)
    current = type("J", (), {"id": "j9", "timeout": 60})()
    monkeypatch.setattr(work, "get_current_job", lambda: current)

    def sealed(function: str, payload: object, timeout: int = 60) -> str:
        job = {"kind": "work", "function": function, "payload": payload, "timeout": timeout}
        return sealer.seal("j9", {**job, "batch": "b1", "item": "edge1"}, seconds=60)

    with pytest.raises(SealBroken, match=r"names 'os\.system', not one of nornir-peering's"):
        work.run(sealed("os.system", "touch /x"))
    with pytest.raises(SealBroken, match="given 60 s to run in Redis, not the 3600 s"):
        work.run(sealed("prefixes", {}, timeout=3600))
    result_as_work = sealer.seal("j9", {"kind": "result", "function": "prefixes"}, seconds=60)
    with pytest.raises(SealBroken, match="not one of nornir-peering's"):
        work.run(result_as_work)
    answer = sealer.open(work.run(sealed("prefixes", {})), "j9")
    assert answer["kind"] == "result" and answer["batch"] == "b1" and answer["item"] == "edge1"
    assert "KeyError" in answer["error"]  # its own error, sealed back
    with pytest.raises(SealBroken, match="job j9 already ran on this worker"):
        work.run(sealed("prefixes", {}))  # the same job pushed again: a replay
    assert (tmp_path / "nornir-peering" / "ran" / "j9").exists()


def test_job_key_is_a_reference_never_text(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("user_defined:\n  peering:\n    job_key: 'plain-text-key-in-the-config'\n")
    with pytest.raises(ConfigError, match="job_key") as failed:
        load_settings(config)
    assert "plain-text-key" not in str(failed.value)
    (tmp_path / "job.key").write_text(KEY + "\n")
    config.write_text("user_defined:\n  peering:\n    job_key: {file: job.key}\n")
    assert load_settings(config).peering.job_keys() == [KEY]
