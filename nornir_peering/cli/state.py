"""``state check``, ``state rebuild`` and ``state backup PATH``: the state file itself."""

from __future__ import annotations

from pathlib import Path

import click

from nornir_peering.cli.options import settings_options
from nornir_peering.report import backup_report, check_report, print_json, rebuild_report
from nornir_peering.settings import Settings
from nornir_peering.store.health import backup, check, rebuild


@click.group()
def state() -> None:
    """Check, rebuild or back up the state file."""


@state.command("check")
@settings_options
@click.option("--json", "as_json", is_flag=True)
def check_command(settings: Settings, as_json: bool) -> None:
    """Check that every table of the state file reads.

    The file is opened read-only and every row of every table read. Exit 0 when it
    reads whole, 1 when it is damaged, 2 when it is not a state file (or one newer than
    this nornir-peering)."""
    found = check(settings.peering.state, settings.peering.lock_wait)
    if as_json:
        print_json(found.as_dict())
    else:
        check_report(found)
    if found.exit_code:
        raise click.exceptions.Exit(found.exit_code)


@state.command("rebuild")
@settings_options
@click.option("--force", is_flag=True, help="Rebuild a state file that reads whole, too.")
@click.option("--json", "as_json", is_flag=True)
def rebuild_command(settings: Settings, force: bool, as_json: bool) -> None:
    """Rebuild a damaged state file, keeping its history.

    A new file is built in its place: the history (run log, session history, PeeringDB
    port changes, sync records, collected batches) copied wherever it still reads, the
    rest copied when it reads whole or left for the next runs to fetch again. The old
    file is kept beside it as peering.duckdb.damaged-<UTC time>."""
    done = rebuild(settings.peering.state, settings.peering.lock_wait, force=force)
    if as_json:
        print_json(done.as_dict())
    else:
        rebuild_report(done)


@state.command("backup")
@settings_options
@click.argument("target", type=click.Path(path_type=Path), metavar="PATH")
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@click.option("--json", "as_json", is_flag=True)
def backup_command(settings: Settings, target: Path, force: bool, as_json: bool) -> None:
    """Back the state file up to PATH.

    A consistent copy, taken under the writer lock while readers carry on, written to
    PATH (a file, or a folder to write it into) atomically."""
    done = backup(settings.peering.state, target, settings.peering.lock_wait, force=force)
    if as_json:
        print_json(done.as_dict())
    else:
        backup_report(done)
