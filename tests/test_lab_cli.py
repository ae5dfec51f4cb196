"""``nornir-peering lab``: generating datasets and serving them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from nornir_peering.lab.datagen import read_dataset
from nornir_peering.lab.rpsl import UNREGISTERED
from nornir_peering.lab.wait import wait_for
from tests.helpers import free_ports, run


def test_generate_and_evolve(tmp_path: Path) -> None:
    result = run("lab", "generate", str(tmp_path / "a"), "--scale", "0.002", "--seed", "5")
    assert result.exit_code == 0, result.stderr
    result = run("lab", "generate", str(tmp_path / "b"), "--evolve-from", str(tmp_path / "a"))
    assert result.exit_code == 0, result.stderr
    first, later = read_dataset(tmp_path / "a"), read_dataset(tmp_path / "b")
    assert later.generated > first.generated
    assert len(later.rows["net"]) > len(first.rows["net"])


@pytest.mark.lab  # the lab PeeringDB as a process of its own
def test_serve_a_dataset(tmp_path: Path) -> None:
    run("lab", "generate", str(tmp_path / "a"), "--scale", "0.002")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nornir_peering",
            "lab",
            "peeringdb",
            "--dataset",
            str(tmp_path / "a"),
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        url = line.split(" at ")[1].strip()
        assert wait_for(f"{url}/ix", 30)
        assert httpx.get(f"{url}/ix", timeout=5).json()["data"]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_serve_refuses_a_non_loopback_address(tmp_path: Path) -> None:
    run("lab", "generate", str(tmp_path / "a"), "--scale", "0.002")
    result = run("lab", "peeringdb", "--dataset", str(tmp_path / "a"), "--host", "192.0.2.1")
    assert result.exit_code == 2
    assert "loopback only" in result.stderr


@pytest.mark.lab
def test_lab_up_status_down(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a short folder: BIRD's control sockets are below it, and a socket's path has room
    # for 107 bytes (an xdist worker's tmp_path adds popen-gwN/ to the test's own name)
    tmp_path = tmp_path_factory.mktemp("lab")
    monkeypatch.chdir(tmp_path)
    port = str(free_ports(3))  # PeeringDB, IRR, Redis
    state = str(tmp_path / "state" / "peering.duckdb")
    try:
        assert run("lab", "up", "--state", state, "--port", port).exit_code == 0
        status = json.loads(run("lab", "status", "--json", "--state", state, "--port", port).stdout)
        assert status["peeringdb"]["running"]
        routers = {r["router"]: r for r in status["routers"]}
        assert len(routers) == 15 and all(r["running"] for r in routers.values())
        # the FRR edge starts with its own route collector, nothing of nornir-peering's
        assert set(routers["edge3"]["sessions"]) == {"127.0.9.3"}
        # the lab IRR answers the real bgpq4: AS65001's registered prefixes, not the others
        assert status["irr"] == {"address": f"127.0.0.1:{int(port) + 1}", "running": True}
        bgpq4 = subprocess.run(
            ["bgpq4", "-h", status["irr"]["address"], "-p", "-j", "-4", "-l", "x", "AS-PEERONE"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        listed = {entry["prefix"] for entry in json.loads(bgpq4.stdout)["x"]}
        assert "12.1.0.0/24" in listed and not listed & set(UNREGISTERED[65001])
        lab_ix = httpx.get(f"http://127.0.0.1:{port}/api/ix/10000001", timeout=10).json()
        assert lab_ix["data"][0]["name"] == "LAB-IX Loopback"
        pids = sorted((tmp_path / "state" / "lab").rglob("*.pid"))
        before = [p.read_text() for p in pids]
        assert run("lab", "up", "--state", state, "--port", port).exit_code == 0  # idempotent
        assert [p.read_text() for p in pids] == before
    finally:
        assert run("lab", "down", "--state", state, "--port", port).exit_code == 0
    status = json.loads(run("lab", "status", "--json", "--state", state, "--port", port).stdout)
    assert not status["peeringdb"]["running"] and not status["irr"]["running"]
    assert not any(r["running"] for r in status["routers"])
