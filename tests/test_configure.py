"""configure-routers and render, end to end on the lab: real BIRD routers,
the lab PeeringDB, the repository's inventory and templates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from nornir_peering.drivers.bird import BirdDriver
from nornir_peering.lab.control import Lab
from nornir_peering.store import router_lock
from tests.helpers import bgp_states, frr_states, outcome, run, wait_until
from tests.lab_project import template_for


def test_dry_run_shows_the_diff_and_changes_nothing(lab: Lab) -> None:
    result = run("configure-routers")
    assert result.exit_code == 0, result.stderr
    assert "+protocol bgp ix_lab_ix_as65001_127_0_1_11 {" in result.stdout
    assert "dry run: nothing committed" in result.stdout
    assert bgp_states(lab, "edge1") == {}
    assert lab.bird.config_file("edge1").read_text() == "# managed by nornir-peering\n"


def test_commit_then_nothing_more_to_do(lab: Lab) -> None:
    result = run("configure-routers", "--commit", "--json")
    assert result.exit_code == 0, result.stderr
    first = outcome(result.stdout)
    assert {r: (o["status"], o["committed"]) for r, o in first.items()} == {
        "edge1": ("changed", True),
        "edge2": ("changed", True),
        "edge3": ("changed", True),
    }
    # checked with birdc and vtysh, not through the tool: every session comes up
    wait_until(lambda: set(bgp_states(lab, "edge1").values()) == {"Established"})
    wait_until(lambda: set(bgp_states(lab, "edge2").values()) == {"Established"})
    wait_until(lambda: list(frr_states(lab).values()) == ["Established"] * 16)  # 15 + its collector
    assert len(bgp_states(lab, "edge1")) == 16 and len(bgp_states(lab, "edge2")) == 12
    again = outcome(run("configure-routers", "--commit", "--json").stdout)
    assert {r: (o["status"], o["committed"], o["diff"]) for r, o in again.items()} == {
        "edge1": ("unchanged", False, ""),
        "edge2": ("unchanged", False, ""),
        "edge3": ("unchanged", False, ""),
    }


def test_peering_managers_name_deploys_as_its_crontab_expects(lab: Lab) -> None:
    """``configure_routers`` commits, as Peering Manager's does; ``--limit r1,r2``
    picks routers, and ``--no-commit-check`` commits an empty diff too."""
    result = run("configure_routers", "--limit", "edge1", "--json")
    assert result.exit_code == 0, result.stderr
    assert {r: (o["status"], o["committed"]) for r, o in outcome(result.stdout).items()} == {
        "edge1": ("changed", True)
    }
    wait_until(lambda: len(bgp_states(lab, "edge1")) == 16)
    assert bgp_states(lab, "edge2") == {}
    again = run("configure_routers", "--no-commit-check", "--limit", "edge1,edge2", "--json")
    assert {r: (o["status"], o["committed"]) for r, o in outcome(again.stdout).items()} == {
        "edge1": ("unchanged", True),
        "edge2": ("changed", True),
    }


def test_no_commit_check_commits_an_empty_diff(lab: Lab) -> None:
    run("configure-routers", "--commit", "--limit", "edge1")
    result = outcome(
        run(
            "configure-routers", "--commit", "--no-commit-check", "--json", "--limit", "edge1"
        ).stdout
    )
    assert (result["edge1"]["status"], result["edge1"]["committed"]) == ("unchanged", True)


def test_selection_limits_what_is_touched(lab: Lab) -> None:
    result = run("configure-routers", "--commit", "--json", "-g", "edge", "--exclude", "*2")
    assert list(outcome(result.stdout)) == ["edge1", "edge3"]
    assert bgp_states(lab, "edge2") == {}


def test_hostile_peeringdb_names_stay_inside_their_quotes(lab: Lab) -> None:
    result = run("render", "--limit", "edge1")
    assert result.exit_code == 0, result.stderr
    config = result.stdout
    assert 'description "Evil Net protocol bgp x";' in config
    assert '"/etc"' not in config and "AS-EVIL" not in config
    # no more sessions than the inventory has: the name opened nothing
    assert sum(line.startswith("protocol bgp ") for line in config.splitlines()) == 16


def test_broken_template_fails_only_that_router(lab: Lab, project: Path) -> None:
    with template_for(
        project, "edge2", "broken", "{% for s in sessions %}\n{{ s.no_such_field }}\n{% endfor %}\n"
    ):
        result = run("configure-routers", "--commit", "--json")
    assert result.exit_code == 1
    routers = outcome(result.stdout)
    assert routers["edge2"]["status"] == "failed"
    assert "bird/broken.j2:2" in str(routers["edge2"]["note"])
    assert "no_such_field" in str(routers["edge2"]["note"])
    assert (routers["edge1"]["status"], routers["edge1"]["committed"]) == ("changed", True)
    assert lab.bird.config_file("edge2").read_text() == "# managed by nornir-peering\n"


def test_config_bird_rejects_is_rolled_back(lab: Lab, project: Path) -> None:
    run("configure-routers", "--commit", "--limit", "edge1")
    wait_until(lambda: len(bgp_states(lab, "edge1")) == 16)
    before = lab.bird.config_file("edge1").read_text()
    # edge1's sessions as before (no guard to trip), and a protocol that passes `bird -p`
    # alone but clashes with one of the router's own bird.conf
    clash = '{% include "bird/peering.j2" %}\nprotocol static announced4 { ipv4; }\n'
    with template_for(project, "edge1", "clash", clash):
        result = run("configure-routers", "--commit", "--json", "--limit", "edge1")
    assert result.exit_code == 1
    note = str(outcome(result.stdout)["edge1"]["note"])
    assert "BIRD refused the configuration" in note and "announced4" in note
    assert lab.bird.config_file("edge1").read_text() == before
    assert len(bgp_states(lab, "edge1")) == 16


def test_unreachable_router_fails_alone(lab: Lab) -> None:
    lab.bird.stop("edge2")
    result = run("configure-routers", "--commit", "--json")
    assert result.exit_code == 1
    routers = outcome(result.stdout)
    assert routers["edge2"]["status"] == "failed"
    assert "cannot connect to BIRD" in str(routers["edge2"]["note"])
    assert (routers["edge1"]["status"], routers["edge1"]["committed"]) == ("changed", True)
    assert json.loads(result.stdout)["failed"] == ["edge2"]
    table = run("configure-routers")  # the same, for a person
    assert table.exit_code == 1 and "failed: edge2" in table.stderr


def test_commit_confirm(lab: Lab) -> None:
    result = outcome(
        run("configure-routers", "--commit", "--confirm", "60", "--json", "--limit", "edge1").stdout
    )
    assert (result["edge1"]["status"], result["edge1"]["committed"]) == ("changed", True)
    device = BirdDriver(
        "edge1",
        optional_args={
            "socket": str(lab.bird.socket("edge1")),
            "config_file": str(lab.bird.config_file("edge1")),
        },
    )
    device.open()
    assert not device.has_pending_commit()  # confirmed by the run
    device.close()


def test_unanswered_commit_is_left_to_revert(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the router does not answer after the commit, the run does not confirm,
    and BIRD's own timer puts the old configuration back."""
    monkeypatch.setattr("nornir_peering.tasks._answers", lambda device: False)
    result = run("configure-routers", "--commit", "--confirm", "2", "--json", "--limit", "edge1")
    assert result.exit_code == 1
    note = str(outcome(result.stdout)["edge1"]["note"])
    assert "left unconfirmed" in note
    assert len(bgp_states(lab, "edge1")) == 16
    wait_until(lambda: bgp_states(lab, "edge1") == {})


