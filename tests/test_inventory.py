"""The inventory: intent files + the PeeringDB cache → Nornir hosts with sessions."""

from __future__ import annotations

import json
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from nornir import InitNornir
from nornir.core.filter import F
from nornir.core.inventory import Host, Inventory
from nornir.core.plugins.inventory import TransformFunctionRegister

from nornir_peering.errors import ConfigError
from nornir_peering.inventory import PeeringInventory, Selection, select
from nornir_peering.inventory.plugin import LoadedInventory
from nornir_peering.lab.datagen import read_dataset
from nornir_peering.lab.pdbserver import Fault, LabServer
from nornir_peering.peeringdb.sync import sync_peeringdb
from nornir_peering.settings import PeeringSettings
from tests.helpers import Datasets, run, wait_until

FIXTURES = Path(__file__).parent / "inventory"


@pytest.fixture
def intent_dir(tmp_path: Path) -> Path:
    """A copy of the shared intent files, for tests that change them."""
    return Path(shutil.copytree(FIXTURES, tmp_path / "inventory"))


def load(state: Path, directory: Path = FIXTURES) -> LoadedInventory:
    return PeeringInventory(inventory_dir=str(directory), state=str(state)).load_with_problems()


@pytest.fixture(scope="module")
def loaded(synced_state: Path) -> LoadedInventory:
    return load(synced_state)


def sessions(inventory: Inventory, router: str, **match: Any) -> list[dict[str, Any]]:
    return [
        s for s in inventory.hosts[router]["sessions"] if all(s[k] == v for k, v in match.items())
    ]


class TestSessions:
    def test_counts_per_router(self, loaded: LoadedInventory) -> None:
        counts = {name: len(h["sessions"]) for name, h in loaded.inventory.hosts.items()}
        assert counts == {"edge1": 14, "edge2": 6, "core1": 4}

    def test_ix_peer_from_peeringdb(self, loaded: LoadedInventory) -> None:
        [v4] = sessions(loaded.inventory, "edge1", ix="lab-ix", remote_asn=65001, family=4)
        assert v4 == {
            "kind": "ix",
            "ix": "lab-ix",
            "ix_id": 10000001,
            "ixlan_id": 10000001,
            "ix_name": "LAB-IX Loopback",
            "group": None,
            "relationship": "peer",
            "local_asn": 64500,
            "local_address": "127.0.1.1",
            "update_source": None,
            "accept_default": False,
            "vrf": "global",
            "remote_asn": 65001,
            "remote_address": "127.0.1.11",
            "family": 4,
            "name": "Peer One Networks",
            "description": None,
            "as_set": "AS-PEERONE",
            "as_sets": ["AS-PEERONE"],
            "irr_host": None,
            "irr_sources": [],
            "irr_aggregate": None,
            "max_prefix4": 22,
            "max_prefix6": 11,
            "max_prefix": 22,
            "import_policy": "ix-in",
            "export_policy": "ix-out",
            "password": None,
            "enabled": True,
            "is_route_server": False,
            "address_source": "peeringdb",
            "prefix_list": None,
            "state": None,
        }
        [v6] = sessions(loaded.inventory, "edge1", ix="lab-ix", remote_asn=65001, family=6)
        assert (v6["remote_address"], v6["local_address"], v6["max_prefix"]) == (
            "fd00:7f8:1::11",
            "fd00:7f8:1::1",
            11,
        )

    def test_every_port_of_a_peer_gets_a_session(self, loaded: LoadedInventory) -> None:
        found = sessions(loaded.inventory, "edge1", ix="lab-ix", remote_asn=65002)
        assert [s["remote_address"] for s in found] == [
            "127.0.1.12",
            "127.0.1.13",
            "fd00:7f8:1::12",
        ]

    def test_overrides(self, loaded: LoadedInventory) -> None:
        inv = loaded.inventory
        two = sessions(inv, "edge1", remote_asn=65002, family=4)
        assert {(s["max_prefix"], s["import_policy"], s["export_policy"]) for s in two} == {
            (500, "strict-in", "ix-out")
        }
        assert all(
            s["max_prefix"] is None for s in sessions(inv, "edge1", remote_asn=65002, family=6)
        )
        [pinned] = sessions(inv, "edge1", remote_asn=65003)
        assert (pinned["remote_address"], pinned["address_source"], pinned["password"]) == (
            "127.0.1.99",
            "pinned",
            "s3cret",
        )
        assert {s["enabled"] for s in sessions(inv, "edge1", remote_asn=65004)} == {False}
        [other] = sessions(inv, "edge1", ix="lab-ix-2", remote_asn=65001, family=4)
        assert (other["as_set"], other["as_sets"]) == ("AS-OVERRIDE", ["AS-OVERRIDE"])

    def test_route_server(self, loaded: LoadedInventory) -> None:
        rs = sessions(loaded.inventory, "edge1", remote_asn=65010)
        assert {(s["relationship"], s["is_route_server"]) for s in rs} == {("route-server", True)}

    def test_hostile_as_set_is_reduced_to_as_sets(self, loaded: LoadedInventory) -> None:
        [evil] = sessions(loaded.inventory, "edge2", remote_asn=65004)
        assert evil["name"] == 'Evil "Net" }; protocol bgp x {'
        assert evil["as_sets"] == ["AS-EVIL"]

    def test_families_follow_our_addresses(self, loaded: LoadedInventory) -> None:
        assert {s["family"] for s in sessions(loaded.inventory, "edge2")} == {4}
        core = sessions(loaded.inventory, "core1", kind="ix")
        assert {(s["family"], s["vrf"], s["local_asn"]) for s in core} == {(6, "peering", 64501)}

    def test_direct_sessions(self, loaded: LoadedInventory) -> None:
        first, second = sessions(loaded.inventory, "core1", kind="direct")
        assert (
            first["group"],
            first["relationship"],
            first["import_policy"],
            first["name"],
            first["max_prefix"],
            first["local_address"],
        ) == ("transit", "transit", "transit-in", "Peer One Networks", 22, "192.0.2.2")
        assert (
            second["relationship"],
            second["name"],
            second["max_prefix"],
            second["family"],
            second["local_address"],
        ) == ("customer", "Upstream Two", None, 6, None)

    def test_order_is_stable(self, synced_state: Path, loaded: LoadedInventory) -> None:
        again = load(synced_state)
        for name, host in loaded.inventory.hosts.items():
            assert again.inventory.hosts[name]["sessions"] == host["sessions"]


