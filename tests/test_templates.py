"""The example templates: golden files for every platform, and the deploy flow
of a router that cannot run here (Junos) through NAPALM's mock driver."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from nornir_peering.inventory import PeeringInventory
from nornir_peering.inventory.plugin import LoadedInventory
from nornir_peering.lab.datagen import generate
from nornir_peering.lab.pdbserver import LabServer
from nornir_peering.lab.topology import add_lab
from nornir_peering.peeringdb.sync import sync_peeringdb
from nornir_peering.runbooks.render import check_bird, context
from nornir_peering.settings import PeeringSettings
from nornir_peering.templating import environment, render
from tests.conftest import run

REPO = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "golden"
FIXTURES = Path(__file__).parent / "inventory"
PLATFORMS = ("bird", "junos", "iosxr", "eos")


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small PeeringDB with the lab's IXes, synced."""
    path = tmp_path_factory.mktemp("golden") / "peering.duckdb"
    with LabServer(add_lab(generate(scale=0.002, seed=5))) as server:
        sync_peeringdb(
            PeeringSettings(peeringdb_url=server.api_url, cache_url=server.url, state=path)
        )
    return path


@pytest.fixture(scope="module")
def loaded(state: Path) -> LoadedInventory:
    return PeeringInventory(inventory_dir=str(FIXTURES), state=str(state)).load_with_problems()


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("router", ["edge1", "core1"])
def test_golden(loaded: LoadedInventory, platform: str, router: str) -> None:
    """Rendered output is exactly the reviewed golden file (UPDATE_GOLDEN=1 rewrites them)."""
    env = environment(REPO / "templates")
    rendered = render(env, f"{platform}/peering.j2", context(loaded.inventory.hosts[router]))
    golden = GOLDEN / platform / f"{router}.conf"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(rendered)
    assert rendered == golden.read_text()
    assert rendered == render(
        env, f"{platform}/peering.j2", context(loaded.inventory.hosts[router])
    )  # deterministic
    if platform == "bird":
        check_bird(rendered)  # BIRD itself accepts it
    for line in rendered.splitlines():  # the hostile peer never left its quotes
        if "Evil" in line:
            assert "{" not in line.split("Evil")[1] and '"' not in line.split("Evil")[1][:-2]


def test_every_platform_has_golden_files() -> None:
    assert sorted(p.name for p in GOLDEN.iterdir()) == sorted(PLATFORMS)


