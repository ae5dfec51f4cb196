"""What the tests share that is not a fixture: running the CLI in-process, waiting
for a condition, comparing the cache with a dataset, asking the lab's routers."""

from __future__ import annotations

import json
import os
import random
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
from click.testing import CliRunner, Result

from nornir_peering.cli import cli
from nornir_peering.lab.control import Lab
from nornir_peering.lab.datagen import Dataset, read_dataset
from nornir_peering.peeringdb.schema import TAGS

API_KEY = "lab-key-0123456789"

F = TypeVar("F", bound=Callable[..., Any])
LAB_FIXTURES: set[Callable[..., Any]] = set()


def lab_fixture(function: F) -> F:
    """Mark a fixture function (below ``@pytest.fixture``) as one that starts a daemon or
    the lab: every test that uses it, directly or not, is in the ``lab`` tier
    (tests/tiers.py)."""
    LAB_FIXTURES.add(function)
    return function


@dataclass(frozen=True)
class Datasets:
    day1: Path
    day2: Path
    day3: Path


# Ports handed to other processes (the lab's servers, sshd) come from a block of ports
# of this test process's own, below the kernel's ephemeral range (32768-60999 on Linux),
# where no socket bound to port 0 lands: the serial run has the first block, each
# pytest-xdist worker (gw0, gw1, ...) the one after it, so no two workers ever pick the
# same port, even before the process they pick it for has bound it.
FIRST_PORT = 20000
PORT_BLOCK = 500
_next_port: list[int] = []  # where the search for free ports goes on in this process


def _port_block() -> range:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = int(worker.removeprefix("gw")) + 1 if worker.startswith("gw") else 0
    start = FIRST_PORT + index % ((32768 - FIRST_PORT) // PORT_BLOCK) * PORT_BLOCK
    return range(start, start + PORT_BLOCK)


def free_port() -> int:
    """A loopback TCP port nobody listens on (yet), of this process's block."""
    return free_ports(1)


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive loopback TCP ports nobody listens on (yet), of
    this process's block: the lab's PeeringDB, IRR and Redis take a port each, one above
    the other. The next call looks above them, so ports handed out and not yet bound
    are not handed out again."""
    block = _port_block()
    if not _next_port:  # a random start: another run of the suite may use the block too
        _next_port.append(random.randrange(block.start, block.stop))
    for _ in range(len(block)):
        first = _next_port[0]
        if first + count > block.stop:
            first = block.start
        _next_port[0] = first + count
        if all(_bindable(port) for port in range(first, first + count)):
            return first
    raise AssertionError(f"no {count} free ports in a row in {block}")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_until(condition: Callable[[], bool], seconds: float = 60.0) -> None:
    """Wait until ``condition()`` holds; fail the test after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


class SilentServer:
    """A TCP listener on 127.0.0.1 that accepts every connection and never answers (a
    dead IRR server); :attr:`accepted` counts the connections made to it."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def accepted(self) -> int:
        return len(self._held)

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:  # closed: the server stops
                return
            self._held.append(connection)

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(10)
        for connection in self._held:
            connection.close()


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


def birdc(lab: Lab, router: str, command: str = "show protocols") -> str:
    return subprocess.run(
        ["birdc", "-s", str(lab.bird.socket(router)), command],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout


def bgp_states(lab: Lab, router: str) -> dict[str, str]:
    lines = birdc(lab, router).splitlines()
    return {line.split()[0]: line.split()[-1] for line in lines if " BGP " in line}


def frr_states(lab: Lab, router: str = "edge3") -> dict[str, str]:
    """The FRR edge's BGP sessions, asked with vtysh, not through the tool."""
    return lab.frr.sessions(router)


def outcome(result_stdout: str) -> dict[str, dict[str, object]]:
    return {r["router"]: r for r in json.loads(result_stdout)["routers"]}


CONSOLE = re.compile(r"^```console\n(.*?)^```", re.M | re.S)


def console_commands(markdown: str) -> list[str]:
    """The commands of a page's ``console`` blocks: each line after a ``$ `` prompt."""
    return [
        line[2:]
        for block in CONSOLE.findall(markdown)
        for line in block.splitlines()
        if line.startswith("$ ")
    ]
