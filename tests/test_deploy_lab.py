"""Deploying only what we own, proven on the lab's real routers: the FRR edge
keeps every line of its operator's configuration, peers dropped from the
intent disappear, imports drop what no peer may send, and exports carry our
prefixes only. Checked with birdc and vtysh, not through the tool."""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator
from ipaddress import ip_network
from pathlib import Path

import duckdb
import pytest

from nornir_peering.deploy.tree import parse
from nornir_peering.lab.control import Lab
from nornir_peering.lab.rpsl import UNREGISTERED
from nornir_peering.lab.topology import HOSTILE
from nornir_peering.secrets import mask
from tests.helpers import birdc, frr_states, outcome, run, wait_until

EVERY_EDGE3_SESSION = ["Established"] * 16  # 11 at lab-ix, 4 at lab-ix-2, the collector


def vtysh(lab: Lab, command: str) -> str:
    folder = str(lab.frr.folder("edge3"))
    return subprocess.run(
        ["vtysh", "--vty_socket", folder, "--config_dir", folder, "-c", command],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout


def running_lines(lab: Lab) -> set[tuple[str, ...]]:
    return parse(vtysh(lab, "show running-config")).lines()


@contextlib.contextmanager
def intent(project: Path, *edits: tuple[str, str]) -> Iterator[None]:
    """``peering.yaml`` with ``(old, new)`` text replaced, for a while."""
    path = project / "inventory" / "peering.yaml"
    original = path.read_text()
    text = original
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text)
    try:
        yield
    finally:
        path.write_text(original)


def test_frr_keeps_the_operators_configuration_and_drops_unwanted_peers(
    lab: Lab, project: Path
) -> None:
    before = running_lines(lab)
    result = run("configure-routers", "--commit", "--json", "--limit", "edge3")
    assert result.exit_code == 0, result.stderr
    wait_until(lambda: list(frr_states(lab).values()) == EVERY_EDGE3_SESSION)
    # drop a peer at each IX from the intent, and commit again
    with intent(
        project,
        ("      - asn: 65003                 # IPv4 only\n", ""),
        ("      - asn: 65005\n        password: {env: LAB_AS65005_PASSWORD}", "#"),
    ):
        dry = outcome(run("configure-routers", "--json", "--limit", "edge3").stdout)["edge3"]
        diff = str(dry["diff"]).splitlines()
        removed = [line for line in diff if line.startswith("-") and not line.startswith("---")]
        gone = ("127.0.1.14", "127.0.2.15", "fd00:7f8:2::15")  # 65005 in both families
        assert all(any(address in line for address in gone) for line in removed)
        assert {address for address in gone for line in removed if address in line} == set(gone)
        assert not [line for line in diff if line.startswith("+") and not line.startswith("+++")]
        result = run("configure-routers", "--commit", "--json", "--limit", "edge3")
        assert result.exit_code == 0, result.stderr
        assert outcome(result.stdout)["edge3"]["committed"] is True
        states = frr_states(lab)
        assert not states.keys() & set(gone)
        assert len(states) == 13
        wait_until(lambda: list(frr_states(lab).values()) == ["Established"] * 13)
        # every line of the router's configuration from before the first deploy is still there
        assert before - running_lines(lab) == set()
        again = outcome(run("configure-routers", "--json", "--limit", "edge3").stdout)
        assert (again["edge3"]["status"], again["edge3"]["diff"]) == ("unchanged", "")


def test_frr_diff_is_what_commits(lab: Lab) -> None:
    """The dry run's diff for FRR (worked out with FRR's rules) is the change FRR makes."""
    before = running_lines(lab)
    dry = outcome(run("configure-routers", "--json", "--limit", "edge3").stdout)["edge3"]
    added = {
        line[1:].strip()
        for line in str(dry["diff"]).splitlines()
        if line.startswith("+") and not line.startswith("+++")
    }
    assert run("configure-routers", "--commit", "--limit", "edge3").exit_code == 0
    after = running_lines(lab)
    # the diff shows the password masked; FRR has the real one
    assert {mask(path[-1]) for path in after - before} == added
    assert before - after == set()


def prefixes(routes: str) -> set[str]:
    """The prefixes of ``birdc show route``'s lines."""
    found = set()
    for line in routes.splitlines():
        first = line.split()[0] if line.split() else ""
        with contextlib.suppress(ValueError):
            found.add(str(ip_network(first)))
    return found


