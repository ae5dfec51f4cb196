"""Runs on the lab as a bad night would go: a commit killed before BIRD answers, a
router that keeps talking and never answers, a run stopped by SIGTERM or Ctrl-C or
killed outright, a router that refuses its commit. The router and the run log end up
right every time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from napalm.base.exceptions import CommitConfirmException, CommitError

from nornir_peering.drivers.bird import BirdDriver, commits_under_way
from nornir_peering.lab.control import Lab
from nornir_peering.store import router_lock
from tests.helpers import bgp_states, frr_states, outcome, run, wait_until
from tests.lab_project import router_data, template_for
from tests.slow_router import slow_bird

EMPTY = "# managed by nornir-peering\n"


def launch(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``nornir-peering ARGS`` as cron starts it: its own process, in the project."""
    return subprocess.Popen(
        [sys.executable, "-m", "nornir_peering", *args],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def runs(*args: str) -> list[dict[str, Any]]:
    listed = run("runs", "--json", *args)
    assert listed.exit_code == 0, listed.stderr
    found: list[dict[str, Any]] = json.loads(listed.stdout)
    return found


def items(run_id: int) -> dict[str, dict[str, Any]]:
    shown = run("runs", "show", str(run_id), "--json")
    assert shown.exit_code == 0, shown.stderr
    return {i["item"]: i for i in json.loads(shown.stdout)["items"]}


def test_a_commit_killed_before_bird_answers_is_settled_by_the_next_commit(
    lab: Lab, project: Path
) -> None:
    """The run is killed (SIGKILL) while BIRD has yet to answer its 'configure check':
    the file says the new configuration, BIRD runs the old. A dry run then says so and
    shows the whole change still to make, touching nothing; the next commit puts the file
    of before back, has BIRD reconfigure from it and makes the change. The killed run is
    in the run log, interrupted, edge1 under way."""
    config_file = lab.bird.config_file("edge1")
    with slow_bird(project, "edge1", b"configure") as bird:
        killed = launch(project, "configure-routers", "--commit", "--limit", "edge1")
        assert bird.reached.wait(60), killed.communicate()
        assert "protocol bgp" in config_file.read_text()  # ahead of BIRD
        killed.kill()
        killed.wait()
    assert bgp_states(lab, "edge1") == {}  # BIRD never took it
    cut_off = config_file.read_text()
    dry = run("configure-routers", "--limit", "edge1", "--json")
    assert dry.exit_code == 0, dry.stderr
    edge1 = outcome(dry.stdout)["edge1"]
    assert edge1["status"] == "changed" and "+protocol bgp" in edge1["diff"]
    assert (
        f"pid {killed.pid}" in edge1["note"]
        and "was cut off before BIRD answered" in (edge1["note"])
    )
    assert config_file.read_text() == cut_off  # a dry run changes nothing
    assert Path(f"{config_file}.committing").exists()
    commit = run("configure-routers", "--commit", "--limit", "edge1", "--json")
    edge1 = outcome(commit.stdout)["edge1"]
    assert edge1["committed"] is True and "had been cut off" in edge1["note"]
    assert edge1["diff"] == outcome(dry.stdout)["edge1"]["diff"]  # as the dry run said
    assert not Path(f"{config_file}.committing").exists()
    wait_until(lambda: len(bgp_states(lab, "edge1")) == 16)
    again = outcome(run("configure-routers", "--limit", "edge1", "--json").stdout)
    assert again["edge1"]["status"] == "unchanged" and not again["edge1"]["note"]
    [interrupted] = [r for r in runs("--last", "4") if r["pid"] == killed.pid]
    assert interrupted["exit_code"] == -1 and interrupted["summary"].startswith("interrupted:")
    assert interrupted["command"] == "configure-routers"
    assert [(i["item"], i["status"]) for i in interrupted["items"]] == [("edge1", "interrupted")]


def test_a_commit_under_way_elsewhere_is_never_settled(lab: Lab, project: Path) -> None:
    """A commit held by a slow BIRD in another process (its owner alive) while another
    deployer that does not share its lock (a worker of --tasks --no-wait, another
    machine's state) loads and commits: the load only says so, the commit is refused,
    and the first commit lands whole once BIRD answers."""
    config_file = lab.bird.config_file("edge1")
    with slow_bird(project, "edge1", b"configure") as bird:
        first = launch(project, "configure-routers", "--commit", "--limit", "edge1", "--json")
        assert bird.reached.wait(60), first.communicate()
        ahead = config_file.read_text()
        other = BirdDriver(
            "edge1",
            optional_args={
                "socket": str(lab.bird.socket("edge1")),
                "config_file": str(config_file),
            },
        )
        other.open()
        try:
            other.load_merge_candidate(config=EMPTY)
            assert "is under way on this router" in str(other.interrupted_commit)
            with pytest.raises(CommitError, match="is under way on this router"):
                other.commit_config()
        finally:
            other.close()
        assert config_file.read_text() == ahead
        bird.release()
        out, _ = first.communicate(timeout=60)
    assert first.returncode == 0
    assert outcome(out)["edge1"]["committed"] is True
    wait_until(lambda: len(bgp_states(lab, "edge1")) == 16)
    assert not Path(f"{config_file}.committing").exists()


def test_a_router_that_keeps_talking_fails_at_its_time_limit(
    lab: Lab, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """edge1 sends a line five times a second and never ends its reply to 'show protocols
    all': no socket timeout ever trips. It fails at its own limit (2 s, in its data; the
    others have the setting's 60 s) and the other routers' sessions are stored."""
    assert run("configure-routers", "--commit").exit_code == 0
    wait_until(lambda: set(bgp_states(lab, "edge2").values()) == {"Established"})
    wait_until(lambda: list(frr_states(lab).values()) == ["Established"] * 16)
    monkeypatch.setenv("NORNIR_PEERING_ROUTER_TIMEOUT", "60")
    with (
        router_data(project, "edge1", router_timeout=2),
        slow_bird(project, "edge1", b"show protocols", trickle=True) as bird,
    ):
        polled = run("poll-bgp-sessions", "--json")
        trickled = bird.trickled
    assert polled.exit_code == 1
    report = json.loads(polled.stdout)
    assert report["failed"] == ["edge1"]
    [edge1] = [r for r in report["routers"] if r["router"] == "edge1"]
    assert "no end within 2 s (router_timeout)" in edge1["error"]
    assert trickled >= 3  # it was talking all along
    stored = json.loads(run("sessions", "--json").stdout)
    assert {s["router"] for s in stored if s["state"] == "Established"} >= {"edge2", "edge3"}


def test_a_commit_past_its_time_limit_fails_that_router_and_is_settled_next_time(
    lab: Lab, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BIRD holds edge1's 'configure check' past the run's 3 s: edge1 fails, edge2 and
    edge3 are committed and recorded. The next commit finds edge1's commit cut off and
    settles it."""
    monkeypatch.setenv("NORNIR_PEERING_ROUTER_TIMEOUT", "3")
    with slow_bird(project, "edge1", b"configure"):
        result = run("configure-routers", "--commit", "--json")
    assert result.exit_code == 1
    routers = outcome(result.stdout)
    assert routers["edge1"]["status"] == "failed"
    assert "no end within 3 s (router_timeout)" in routers["edge1"]["note"]
    assert [routers[r]["committed"] for r in ("edge2", "edge3")] == [True, True]
    recorded = items(runs("--last", "1")[0]["id"])
    assert recorded["edge1"]["status"] == "failed" and recorded["edge2"]["committed"]
    wait_until(lambda: commits_under_way() == 0)  # the task left behind has stopped
    again = outcome(run("configure-routers", "--commit", "--json", "--limit", "edge1").stdout)
    assert "had been cut off" in again["edge1"]["note"]
    assert again["edge1"]["committed"] is True
    wait_until(lambda: len(bgp_states(lab, "edge1")) == 16)


def test_a_router_left_behind_waiting_for_its_lock_never_commits(
    lab: Lab, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """edge1's lock is held by another run past edge1's 2 s (the run waits up to 8 s for
    it): edge1 fails at its limit; once the lock is free, the task left behind does not
    go on to commit."""
    monkeypatch.setenv("NORNIR_PEERING_ROUTER_TIMEOUT", "2")
    state = project / "state" / "peering.duckdb"
    with router_lock(state, "edge1", 0):
        result = run("configure-routers", "--commit", "--limit", "edge1", "--wait", "8", "--json")
        assert result.exit_code == 1
        assert "no end within 2 s" in outcome(result.stdout)["edge1"]["note"]
    wait_until(lambda: not any(t.name.startswith("edge1:") for t in threading.enumerate()))
    assert lab.bird.config_file("edge1").read_text() == EMPTY
    assert bgp_states(lab, "edge1") == {}


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_run_stopped_by_sigterm_or_ctrl_c_finishes_its_router_and_starts_no_other(
    lab: Lab, project: Path, stop: signal.Signals
) -> None:
    """One router at a time (num_workers 1): edge1's commit is under way when the run
    is told to stop. It finishes edge1, starts neither edge2 nor edge3, says so in one
    line and exits 128 + the signal's number; the run log has all three."""
    config = project / "config-serial.yaml"
    config.write_text(
        (project / "config.yaml").read_text().replace("num_workers: 20", "num_workers: 1")
    )
    with slow_bird(project, "edge1", b"configure") as bird:
        stopped = launch(project, "configure-routers", "--commit", "--config", str(config))
        assert bird.reached.wait(60), stopped.communicate()
        stopped.send_signal(stop)
        wait_until(lambda: _journal_says(project, '"stopping"'))  # waiting for edge1
        bird.release()
        _, err = stopped.communicate(timeout=60)
    assert stopped.returncode == 128 + stop
    by = "Ctrl-C" if stop == signal.SIGINT else "SIGTERM"
    assert err.strip().splitlines() == [f"error: interrupted by {by}"], err
    [last] = runs("--last", "1")
    assert last["exit_code"] == 128 + stop and last["pid"] == stopped.pid
    summary = f"interrupted by {by}: commit: 1 changed (1 committed), 2 not started"
    assert last["summary"] == summary
    recorded = items(last["id"])
    assert (recorded["edge1"]["status"], recorded["edge1"]["committed"]) == ("changed", True)
    assert "+protocol bgp" in recorded["edge1"]["diff"]
    assert [recorded[r]["status"] for r in ("edge2", "edge3")] == ["not started"] * 2
    wait_until(lambda: len(bgp_states(lab, "edge1")) == 16)
    assert bgp_states(lab, "edge2") == {}
    assert not list((project / "state" / "journal").glob("*.jsonl"))


def _journal_says(project: Path, text: str) -> bool:
    return any(text in p.read_text() for p in (project / "state" / "journal").glob("*.jsonl"))


def test_a_router_that_refuses_its_commit_keeps_its_diff_in_the_run_log(
    lab: Lab, project: Path
) -> None:
    """BIRD refuses edge1's configuration: the router fails, and the diff it refused is in
    the report and the run log, as every router's is."""
    clash = '{% include "bird/peering.j2" %}\nprotocol static announced4 { ipv4; }\n'
    with template_for(project, "edge1", "clash", clash):
        result = run("configure-routers", "--commit", "--json", "--limit", "edge1")
    assert result.exit_code == 1
    edge1 = outcome(result.stdout)["edge1"]
    assert edge1["status"] == "failed" and "BIRD refused the configuration" in edge1["note"]
    assert "+protocol static announced4 { ipv4; }" in edge1["diff"]
    assert edge1["committed"] is False
    recorded = items(runs("--last", "1")[0]["id"])["edge1"]
    assert "+protocol static announced4 { ipv4; }" in recorded["diff"]
    assert lab.bird.config_file("edge1").read_text() == EMPTY


def test_an_unreachable_router_is_one_line_not_a_traceback(lab: Lab, project: Path) -> None:
    """edge2's BIRD is down: the poll, run as cron runs it, reports it in the table and
    prints no traceback (Nornir's log of the failure goes nowhere unless logging is on)."""
    lab.bird.stop("edge2")
    polled = launch(project, "poll-bgp-sessions")
    out, err = polled.communicate(timeout=120)
    assert polled.returncode == 1
    assert "Traceback" not in err and "Traceback" not in out
    assert err.strip().splitlines() == ["failed: edge2"], err
    assert "cannot connect to BIRD" in out


def test_two_commands_starting_together_record_a_killed_run_once(lab: Lab, project: Path) -> None:
    """A run killed outright leaves its journal; two commands started together after it
    (cron, the minute after a reboot) both run, and the run log has it once."""
    killed = launch(project, "poll-bgp-sessions")  # SIGKILLed as soon as its journal is there
    wait_until(lambda: bool(list((project / "state" / "journal").glob("*.jsonl"))))
    killed.kill()
    killed.wait()
    together = [launch(project, "runs", "--json") for _ in range(2)]
    for command in together:
        _, err = command.communicate(timeout=120)
        assert command.returncode == 0, err
        assert "Traceback" not in err
    assert [r["pid"] for r in runs("--last", "10")].count(killed.pid) == 1
    assert not list((project / "state" / "journal").glob("*"))


def test_a_confirm_after_birds_own_timer_fired_puts_the_file_back(lab: Lab) -> None:
    """BIRD's revert timer fires before the run confirms (a BIRD whose clock runs ahead):
    BIRD answers the confirm 'Nothing to do' and runs the configuration of before; the
    confirm fails saying so, and the file goes back to what BIRD runs."""
    config_file = lab.bird.config_file("edge1")
    device = BirdDriver(
        "edge1",
        optional_args={"socket": str(lab.bird.socket("edge1")), "config_file": str(config_file)},
    )
    rendered = run("render", "--limit", "edge1", "--show-secrets").stdout
    device.open()
    try:
        device.load_merge_candidate(config=rendered)
        device.commit_config(revert_in=1)
        wait_until(lambda: len(bgp_states(lab, "edge1")) == 16)
        wait_until(lambda: bgp_states(lab, "edge1") == {})  # BIRD reverted by itself
        pending = Path(f"{config_file}.pending")  # our clock: not yet time
        pending.write_text(json.dumps({"deadline": time.time() + 3600, "message": ""}))
        with pytest.raises(CommitConfirmException, match="had reverted the commit already"):
            device.confirm_commit()
    finally:
        device.close()
    assert config_file.read_text() == EMPTY
    assert not pending.exists()