def mock_responses(directory: Path, *, diff: str, commit: dict[str, str] | None = None) -> Path:
    """Recorded NAPALM answers, as the mock driver reads them."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, body in (
        ("load_replace_candidate.1", {}),
        ("compare_config.1", {"diff": diff}),
        ("discard_config.1", {}),
        ("commit_config.1", commit or {}),
        ("confirm_commit.1", {}),
        ("is_alive.1", {"is_alive": True}),
        ("get_facts.1", {"hostname": "core1"}),
    ):
        (directory / name).write_text(json.dumps(body))
    return directory


@pytest.fixture
def junos_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """core1 as a Junos router NAPALM's mock driver stands in for."""
    shutil.copytree(FIXTURES, tmp_path / "inventory")
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    hosts = tmp_path / "inventory" / "hosts.yaml"
    hosts.write_text(
        hosts.read_text().replace(
            "  platform: junos\n",
            "  platform: mock\n  connection_options:\n    napalm:\n      extras:\n"
            f"        optional_args: {{path: {tmp_path / 'mock'}}}\n",
        )
    )
    (tmp_path / "config.yaml").write_text(
        "inventory:\n  plugin: PeeringInventory\n  options:\n    inventory_dir: inventory\n"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("platform", ["junos", "iosxr", "eos"])
def test_deploy_flow_through_the_mock_driver(
    junos_project: Path, state: Path, platform: str
) -> None:
    """core1 rendered with each platform's template and deployed through NAPALM's
    mock driver: the recorded diff is shown, and committed only with --commit."""
    groups = junos_project / "inventory" / "groups.yaml"
    groups.write_text(groups.read_text().replace("junos/peering.j2", f"{platform}/peering.j2"))
    diff = "[edit protocols bgp group lab_ix_2_v6]\n+    neighbor fd00:7f8:2::11 { ... }"
    mock_responses(junos_project / "mock", diff=diff)
    dry = json.loads(
        run("configure-routers", "--state", str(state), "--limit", "core1", "--json").stdout
    )
    assert dry["routers"] == [
        {
            "router": "core1",
            "status": "changed",
            "committed": False,
            "added": 1,
            "removed": 0,
            "diff": diff,
            "note": "",
        }
    ]
    result = run(
        "configure-routers",
        "--state",
        str(state),
        "--limit",
        "core1",
        "--commit",
        "--confirm",
        "120",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["routers"][0]["committed"] is True


def test_junos_rejecting_its_config_fails_that_router(junos_project: Path, state: Path) -> None:
    mock_responses(
        junos_project / "mock",
        diff="+ x",
        commit={
            "exception": "napalm.base.exceptions.CommitError",
            "args": ["error: configuration check-out failed"],
            "kwargs": {},
        },
    )
    result = run(
        "configure-routers", "--state", str(state), "--limit", "core1", "--commit", "--json"
    )
    assert result.exit_code == 1
    [core1] = json.loads(result.stdout)["routers"]
    assert core1["status"] == "failed"
    assert "configuration check-out failed" in core1["note"]


def test_router_without_template_is_skipped(junos_project: Path, state: Path) -> None:
    result = run(
        "configure-routers", "--state", str(state), "--limit", "edge2", "--commit", "--json"
    )
    assert result.exit_code == 0, result.stderr
    [edge2] = json.loads(result.stdout)["routers"]
    assert (edge2["status"], edge2["committed"], edge2["note"]) == ("skipped", False, "no template")
    rendered = run("render", "--state", str(state), "--limit", "edge2")
    assert rendered.exit_code == 0 and "edge2: skipped, no template" in rendered.stderr


@pytest.mark.parametrize("platform", PLATFORMS)
def test_irr_prefix_lists_become_filters(loaded: LoadedInventory, platform: str) -> None:
    """Once the IRR tables fill a session's prefix_list, every template filters on it."""
    data = context(loaded.inventory.hosts["edge1"])
    sessions = [dict(s) for s in data["sessions"]]
    v4 = next(s for s in sessions if s["family"] == 4 and s["remote_asn"] == 65001)
    v4["prefix_list"] = {"prefixes": ["198.51.100.0/24", "203.0.113.0/25"], "asns": [65001]}
    rendered = render(
        environment(REPO / "templates"), f"{platform}/peering.j2", {**data, "sessions": sessions}
    )
    assert "198.51.100.0/24" in rendered and "203.0.113.0/25" in rendered
    plain = render(environment(REPO / "templates"), f"{platform}/peering.j2", data)
    assert "198.51.100.0/24" not in plain
    if platform == "bird":
        check_bird(rendered)
        assert "if net !~ [ 198.51.100.0/24, 203.0.113.0/25 ] then reject;" in rendered


def test_poll_falls_back_to_get_bgp_neighbors(junos_project: Path, state: Path) -> None:
    """A driver without get_bgp_neighbors_detail (here: no recorded answer for it,
    so NAPALM's mock raises NotImplementedError) is polled with get_bgp_neighbors."""
    mock = junos_project / "mock"
    mock.mkdir()
    peers = {
        "192.0.2.1": {
            "local_as": 64501,
            "remote_as": 65001,
            "remote_id": "192.0.2.1",
            "is_up": True,
            "is_enabled": True,
            "description": "",
            "uptime": 10,
            "address_family": {
                "ipv4": {"received_prefixes": 12, "accepted_prefixes": 11, "sent_prefixes": 3}
            },
        },
        "198.51.100.9": {
            "local_as": 64501,
            "remote_as": 65077,
            "remote_id": "0.0.0.0",
            "is_up": False,
            "is_enabled": True,
            "description": "",
            "uptime": -1,
            "address_family": {},
        },
    }
    (mock / "get_bgp_neighbors.1").write_text(
        json.dumps({"global": {"router_id": "192.0.2.2", "peers": peers}})
    )
    result = run("poll-bgp-sessions", "--state", str(state), "--limit", "core1", "--json")
    assert result.exit_code == 0, result.stderr
    found = {s["remote_address"]: s for s in json.loads(result.stdout)["routers"][0]["sessions"]}
    transit = found["192.0.2.1"]
    assert (
        transit["state"],
        transit["received_prefixes"],
        transit["accepted_prefixes"],
        transit["advertised_prefixes"],
        transit["attention"],
    ) == ("Established", 12, 11, 3, "")
    assert found["198.51.100.9"]["attention"] == "unknown: on the router, not in the inventory"
    assert found["2001:db8::1"]["state"] == "not configured"


def test_routers_with_polling_off_are_not_polled(junos_project: Path, state: Path) -> None:
    """edge2's data says poll: false; edge1 is left out by --exclude."""
    mock = junos_project / "mock"
    mock.mkdir()
    (mock / "get_bgp_neighbors.1").write_text(
        json.dumps({"global": {"router_id": "x", "peers": {}}})
    )
    result = run("poll-bgp-sessions", "--state", str(state), "--exclude", "edge1", "--json")
    assert result.exit_code == 0, result.stderr
    assert [r["router"] for r in json.loads(result.stdout)["routers"]] == ["core1"]
