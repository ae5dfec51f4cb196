"""The getting-started page (``docs/getting-started.md``), its commands typed as a new
user types them, on the lab: the package built as a wheel (``pip install nornir-peering``
installs that wheel: no registry holds this checkout), into a fresh virtualenv made by
the page's own command, run from empty directories with nothing of this repository; the
lab started from the installed package; ``init`` for the lab's AS; the routers filled
in (the page's YAML step); ``doctor``; then ``configure-routers`` shows a diff and
``--commit`` brings the sessions up. A command added to the page runs here too, and must
succeed: the tutorial cannot go stale."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from nornir_peering.lab.topology import LOCAL_ASN
from tests.helpers import console_commands, free_ports

pytestmark = pytest.mark.lab  # the lab's daemons

REPO = Path(__file__).parent.parent
PAGE = REPO / "docs" / "getting-started.md"
# what the wheel is built from: the package, not the repository around it
SOURCES = ("pyproject.toml", "README.md", "nornir_peering", "napalm_bird", "napalm_frr")
PEER = 65001  # Peer One Networks: a lab router at both IXes, dual stack
EDGES = {"edge1": "bird", "edge2": "bird", "edge3": "frr"}  # the lab's, by router id 127.0.1.N
# the sessions each edge gets with the peer: edge2 is only at the first IX
AT_BOTH = ("127.0.1.11", "fd00:7f8:1::11", "127.0.2.11", "fd00:7f8:2::11")
SESSIONS = {"edge1": AT_BOTH, "edge2": AT_BOTH[:2], "edge3": AT_BOTH}


class Shell:
    """A user's shell: a working directory and an environment with nothing of this
    repository's (no PYTHONPATH, no settings). ``cd DIR`` and ``. VENV/bin/activate``
    change the shell, as they do in one; any other command runs as a program."""

    def __init__(self, cwd: Path, home: Path, wheel: Path) -> None:
        self.cwd, self.wheel = cwd, wheel
        self.env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("PEERINGDB_", "PDB_SYNC_", "NORNIR_PEERING_", "PYTHON"))
            and name != "VIRTUAL_ENV"
        }
        self.env["HOME"] = str(home)

    def type(self, command: str, code: int = 0, cwd: Path | None = None) -> str:
        """Run ``command`` as typed at the prompt; its output (stdout)."""
        words = shlex.split(command)
        if words[0] == "cd":
            self.cwd = (self.cwd / words[1]).resolve()
            return ""
        if words[0] in (".", "source"):
            venv = (self.cwd / words[1]).parent.parent
            self.env["VIRTUAL_ENV"] = str(venv)
            self.env["PATH"] = f"{venv / 'bin'}:{self.env['PATH']}"
            return ""
        if words[:3] == ["pip", "install", "nornir-peering"]:
            words[2] = str(self.wheel)  # this checkout's wheel stands for the released one
        done = subprocess.run(
            words,
            cwd=cwd or self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == code, f"{command}: {done.stdout}\n{done.stderr}"
        return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this checkout's package."""
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
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(root), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return next(root.glob("nornir_peering-*.whl"))


@pytest.fixture
def shell(wheel: Path, tmp_path: Path) -> Shell:
    """A shell in an empty directory."""
    (tmp_path / "home").mkdir()
    (tmp_path / "work").mkdir()
    return Shell(tmp_path / "work", tmp_path / "home", wheel)