class TestHosts:
    def test_router_data_and_inheritance(self, loaded: LoadedInventory) -> None:
        hosts = loaded.inventory.hosts
        assert hosts["edge1"]["template"] == "bird/peering.j2"
        assert hosts["core1"]["template"] == "junos/peering.j2"  # from its group
        assert hosts["edge2"].get("template") is None
        assert (hosts["edge1"]["poll"], hosts["edge2"]["poll"]) == (True, False)
        assert hosts["edge1"]["vars"] == {"region": "eu"}
        assert hosts["core1"].username == "automation"

    def test_derived_groups(self, loaded: LoadedInventory) -> None:
        groups = {n: [g.name for g in h.groups] for n, h in loaded.inventory.hosts.items()}
        assert groups["edge1"] == [
            "europe",
            "ix__lab-ix",
            "ix__lab-ix-2",
            "platform__bird",
            "asn__64500",
        ]
        assert groups["core1"] == ["core-routers", "ix__lab-ix-2", "platform__junos", "asn__64501"]
        assert loaded.inventory.hosts["edge2"].has_parent_group("edge")

    def test_peering_wide_data_for_templates(self, loaded: LoadedInventory) -> None:
        host = loaded.inventory.hosts["edge1"]
        assert host["local_as"]["asn"] == 64500
        assert host["communities"]["blackhole"] == "64500:0:666"
        assert host["policies"]["transit-in"]["communities"] == ["from-transit", "blackhole"]
        assert host["connections"][1] == {
            "ix": "lab-ix-2",
            "ix_id": 10000002,
            "ixlan_id": 10000002,
            "ix_name": "LAB-IX Second",
            "ipv4": "127.0.2.1",
            "ipv6": "fd00:7f8:2::1",
            "vrf": "global",
        }


