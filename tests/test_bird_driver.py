"""The BIRD NAPALM driver against real BIRD 2 daemons of the lab."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from napalm import get_network_driver
from napalm.base import models
from napalm.base.exceptions import CommitError, ConnectionException
from napalm.base.test import helpers
from nornir.core import Nornir
from nornir.core.inventory import ConnectionOptions, Defaults, Groups, Host, Hosts, Inventory
from nornir.core.plugins.connections import ConnectionPluginRegister
from nornir.core.plugins.runners import RunnersPluginRegister
from nornir_napalm.plugins.tasks import napalm_get

from nornir_peering.drivers.bird import BirdDriver
from nornir_peering.lab.bird import BirdLab
from nornir_peering.lab.topology import ANNOUNCES
from tests.helpers import lab_fixture, wait_until


def session(name: str, local: str, neighbor: str, asn: int, family: int = 4) -> str:
    return (
        f"protocol bgp {name} {{\n"
        f"  local {local} port 1179 as 64500;\n"
        f"  neighbor {neighbor} port 1179 as {asn};\n"
        "  multihop; strict bind yes; connect delay time 1; connect retry time 2;\n"
        f"  ipv{family} {{ import all; export where source = RTS_STATIC; }};\n"
        "}\n"
    )


# one peer of each family and one with both: the lab's AS65001 at two addresses
PEERS = (
    session("peer_one", "127.0.1.1", "127.0.1.11", 65001)
    + session("peer_one_v6", "fd00:7f8:1::1", "fd00:7f8:1::11", 65001, 6)
    + session("four", "127.0.1.1", "127.0.1.14", 65003)
    + session("six", "fd00:7f8:1::1", "fd00:7f8:1::16", 65006, 6)
)
ONE_PEER = session("peer_one", "127.0.1.1", "127.0.1.11", 65001)
BROKEN = "protocol bgp broken {\n  local 127.0.1.1 as 64500;\n  neighbour 127.0.1.11;\n}\n"


@pytest.fixture(scope="module")
@lab_fixture
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BirdLab]:
    lab = BirdLab(tmp_path_factory.mktemp("bird"))
    lab.up()
    yield lab
    lab.down()


@pytest.fixture
def driver(lab: BirdLab) -> Iterator[BirdDriver]:
    """edge1, reset to an empty peering file before each test."""
    device = BirdDriver(
        "edge1",
        optional_args={
            "socket": str(lab.socket("edge1")),
            "config_file": str(lab.config_file("edge1")),
        },
    )
    device.open()
    if device.has_pending_commit():
        device.confirm_commit()
    device.load_replace_candidate(config="# managed by nornir-peering\n")
    if device.compare_config():
        device.commit_config()
    yield device
    device.close()


def birdc(lab: BirdLab, command: str) -> str:
    """Ask BIRD with its own client, not through the driver."""
    return subprocess.run(
        ["birdc", "-s", str(lab.socket("edge1")), command],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout


def established(lab: BirdLab, protocol: str) -> bool:
    return any(
        line.split()[:1] == [protocol] and "Established" in line
        for line in birdc(lab, "show protocols").splitlines()
    )


def test_napalm_finds_the_driver_by_platform_name() -> None:
    assert get_network_driver("bird") is BirdDriver


def test_facts(driver: BirdDriver) -> None:
    facts = driver.get_facts()
    assert helpers.test_model(models.FactsDict, facts)
    assert facts["vendor"] == "BIRD" and facts["os_version"].startswith("2.")
    assert facts["uptime"] >= 0


FAMILIES = (
    ("127.0.1.11", 65001, "ipv4"),
    ("fd00:7f8:1::11", 65001, "ipv6"),
    ("127.0.1.14", 65003, "ipv4"),
    ("fd00:7f8:1::16", 65006, "ipv6"),
)


def test_commit_brings_sessions_up_with_real_counts(driver: BirdDriver, lab: BirdLab) -> None:
    driver.load_replace_candidate(config=PEERS)
    diff = driver.compare_config()
    assert (
        "+protocol bgp peer_one {" in diff and "+  neighbor 127.0.1.14 port 1179 as 65003;" in diff
    )
    driver.commit_config()
    protocols = ("peer_one", "peer_one_v6", "four", "six")
    wait_until(lambda: all(established(lab, name) for name in protocols))
    expected = {  # routes arrive just after the sessions come up: wait for all of them
        address: {
            family: {
                "received_prefixes": ANNOUNCES[asn],
                "accepted_prefixes": ANNOUNCES[asn],
                "sent_prefixes": 1,
            }
        }
        for address, asn, family in FAMILIES
    }
    wait_until(
        lambda: (
            {
                address: peer["address_family"]
                for address, peer in driver.get_bgp_neighbors()["global"]["peers"].items()
            }
            == expected
        )
    )
    neighbors = driver.get_bgp_neighbors()
    peers = neighbors["global"]["peers"]
    assert neighbors["global"]["router_id"] == "127.0.1.1"
    assert set(peers) == {address for address, _, _ in FAMILIES}  # keyed by address
    one = peers["127.0.1.11"]
    assert (one["local_as"], one["remote_as"], one["remote_id"], one["is_up"]) == (
        64500,
        65001,
        "127.0.1.11",
        True,
    )
    assert one["address_family"]["ipv4"] == {
        "received_prefixes": ANNOUNCES[65001],
        "accepted_prefixes": ANNOUNCES[65001],
        "sent_prefixes": 1,
    }
    assert one["uptime"] >= 0
    for peer in peers.values():
        assert helpers.test_model(models.PeerDict, peer)
        for family in peer["address_family"].values():
            assert helpers.test_model(models.AFDict, family)
    detail = driver.get_bgp_neighbors_detail()
    for found in detail["global"].values():
        for peer_detail in found:
            assert helpers.test_model(models.PeerDetailsDict, peer_detail)
    [four] = detail["global"][65003]
    [six] = detail["global"][65006]
    assert (six["remote_address"], six["local_address"], six["accepted_prefix_count"]) == (
        "fd00:7f8:1::16",
        "fd00:7f8:1::1",
        ANNOUNCES[65006],
    )
    assert {p["remote_address"] for p in detail["global"][65001]} == {
        "127.0.1.11",
        "fd00:7f8:1::11",
    }
    assert (
        four["remote_address"],
        four["local_address"],
        four["accepted_prefix_count"],
        four["connection_state"],
        four["multihop"],
        four["holdtime"],
    ) == ("127.0.1.14", "127.0.1.1", ANNOUNCES[65003], "Established", True, 240)


def test_nothing_to_change_means_an_empty_diff(driver: BirdDriver) -> None:
    driver.load_replace_candidate(config=ONE_PEER)
    driver.commit_config()
    driver.load_replace_candidate(config=ONE_PEER)
    assert driver.compare_config() == ""
    driver.discard_config()
    assert driver.compare_config() == ""


def test_rejected_config_leaves_the_router_as_it_was(driver: BirdDriver, lab: BirdLab) -> None:
    driver.load_replace_candidate(config=ONE_PEER)
    driver.commit_config()
    wait_until(lambda: established(lab, "peer_one"))
    driver.load_replace_candidate(config=BROKEN)
    with pytest.raises(CommitError, match=r"BIRD refused the configuration: .*peering\.conf:3"):
        driver.commit_config()
    assert lab.config_file("edge1").read_text() == ONE_PEER
    assert established(lab, "peer_one") and "broken" not in birdc(lab, "show protocols")


def test_unconfirmed_commit_is_reverted_by_bird(driver: BirdDriver, lab: BirdLab) -> None:
    driver.load_replace_candidate(config=ONE_PEER)
    driver.commit_config()
    driver.load_replace_candidate(config=PEERS)
    driver.commit_config(revert_in=2)
    assert driver.has_pending_commit()
    assert "four" in birdc(lab, "show protocols")
    wait_until(lambda: "four" not in birdc(lab, "show protocols"))  # BIRD undid it by itself
    wait_until(lambda: not driver.has_pending_commit(), 10)
    assert lab.config_file("edge1").read_text() == ONE_PEER


def test_confirmed_commit_stays(driver: BirdDriver, lab: BirdLab) -> None:
    driver.load_replace_candidate(config=PEERS)
    driver.commit_config(revert_in=60)
    driver.confirm_commit()
    assert not driver.has_pending_commit()
    assert "four" in birdc(lab, "show protocols")
    assert lab.config_file("edge1").read_text() == PEERS


def test_rollback_to_the_previous_file(driver: BirdDriver, lab: BirdLab) -> None:
    driver.load_replace_candidate(config=ONE_PEER)
    driver.commit_config()
    driver.load_replace_candidate(config=PEERS)
    driver.commit_config()
    assert "four" in birdc(lab, "show protocols")
    driver.rollback()
    assert lab.config_file("edge1").read_text() == ONE_PEER
    assert "four" not in birdc(lab, "show protocols")


def test_a_stopped_router_is_an_unreachable_one(lab: BirdLab, tmp_path: Path) -> None:
    device = BirdDriver("gone", optional_args={"socket": str(tmp_path / "nothing.ctl")})
    with pytest.raises(ConnectionException, match="cannot connect to BIRD"):
        device.open()


def test_through_nornir_napalm(lab: BirdLab, driver: BirdDriver) -> None:
    driver.load_replace_candidate(config=ONE_PEER)
    driver.commit_config()
    options = ConnectionOptions(
        extras={
            "optional_args": {
                "socket": str(lab.socket("edge1")),
                "config_file": str(lab.config_file("edge1")),
            }
        }
    )
    defaults = Defaults()
    hosts = Hosts(
        {
            "edge1": Host(
                "edge1",
                hostname="127.0.1.1",
                platform="bird",
                connection_options={"napalm": options},
                defaults=defaults,
            )
        }
    )
    RunnersPluginRegister.auto_register()
    ConnectionPluginRegister.auto_register()
    nornir = Nornir(
        inventory=Inventory(hosts=hosts, groups=Groups(), defaults=defaults),
        runner=RunnersPluginRegister.get_plugin("threaded")(num_workers=2),
    )
    result = nornir.run(napalm_get, getters=["bgp_neighbors"])
    assert not result.failed
    peers = result["edge1"][0].result["bgp_neighbors"]["global"]["peers"]
    assert set(peers) == {"127.0.1.11"}
    nornir.close_connections()
