"""Secrets on the lab: the MD5 peer's password comes from ``LAB_AS65005_PASSWORD``, as in
the demo (``tests/conftest.py`` draws it at random). Every command of the demo runs, and
the password is nowhere in what they print, in the state file or in the logs; yet the
sessions come up, so the real password reached BIRD and FRR."""

from __future__ import annotations

import json
import re
import shlex
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from nornir_peering.lab.control import Lab
from nornir_peering.lab.topology import PASSWORD_VARIABLES
from nornir_peering.templating.filters import cisco_password, juniper_password
from tests.helpers import run

REPO = Path(__file__).parent.parent
COMMAND = Path(sys.executable).parent / "nornir-peering"


def forms(secret: str) -> set[str]:
    """The secret as any of the example templates writes it."""
    return {secret, cisco_password(secret), juniper_password(secret)}


def demo_steps() -> list[tuple[int, list[str]]]:
    """The demo's commands, as ``./run demo`` runs them: (exit code expected, argv)."""
    text = (REPO / "run").read_text()
    body = text[text.index("\ndemo() {") : text.index("\n}\n", text.index("\ndemo() {"))]
    steps = []
    for line in body.splitlines():
        found = re.match(r"\s+(step|expect (\d+)) (nornir-peering .*)$", line)
        if found:
            argv = shlex.split(found.group(3).replace('"$lab', '"state/lab'))
            steps.append((int(found.group(2) or 0), argv[1:]))
    return steps


@pytest.fixture
def logged(project: Path) -> Iterator[Path]:
    """The project with Nornir's log enabled, into a file: where secrets must not go."""
    log = project / "nornir.log"
    config = project / "config.yaml"
    text = config.read_text()
    logging = re.search(r"^logging:\n(?:  .*\n|\s+#.*\n)+", text, re.M)
    assert logging is not None
    config.write_text(
        text.replace(
            logging.group(0), f"logging:\n  enabled: true\n  level: DEBUG\n  log_file: {log}\n"
        )
    )
    yield log
    config.write_text(text)


def shell(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``nornir-peering ARGS`` as a process, as cron runs it; the lab's commands on the
    project's lab port."""
    if args[:1] == ("lab",) and args[1] in ("load", "status", "stop"):
        found = re.search(r"127\.0\.0\.1:(\d+)/api", (project / "config.yaml").read_text())
        assert found is not None
        args = (*args, "--port", found.group(1))
    return subprocess.run(
        [str(COMMAND), *args], cwd=project, capture_output=True, text=True, timeout=300
    )


def test_the_demo_never_shows_the_password(project: Path, logged: Path, lab_password: str) -> None:
    steps = demo_steps()
    assert len(steps) > 20 and steps[0] == (0, ["lab", "up"])
    shown: dict[str, str] = {}
    for expected, argv in steps[1:]:  # the project's lab is up already
        done = shell(project, *argv)
        assert done.returncode == expected, (argv, done.stderr)
        shown[" ".join(argv)] = done.stdout + done.stderr
    # the MD5 sessions came up: BIRD (edge1) and FRR (edge3) got the real password
    assert "lab status --until-established 60" in shown
    routers = json.loads(shell(project, "lab", "status", "--json").stdout)["routers"]
    md5 = {
        peer: state
        for row in routers
        if row["asn"] == 65005
        for peer, state in row["sessions"].items()
    }
    # edge1 (BIRD) and edge3 (FRR), each in both families
    assert set(md5) == {"127.0.2.1", "127.0.2.3", "fd00:7f8:2::1", "fd00:7f8:2::3"}, md5
    assert set(md5.values()) == {"Established"}, md5
    # --json everywhere the secret could be: sessions, diffs, the run log
    for argv in (
        ["inventory", "--json"],
        ["inventory", "--sessions", "--json"],
        ["configure-routers", "--json"],
        ["poll-bgp-sessions", "--json"],
        ["sessions", "--json"],
        ["runs", "--json"],
        ["render"],
    ):
        done = shell(project, *argv)
        assert done.returncode == 0, (argv, done.stderr)
        shown[" ".join(argv)] = done.stdout + done.stderr
    runs = json.loads(shell(project, "runs", "--json", "--command", "configure-routers").stdout)
    committed = [r for r in runs if r["options"].get("commit")]
    assert committed
    diffs = json.loads(shell(project, "runs", "show", str(committed[-1]["id"]), "--json").stdout)
    shown["runs show"] = json.dumps(diffs)
    # the first commit's diff added the password, masked
    assert '+  password \\"********\\" (secret ' in shown["runs show"]
    for name, text in shown.items():
        assert all(form not in text for form in forms(lab_password)), name
    # the log was written, and holds none of it
    log = logged.read_text()
    assert "configure-routers" in log or "deploy_config" in log
    assert all(form not in log for form in forms(lab_password))
    state_holds_no_secret(project / "state", lab_password)


def state_holds_no_secret(state: Path, secret: str) -> None:
    """Neither a text column of the state file nor its bytes hold ``secret``; nor do the
    other files beside it (router locks), the lab's own folder aside."""
    db = duckdb.connect(str(state / "peering.duckdb"), read_only=True)
    columns = db.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE data_type IN ('VARCHAR', 'JSON')"
    ).fetchall()
    assert ("run_items", "diff") in columns
    for table, column in columns:
        for form in forms(secret):
            [(count,)] = db.execute(
                f'SELECT count(*) FROM "{table}" WHERE contains("{column}"::VARCHAR, ?)', [form]
            ).fetchall()
            assert count == 0, (table, column)
    db.close()
    for path in state.rglob("*"):
        if path.is_file() and "lab" not in path.relative_to(state).parts:
            data = path.read_bytes()
            assert all(form.encode() not in data for form in forms(secret)), path


def test_a_missing_variable_fails_only_the_routers_that_need_it(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    variable = PASSWORD_VARIABLES[65005]
    monkeypatch.delenv(variable)
    result = run("configure-routers", "--json")
    assert result.exit_code == 1
    routers = {r["router"]: r for r in json.loads(result.stdout)["routers"]}
    for name in ("edge1", "edge3"):  # at lab-ix-2, where AS65005 is wanted
        assert routers[name]["status"] == "failed"
        assert (
            f"AS65005 127.0.2.15's password {{env: {variable}}}: the environment variable is "
            "not set" in routers[name]["note"]
        )
    assert routers["edge2"]["status"] != "failed"
    rendered = run("render", "--limit", "edge1")
    assert rendered.exit_code == 1 and f"{{env: {variable}}}" in rendered.stderr


def test_render_prints_masked_and_writes_private_files(
    project: Path, lab_password: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    printed = run("render", "--limit", "edge1,edge3")
    assert printed.exit_code == 0
    assert lab_password not in printed.stdout
    assert 'password "********" (secret ' in printed.stdout  # BIRD
    assert "password ******** (secret " in printed.stdout  # FRR
    shown = run("render", "--limit", "edge1", "--show-secrets")
    assert f'password "{lab_password}";' in shown.stdout
    folder = project / "state" / "private-render"
    folder.mkdir()
    (folder / "edge1.conf").write_text("old\n")
    (folder / "edge1.conf").chmod(0o644)  # an existing file is made private too
    assert run("render", "--limit", "edge1,edge3", "-o", str(folder)).exit_code == 0
    for name in ("edge1", "edge3"):
        path = folder / f"{name}.conf"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert lab_password in path.read_text()  # the deployable artefact
