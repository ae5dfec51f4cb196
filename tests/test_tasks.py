"""The task library as an engineer uses it: InitNornir on the project's config.yaml
from another directory, nornir-utils' print_result, the examples/ scripts; on the
lab's real BIRD and FRR routers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from nornir import InitNornir
from nornir.core.filter import F
from nornir_utils.plugins.functions import print_result

from nornir_peering.lab.control import Lab
from nornir_peering.neighbors import SessionState
from nornir_peering.tasks import deploy_config, get_bgp_state, render_config
from tests.helpers import bgp_states, frr_states, run, wait_until

REPO = Path(__file__).parent.parent


def example(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "examples" / name), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_an_engineers_script_from_another_directory(
    lab: Lab,
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The issue's own: a dry run prints every router's diff and changes nothing; the
    same with dry_run=False commits; get_bgp_state then reports them Established."""
    monkeypatch.chdir(tmp_path)
    nr = InitNornir(config_file=str(project / "config.yaml"))
    edges = nr.filter(F(groups__contains="edge"))
    frr_before = frr_states(lab)
    print_result(edges.run(task=deploy_config, dry_run=True))
    shown = capsys.readouterr().out
    assert "+protocol bgp ix_lab_ix_as65001_127_0_1_11 {" in shown  # edge1, BIRD
    assert "+ neighbor 127.0.1.11 remote-as 65001" in shown  # edge3, FRR
    # one result per router, each changed and not committed
    assert shown.count("vvvv deploy_config ** changed : True") == 3
    assert shown.count("dry run") == 3 and "@@ " in shown
    # no session was configured: BIRD has none, FRR only the operator's collector
    assert bgp_states(lab, "edge1") == {} and frr_states(lab).keys() == frr_before.keys()
    assert not list(tmp_path.iterdir())  # and nothing written where the script runs
    committed = edges.run(task=deploy_config, dry_run=False)
    assert not committed.failed
    assert {name: r[0].committed for name, r in committed.items()} == {
        "edge1": True,
        "edge2": True,
        "edge3": True,
    }

    def established() -> bool:
        states = edges.run(task=get_bgp_state)
        return all(
            s.state == "Established" for r in states.values() for s in r[0].result if s.wanted
        )

    wait_until(established)
    [state] = [
        s
        for s in edges.run(task=get_bgp_state)["edge1"][0].result
        if s.remote_address == "127.0.1.14"
    ]
    assert isinstance(state, SessionState) and (state.remote_asn, state.wanted) == (65003, True)


def test_render_config_fails_only_that_router(
    lab: Lab, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    broken = project / "templates" / "frr" / "peering.j2"
    original = broken.read_text()
    broken.write_text(original + "{{ no_such_thing }}\n")
    try:
        result = InitNornir(config_file=str(project / "config.yaml")).run(task=render_config)
    finally:
        broken.write_text(original)
    assert result.failed_hosts.keys() == {"edge3"}
    assert "frr/peering.j2" in str(result["edge3"][0].exception)
    assert result["edge1"][0].result.startswith("# nornir-peering: BGP sessions of edge1")


def test_examples(lab: Lab, project: Path, tmp_path: Path) -> None:
    """Each example, run from a directory that is not the project's."""
    config = str(project / "config.yaml")
    dry = example("dry_run.py", config, "edge", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "+protocol bgp ix_lab_ix_as65001_127_0_1_11 {" in dry.stdout
    assert bgp_states(lab, "edge1") == {}
    committed = example("commit_with_revert.py", config, "edge", "60", cwd=tmp_path)
    assert committed.returncode == 0, committed.stderr
    assert "edge1: committed" in committed.stdout and "edge2: committed" in committed.stdout
    assert "edge3" not in committed.stdout  # FRR cannot revert by itself: not selected
    wait_until(lambda: set(bgp_states(lab, "edge1").values()) == {"Established"})
    assert run("poll-bgp-sessions", "--limit", "edge1").exit_code == 0
    report = example("sessions_report.py", config, cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "16 sessions, 0 to look at" in report.stdout  # edge1, as the poll stored it
    assert "never polled" in report.stdout  # edge2 and edge3 were not
    assert not list(tmp_path.iterdir())
