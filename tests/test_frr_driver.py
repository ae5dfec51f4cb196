"""The FRR NAPALM driver against a real FRR bgpd (the lab's FRR edge), whose one
session is the lab's BIRD route collector. What FRR holds is read with vtysh,
not through the driver."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from napalm import get_network_driver
from napalm.base import models
from napalm.base.exceptions import CommitError, ConnectionException
from napalm.base.test import helpers

from nornir_peering.deploy import frrstate
from nornir_peering.deploy.tree import parse
from nornir_peering.drivers.frr import FrrDriver
from nornir_peering.lab.bird import BirdLab, lab_routers
from nornir_peering.lab.frr import FrrLab
from nornir_peering.lab.netns import Namespace
from tests.helpers import lab_fixture, wait_until


@pytest.fixture(scope="module")
@lab_fixture
def frr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FrrLab]:
    folder = tmp_path_factory.mktemp("frr")
    space = Namespace(folder)  # the FRR edge and its route collector, side by side
    collector = BirdLab(folder / "bird", [r for r in lab_routers() if r.name == "collector"], space)
    collector.up()
    lab = FrrLab(folder / "frr", space)
    lab.up()
    yield lab
    lab.down()
    collector.down()
    space.stop()


def open_driver(frr: FrrLab, **args: Any) -> FrrDriver:
    device = FrrDriver("edge3", optional_args={**frr.optional_args("edge3"), **args})
    device.open()
    return device


@pytest.fixture
def driver(frr: FrrLab) -> Iterator[FrrDriver]:
    """edge3 on its starting configuration."""
    frr.reset("edge3")
    device = open_driver(frr)
    yield device
    device.close()


def running(frr: FrrLab) -> set[tuple[str, ...]]:
    folder = str(frr.folder("edge3"))
    shown = subprocess.run(
        ["vtysh", "--vty_socket", folder, "--config_dir", folder, "-c", "show running-config"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    header = ("Building configuration...", "Current configuration:")
    return parse("\n".join(line for line in shown.splitlines() if line not in header)).lines()


ROUTE_MAP = "route-map NP_TEST permit 10\n set local-preference 150\n exit\n"
PEER = (
    "router bgp 64500\n neighbor NP_TEST peer-group\n neighbor 127.0.1.99 remote-as 65099\n"
    " neighbor 127.0.1.99 peer-group NP_TEST\n neighbor 127.0.1.99 description test peer\n"
    " address-family ipv4 unicast\n  neighbor 127.0.1.99 activate\n"
    "  neighbor 127.0.1.99 route-map NP_TEST in\n  neighbor 127.0.1.99 route-map NP_TEST out\n"
    "  exit\n exit\n"
)


def test_napalm_finds_the_driver_by_platform_name() -> None:
    assert get_network_driver("frr") is FrrDriver


def test_getters_answer_in_napalm_shapes(driver: FrrDriver) -> None:
    # the session comes up, then FRR sends the operator's network to the collector
    wait_until(
        lambda: (
            driver.get_bgp_neighbors()["global"]["peers"]["127.0.9.3"]["address_family"]
            == {"ipv4": {"received_prefixes": 0, "accepted_prefixes": 0, "sent_prefixes": 1}}
        )
    )
    facts = driver.get_facts()
    assert helpers.test_model(models.FactsDict, facts)
    assert (facts["vendor"], facts["hostname"]) == ("FRRouting", "edge3")
    assert facts["os_version"].startswith("8.")
    neighbors = driver.get_bgp_neighbors()
    assert neighbors["global"]["router_id"] == "127.0.1.3"
    collector = neighbors["global"]["peers"]["127.0.9.3"]
    assert helpers.test_model(models.PeerDict, collector)
    assert helpers.test_model(models.AFDict, collector["address_family"]["ipv4"])
    assert (collector["local_as"], collector["remote_as"], collector["is_enabled"]) == (
        64500,
        64500,
        True,
    )
    assert collector["uptime"] >= 0 and collector["is_up"]
    [detail] = driver.get_bgp_neighbors_detail()["global"][64500]
    assert helpers.test_model(models.PeerDetailsDict, detail)
    assert (detail["remote_address"], detail["connection_state"], detail["up"]) == (
        "127.0.9.3",
        "Established",
        True,
    )
    assert detail["export_policy"] == "OPERATOR-TO-COLLECTOR"
    assert driver.get_bgp_neighbors_detail("192.0.2.99") == {}


def test_merge_shows_the_change_and_commits_only_when_asked(driver: FrrDriver, frr: FrrLab) -> None:
    before = running(frr)
    driver.load_merge_candidate(config=ROUTE_MAP + PEER)
    diff = driver.compare_config()
    assert (
        "+route-map NP_TEST permit 10" in diff and "+ neighbor 127.0.1.99 remote-as 65099" in diff
    )
    assert not [line for line in diff.splitlines() if line.startswith("-") and line[1:3] != "--"]
    driver.discard_config()
    assert running(frr) == before and driver.compare_config() == ""
    driver.load_merge_candidate(config=ROUTE_MAP + PEER)
    predicted = frrstate.predict(
        frrstate.parse(driver._running()), frrstate.parse(ROUTE_MAP + PEER)
    )
    driver.commit_config()
    after = running(frr)
    assert after == predicted.lines()  # what compare_config showed is what FRR holds
    assert ("route-map NP_TEST permit 10", "set local-preference 150") in after
    assert before <= after  # nothing of the operator's went
    driver.load_merge_candidate(config=ROUTE_MAP + PEER)
    assert driver.compare_config() == ""  # applying it again changes nothing
    # committed configuration is saved: bgpd's own file has it (write memory)
    assert "route-map NP_TEST permit 10" in (frr.folder("edge3") / "bgpd.conf").read_text()


def test_a_new_clause_replaces_the_old_as_predicted(driver: FrrDriver, frr: FrrLab) -> None:
    """What the planner and the prediction count on: FRR overwrites a route-map's
    community clause and a prefix-list entry with the same number."""
    first = (
        "ip prefix-list NP_T seq 5 permit 11.0.0.0/22 le 24\n"
        "route-map NP_TEST permit 10\n set community 64500:100 additive\n"
        " set large-community 64500:0:1 additive\n exit\n"
    )
    second = first.replace("64500:100", "64500:110").replace("64500:0:1", "64500:0:2")
    second = second.replace("11.0.0.0/22", "11.4.0.0/22")
    driver.load_merge_candidate(config=first)
    driver.commit_config()
    driver.load_merge_candidate(config=second)
    predicted = frrstate.predict(frrstate.parse(driver._running()), frrstate.parse(second))
    driver.commit_config()
    after = running(frr)
    assert after == predicted.lines()
    clauses = {
        line[1] for line in after if line[:1] == ("route-map NP_TEST permit 10",) and len(line) == 2
    }
    assert clauses == {"set community 64500:110 additive", "set large-community 64500:0:2 additive"}
    assert ("ip prefix-list NP_T seq 5 permit 11.4.0.0/22 le 24",) in after
    assert ("ip prefix-list NP_T seq 5 permit 11.0.0.0/22 le 24",) not in after


def test_removals_as_frr_does_them(driver: FrrDriver, frr: FrrLab) -> None:
    """``no neighbor X`` takes the neighbor's lines in every address family with it."""
    driver.load_merge_candidate(config=ROUTE_MAP + PEER)
    driver.commit_config()
    candidate = "router bgp 64500\n no neighbor 127.0.1.99\n no neighbor NP_TEST peer-group\n"
    candidate += " exit\nno route-map NP_TEST\n"
    driver.load_merge_candidate(config=candidate)
    diff = driver.compare_config()
    removed = [line for line in diff.splitlines() if line.startswith("-") and line[1:3] != "--"]
    assert "-  neighbor 127.0.1.99 route-map NP_TEST in" in removed
    assert "-route-map NP_TEST permit 10" in removed and len(removed) == 9
    predicted = frrstate.predict(frrstate.parse(driver._running()), frrstate.parse(candidate))
    driver.commit_config()
    assert running(frr) == predicted.lines()
    assert not any("NP_TEST" in " ".join(line) for line in running(frr))


