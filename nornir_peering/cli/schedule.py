"""``schedule``: the crontab lines, or systemd units, of the five scheduled tasks."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from nornir_peering.errors import ConfigError
from nornir_peering.report import out
from nornir_peering.schedule import crontab, systemd_units, write_units
from nornir_peering.settings import DEFAULT_CONFIG


def installed_command() -> str:
    """The absolute path of the ``nornir-peering`` command this Python runs."""
    beside = Path(sys.executable).parent / "nornir-peering"
    if beside.is_file():
        return str(beside.absolute())
    found = shutil.which("nornir-peering")
    if not found:
        raise ConfigError("cannot find the nornir-peering command: give its path with --command")
    return str(Path(found).absolute())


@click.command()
@click.option(
    "--directory",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="The project directory the tasks run in, with its config.yaml (default: this one).",
)
@click.option("--command", "command", default=None, help="The nornir-peering command's path.")
@click.option("--user", default=None, help="Run as this user (adds the user field of /etc/cron.d).")
@click.option(
    "--systemd",
    "systemd_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="Write a systemd service and timer per task, and the workers' service, into DIR instead.",
)
def schedule(
    directory: Path | None, command: str | None, user: str | None, systemd_dir: Path | None
) -> None:
    """The scheduled tasks at Peering Manager's cadence: PeeringDB sync at 02:30,
    configure-routers --commit at :55 every hour, polling every hour, the IX check
    at midnight, prefix collection at 04:30. Prints crontab lines (crontab -e, or
    /etc/cron.d with --user), or writes systemd units (--systemd DIR)."""
    folder = str((directory or Path.cwd()).absolute())
    if not (Path(folder) / DEFAULT_CONFIG).is_file():
        raise ConfigError(f"{folder}: no {DEFAULT_CONFIG} here (--directory: the project's)")
    program = command or installed_command()
    if not Path(program).is_absolute():
        raise ConfigError(f"--command {program}: cron and systemd need an absolute path")
    if systemd_dir is None:
        out().print(crontab(program, folder, user), end="", highlight=False, markup=False)
        return
    for path in write_units(systemd_dir, systemd_units(program, folder, user)):
        out().print(str(path), highlight=False, markup=False)
    out().print(
        f"then: cp {systemd_dir}/nornir-peering-* /etc/systemd/system/ && systemctl "
        "daemon-reload && systemctl enable --now nornir-peering-peeringdb-sync.timer ...",
        highlight=False,
        markup=False,
    )
