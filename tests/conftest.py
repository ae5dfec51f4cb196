"""Shared fixtures: generated datasets, a live lab PeeringDB server, an isolated
environment, and a way to run the CLI and compare the cache with a dataset."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner, Result

from nornir_peering.cli import cli
from nornir_peering.lab.datagen import Dataset, evolve, generate, read_dataset, write_dataset
from nornir_peering.lab.pdbserver import LabServer
from nornir_peering.lab.topology import add_lab
from nornir_peering.peeringdb.schema import TAGS

API_KEY = "lab-key-0123456789"
pytest_plugins = ["tests.lab_project"]  # the lab-as-a-project fixtures


@dataclass(frozen=True)
class Datasets:
    day1: Path
    day2: Path
    day3: Path


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


@pytest.fixture
def pdb(datasets: Datasets) -> Iterator[LabServer]:
    """The lab PeeringDB server, serving day1, on an ephemeral loopback port."""
    with LabServer(datasets.day1, api_key=API_KEY) as server:
        yield server


@pytest.fixture
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


def free_port() -> int:
    """A loopback TCP port nobody listens on (yet)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def poll(condition: Callable[[], bool], seconds: float = 60.0) -> None:
    """Wait until ``condition()`` holds; fail the test after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def run(*args: str, input: str | None = None) -> Result:
    """Run ``nornir-peering ARGS`` in-process; stdout and stderr kept apart."""
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def sync_json(*args: str) -> dict[str, Any]:
    result = run("peeringdb-sync", "--json", *args)
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def by_tag(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["tag"]: row for row in summary["types"]}


def visible_rows(dataset: Dataset, tag: str, authenticated: bool) -> dict[int, dict[str, Any]]:
    """What PeeringDB shows a client: ``ok`` objects, private contacts only with a key."""
    return {
        row["id"]: row
        for row in dataset.rows[tag]
        if row["status"] == "ok" and (authenticated or row.get("visible", "Public") == "Public")
    }


def cache_rows(state: Path, tag: str) -> dict[int, dict[str, Any]]:
    with duckdb.connect(str(state), read_only=True) as db:
        result = db.execute(f"SELECT * FROM pdb_{tag}")
        names = [d[0] for d in result.description or []]
        return {row[0]: dict(zip(names, row, strict=True)) for row in result.fetchall()}


def _as_api(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def assert_cache_equals(state: Path, dataset_dir: Path, *, authenticated: bool = False) -> None:
    """The cache holds exactly the objects the dataset shows, field by field."""
    dataset = read_dataset(dataset_dir)
    for tag in TAGS:
        expected = visible_rows(dataset, tag, authenticated)
        cached = cache_rows(state, tag)
        assert set(cached) == set(expected), f"{tag}: ids differ"
        for oid, row in expected.items():
            got = {key: _as_api(cached[oid][key]) for key in row}
            assert got == row, f"{tag} {oid} differs"


@pytest.fixture(scope="module")
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

    poll(listening, 30)
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
