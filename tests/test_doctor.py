"""``nornir-peering doctor`` on the lab as a project: everything passes, then each
failure on real parts (a server down, a wrong key or password, a router stopped, a
broken file), with what to do about it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from nornir_peering.lab.control import Lab
from nornir_peering.lab.pdbserver import Fault, LabServer
from nornir_peering.settings import load_settings
from nornir_peering.store import writer_lock
from tests.helpers import API_KEY, SilentServer, free_port, run

pytestmark = pytest.mark.lab  # the lab's daemons

ROUTERS = ["router edge1", "router edge2", "router edge3"]
NAMES = ["config", "state", "inventory", "peeringdb", "bgpq", "irr", *ROUTERS, "redis"]


@pytest.fixture
def here(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The lab project, cwd in it, no setting from this machine's environment."""
    for name in list(os.environ):
        if name.startswith(("PEERINGDB_", "PDB_SYNC_", "NORNIR_PEERING_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(project)
    monkeypatch.setenv("HOME", str(project))
    return project


def doctor(*args: str) -> tuple[int, dict[str, Any], dict[str, dict[str, str]]]:
    """``doctor --json ARGS``: the exit code, the JSON, and each check by name."""
    result = run("doctor", "--json", *args)
    found = json.loads(result.stdout)
    assert found["exit_code"] == result.exit_code
    return result.exit_code, found, {check["name"]: check for check in found["checks"]}


def variant(project: Path, name: str, old: str, new: str) -> str:
    """A copy of the project's config.yaml beside it, ``old`` replaced by ``new``."""
    text = (project / "config.yaml").read_text()
    assert old in text
    (project / name).write_text(text.replace(old, new))
    return name


def only_failed(checks: dict[str, dict[str, str]], *names: str) -> None:
    """These checks failed, each saying what to do; every other one passed."""
    for name, check in checks.items():
        if name in names:
            assert check["status"] == "failed" and check["advice"], check
        else:
            assert check["status"] == "ok", check


def test_everything_passes_on_the_lab(here: Path) -> None:
    code, found, checks = doctor()
    assert code == 0 and found["ok"] is True
    assert list(checks) == NAMES
    for check in found["checks"]:
        assert set(check) == {"name", "status", "detail", "advice"}
        assert check["status"] == "ok" and check["advice"] == "", check
    assert "AS64500 is 'Nornir Peering Lab'" in checks["peeringdb"]["detail"]
    assert "AS64500 is registered" in checks["irr"]["detail"]
    assert checks["router edge3"]["detail"].startswith("frr at 127.0.1.3: FRRouting")
    assert "BIRD 2" in checks["router edge1"]["detail"]
    text = run("doctor")
    assert text.exit_code == 0 and "all 10 checks passed" in text.stdout
    # the selection options pick the routers, as in the other commands
    code, _, checks = doctor("--limit", "edge1")
    assert code == 0 and [n for n in checks if n.startswith("router")] == ["router edge1"]
    code, _, checks = doctor("--platform", "frr")
    assert code == 0 and [n for n in checks if n.startswith("router")] == ["router edge3"]
    code, _, checks = doctor("--limit", "edge9")
    assert code == 1 and checks["routers"]["status"] == "failed"
    assert checks["routers"]["detail"] == "--limit: unknown router(s) edge9"


def test_peeringdb_down(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEERINGDB_URL", f"http://127.0.0.1:{free_port()}/api")
    code, found, checks = doctor("--limit", "edge1")
    assert code == 1 and found["ok"] is False
    only_failed(checks, "peeringdb")
    assert "Connection refused" in checks["peeringdb"]["detail"]
    assert "peeringdb_url" in checks["peeringdb"]["advice"]
    text = run("doctor", "--limit", "edge1")
    assert text.exit_code == 1
    assert "what to do: check peeringdb_url" in text.stdout
    assert "1 of 8 checks failed: peeringdb" in text.stdout


def test_the_api_key_accepted_or_refused(
    here: Path, monkeypatch: pytest.MonkeyPatch, pdb: LabServer
) -> None:
    monkeypatch.setenv("PEERINGDB_URL", pdb.api_url)
    monkeypatch.setenv("PEERINGDB_API_KEY", API_KEY)
    code, _, checks = doctor("--limit", "edge1")
    assert code == 0, checks["peeringdb"]
    assert "API key accepted" in checks["peeringdb"]["detail"]
    wrong = "wrong-key-7f3a9c51d2"
    monkeypatch.setenv("PEERINGDB_API_KEY", wrong)
    result = run("doctor", "--limit", "edge1")
    assert result.exit_code == 1 and wrong not in result.stdout + result.stderr
    code, _, checks = doctor("--limit", "edge1")
    only_failed(checks, "peeringdb")
    assert "the API key was refused (401" in checks["peeringdb"]["detail"]
    assert "api_key" in checks["peeringdb"]["advice"]


def test_a_trickling_peeringdb_fails_at_its_time(
    here: Path, monkeypatch: pytest.MonkeyPatch, pdb: LabServer
) -> None:
    """A byte a second is never late for one read: the whole answer's time limit holds."""
    monkeypatch.setenv("PEERINGDB_URL", pdb.api_url)
    monkeypatch.setenv("NORNIR_PEERING_TIMEOUT", "2")
    pdb.lab.add_fault(Fault(match="/api/net?", trickle=0.5))
    code, _, checks = doctor("--limit", "edge1")
    assert code == 1
    only_failed(checks, "peeringdb")
    assert "no whole answer within 2 s" in checks["peeringdb"]["detail"]


def test_bgpq_missing(here: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NORNIR_PEERING_BGPQ", str(tmp_path / "bgpq4"))
    code, _, checks = doctor("--limit", "edge1")
    assert code == 1
    only_failed(checks, "bgpq")  # the IRR server is asked without it
    assert f"{tmp_path / 'bgpq4'} not found" in checks["bgpq"]["detail"]
    assert "apt install bgpq4" in checks["bgpq"]["advice"]


def test_irr_not_answering(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with SilentServer() as silent:
        monkeypatch.setenv("NORNIR_PEERING_IRR_HOST", silent.address)
        monkeypatch.setenv("NORNIR_PEERING_IRR_TIMEOUT", "0.5")
        code, _, checks = doctor("--limit", "edge1")
        assert silent.accepted == 1
    assert code == 1
    only_failed(checks, "irr")
    assert checks["irr"]["detail"] == f"{silent.address}: timed out"
    assert "irr_host" in checks["irr"]["advice"]


def test_a_router_unreachable(here: Path) -> None:
    lab = Lab(here / "state" / "lab")
    lab.bird.stop("edge2")
    try:
        code, _, checks = doctor()
    finally:
        lab.bird.start("edge2")
    assert code == 1
    only_failed(checks, "router edge2")
    edge2 = checks["router edge2"]
    assert edge2["detail"].startswith("bird at 127.0.1.2: cannot connect to BIRD at ")
    assert "lab up" in edge2["advice"] and "optional_args.socket" in edge2["advice"]
    assert doctor("--limit", "edge2")[0] == 0  # back


def test_redis_down_or_a_wrong_password(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORNIR_PEERING_REDIS_URL", f"rediss://nornir@127.0.0.1:{free_port()}/0")
    code, _, checks = doctor("--limit", "edge1")
    assert code == 1
    only_failed(checks, "redis")
    assert "Connection refused" in checks["redis"]["detail"]
    assert "is Redis running at redis_url" in checks["redis"]["advice"]

    monkeypatch.delenv("NORNIR_PEERING_REDIS_URL")
    wrong = "not-the-password-5e1b"
    monkeypatch.setenv("DOCTOR_REDIS_PASSWORD", wrong)
    config = variant(
        here,
        "wrong-redis.yaml",
        "redis_password: {file: state/lab/redis/password}",
        "redis_password: {env: DOCTOR_REDIS_PASSWORD}",
    )
    result = run("doctor", "--config", config, "--limit", "edge1")
    assert result.exit_code == 1 and wrong not in result.stdout + result.stderr
    code, _, checks = doctor("--config", config, "--limit", "edge1")
    only_failed(checks, "redis")
    assert "invalid username-password pair" in checks["redis"]["detail"]
    assert "refused the login" in checks["redis"]["advice"]


def test_background_jobs_not_configured(here: Path) -> None:
    lines = (here / "config.yaml").read_text().splitlines(keepends=True)
    jobs = ("    redis_", "    job_key")
    (here / "no-jobs.yaml").write_text("".join(x for x in lines if not x.startswith(jobs)))
    code, _, checks = doctor("--config", "no-jobs.yaml", "--limit", "edge1")
    assert code == 0
    assert checks["redis"]["status"] == "skipped"
    assert "not configured" in checks["redis"]["detail"]


def test_a_malformed_inventory(here: Path) -> None:
    shutil.copytree(here / "inventory", here / "broken-inventory", dirs_exist_ok=True)
    with (here / "broken-inventory" / "hosts.yaml").open("a") as hosts:
        hosts.write("edge4: [\n")
    config = variant(
        here, "broken.yaml", "inventory_dir: inventory", "inventory_dir: broken-inventory"
    )
    code, _, checks = doctor("--config", config)
    assert code == 1
    assert checks["inventory"]["status"] == "failed"
    assert "broken-inventory/hosts.yaml:" in checks["inventory"]["detail"]
    assert checks["routers"]["status"] == "skipped"
    assert checks["routers"]["detail"] == "the inventory did not load"
    for name in ("config", "state", "peeringdb", "bgpq", "irr", "redis"):
        assert checks[name]["status"] == "ok", checks[name]
    # no router at all (hosts.yaml as a new project has it): the routers check says so
    (here / "broken-inventory" / "hosts.yaml").write_text("# edge1:\n#   platform: bird\n")
    (here / "broken-inventory" / "peering.yaml").write_text("local_as: {asn: 64500, name: X}\n")
    code, _, checks = doctor("--config", config)
    assert code == 1 and checks["inventory"]["status"] == "ok"
    assert checks["routers"]["status"] == "failed"
    assert checks["routers"]["detail"] == "the inventory has no router"
    assert "inventory/hosts.yaml" in checks["routers"]["advice"]


def test_an_unwritable_or_busy_state_file(here: Path) -> None:
    # the state folder would be inside a file: nothing can be written there
    code, _, checks = doctor("--state", str(here / "config.yaml" / "peering.duckdb"))
    assert code == 1
    assert checks["state"]["status"] == "failed"
    assert "a file is in the way" in checks["state"]["detail"]
    assert "--state" in checks["state"]["advice"]
    assert checks["inventory"]["status"] == "skipped"
    # another writer holds it longer than --wait
    with writer_lock(here / "state" / "peering.duckdb", 0):
        code, _, checks = doctor("--wait", "0.2", "--limit", "edge1")
    assert code == 1
    assert f"(pid {os.getpid()})" in checks["state"]["detail"]
    assert "let it end" in checks["state"]["advice"]


def test_a_config_that_cannot_be_read(here: Path) -> None:
    (here / "unreadable.yaml").write_text("user_defined: [\n")
    code, found, checks = doctor("--config", "unreadable.yaml")
    assert code == 2 and found["ok"] is False
    assert checks["config"]["status"] == "failed"
    assert checks["config"]["detail"].startswith("unreadable.yaml: line 2")
    assert [(c["name"], c["status"]) for c in found["checks"][1:]] == [
        (name, "skipped")
        for name in ("state", "inventory", "peeringdb", "bgpq", "irr", "routers", "redis")
    ]
    assert {c["detail"] for c in found["checks"][1:]} == {"the configuration could not be read"}


def test_a_first_run_in_an_empty_folder(
    here: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = load_settings(here / "config.yaml").peering  # the lab's servers, nothing outside
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PEERINGDB_URL", lab.peeringdb_url)
    monkeypatch.setenv("NORNIR_PEERING_IRR_HOST", lab.irr_host)
    code, found, checks = doctor()
    assert code == 1
    assert checks["config"]["status"] == "failed"
    assert "nornir-peering init" in checks["config"]["advice"]
    assert checks["inventory"]["status"] == "failed"
    assert "hosts.yaml: file not found" in checks["inventory"]["detail"]
    assert "nornir-peering init" in checks["inventory"]["advice"]
    assert checks["state"]["status"] == "ok"
    assert checks["routers"]["status"] == "skipped"
    assert checks["redis"]["status"] == "skipped"  # no job_key, redis_url at its default
    assert [c["name"] for c in found["checks"] if c["status"] == "failed"] == [
        "config",
        "inventory",
    ]
