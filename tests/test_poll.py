"""poll-bgp-sessions on the lab: real BIRD routers, states cross-checked with birdc."""

from __future__ import annotations

import json
from ipaddress import ip_address
from typing import Any

import duckdb

from nornir_peering.lab.control import Lab
from nornir_peering.lab.topology import ANNOUNCES
from tests.helpers import bgp_states, birdc, frr_states, run, wait_until


def polled(*args: str) -> tuple[int, dict[str, Any]]:
    result = run("poll-bgp-sessions", "--json", *args)
    return result.exit_code, json.loads(result.stdout)


def sessions(report: dict[str, Any], router: str) -> dict[str, dict[str, Any]]:
    [found] = [r for r in report["routers"] if r["router"] == router]
    return {s["remote_address"]: s for s in found["sessions"]}


def history(lab: Lab) -> list[tuple[Any, ...]]:
    state = lab.directory.parent / "peering.duckdb"
    with duckdb.connect(str(state), read_only=True) as db:
        return db.execute(
            "SELECT router, remote_address, old_state, new_state "
            "FROM bgp_session_history ORDER BY changed_at"
        ).fetchall()


def deployed(lab: Lab) -> None:
    assert run("configure-routers", "--commit").exit_code in (0,)
    wait_until(
        lambda: (
            set(bgp_states(lab, "edge1").values()) == {"Established"}
            and len(bgp_states(lab, "edge1")) == 16
        )
    )
    wait_until(
        lambda: (
            set(bgp_states(lab, "edge2").values()) == {"Established"}
            and len(bgp_states(lab, "edge2")) == 12
        )
    )
    # the FRR edge: its 15 sessions and the operator's route collector
    wait_until(lambda: list(frr_states(lab).values()) == ["Established"] * 16)


def test_every_session_established_with_the_right_counts(lab: Lab) -> None:
    deployed(lab)
    wait_until(
        lambda: (
            sessions(polled()[1], "edge1")["127.0.1.14"]["received_prefixes"] == ANNOUNCES[65003]
        )
    )
    code, report = polled()
    assert code == 0
    edge1 = sessions(report, "edge1")
    assert len(edge1) == 16 and all(s["state"] == "Established" for s in edge1.values())
    assert sum(ip_address(a).version == 6 for a in edge1) == 7  # both families, stored
    for address, asn in (
        ("127.0.1.11", 65001),
        ("fd00:7f8:1::11", 65001),
        ("127.0.1.14", 65003),
        ("fd00:7f8:1::16", 65006),  # a peer with IPv6 only
        ("127.0.4.1", 65200),
    ):
        assert (edge1[address]["remote_asn"], edge1[address]["received_prefixes"]) == (
            asn,
            ANNOUNCES[asn],
        )
        # cross-checked with BIRD's own client
        protocol = next(
            line.split()[0]
            for line in birdc(lab, "edge1").splitlines()
            if line.split()[:1]
            and line.split()[0].endswith(address.replace(".", "_").replace(":", "_"))
        )
        routes = birdc(lab, "edge1", f"show protocols all {protocol}")
        assert f"Routes:         {ANNOUNCES[asn]} imported" in routes
    # 65003 announces exactly its max-prefix limit: it needs attention
    assert edge1["127.0.1.14"]["attention"] == "9 prefixes, limit 9"
    assert edge1["127.0.1.11"]["attention"] == ""
    assert all(s["uptime"] is not None and s["uptime"] >= 0 for s in edge1.values())


def test_a_peer_going_down_is_seen_and_remembered(lab: Lab) -> None:
    deployed(lab)
    polled()
    lab.bird.stop("as65001-127.0.2.11")
    try:
        wait_until(lambda: sessions(polled()[1], "edge1")["127.0.2.11"]["state"] != "Established")
        code, report = polled()
        assert code == 0
        down = sessions(report, "edge1")["127.0.2.11"]
        assert down["attention"].startswith("not established")
        assert ("edge1", "127.0.2.11", "Established", down["state"]) in history(lab)
    finally:
        lab.bird.start("as65001-127.0.2.11")


def test_unknown_and_not_configured_sessions(lab: Lab) -> None:
    deployed(lab)
    config = lab.bird.config_file("edge2")
    original = config.read_text()
    # one session by hand, one of ours removed by hand
    hand = original.replace(
        "protocol bgp ix_lab_ix_as65003_127_0_1_14 {",
        "protocol bgp manual_peer {\n  local 127.0.1.2 port 1179 as 64500;\n"
        "  neighbor 127.0.1.99 port 1179 as 65999;\n  multihop;\n"
        "  ipv4 { import none; export none; };\n}\n"
        "protocol bgp ix_lab_ix_as65003_127_0_1_14 {\n  disabled;",
    )
    hand = hand.replace("protocol bgp ix_lab_ix_as65004_127_0_1_15 {", "template bgp unused {")
    config.write_text(hand)
    birdc(lab, "edge2", "configure")
    try:
        code, report = polled("--limit", "edge2")
        assert code == 0
        found = sessions(report, "edge2")
        assert found["127.0.1.99"]["attention"] == "unknown: on the router, not in the inventory"
        assert found["127.0.1.15"]["state"] == "not configured"
        assert found["127.0.1.15"]["attention"] == "not configured on the router"
        assert found["127.0.1.14"]["attention"].startswith("not established")
    finally:
        config.write_text(original)
        birdc(lab, "edge2", "configure")