def test_a_configuration_frr_refuses_is_rolled_back(driver: FrrDriver, frr: FrrLab) -> None:
    """vtysh applies the lines it can and goes on; the driver puts the previous back."""
    before = running(frr)
    driver.load_merge_candidate(
        config=ROUTE_MAP + "ip prefix-list NP_BAD seq 5 permit 10.0.0.0/33\n" + PEER
    )
    with pytest.raises(
        CommitError, match=r"FRR refused the configuration .* the previous configuration is back"
    ):
        driver.commit_config()
    assert running(frr) == before


def test_the_rollback_file_is_private_and_survives_a_refused_commit(
    driver: FrrDriver, frr: FrrLab
) -> None:
    """It may hold passwords; and a refused commit leaves it at the last good one."""
    driver.load_merge_candidate(config=ROUTE_MAP)
    driver.commit_config()
    rollback = Path(driver.rollback_file)
    assert rollback.stat().st_mode & 0o777 == 0o600
    good = rollback.read_text()
    driver.load_merge_candidate(config="ip prefix-list NP_BAD seq 5 permit 10.0.0.0/33\n")
    with pytest.raises(CommitError):
        driver.commit_config()
    assert rollback.read_text() == good
    driver.rollback()  # back to before the last commit that went in
    assert not any("NP_TEST" in " ".join(line) for line in running(frr))