@pytest.mark.parametrize(
    ("family", "address"), [("ipv4", "127.0.1.15"), ("ipv6", "fd00:7f8:1::15")]
)
def test_imports_drop_bogons_ours_the_default_too_specific_and_too_short(
    lab: Lab, family: str, address: str
) -> None:
    """In each family, the hostile peer (no IRR list: the other filters alone decide)
    announces two prefixes of its own, a bogon, one of ours, one too specific (a /25, a
    /64), the default route and one too short (a /6, a /12): BIRD and FRR take its two,
    nothing else."""
    assert run("configure-routers", "--commit", "--limit", "edge1,edge3").exit_code == 0
    version = 4 if family == "ipv4" else 6
    hostile = {p for p in HOSTILE[65004] if ip_network(p).version == version}
    protocol = "ix_lab_ix_as65004_" + address.replace(".", "_").replace(":", "_")

    def bird_routes() -> set[str]:
        table = birdc(lab, "edge1", f"show route protocol {protocol}")
        return prefixes(table)

    def frr_routes() -> set[str]:
        data = json.loads(vtysh(lab, f"show bgp {family} unicast neighbors {address} routes json"))
        return set(data.get("routes", {}))

    wait_until(lambda: len(bird_routes()) == 2 and len(frr_routes()) == 2)
    assert bird_routes() == frr_routes()
    assert {ip_network(p).version for p in bird_routes()} == {version}
    assert not bird_routes() & hostile
    # the peer did send them: BIRD's sessions in that family saw its seven routes
    sent = birdc(
        lab,
        "as65004-127.0.1.15",
        "show route export session0" if version == 4 else "show route export session3",
    )
    assert hostile <= prefixes(sent)


def test_exports_carry_our_prefixes_only_and_customers_get_everything(lab: Lab) -> None:
    """From the peers' side, once the edges have learned every route that could leak
    (the transit's 50 on edge2, the customer's 3 on edge1): each edge announces its own
    prefix and nothing else; the customer gets every route."""
    assert run("configure-routers", "--commit").exit_code == 0

    def received(router: str, session: str) -> set[str]:
        table = birdc(lab, router, f"show route protocol {session}")
        return {line.split()[0] for line in table.splitlines() if line[:1].isdigit()}

    wait_until(lambda: len(received("edge2", "group_transit_as65100_127_0_3_1")) == 50)
    wait_until(lambda: len(received("edge1", "group_customers_as65200_127_0_4_1")) == 3)
    # as65001-127.0.1.11 peers with edge1 (session0), edge2 (session1) and edge3 (session2)
    ours = {"session0": {"11.0.0.0/24"}, "session1": {"11.0.1.0/24"}, "session2": {"11.0.2.0/24"}}
    wait_until(lambda: all(ours[s] <= received("as65001-127.0.1.11", s) for s in ours))
    wait_until(lambda: "11.0.1.0/24" in received("as65010-127.0.1.250", "session1"))
    assert {s: received("as65001-127.0.1.11", s) for s in ours} == ours
    assert received("as65010-127.0.1.250", "session1") == {"11.0.1.0/24"}
    # the customer behind edge1 gets the whole table: peers' routes and ours
    wait_until(lambda: len(received("as65200-127.0.4.1", "session0")) > 40)
    assert "11.0.0.0/24" in received("as65200-127.0.4.1", "session0")


def test_confirm_is_refused_on_frr_before_anything_is_loaded(lab: Lab) -> None:
    before = running_lines(lab)
    result = run("configure-routers", "--commit", "--confirm", "60", "--json", "--limit", "edge3")
    assert result.exit_code == 1
    edge3 = outcome(result.stdout)["edge3"]
    assert edge3["status"] == "failed" and edge3["committed"] is False
    assert "FRR has no commit with an automatic revert" in str(edge3["note"])
    assert running_lines(lab) == before


def test_a_configuration_frr_refuses_is_rolled_back(lab: Lab, project: Path) -> None:
    """Valid for the ownership rule, refused by FRR: the router is left as it was."""
    assert run("configure-routers", "--commit", "--limit", "edge3").exit_code == 0
    before = running_lines(lab)
    template = project / "templates" / "frr" / "peering.j2"
    original = template.read_text()
    template.write_text(
        original.replace(
            " set local-preference {{ a.local_pref | int }}", " set local-preference x"
        )
    )
    try:
        result = run("configure-routers", "--commit", "--json", "--limit", "edge3")
    finally:
        template.write_text(original)
    assert result.exit_code == 1
    note = str(outcome(result.stdout)["edge3"]["note"])
    assert "FRR refused the configuration" in note and "the previous configuration is back" in note
    assert running_lines(lab) == before