def test_unreachable_router_fails_alone_and_goes_stale(lab: Lab) -> None:
    deployed(lab)
    polled()
    lab.bird.stop("edge2")
    code, report = polled()
    assert code == 1 and report["failed"] == ["edge2"]
    edge2 = sessions(report, "edge2")
    assert edge2 and all(s["stale"] and s["state"] == "Established" for s in edge2.values())
    assert all(s["attention"] == "router not reachable: last known state" for s in edge2.values())
    assert all(not s["stale"] for s in sessions(report, "edge1").values())
    table = run("poll-bgp-sessions")
    assert table.exit_code == 1 and "edge2: not reachable" in table.stdout
    assert "failed: edge2" in table.stderr


def test_sessions_reads_the_stored_state(lab: Lab) -> None:
    deployed(lab)
    wait_until(
        lambda: all(s["state"] == "Established" for s in sessions(polled()[1], "edge1").values())
    )
    stored = json.loads(run("sessions", "--json", "--limit", "edge1").stdout)
    assert len(stored) == 16 and {s["state"] for s in stored} == {"Established"}
    at_second = json.loads(run("sessions", "--json", "--at", "lab-ix-2").stdout)
    assert {s["remote_address"] for s in at_second} == {
        "127.0.2.11",
        "127.0.2.15",
        "fd00:7f8:2::11",
        "fd00:7f8:2::15",
    }
    one = json.loads(run("sessions", "--json", "--asn", "65001", "-g", "edge").stdout)
    assert {(s["router"], s["remote_address"]) for s in one} == {
        ("edge1", "127.0.1.11"),
        ("edge2", "127.0.1.11"),
        ("edge3", "127.0.1.11"),
        ("edge1", "127.0.2.11"),
        ("edge3", "127.0.2.11"),
        ("edge1", "fd00:7f8:1::11"),
        ("edge2", "fd00:7f8:1::11"),
        ("edge3", "fd00:7f8:1::11"),
        ("edge1", "fd00:7f8:2::11"),
        ("edge3", "fd00:7f8:2::11"),
    }
    assert json.loads(run("sessions", "--json", "--bgp-state", "active").stdout) == []
    changes = json.loads(run("sessions", "--json", "--history", "--asn", "65005").stdout)
    assert changes and changes[-1]["new_state"] == "Established"
    # the inventory, and so every template, sees the last polled state
    inventory = json.loads(run("inventory", "--json", "--limit", "edge1").stdout)
    states = [s["state"] for s in inventory["hosts"][0]["sessions"]]
    assert all(state and state["state"] == "Established" for state in states)


def test_old_name_selects_bgp_groups_and_ixes(lab: Lab) -> None:
    deployed(lab)
    at_ix = json.loads(run("poll_peering_sessions", "--json", "-i", "lab-ix-2").stdout)
    assert [r["router"] for r in at_ix["routers"]] == ["edge1", "edge3"]
    assert {s["remote_address"] for s in at_ix["routers"][0]["sessions"]} == {
        "127.0.2.11",
        "127.0.2.15",
        "fd00:7f8:2::11",
        "fd00:7f8:2::15",
    }
    transit = json.loads(run("poll_peering_sessions", "--json", "-g", "transit").stdout)
    assert [
        (r["router"], [s["remote_asn"] for s in r["sessions"]]) for r in transit["routers"]
    ] == [("edge2", [65100])]


def test_old_name_as_peering_managers_crontab_writes_it(lab: Lab) -> None:
    """poll_peering_sessions --all (-a), --bgp-groups (-g) and --internet-exchanges (-i),
    the flags of Peering Manager's older crontab, with no value."""
    deployed(lab)

    def polled(*args: str) -> dict[str, set[int]]:
        result = run("poll_peering_sessions", "--json", *args)
        assert result.exit_code == 0, result.stderr
        return {
            r["router"]: {s["remote_asn"] for s in r["sessions"]}
            for r in json.loads(result.stdout)["routers"]
        }

    everything = polled("--all")
    assert everything == polled("-a") == polled()
    assert set(everything) == {"edge1", "edge2", "edge3"}
    assert polled("--bgp-groups") == polled("-g") == {"edge1": {65200}, "edge2": {65100}}
    at_ixes = polled("--internet-exchanges")
    assert at_ixes == polled("-i")
    assert 65100 not in set().union(*at_ixes.values()) and 65001 in at_ixes["edge1"]
