"""The run log, end to end on the lab: every runbook run is recorded with its exit code,
options and per-router outcome; ``runs`` lists them and ``runs show`` gives the diffs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nornir_peering.lab.control import Lab
from tests.helpers import bgp_states, run, wait_until


def runs(*args: str) -> list[dict[str, Any]]:
    result = run("runs", "--json", *args)
    assert result.exit_code == 0, result.stderr
    found: list[dict[str, Any]] = json.loads(result.stdout)
    return found


def shown(run_id: int) -> dict[str, Any]:
    result = run("runs", "show", str(run_id), "--json")
    assert result.exit_code == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def test_a_dry_run_then_a_commit_are_recorded_with_their_diffs(lab: Lab) -> None:
    assert run("configure-routers", "--limit", "edge1").exit_code == 0
    assert run("configure_routers", "--limit", "edge1,edge2").exit_code == 0
    commit, dry = runs("--last", "2")
    assert (dry["command"], dry["options"], dry["exit_code"]) == (
        "configure-routers",
        {"routers": ["edge1"]},
        0,
    )
    assert dry["summary"] == "dry run: 1 changed (0 committed)"
    assert (commit["command"], commit["options"]) == (
        "configure_routers",
        {"routers": ["edge1,edge2"]},
    )
    assert commit["summary"] == "commit: 2 changed (2 committed)"
    assert [(i["item"], i["status"], i["committed"]) for i in commit["items"]] == [
        ("edge1", "changed", True),
        ("edge2", "changed", True),
    ]
    assert "diff" not in commit["items"][0]  # the list leaves the diffs to runs show
    drift = shown(dry["id"])
    assert "+protocol bgp ix_lab_ix_as65001_127_0_1_11 {" in drift["items"][0]["diff"]
    assert drift["items"][0]["committed"] is False
    assert shown(commit["id"])["items"][0]["diff"] == drift["items"][0]["diff"]
    wait_until(lambda: len(bgp_states(lab, "edge1")) == 16)
    text = run("runs", "show", str(commit["id"]))
    assert text.exit_code == 0
    assert f"run {commit['id']}: configure_routers --routers edge1,edge2" in text.stdout
    assert "+protocol bgp ix_lab_ix_as65001_127_0_1_11 {" in text.stdout


def test_a_refused_commit_keeps_its_diff_in_the_log(lab: Lab, project: Path) -> None:
    assert run("configure-routers", "--commit", "--limit", "edge1").exit_code == 0
    wait_until(lambda: len(bgp_states(lab, "edge1")) == 16)
    peering = project / "inventory" / "peering.yaml"
    original = peering.read_text()
    peering.write_text(
        original.replace('      - {router: edge1, ipv4: 127.0.1.1, ipv6: "fd00:7f8:1::1"}\n', "")
    )
    try:
        assert run("configure-routers", "--commit", "--limit", "edge1").exit_code == 1
    finally:
        peering.write_text(original)
    [refused] = runs("--last", "1", "--failed")
    assert (refused["exit_code"], refused["summary"]) == (1, "commit: 1 failed")
    [item] = shown(refused["id"])["items"]
    assert (item["status"], item["committed"]) == ("failed", False)
    assert item["note"].startswith("the commit would remove 11 of 16 BGP sessions")
    assert "-protocol bgp ix_lab_ix_as65001_127_0_1_11 {" in item["diff"]


def test_polls_and_usage_errors_are_recorded(lab: Lab) -> None:
    assert run("configure-routers", "--commit", "--limit", "edge1").exit_code == 0
    wait_until(lambda: set(bgp_states(lab, "edge1").values()) == {"Established"})
    assert run("poll_peering_sessions", "--all").exit_code == 0
    assert run("configure-routers", "--force").exit_code == 2  # --force goes with --commit
    usage, poll = runs("--last", "2")
    assert (usage["command"], usage["exit_code"], usage["options"]) == (
        "configure-routers",
        2,
        {"force": True},
    )
    assert usage["summary"] == "refused: bad usage"
    assert (poll["command"], poll["options"], poll["exit_code"]) == (
        "poll_peering_sessions",
        {"everything": True},
        0,
    )
    items = {i["item"]: (i["status"], i["note"]) for i in poll["items"]}
    assert items["edge1"] == ("polled", "16/16 sessions up")
    assert [r["command"] for r in runs("--command", "poll_peering_sessions")] == [
        "poll_peering_sessions"
    ]


def test_an_unknown_run_is_an_error(lab: Lab) -> None:
    result = run("runs", "show", "999999")
    assert result.exit_code == 1
    assert "no run 999999 in the run log of" in result.stderr


def test_syncs_and_prefix_runs_are_recorded(lab: Lab) -> None:
    assert run("peeringdb_sync").exit_code == 0
    assert run("grab-prefixes", "--asn", "65001").exit_code == 0
    grab, sync = runs("--last", "2")
    assert sync["command"] == "peeringdb_sync" and sync["exit_code"] == 0
    assert sync["summary"].startswith("incremental sync: 0 created, 0 updated, 0 deleted in ")
    assert (grab["command"], grab["options"]) == ("grab-prefixes", {"asns": [65001]})
    assert {i["item"] for i in grab["items"]} == {"AS65001 IPv4", "AS65001 IPv6", "AS65001 AS path"}
    assert grab["summary"].startswith("1 ASes, ")
