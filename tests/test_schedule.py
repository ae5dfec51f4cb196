"""Automatic execution: Peering Manager's crontab lines as written, run one by one on the
lab through a shell as cron would; ``schedule``'s crontab lines and systemd units."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from nornir_peering.lab.control import Lab
from nornir_peering.schedule import TASKS, systemd_units
from tests.helpers import bgp_states, run, wait_until

REPO = Path(__file__).parent.parent
# the command of the Python running the tests, as `schedule` finds it
NORNIR_PEERING = str((Path(sys.executable).parent / "nornir-peering").absolute())

# Peering Manager's "Scheduled Tasks" page, both versions (shared/reference), and
# --no-commit-check, --limit and the long poll options its text documents
PEERING_MANAGER_CRONTAB = """\
30 2 * * * user cd /opt/peering-manager && venv/bin/python3 manage.py peeringdb_sync
55 * * * * user cd /opt/peering-manager && venv/bin/python3 manage.py configure_routers
0  * * * * user cd /opt/peering-manager && venv/bin/python3 manage.py poll_peering_sessions --all
0  0 * * * user cd /opt/peering-manager && python3 manage.py check_for_ix_peering_sessions
30 4 * * * user cd /opt/peering-manager && venv/bin/python3 manage.py grab_prefixes --limit 100
0  * * * * user cd /opt/peering-manager && venv/bin/python3 manage.py poll_bgp_sessions
0  * * * * user cd /opt/peering-manager && python3 manage.py poll_peering_sessions -a
0  * * * * user cd /opt/peering-manager && python3 manage.py poll_peering_sessions -g -i
55 * * * * user cd /opt/peering-manager && venv/bin/python3 manage.py configure_routers \
--no-commit-check --limit edge1,edge2
"""
# what the lab answers: AS65004's AS-SET (AS-EVIL) is in no IRR, so grab_prefixes
# stores every other list and exits 1
EXIT_CODES = [0, 0, 0, 0, 1, 0, 0, 0, 0]


def as_our_command(line: str, project: Path) -> str:
    """A crontab line with nornir-peering for ``python3 manage.py``, in ``project``."""
    command = line.split(maxsplit=6)[6]  # after the five time fields and the user
    command = command.replace("cd /opt/peering-manager", f"cd {project}")
    return re.sub(r"(venv/bin/)?python3 manage\.py", NORNIR_PEERING, command)


def shell(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", "-c", command], capture_output=True, text=True, timeout=300, check=False
    )


def test_peering_managers_crontab_runs_as_written(lab: Lab, project: Path) -> None:
    lines = PEERING_MANAGER_CRONTAB.splitlines()
    codes = []
    for number, line in enumerate(lines):
        done = shell(as_our_command(line, project))
        codes.append(done.returncode)
        assert "No such option" not in done.stderr, (line, done.stderr)
        if number == 1:  # configure_routers deploys, as in Peering Manager
            wait_until(lambda: len(bgp_states(lab, "edge1")) == 16)
            wait_until(lambda: len(bgp_states(lab, "edge2")) == 12)
    assert codes == EXIT_CODES, [(line, code) for line, code in zip(lines, codes, strict=True)]
    assert "--no-commit-check" in lines[-1]
    listed = run("runs", "--last", str(len(lines)), "--json")
    assert listed.exit_code == 0
    assert '"command": "configure_routers"' in listed.stdout


def test_schedule_prints_every_task_at_peering_managers_cadence(lab: Lab, project: Path) -> None:
    result = run("schedule")
    assert result.exit_code == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if not line.startswith("#")]
    parsed = [line.split(maxsplit=5) for line in lines]
    assert [" ".join(p[:5]) for p in parsed] == [
        "30 2 * * *",
        "55 * * * *",
        "0 * * * *",
        "0 0 * * *",
        "30 4 * * *",
    ]
    commands = [p[5] for p in parsed]
    assert commands[1] == f"cd {project} && {NORNIR_PEERING} configure-routers --commit"
    assert all(c.startswith(f"cd {project} && {NORNIR_PEERING} ") for c in commands)
    # each line runs as cron would run it: poll and the IX check here
    for command in (commands[2], commands[3]):
        done = shell(command)
        assert done.returncode == 0, (command, done.stderr)


def test_schedule_for_cron_d_has_a_user_field(lab: Lab) -> None:
    result = run("schedule", "--user", "peering")
    assert result.stdout.splitlines()[1].split()[5] == "peering"


def test_schedule_refuses_a_directory_without_config(tmp_path: Path) -> None:
    result = run("schedule", "--directory", str(tmp_path))
    assert result.exit_code == 2
    assert "no config.yaml here" in result.stderr
    assert run("schedule", "--command", "nornir-peering").exit_code == 2


def test_systemd_units_verify(lab: Lab, project: Path, tmp_path: Path) -> None:
    result = run("schedule", "--systemd", str(tmp_path / "units"))
    assert result.exit_code == 0, result.stderr
    units = sorted(tmp_path.joinpath("units").iterdir())
    assert [u.name for u in units] == sorted(
        [f"nornir-peering-{t.name}.{kind}" for t in TASKS for kind in ("service", "timer")]
        + ["nornir-peering-worker.service"]
    )
    verify = subprocess.run(
        ["systemd-analyze", "verify", *map(str, units)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stderr
    assert verify.stderr == ""
    sync = (tmp_path / "units" / "nornir-peering-grab-prefixes.service").read_text()
    assert "After=nornir-peering-peeringdb-sync.service" in sync
    assert f"ExecStart={NORNIR_PEERING} grab-prefixes\n" in sync
    assert f"WorkingDirectory={project}\n" in sync
    timer = (tmp_path / "units" / "nornir-peering-configure-routers.timer").read_text()
    assert "OnCalendar=*-*-* *:55:00\n" in timer
    worker = (tmp_path / "units" / "nornir-peering-worker.service").read_text()
    assert f"ExecStart={NORNIR_PEERING} worker --workers 4\n" in worker


def test_contrib_units_are_what_schedule_writes() -> None:
    expected = systemd_units(
        "/opt/nornir-peering/.venv/bin/nornir-peering", "/opt/nornir-peering", "nornir-peering"
    )
    shipped = {p.name: p.read_text() for p in (REPO / "contrib" / "systemd").iterdir()}
    assert shipped == expected
