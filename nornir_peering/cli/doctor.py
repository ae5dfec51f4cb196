"""``doctor``: check what a first run needs, and say what to do about each failure."""

from __future__ import annotations

from pathlib import Path

import click

from nornir_peering.cli.jobs import INSECURE_REDIS
from nornir_peering.cli.options import settings_flags
from nornir_peering.cli.selection import selection_options
from nornir_peering.doctor import diagnose
from nornir_peering.inventory import Selection
from nornir_peering.report import doctor_report, print_json


@click.command()
@settings_flags
@selection_options
@INSECURE_REDIS
@click.option("--json", "as_json", is_flag=True, help="Print every check as JSON.")
def doctor(
    config_file: Path | None,
    state: Path | None,
    wait: float | None,
    selection: Selection,
    insecure_redis: bool,
    as_json: bool,
) -> None:
    """Check what a first run needs: the configuration and inventory, the state file,
    PeeringDB (and its API key), bgpq4 or bgpq3 and the IRR server, every selected
    router through its NAPALM driver (get_facts, all at once), and Redis when
    background jobs are configured.

    Every failure comes with what to do. Exit code 0 when every check passes, 1 when
    one fails, 2 when the configuration cannot be read."""
    found = diagnose(
        config_file,
        {"state": state, "lock_wait": wait},
        selection,
        insecure_redis=insecure_redis,
    )
    if as_json:
        print_json(found.as_dict())
    else:
        doctor_report(found)
    if found.exit_code:
        raise click.exceptions.Exit(found.exit_code)