def test_a_password_the_platform_cannot_carry_fails_that_router_only(
    lab: Lab, project: Path
) -> None:
    """FRR takes a password as one word; BIRD quotes it. Nothing is changed, nothing mangled."""
    before = running_lines(lab)
    with intent(project, ("password: {env: LAB_AS65005_PASSWORD}", 'password: "lab secret"')):
        result = run("configure-routers", "--json", "--limit", "edge1,edge3")
    assert result.exit_code == 1
    routers = outcome(result.stdout)
    assert routers["edge3"]["status"] == "failed"
    assert "AS65005 127.0.2.15: frr cannot carry a space" in str(routers["edge3"]["note"])
    # shown masked: the password in clear changed, never what it is
    assert '+  password "********" (secret ' in str(routers["edge1"]["diff"])
    assert "lab secret" not in result.stdout
    assert running_lines(lab) == before


@contextlib.contextmanager
def irr_lists(project: Path, lists: dict[int, list[str]]) -> Iterator[None]:
    """Sessions get these IRR prefix lists (by peer ASN), as grab-prefixes will fill them:
    each platform's template is wrapped by one that sets ``prefix_list`` first, and adds
    a customer's to ``customer_lists``, as the inventory does."""
    originals = {}
    for platform in ("bird", "frr"):
        folder = project / "templates" / platform
        originals[platform] = (folder / "peering.j2").read_text()
        (folder / "original.j2").write_text(originals[platform])
        (folder / "peering.j2").write_text(
            f"{{% set lists = {lists!r} %}}\n"
            "{% for s in sessions %}{% if s.remote_asn in lists %}"
            "{% set _ = s.update({'prefix_list': {'prefixes': lists[s.remote_asn]}}) %}"
            "{% if s.relationship == 'customer' %}{% set _ = customer_lists.append("
            "{'asn': s.remote_asn, 'family': s.family, 'prefixes': lists[s.remote_asn]}) %}"
            "{% endif %}{% endif %}{% endfor %}"
            f'{{% include "{platform}/original.j2" %}}'
        )
    try:
        yield
    finally:
        for platform, text in originals.items():
            (project / "templates" / platform / "peering.j2").write_text(text)
            (project / "templates" / platform / "original.j2").unlink()


def test_irr_lists_filter_and_let_customers_through(lab: Lab, project: Path) -> None:
    """With IRR lists: a peer's prefix outside its list is dropped on BIRD and FRR alike,
    and a customer's routes its list covers are announced to peers; the rest are not."""
    # AS65001 announces 12.1.0-2.0/24 and 2a0f:1201:0-2::/48 at lab-ix; the customer
    # 12.10.0-2.0/24. A list holds both families; each session takes its own.
    lists = {65001: ["12.1.0.0/24", "2a0f:1201::/48"], 65200: ["12.10.0.0/23"]}
    with irr_lists(project, lists):
        result = run("configure-routers", "--commit", "--json", "--limit", "edge1,edge3")
    assert result.exit_code == 0, result.stderr

    def bird_routes(router: str, protocol: str) -> set[str]:
        return prefixes(birdc(lab, router, f"show route protocol {protocol}"))

    def frr_routes() -> set[str]:
        data = json.loads(vtysh(lab, "show bgp ipv4 unicast neighbors 127.0.1.11 routes json"))
        return set(data.get("routes", {}))

    wait_until(lambda: bird_routes("edge1", "ix_lab_ix_as65001_127_0_1_11") == {"12.1.0.0/24"})
    six = "ix_lab_ix_as65001_fd00_7f8_1__11"
    wait_until(lambda: bird_routes("edge1", six) == {"2a0f:1201::/48"})
    wait_until(lambda: frr_routes() == {"12.1.0.0/24"})
    customer = "group_customers_as65200_127_0_4_1"
    wait_until(lambda: bird_routes("edge1", customer) == {"12.10.0.0/24", "12.10.1.0/24"})
    # the peer behind lab-ix hears, from edge1, our prefix and the customer's covered ones
    wait_until(
        lambda: (
            bird_routes("as65001-127.0.1.11", "session0")
            == {"11.0.0.0/24", "12.10.0.0/24", "12.10.1.0/24"}
        )
    )


