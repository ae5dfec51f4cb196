"""The BIRD driver over SSH: a real sshd on loopback, a real BIRD behind it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from napalm.base.exceptions import ConnectionException

from nornir_peering.drivers.bird import BirdDriver
from nornir_peering.lab.bird import BirdLab, lab_routers
from tests.helpers import free_port, lab_fixture, wait_until


@pytest.fixture(scope="module")
@lab_fixture
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BirdLab]:
    routers = [r for r in lab_routers() if r.name in ("edge1", "as65001-127.0.1.11")]
    lab = BirdLab(tmp_path_factory.mktemp("bird"), routers)
    lab.up()
    yield lab
    lab.down()


def driver(lab: BirdLab, ssh: dict[str, object]) -> BirdDriver:
    user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout
    return BirdDriver(
        "127.0.0.1",
        username=user.strip(),
        timeout=30,
        optional_args={
            **ssh,
            "socket": str(lab.socket("edge1")),
            "config_file": str(lab.config_file("edge1")),
        },
    )


PEER = (
    "protocol bgp peer_one {\n  local 127.0.1.1 port 1179 as 64500;\n"
    "  neighbor 127.0.1.11 port 1179 as 65001;\n"
    "  multihop; strict bind yes; connect delay time 1; connect retry time 2;\n"
    "  ipv4 { import all; export where source = RTS_STATIC; };\n}\n"
)


def test_whole_cycle_over_ssh(lab: BirdLab, sshd: dict[str, object]) -> None:
    device = driver(lab, sshd)
    device.open()
    try:
        assert device.get_facts()["vendor"] == "BIRD"
        device.load_replace_candidate(config=PEER)
        assert "+protocol bgp peer_one {" in device.compare_config()
        device.commit_config()
        assert lab.config_file("edge1").read_text() == PEER  # written on the router
        wait_until(lambda: device.get_bgp_neighbors()["global"]["peers"]["127.0.1.11"]["is_up"])
        device.load_replace_candidate(config=PEER)
        assert device.compare_config() == ""
        device.rollback()
        assert lab.config_file("edge1").read_text() == "# managed by nornir-peering\n"
    finally:
        device.close()


def test_ssh_that_cannot_connect(lab: BirdLab, sshd: dict[str, object]) -> None:
    device = driver(lab, {**sshd, "ssh_port": free_port()})
    with pytest.raises(ConnectionException, match="ssh failed"):
        device.open()