def test_sanitized_configuration_has_no_passwords(driver: FrrDriver) -> None:
    driver.load_merge_candidate(
        config="router bgp 64500\n neighbor 127.0.9.3 password s3cr3t\n exit\n"
    )
    driver.commit_config()
    config = driver.get_config(sanitized=True)["running"]
    assert "neighbor 127.0.9.3 password <removed>" in config and "s3cr3t" not in config
    assert "s3cr3t" in driver.get_config()["running"]


def test_a_silently_malformed_line_is_refused_too(driver: FrrDriver, frr: FrrLab) -> None:
    """FRR 8.4 exits 0 for a malformed set clause and only prints a warning."""
    before = running(frr)
    driver.load_merge_candidate(config="route-map NP_TEST permit 10\n set local-preference x\n")
    with pytest.raises(CommitError, match="Argument form is unsupported or malformed"):
        driver.commit_config()
    assert running(frr) == before


def test_replace_and_rollback_with_frr_reload(driver: FrrDriver, frr: FrrLab) -> None:
    before = running(frr)
    whole = driver.get_config()["running"].replace(
        "description route collector, not managed by nornir-peering", "description collector two"
    )
    driver.load_replace_candidate(config=whole)
    diff = driver.compare_config()
    assert "+ neighbor 127.0.9.3 description collector two" in diff
    assert "- neighbor 127.0.9.3 description route collector, not managed by nornir-peering" in diff
    driver.commit_config()
    assert ("router bgp 64500", "neighbor 127.0.9.3 description collector two") in running(frr)
    driver.rollback()
    assert running(frr) == before


def test_no_commit_that_reverts_by_itself(driver: FrrDriver, frr: FrrLab) -> None:
    before = running(frr)
    driver.load_merge_candidate(config=ROUTE_MAP)
    with pytest.raises(NotImplementedError, match="revert_in is not supported"):
        driver.commit_config(revert_in=60)
    assert running(frr) == before
    assert not driver.has_pending_commit()


@pytest.mark.lab  # vtysh
def test_unreachable_frr(tmp_path: Path) -> None:
    device = FrrDriver("nowhere", optional_args={"vty_socket": str(tmp_path)})
    with pytest.raises(ConnectionException, match="nowhere: cannot reach FRR"):
        device.open()


def test_over_ssh(frr: FrrLab, sshd: dict[str, object]) -> None:
    """vtysh, frr-reload.py and the rollback file on the router, through a real sshd."""
    frr.reset("edge3")
    user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout
    device = FrrDriver(
        "127.0.0.1",
        username=user.strip(),
        timeout=30,
        optional_args={**frr.optional_args("edge3"), **sshd},
    )
    device.open()
    before = running(frr)
    device.load_merge_candidate(config=ROUTE_MAP)
    assert "+route-map NP_TEST permit 10" in device.compare_config()
    device.commit_config()
    assert ("route-map NP_TEST permit 10", "set local-preference 150") in running(frr)
    device.rollback()
    assert running(frr) == before
    assert device.get_facts()["hostname"] == "edge3"