def test_render_to_files_and_bird_check(lab: Lab, project: Path, tmp_path: Path) -> None:
    result = run("render", "-o", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["edge1.conf", "edge2.conf", "edge3.conf"]
    with template_for(
        project, "edge1", "bad-syntax", "# fine\nprotocol bgp x {\n  neighbour 127.0.0.9 as 1;\n}\n"
    ):
        result = run("render", "--limit", "edge1")
    assert result.exit_code == 1
    assert "BIRD rejects the rendered configuration" in result.stderr
    assert ">    3 |   neighbour 127.0.0.9 as 1;" in result.stderr


def test_a_commit_that_drops_most_sessions_is_refused_unless_forced(
    lab: Lab, project: Path
) -> None:
    """lab-ix gone from edge1's intent (a bad edit, a sync that lost the IX): its 11
    sessions there would go; the commit is refused for edge1, edge2 carries on, and
    --force commits it."""
    assert run("configure-routers", "--commit").exit_code == 0
    wait_until(lambda: len(bgp_states(lab, "edge1")) == 16)
    peering = project / "inventory" / "peering.yaml"
    original = peering.read_text()
    edge1_at_lab_ix = '      - {router: edge1, ipv4: 127.0.1.1, ipv6: "fd00:7f8:1::1"}\n'
    assert edge1_at_lab_ix in original
    peering.write_text(original.replace(edge1_at_lab_ix, ""))
    try:
        result = run("configure-routers", "--commit", "--json", "--limit", "edge1,edge2")
        assert result.exit_code == 1
        routers = outcome(result.stdout)
        assert (routers["edge1"]["status"], routers["edge1"]["committed"]) == ("failed", False)
        assert str(routers["edge1"]["note"]).startswith(
            "the commit would remove 11 of 16 BGP sessions (more than max_removed_sessions "
            "10; 69%, more than max_removed_share 30%); refused, --force commits it"
        )
        assert "-protocol bgp ix_lab_ix_as65001_127_0_1_11 {" in str(routers["edge1"]["diff"])
        assert routers["edge2"]["status"] == "unchanged"
        assert len(bgp_states(lab, "edge1")) == 16  # nothing committed
        forced = run("configure-routers", "--commit", "--force", "--json", "--limit", "edge1")
        assert forced.exit_code == 0, forced.stderr
        assert outcome(forced.stdout)["edge1"]["committed"] is True
        wait_until(lambda: len(bgp_states(lab, "edge1")) == 5)
        assert run("configure-routers", "--force").exit_code == 2  # --force goes with --commit
    finally:
        peering.write_text(original)


def test_one_run_at_a_time_deploys_to_a_router(lab: Lab, project: Path) -> None:
    """While another run holds edge1, a commit to it fails after --wait with the
    state file's busy code (75: try again later) and edge2 is committed; a run that
    waits long enough deploys once the other is done."""
    state = project / "state" / "peering.duckdb"
    with router_lock(state, "edge1", wait=0):
        result = run("configure-routers", "--commit", "--json", "--wait", "0.2", "-g", "edge")
        assert result.exit_code == 75
        routers = outcome(result.stdout)
        assert routers["edge1"]["status"] == "failed" and not routers["edge1"]["committed"]
        assert str(routers["edge1"]["note"]).startswith(
            f"edge1: another run (pid {os.getpid()}) is deploying to it; gave up after 0.2s"
        )
        assert routers["edge2"]["committed"] is True
        assert bgp_states(lab, "edge1") == {}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(state), "edge1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline() == "held\n"
    done: list[int] = []
    waiting = threading.Thread(
        target=lambda: done.append(
            run("configure-routers", "--commit", "--wait", "60", "--limit", "edge1").exit_code
        )
    )
    waiting.start()
    assert not done  # still waiting for the lock
    holder.stdin.close()  # the other run ends
    assert holder.wait(10) == 0
    waiting.join(60)
    assert done == [0]
    wait_until(lambda: len(bgp_states(lab, "edge1")) == 16)


# another run holding a router until its standard input closes
HOLD_LOCK = """
import sys
from pathlib import Path
from nornir_peering.store import router_lock
with router_lock(Path(sys.argv[1]), sys.argv[2], wait=0):
    print("held", flush=True)
    sys.stdin.read()
"""