class TestProblems:
    def test_drift_is_reported(self, loaded: LoadedInventory) -> None:
        found = {(p.kind, p.ix, p.asn) for p in loaded.problems}
        assert found == {
            ("pinned-address", "lab-ix", 65003),
            ("clear-text-password", "lab-ix", 65003),
            ("not-at-ix", "lab-ix", 65005),
            ("not-in-peeringdb", "lab-ix", 65098),
        }

    def test_moved_and_departed_ports(
        self, env: Path, pdb: LabServer, datasets: Datasets, intent_dir: Path
    ) -> None:
        run("peeringdb-sync")
        data = read_dataset(datasets.day1)
        for port in data.rows["netixlan"]:
            if port["asn"] == 65001 and port["ixlan_id"] == 10000001:
                port.update(ipaddr4="127.0.1.111", updated="2026-11-02T10:00:00Z")
            if port["asn"] == 65005:
                port.update(status="deleted", updated="2026-11-02T10:00:00Z")
        pdb.lab.load(data)
        assert run("peeringdb-sync").exit_code == 0
        loaded = load(env, intent_dir)
        kinds = {(p.kind, p.ix, p.asn): p.message for p in loaded.problems}
        assert "127.0.1.11 → 127.0.1.111" in kinds[("address-changed", "lab-ix", 65001)]
        assert "fd00:7f8:2::15" in kinds[("left-ix", "lab-ix-2", 65005)]
        assert ("not-at-ix", "lab-ix-2", 65005) in kinds
        moved = sessions(loaded.inventory, "edge1", ix="lab-ix", remote_asn=65001, family=4)
        assert [s["remote_address"] for s in moved] == ["127.0.1.111"]
        assert not sessions(loaded.inventory, "edge1", remote_asn=65005, ix="lab-ix-2")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


