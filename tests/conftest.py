"""Shared fixtures: generated datasets, a live lab PeeringDB server, an isolated
environment, and a real sshd; helpers are in tests/helpers.py."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from nornir_peering.lab.datagen import evolve, generate, write_dataset
from nornir_peering.lab.pdbserver import LabServer
from nornir_peering.lab.topology import PASSWORD_VARIABLES, add_lab
from nornir_peering.peeringdb.sync import sync_peeringdb
from nornir_peering.settings import PeeringSettings
from tests.helpers import API_KEY, Datasets, free_port, lab_fixture, wait_until

# the tiers and their guard; the lab-as-a-project fixtures
pytest_plugins = ["tests.tiers", "tests.lab_project"]


@pytest.fixture(scope="session", autouse=True)
def lab_password() -> Iterator[str]:
    """The lab's MD5 peer's password, as ``./run demo`` sets it: drawn at random, in the
    variable the lab and ``inventory/peering.yaml`` both read."""
    secret = "t" + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PASSWORD_VARIABLES[65005], secret)
        yield secret


@pytest.fixture(scope="session", autouse=True)
def no_terminal_width() -> Iterator[None]:
    """The CLI's tables are as wide as ``COLUMNS`` says (200 without it, as under cron):
    the suite runs without it, whatever the shell exported or pytest-xdist set in its
    workers (80); a test that wants a width sets it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("COLUMNS", raising=False)
        patch.delenv("LINES", raising=False)
        yield


@pytest.fixture(scope="session")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> Datasets:
    """Three days of a small PeeringDB: day2 and day3 evolve from the day before."""
    base = tmp_path_factory.mktemp("datasets")
    day1 = add_lab(generate(scale=0.01, seed=11))
    day2 = evolve(day1, seed=12, fraction=0.05)
    day3 = evolve(day2, seed=13, fraction=0.05)
    for name, data in (("day1", day1), ("day2", day2), ("day3", day3)):
        write_dataset(data, base / name)
    return Datasets(base / "day1", base / "day2", base / "day3")


@pytest.fixture(scope="session")
def synced_state(datasets: Datasets, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state file holding day1 (with the lab's IXes): read it, or copy it to change it."""
    state = tmp_path_factory.mktemp("state") / "peering.duckdb"
    with LabServer(datasets.day1) as server:
        sync_peeringdb(
            PeeringSettings(peeringdb_url=server.api_url, cache_url=server.url, state=state)
        )
    return state


@pytest.fixture(scope="session")
def small_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state file holding a small PeeringDB with the lab's IXes, synced: the templates'
    golden files are rendered against it. Read it, never change it."""
    path = tmp_path_factory.mktemp("small") / "peering.duckdb"
    with LabServer(add_lab(generate(scale=0.002, seed=5))) as server:
        sync_peeringdb(
            PeeringSettings(peeringdb_url=server.api_url, cache_url=server.url, state=path)
        )
    return path


@pytest.fixture
def pdb(datasets: Datasets) -> Iterator[LabServer]:
    """The lab PeeringDB server, serving day1, on an ephemeral loopback port."""
    with LabServer(datasets.day1, api_key=API_KEY) as server:
        yield server


@pytest.fixture
@lab_fixture  # the tests that use it sync from the lab PeeringDB: seconds each
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pdb: LabServer) -> Path:
    """An environment that points at the lab server and nowhere else.

    Returns the state file path. HOME is a fresh folder, so no
    ~/.peeringdb/config of the machine is read.
    """
    for name in list(os.environ):
        if name.startswith(("PEERINGDB_", "PDB_SYNC_", "NORNIR_PEERING_")):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PEERINGDB_URL", pdb.api_url)
    monkeypatch.setenv("PEERINGDB_CACHE_URL", pdb.url)
    monkeypatch.setenv("NORNIR_PEERING_RETRY_BACKOFF", "0.01")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "state" / "peering.duckdb"


@pytest.fixture(scope="module")
@lab_fixture
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """sshd on 127.0.0.1, accepting one key for this user; options for the driver."""
    if os.geteuid() != 0:
        pytest.skip("sshd needs root for its privilege separation")  # CI runs as root
    folder = tmp_path_factory.mktemp("sshd")
    for name in ("host_key", "client_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / name)], check=True
        )
    (folder / "authorized_keys").write_text((folder / "client_key.pub").read_text())
    port = free_port()
    config = folder / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_key'}\n"
        f"PidFile {folder / 'sshd.pid'}\nAuthorizedKeysFile {folder / 'authorized_keys'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "PermitRootLogin prohibit-password\nStrictModes no\nAllowStreamLocalForwarding yes\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)
    server = subprocess.Popen(
        ["/usr/sbin/sshd", "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE
    )

    def listening() -> bool:
        assert server.poll() is None, server.stderr.read() if server.stderr else ""
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return False
        return True

    wait_until(listening, 30)
    yield {
        "transport": "ssh",
        "ssh_port": port,
        "ssh_key": str(folder / "client_key"),
        "ssh_options": [
            "StrictHostKeyChecking=no",
            "UserKnownHostsFile=/dev/null",
            "LogLevel=ERROR",
        ],
    }
    server.terminate()
    server.wait(timeout=30)