class Lab:
    """The lab, started by the installed package from a folder of its own on free ports
    (a short path: its routers' control sockets are in it)."""

    def __init__(self, shell: Shell, folder: Path) -> None:
        self.shell, self.folder = shell, folder
        self.port = free_ports(3)
        self.running = False

    def up(self) -> None:
        """Start it, and point the shell's PeeringDB and IRR at it (the settings'
        environment variables: a user's config stays as init wrote it)."""
        self.shell.type(f"nornir-peering lab init . --port {self.port}", cwd=self.folder)
        self.running = True
        self.shell.type("nornir-peering lab up", cwd=self.folder)  # its port from config.yaml
        self.shell.env.update(
            PEERINGDB_URL=f"http://127.0.0.1:{self.port}/api",
            PEERINGDB_CACHE_URL=f"http://127.0.0.1:{self.port}",
            NORNIR_PEERING_IRR_HOST=f"127.0.0.1:{self.port + 1}",
        )

    def down(self) -> None:
        """Stop it, if it was started."""
        if self.running:
            self.shell.type("nornir-peering lab down", cwd=self.folder)

    def sessions_up(self) -> bool:
        """Whether the lab's edges have every session with the peer Established, as their
        daemons say (``lab status``)."""
        status = json.loads(self.shell.type("nornir-peering lab status --json", cwd=self.folder))
        states = {row["router"]: row["sessions"] for row in status["routers"]}
        return all(
            states.get(edge, {}).get(address) == "Established"
            for edge, addresses in SESSIONS.items()
            for address in addresses
        )


@pytest.fixture
def lab(shell: Shell, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The lab, once the page has installed the package (it is started from it); stopped
    at the end, whatever happened."""
    lab = Lab(shell, tmp_path_factory.mktemp("lab"))
    try:
        yield lab
    finally:
        lab.down()


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


def checked_dry_run(output: str) -> None:
    """The first diff: every edge's neighbor lines for the peer, nothing committed."""
    assert "dry run" in output
    assert "+  neighbor 127.0.2.11 port 1179 as 65001;" in output  # edge1, BIRD
    assert "+ neighbor 127.0.2.11 remote-as 65001" in output  # edge3, FRR


def test_the_getting_started_page_on_the_lab(shell: Shell, lab: Lab) -> None:
    commands = console_commands(PAGE.read_text(encoding="utf-8"))
    init = f"nornir-peering init peering --asn {LOCAL_ASN}"

    def before_init() -> None:
        installed = shell.type("python -c 'import nornir_peering; print(nornir_peering.__file__)'")
        assert installed.startswith(shell.env["VIRTUAL_ENV"])  # the wheel's, not this checkout's
        lab.up()

    def before_doctor() -> None:  # the page's step 3: the routers written in
        fill_in_routers(shell.cwd, lab.folder)

    before: dict[str, Callable[[], None]] = {
        init: before_init,
        "nornir-peering doctor": before_doctor,
    }
    after: dict[str, Callable[[str], None]] = {
        init: assert_init,
        "nornir-peering configure-routers": checked_dry_run,
        "nornir-peering configure-routers --commit": lambda _: wait_for(lab.sessions_up),
    }
    for command in commands:
        before.pop(command, lambda: None)()
        output = shell.type(command)
        after.pop(command, lambda _: None)(output)
    assert not before and not after, f"the page no longer runs {[*before, *after]}"

    # what the page promised: the toolkit sees the sessions up, nothing left to change
    polled = json.loads(shell.type("nornir-peering poll-bgp-sessions --json"))
    wanted_up = {
        router["router"]: {
            s["remote_address"]
            for s in router["sessions"]
            if s["wanted"] and s["state"] == "Established"
        }
        for router in polled["routers"]
    }
    assert wanted_up == {edge: set(addresses) for edge, addresses in SESSIONS.items()}
    again = json.loads(shell.type("nornir-peering configure-routers --json"))
    assert {r["status"] for r in again["routers"]} == {"unchanged"}
    doctor = json.loads(shell.type("nornir-peering doctor --json"))
    assert doctor["checks"] and all(c["status"] != "failed" for c in doctor["checks"])


def assert_init(output: str) -> None:
    """init found the lab AS's ports and synced."""
    assert "fill in router1, router2, router3" in output


def wait_for(condition: Callable[[], bool], seconds: float = 120) -> None:
    """Poll ``condition`` until it holds."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{condition.__name__} did not hold in {seconds} s"
        time.sleep(1)