class TestValidation:
    @pytest.mark.parametrize(
        ("file", "old", "new", "message"),
        [
            (
                "hosts.yaml",
                "    poll: false",
                "    pol: false",
                "hosts.yaml:14: edge2.data.pol: unknown key",
            ),
            (
                "hosts.yaml",
                "groups: [core-routers]",
                "groups: [core]",
                "hosts.yaml:18: core1.groups[0]: unknown group 'core'",
            ),
            (
                "groups.yaml",
                "groups: [edge]",
                "groups: [egde]",
                "groups.yaml:6: europe.groups[0]: unknown group 'egde'",
            ),
            (
                "hosts.yaml",
                "router_id: 127.0.1.2",
                "router_id: 127.0.1.256",
                "hosts.yaml:13: edge2.data.router_id: '127.0.1.256' is not an IPv4 address",
            ),
            (
                "peering.yaml",
                "ipv4: 127.0.1.2}",
                "ipv4: 127.0.1.2.5}",
                "peering.yaml:28: ixes.lab-ix.connections[1].ipv4: '127.0.1.2.5' is not an IPv4",
            ),
            (
                "peering.yaml",
                "{router: edge2,",
                "{router: edge9,",
                "ixes.lab-ix.connections[1].router: unknown router 'edge9' "
                "(known: core1, edge1, edge2)",
            ),
            (
                "peering.yaml",
                "import_policy: strict-in",
                "import_policy: strikt-in",
                "peering.yaml:33: ixes.lab-ix.peers[1].import_policy: unknown policy 'strikt-in'",
            ),
            (
                "peering.yaml",
                "communities: [from-ix]",
                "communities: [from-iz]",
                "peering.yaml:14: policies.ix-in.communities[0]: unknown community 'from-iz'",
            ),
            (
                "peering.yaml",
                '  blackhole: "64500:0:666"',
                '  blackhole: "64500-666"',
                "communities: blackhole: '64500-666' is not a BGP community",
            ),
            (
                "peering.yaml",
                'from-ix: "64500:100"',
                'from-ix: "64500:70000"',
                "communities: from-ix: '64500:70000' is not a BGP community",
            ),
            (
                "peering.yaml",
                "      - asn: 65098",
                "      - asn: 65001",
                "peering.yaml:41: ixes.lab-ix.peers[6].asn: AS65001 is already wanted at lab-ix "
                "(peers[0])",
            ),
            (
                "peering.yaml",
                "    ixlan_id: 10000001",
                "    ixlan_id: 10000001\n    ix_id: 3",
                "ixes.lab-ix: give exactly one of ix_id and ixlan_id",
            ),
            (
                "peering.yaml",
                "    ixlan_id: 10000001",
                "    ixlan_id: 424242",
                "peering.yaml:23: ixes.lab-ix.ixlan_id: PeeringDB ixlan 424242 is not in the cache",
            ),
            (
                "peering.yaml",
                "ipv4: 127.0.1.2}",
                "ipv4: 127.0.2.2}",
                "ixes.lab-ix.connections[1].ipv4: 127.0.2.2 is outside LAB-IX Loopback's "
                "prefixes (127.0.1.0/24, fd00:7f8:1::/64)",
            ),
            (
                "peering.yaml",
                "ipv4: 127.0.1.99",
                "ipv4: 10.0.0.1",
                "ixes.lab-ix.peers[2].ipv4[0]: 10.0.0.1 is outside LAB-IX Loopback's prefixes",
            ),
            (
                "peering.yaml",
                "remote_address: 192.0.2.1",
                "remote_address: 192.0.2.1.1",
                "bgp_groups.transit.sessions[0].remote_address: '192.0.2.1.1' is not an IP address",
            ),
            (
                "peering.yaml",
                "local_address: 192.0.2.2",
                'local_address: "2001:db8::2"',
                "sessions[0].local_address: 2001:db8::2 and remote_address 192.0.2.1 are of "
                "different families",
            ),
            (
                "peering.yaml",
                "router: core1\n        remote_asn: 65001\n        remote_address: "
                "192.0.2.1\n        local_address: 192.0.2.2",
                "router: edge1\n        remote_asn: "
                "65001\n        remote_address: 127.0.1.11\n        local_address: 127.0.1.1",
                "peering.yaml:56: bgp_groups.transit.sessions[0]: duplicate session: edge1 already "
                "has 127.0.1.11 (vrf global) from ixes.lab-ix",
            ),
            (
                "peering.yaml",
                "        relationship: customer",
                "        relationship: friend",
                "bgp_groups.transit.sessions[1].relationship: Input should be",
            ),
            (
                "peering.yaml",
                "  max_prefix_headroom: 10",
                "  max_prefix_headroom: ten",
                "local_as.max_prefix_headroom: Input should be a valid integer",
            ),
            ("peering.yaml", "local_as:", "local_az:", "peering.yaml:1: local_az: unknown key"),
            (
                "peering.yaml",
                "  prefixes4: [11.0.0.0/22]",
                "  prefixes4: [11.0.0.1/22]",
                "peering.yaml:6: local_as.prefixes4[0]: Input is not a valid IPv4 network",
            ),
            (
                "hosts.yaml",
                "    poll: false",
                "    deploy: overwrite",
                "hosts.yaml:14: edge2.data.deploy: Input should be 'merge' or 'replace'",
            ),
            (
                "hosts.yaml",
                "    poll: false",
                "    owned_prefix: R",
                "hosts.yaml:14: edge2.data.owned_prefix: String should match pattern",
            ),
            (
                "hosts.yaml",
                "    poll: false",
                "    update_source: 10.0.0.1",
                "hosts.yaml:14: edge2.data.update_source: update_source is no longer a "
                "router's: set it on the BGP group or the session in peering.yaml",
            ),
            (
                "hosts.yaml",
                "    poll: false",
                "    prefix_list_limit: 0",
                "hosts.yaml:14: edge2.data.prefix_list_limit: Input should be greater than",
            ),
            (
                "peering.yaml",
                "      - asn: 65001\n",
                "      - asn: 65001\n        irr_host: -h evil\n",
                ".irr_host: String should match pattern",
            ),
            (
                "peering.yaml",
                "      - asn: 65001\n",
                "      - asn: 65001\n        irr_sources: [RIPE, 'RADB;x']\n",
                ".irr_sources[1]: String should match pattern",
            ),
            (
                "peering.yaml",
                "      - {router: edge2, ipv4: 127.0.1.2}",
                "      - {router: edge2}",
                "ixes.lab-ix.connections[1]: a connection needs ipv4, ipv6 or both",
            ),
            (
                "peering.yaml",
                "    until: 2027-01-31",
                "    until: someday",
                "ignore_asns[0].until: Input should be a valid date",
            ),
            (
                "peering.yaml",
                "  lab-ix:\n",
                "  lab-ix:\n  lab-ix:\n",
                "peering.yaml:23: found duplicate key",
            ),
            (
                "peering.yaml",
                '        remote_address: "2001:db8::1"\n',
                '        remote_address: "2001:db8::1"\n        accept_default: true\n',
                "bgp_groups.transit.sessions[1].accept_default: only a transit session may "
                "take the default route (this one is 'customer')",
            ),
            (
                "peering.yaml",
                "    import_policy: transit-in\n",
                "    import_policy: transit-in\n    update_source: 'Loopback0; x'\n",
                "bgp_groups.transit.update_source: String should match pattern",
            ),
            ("peering.yaml", "ixes:", "ixes: [", "peering.yaml:"),
            (
                "hosts.yaml",
                "edge1:",
                "- edge1:",
                "hosts.yaml:8: did not find expected '-' indicator",
            ),
        ],
    )
    def test_one_clear_line(
        self, synced_state: Path, intent_dir: Path, file: str, old: str, new: str, message: str
    ) -> None:
        edit(intent_dir / file, old, new)
        with pytest.raises(ConfigError) as caught:
            load(synced_state, intent_dir)
        text = str(caught.value)
        assert message in text
        assert text.startswith(str(intent_dir / file))
        assert "\n" not in text

    def test_file_that_is_not_a_mapping(self, synced_state: Path, intent_dir: Path) -> None:
        (intent_dir / "hosts.yaml").write_text("- edge1\n- edge2\n")
        with pytest.raises(ConfigError, match=r"hosts\.yaml: must be a mapping"):
            load(synced_state, intent_dir)

    def test_missing_hosts_file(self, synced_state: Path, intent_dir: Path) -> None:
        (intent_dir / "hosts.yaml").unlink()
        with pytest.raises(ConfigError, match=r"hosts\.yaml: file not found"):
            load(synced_state, intent_dir)

    def test_groups_and_defaults_are_optional(self, synced_state: Path, intent_dir: Path) -> None:
        (intent_dir / "defaults.yaml").unlink()
        hosts = intent_dir / "hosts.yaml"
        hosts.write_text(re.sub(r"  groups: .*\n", "", hosts.read_text()))
        (intent_dir / "groups.yaml").unlink()
        assert len(load(synced_state, intent_dir).inventory.hosts) == 3

    def test_empty_cache(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="is not in the cache"):
            load(tmp_path / "empty.duckdb")


