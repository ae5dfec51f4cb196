"""From ``pip install`` to BGP sessions up, as a new user goes: the package built as a
wheel, installed into a fresh virtualenv, and run from empty directories with nothing of
this repository: the lab started from the installed package, ``init`` for the lab's AS
against the lab PeeringDB, the routers filled in, then ``configure-routers`` shows a diff
and ``--commit`` brings the sessions up."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from nornir_peering.lab.topology import LOCAL_ASN
from tests.helpers import free_ports

REPO = Path(__file__).parent.parent
# what the wheel is built from: the package, not the repository around it
SOURCES = ("pyproject.toml", "README.md", "nornir_peering", "napalm_bird", "napalm_frr")
PEER = 65001  # Peer One Networks: a lab router at both IXes, dual stack
EDGES = {"edge1": "bird", "edge2": "bird", "edge3": "frr"}  # the lab's, by router id 127.0.1.N
# the sessions each edge gets with the peer: edge2 is only at the first IX
AT_BOTH = ("127.0.1.11", "fd00:7f8:1::11", "127.0.2.11", "fd00:7f8:2::11")
SESSIONS = {"edge1": AT_BOTH, "edge2": AT_BOTH[:2], "edge3": AT_BOTH}


class User:
    """Commands run in a shell whose PATH starts with the virtualenv, and nothing of this
    repository's (no PYTHONPATH, no settings from the environment)."""

    def __init__(self, venv: Path, home: Path) -> None:
        self.venv = venv
        self.env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("PEERINGDB_", "PDB_SYNC_", "NORNIR_PEERING_", "PYTHON"))
            and name != "VIRTUAL_ENV"
        }
        self.env.update(HOME=str(home), PATH=f"{venv / 'bin'}:{os.environ['PATH']}")

    def run(self, cwd: Path, *args: str, code: int = 0, timeout: float = 300) -> str:
        done = subprocess.run(
            args, cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == code, f"{' '.join(args)}: {done.stdout}\n{done.stderr}"
        return done.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel built from this checkout, and its dependencies
    from the package index (pip's cache helps)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(
                REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    pip = [sys.executable, "-m", "pip"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "-q", "-w", str(root / "dist"), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next((root / "dist").glob("nornir_peering-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True, timeout=120)
    subprocess.run(
        [str(root / "venv" / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        check=True,
        capture_output=True,
        timeout=600,
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
    )
    return root / "venv"


@pytest.fixture
def user(venv: Path, tmp_path: Path) -> User:
    home = tmp_path / "home"
    home.mkdir()
    return User(venv, home)


@pytest.fixture
def lab(user: User, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    """The lab, started by the installed package from a folder of its own on free ports
    (a short path: its routers' control sockets are in it); stopped at the end, whatever
    happened."""
    folder, port = tmp_path_factory.mktemp("lab"), free_ports(3)
    user.run(folder, "nornir-peering", "lab", "init", ".", "--port", str(port))
    try:
        user.run(folder, "nornir-peering", "lab", "up")  # its port from config.yaml
        yield folder, port
    finally:
        user.run(folder, "nornir-peering", "lab", "down")


def fill_in_routers(project: Path, lab: Path) -> None:
    """What the user does after init: the placeholders become the lab's routers (BIRD and
    FRR, reached through their sockets in the lab's folder), each port on the router with
    its address, and a peer wanted at both IXes."""
    hosts_file = project / "inventory" / "hosts.yaml"
    hosts = yaml.safe_load(hosts_file.read_text())
    assert set(hosts) == {"router1", "router2", "router3"}
    routers: dict[str, Any] = {}
    for number, (name, platform) in enumerate(EDGES.items(), start=1):
        folder = lab / "state" / "lab" / platform / name
        options = (
            {"socket": str(folder / "bird.ctl"), "config_file": str(folder / "peering.conf")}
            if platform == "bird"
            else {
                "vty_socket": str(folder),
                "config_dir": str(folder),
                "rollback_file": str(folder / "nornir-peering.previous"),
            }
        )
        routers[name] = {
            "hostname": f"127.0.1.{number}",
            "platform": platform,
            "data": {
                "router_id": f"127.0.1.{number}",
                "template": f"{platform}/peering.j2",
                "vars": {"bgp_port": 1179, "multihop": True},  # the lab's BGP
            },
            "connection_options": {"napalm": {"extras": {"optional_args": options}}},
        }
    hosts_file.write_text(yaml.safe_dump(routers, sort_keys=False))

    peering_file = project / "inventory" / "peering.yaml"
    peering = yaml.safe_load(peering_file.read_text())
    for ix in peering["ixes"].values():
        for connection in ix["connections"]:
            number = int(connection["ipv4"].rsplit(".", 1)[1])
            connection["router"] = list(EDGES)[number - 1]
        ix["peers"] = [{"asn": PEER}]
    peering_file.write_text(yaml.safe_dump(peering, sort_keys=False))


def sessions_up(user: User, lab: Path, port: int) -> bool:
    """Whether the lab's edges have every session with the peer Established, as their
    daemons say (``lab status``)."""
    status = json.loads(user.run(lab, "nornir-peering", "lab", "status", "--json"))
    states = {row["router"]: row["sessions"] for row in status["routers"]}
    return all(
        states.get(edge, {}).get(address) == "Established"
        for edge, addresses in SESSIONS.items()
        for address in addresses
    )


def test_from_pip_install_to_sessions_up(user: User, lab: tuple[Path, int], tmp_path: Path) -> None:
    folder, port = lab
    installed = user.run(
        tmp_path, "python", "-c", "import nornir_peering; print(nornir_peering.__file__)"
    )
    assert installed.startswith(str(user.venv))  # the wheel's code, not this checkout's

    project = tmp_path / "peering"
    project.mkdir()
    api = f"http://127.0.0.1:{port}/api"
    made = user.run(
        project, "nornir-peering", "init", ".", "--asn", str(LOCAL_ASN), "--peeringdb-url", api
    )
    assert "fill in router1, router2, router3" in made
    assert user.run(project, "nornir-peering", "inventory").count("router") >= 3

    fill_in_routers(project, folder)
    shown = user.run(project, "nornir-peering", "inventory", "--sessions")
    assert "Peer One Networks" in shown

    dry = user.run(project, "nornir-peering", "configure-routers")
    assert "dry run" in dry
    assert "+  neighbor 127.0.2.11 port 1179 as 65001;" in dry  # edge1, BIRD
    assert "+ neighbor 127.0.2.11 remote-as 65001" in dry  # edge3, FRR
    planned = json.loads(user.run(project, "nornir-peering", "configure-routers", "--json"))
    assert {(r["router"], r["status"], r["committed"]) for r in planned["routers"]} == {
        (edge, "changed", False) for edge in EDGES
    }

    user.run(project, "nornir-peering", "configure-routers", "--commit")
    deadline = time.monotonic() + 120
    while not sessions_up(user, folder, port):
        assert time.monotonic() < deadline, "the sessions did not come up"
        time.sleep(1)
    # the toolkit sees them so too, and a second dry run has nothing left to change
    polled = json.loads(user.run(project, "nornir-peering", "poll-bgp-sessions", "--json"))
    wanted_up = {
        router["router"]: {
            s["remote_address"]
            for s in router["sessions"]
            if s["wanted"] and s["state"] == "Established"
        }
        for router in polled["routers"]
    }
    assert wanted_up == {edge: set(addresses) for edge, addresses in SESSIONS.items()}
    again = json.loads(user.run(project, "nornir-peering", "configure-routers", "--json"))
    assert {r["status"] for r in again["routers"]} == {"unchanged"}
