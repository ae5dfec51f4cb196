"""``lab up`` checks what it can before starting anything, and a start that fails
part-way stops what that attempt started, and nothing else."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from nornir_peering.lab.control import Lab
from nornir_peering.lab.topology import PASSWORD_VARIABLES
from nornir_peering.pids import alive, read_pid
from tests.helpers import free_ports, run

pytestmark = pytest.mark.lab  # the lab's daemons


@pytest.fixture
def lab_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder to run ``lab up`` in: the lab goes to ``state/lab``; a short path, since
    BIRD's control sockets are in it."""
    folder = tmp_path_factory.mktemp("up")
    monkeypatch.chdir(folder)
    return folder


def lab_up(port: int) -> tuple[int, list[str]]:
    """``lab up`` on ``port``: its exit code and the lines it wrote on stderr."""
    result = run("lab", "up", "--state", "state/peering.duckdb", "--port", str(port))
    return result.exit_code, result.stderr.splitlines()


def pids_alive(folder: Path) -> list[Path]:
    """The pid files under ``folder`` whose process runs."""
    return [p for p in folder.rglob("*.pid") if (pid := read_pid(p)) and alive(pid)]


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def test_without_the_password_nothing_starts(
    lab_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSWORD_VARIABLES[65005])
    port = free_ports(3)
    code, said = lab_up(port)
    assert code == 2
    assert len(said) == 1 and PASSWORD_VARIABLES[65005] in said[0], said
    lab = Lab(lab_dir / "state" / "lab", port=port)
    assert lab.processes() == {}
    assert not pids_alive(lab_dir) and not any(listening(port + i) for i in range(3))


def test_a_port_taken_is_named_before_anything_starts(lab_dir: Path) -> None:
    port = free_ports(3)
    with socket.create_server(("127.0.0.1", port + 1)):  # where the lab IRR would listen
        code, said = lab_up(port)
    assert code == 2
    assert len(said) == 1 and f"port {port + 1}" in said[0] and "IRR server" in said[0], said
    assert Lab(lab_dir / "state" / "lab", port=port).processes() == {}
    assert not pids_alive(lab_dir)


def test_a_folder_too_deep_for_birds_sockets_is_named_before_anything_starts(
    lab_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = lab_dir / ("d" * 60)
    deep.mkdir()
    monkeypatch.chdir(deep)
    port = free_ports(3)
    code, said = lab_up(port)
    assert code == 2
    assert len(said) == 1 and "bird.ctl" in said[0] and "shorter path" in said[0], said
    assert Lab(deep / "state" / "lab", port=port).processes() == {}
    assert not pids_alive(lab_dir) and not any(listening(port + i) for i in range(3))


def test_a_failure_part_way_stops_what_that_attempt_started(lab_dir: Path) -> None:
    port = free_ports(3)
    lab = Lab(lab_dir / "state" / "lab", port=port)
    collector = lab.bird.folder("collector")  # the last BIRD router to start
    collector.parent.mkdir(parents=True)
    collector.write_text("not a folder\n")
    try:
        # everything up to the last BIRD router starts, then the collector fails
        code, said = lab_up(port)
        assert code == 1
        assert len(said) == 1 and said[0].startswith("error: lab up failed: "), said
        assert str(collector) in said[0]
        for started in ("PeeringDB server", "IRR server", "Redis", "BIRD routers", "namespace"):
            assert started in said[0]
        assert lab.processes() == {}
        assert not pids_alive(lab_dir) and not any(listening(port + i) for i in range(3))

        # the next attempt, the cause gone, starts the whole lab
        collector.unlink()
        assert lab_up(port) == (0, [])
        running = lab.processes()
        assert len(running) == 3 + len(lab.routers()) + 1  # servers, routers, namespace

        # one that fails again stops the router it started, and nothing that ran before
        restarted = lab.bird.names[2]  # a peer, started before the collector
        for router in (restarted, "collector"):
            assert run("lab", "stop", router, "--port", str(port)).exit_code == 0
        shutil.rmtree(collector)
        collector.write_text("not a folder\n")
        before = lab.processes()
        assert set(running) - set(before) == {f"bird {restarted}", "bird collector"}
        code, said = lab_up(port)
        assert code == 1 and len(said) == 1 and "1 BIRD router" in said[0], said
        assert "PeeringDB" not in said[0] and "namespace" not in said[0]
        assert lab.processes() == before

        collector.unlink()
        assert lab_up(port) == (0, [])
        assert set(lab.processes()) == set(running)
    finally:
        assert run("lab", "down", "--port", str(port)).exit_code == 0
    assert not pids_alive(lab_dir)