class TestSelection:
    @pytest.mark.parametrize(
        ("selection", "expected"),
        [
            (Selection(), {"edge1", "edge2", "core1"}),
            (Selection(limit=("edge1", "core1")), {"edge1", "core1"}),
            (Selection(groups=("edge",)), {"edge1", "edge2"}),  # through europe → edge
            (Selection(groups=("edge", "core-routers")), {"edge1", "edge2", "core1"}),
            (Selection(ixes=("lab-ix-2",)), {"edge1", "core1"}),
            (Selection(platforms=("junos",)), {"core1"}),
            (Selection(exclude=("edge*",)), {"core1"}),
            (Selection(groups=("edge",), ixes=("lab-ix-2",)), {"edge1"}),
            (Selection(ixes=("lab-ix",), exclude=("*2",)), {"edge1"}),
            (Selection(groups=("asn__64501",)), {"core1"}),
        ],
    )
    def test_selects(
        self, loaded: LoadedInventory, selection: Selection, expected: set[str]
    ) -> None:
        assert set(select(loaded.inventory, selection).hosts) == expected

    @pytest.mark.parametrize(
        ("selection", "message"),
        [
            (Selection(limit=("edge9",)), "--limit: unknown router(s) edge9"),
            (Selection(groups=("nope",)), "-g/--group: no group named 'nope'"),
            (Selection(ixes=("nowhere",)), "--ix: no router is connected to an IX named"),
            (Selection(platforms=("eos",)), "no router matches --platform eos"),
            (
                Selection(limit=("core1",), groups=("edge",)),
                "no router matches --limit core1 -g edge",
            ),
        ],
    )
    def test_errors(self, loaded: LoadedInventory, selection: Selection, message: str) -> None:
        with pytest.raises(ConfigError) as caught:
            select(loaded.inventory, selection)
        assert message in str(caught.value)


def test_init_nornir_from_a_config_file(synced_state: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "logging:\n  enabled: false\n"
        "inventory:\n  plugin: PeeringInventory\n  options:\n"
        f"    inventory_dir: {FIXTURES}\n    state: {synced_state}\n"
        "runner:\n  plugin: threaded\n  options:\n    num_workers: 4\n"
    )
    nr = InitNornir(config_file=str(config))
    assert set(nr.inventory.hosts) == {"edge1", "edge2", "core1"}
    assert len(nr.inventory.hosts["edge1"]["sessions"]) == 14
    assert len(nr.filter(F(has_parent_group="ix__lab-ix")).inventory.hosts) == 2


def management_names(host: Host) -> None:
    """A transform function, as an engineer would write one."""
    host.hostname = f"{host.name}.mgmt.example.net"