def test_stored_irr_lists_reach_the_routers(lab: Lab, project: Path) -> None:
    """grab-prefixes against the lab IRR, then a commit: AS65001's unregistered prefixes
    are rejected by BIRD in both families, its registered ones accepted."""
    assert run("grab-prefixes", "--asn", "65001").exit_code == 0
    try:
        assert run("configure-routers", "--commit", "--limit", "edge1").exit_code == 0
        for address, registered in (
            ("127.0.1.11", {"12.1.0.0/24", "12.1.1.0/24"}),
            ("fd00:7f8:1::11", {"2a0f:1201::/48", "2a0f:1201:1::/48"}),
        ):
            protocol = "ix_lab_ix_as65001_" + address.replace(".", "_").replace(":", "_")
            wait_until(
                lambda p=protocol, r=registered: (
                    prefixes(birdc(lab, "edge1", f"show route protocol {p}")) == r
                )
            )
            assert not registered & set(UNREGISTERED[65001])
            # the peer did send the unregistered one: BIRD counted it filtered
            stats = birdc(lab, "edge1", f"show protocols all {protocol}")
            line = next(x for x in stats.splitlines() if "Import updates:" in x)
            received, _, filtered, _, _ = map(int, line.split(":")[1].split())
            assert received >= 3 and filtered >= 1, line  # counts add up over refreshes
        # the filtered route is kept (import keep filtered): received against accepted
        polled = run("poll-bgp-sessions", "--json", "--limit", "edge1")
        assert polled.exit_code == 0, polled.stderr
        found = {
            s["remote_address"]: s for s in json.loads(polled.stdout)["routers"][0]["sessions"]
        }
        for address in ("127.0.1.11", "fd00:7f8:1::11"):
            session = found[address]
            assert (session["received_prefixes"], session["accepted_prefixes"]) == (3, 2)
            assert session["attention"] == "1 of 3 received prefixes filtered"
        table = run("poll-bgp-sessions", "--limit", "edge1")
        assert "1 of 3 received prefixes filtered" in table.stdout
    finally:
        with duckdb.connect(str(project / "state" / "peering.duckdb")) as db:
            for table in ("irr_prefix", "irr_asn", "irr_list"):
                db.execute(f"DELETE FROM {table}")


def test_the_origin_must_be_in_the_peers_as_set(lab: Lab, project: Path) -> None:
    """The AS-path list on real routers: with AS65001 taken out of its own AS-SET's
    stored members, its registered prefixes are rejected too (origin 65001) on BIRD and
    FRR; with the list as the IRR gave it, they are accepted, and a second run finds
    nothing to change on either (FRR shows its as-path lists as the template writes them)."""
    state = project / "state" / "peering.duckdb"

    def frr_routes() -> set[str]:
        data = json.loads(vtysh(lab, "show bgp ipv4 unicast neighbors 127.0.1.11 routes json"))
        return set(data.get("routes", {}))

    def bird_routes() -> set[str]:
        return prefixes(birdc(lab, "edge1", "show route protocol ix_lab_ix_as65001_127_0_1_11"))

    registered = {"12.1.0.0/24", "12.1.1.0/24"}
    assert run("grab-prefixes", "--asn", "65001").exit_code == 0
    try:
        with duckdb.connect(str(state)) as db:
            db.execute("DELETE FROM irr_asn WHERE asn = 65001 AND member_asn = 65001")
        result = run("configure-routers", "--commit", "--json", "--limit", "edge1,edge3")
        assert result.exit_code == 0, result.stderr
        assert "bgp_path.last !~ NP_ASPATH_AS65001" in str(outcome(result.stdout)["edge1"]["diff"])
        wait_until(lambda: bird_routes() == set() and frr_routes() == set())
        assert run("grab-prefixes", "--asn", "65001").exit_code == 0  # the whole list again
        assert run("configure-routers", "--commit", "--limit", "edge1,edge3").exit_code == 0
        wait_until(lambda: bird_routes() == registered and frr_routes() == registered)
        again = run("configure-routers", "--json", "--limit", "edge1,edge3")
        assert again.exit_code == 0, again.stderr
        assert {r["status"] for r in outcome(again.stdout).values()} == {"unchanged"}
    finally:
        with duckdb.connect(str(state)) as db:
            for table in ("irr_prefix", "irr_asn", "irr_list"):
                db.execute(f"DELETE FROM {table}")