def test_the_command_line_applies_nornirs_transform_function(
    synced_state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commands build their Nornir with InitNornir: what config.yaml asks of Nornir
    (here a transform function) applies to them as to an engineer's script."""
    TransformFunctionRegister.register("management_names", management_names)
    try:
        (tmp_path / "config.yaml").write_text(
            "logging:\n  enabled: false\n"
            "inventory:\n  plugin: PeeringInventory\n  transform_function: management_names\n"
            f"  options:\n    inventory_dir: {FIXTURES}\n"
            f"user_defined:\n  peering:\n    state: {synced_state}\n"
        )
        monkeypatch.chdir(tmp_path)
        result = run("inventory", "--json")
    finally:
        TransformFunctionRegister.deregister("management_names")
    assert result.exit_code == 0, result.stderr
    hosts = {h["name"]: h["hostname"] for h in json.loads(result.stdout)["hosts"]}
    assert hosts["edge1"] == "edge1.mgmt.example.net"


class TestCommand:
    @pytest.fixture
    def project(self, tmp_path: Path, synced_state: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        shutil.copytree(FIXTURES, tmp_path / "inventory")
        (tmp_path / "config.yaml").write_text(
            "inventory:\n  plugin: PeeringInventory\n  options:\n    inventory_dir: inventory\n"
            f"user_defined:\n  peering:\n    state: {synced_state}\n"
        )
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("COLUMNS", "250")
        return tmp_path

    def test_table(self, project: Path) -> None:
        result = run("inventory")
        assert result.exit_code == 0, result.stderr
        for text in ("edge1", "core1", "ix__lab-ix-2", "4 problem(s)"):
            assert text in result.stdout

    def test_sessions_and_selection(self, project: Path) -> None:
        result = run("inventory", "--sessions", "--limit", "edge2")
        assert result.exit_code == 0, result.stderr
        assert "127.0.1.250" in result.stdout and "core1" not in result.stdout
        assert 'Evil "Net" }; protocol bgp x {' in result.stdout

    def test_problems(self, project: Path) -> None:
        result = run("inventory", "--problems", "--ix", "lab-ix-2")
        assert "Problems (0)" in result.stdout  # the three problems are at lab-ix
        result = run("inventory", "--problems")
        assert "AS65098 wanted at lab-ix has no PeeringDB record" in result.stdout
        line = next(
            n
            for n, text in enumerate(FIXTURES.joinpath("peering.yaml").read_text().splitlines(), 1)
            if "s3cret" in text
        )
        problems = json.loads(run("inventory", "--problems", "--json").stdout)["problems"]
        [clear] = [p for p in problems if p["kind"] == "clear-text-password"]
        assert clear["message"].startswith(
            f"{project}/inventory/peering.yaml:{line}: ixes.lab-ix.peers[2]: password written "
            "in clear; give {env: VARIABLE} or {file: PATH} instead"
        )

    def test_json(self, project: Path) -> None:
        data = json.loads(run("inventory", "--json", "-g", "edge").stdout)
        assert [h["name"] for h in data["hosts"]] == ["edge1", "edge2"]
        assert len(data["hosts"][0]["sessions"]) == 14
        assert {p["kind"] for p in data["problems"]} == {
            "pinned-address",
            "not-at-ix",
            "not-in-peeringdb",
            "clear-text-password",
        }
        [password] = {s["password"] for s in data["hosts"][0]["sessions"] if s["password"]}
        assert password.startswith("******** (secret ") and "s3cret" not in password

    def test_errors_exit_2(self, project: Path) -> None:
        edit(project / "inventory" / "peering.yaml", "{router: edge2,", "{router: edge9,")
        result = run("inventory")
        assert result.exit_code == 2
        assert "unknown router 'edge9'" in result.stderr
        assert run("inventory", "--limit", "nope").exit_code == 2


def test_reading_does_not_wait_for_a_downloading_sync(env: Path, pdb: LabServer) -> None:
    """While a sync downloads, the state file is free: the inventory loads at once."""
    assert run("peeringdb-sync").exit_code == 0
    pdb.lab.add_fault(Fault(match="/api/netixlan", delay=5, times=1))
    settings = PeeringSettings(peeringdb_url=pdb.api_url, cache_url=pdb.url, state=env)
    thread = threading.Thread(target=sync_peeringdb, args=(settings,))
    thread.start()
    try:
        wait_until(lambda: any(r["path"] == "/api/netixlan" for r in pdb.lab.logged()))
        inventory = PeeringInventory(inventory_dir=str(FIXTURES), state=str(env), wait=0)
        assert len(inventory.load().hosts) == 3  # wait=0: any lock would fail this
    finally:
        thread.join(30)
