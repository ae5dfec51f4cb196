"""``runs``: the run log, and ``runs show ID``: one run with its diffs."""

from __future__ import annotations

import click

from nornir_peering.cli.options import settings_options
from nornir_peering.errors import PeeringError
from nornir_peering.report import print_json, run_report, runs_report
from nornir_peering.settings import Settings
from nornir_peering.store import open_state
from nornir_peering.store.journal import settle
from nornir_peering.store.runs import one, recent


@click.group(invoke_without_command=True)
@settings_options
@click.option("--last", type=click.IntRange(min=1), default=20, help="How many runs (20).")
@click.option(
    "--command",
    "commands",
    multiple=True,
    metavar="NAME",
    help="Only runs of this command, as typed (repeatable).",
)
@click.option("--failed", is_flag=True, help="Only runs that exited non-zero.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def runs(
    ctx: click.Context,
    settings: Settings,
    last: int,
    commands: tuple[str, ...],
    failed: bool,
    as_json: bool,
) -> None:
    """What the runbooks did, newest first: by hand, from cron or as background jobs.
    ``runs show ID`` shows one run with every router's diff, committed or not."""
    ctx.obj = settings
    if ctx.invoked_subcommand:
        return
    settle(settings.peering.state, settings.peering.lock_wait)  # runs killed: interrupted
    with open_state(settings.peering.state, wait=settings.peering.lock_wait) as db:
        found = recent(db, last=last, command=commands, failed=failed)
    if as_json:
        print_json([run.as_dict(diffs=False) for run in found])
    else:
        runs_report(found)


@runs.command()
@click.argument("run_id", type=int, metavar="ID")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def show(settings: Settings, run_id: int, as_json: bool) -> None:
    """One run: its command and options, times, exit code, each router's outcome and
    diff."""
    with open_state(settings.peering.state, wait=settings.peering.lock_wait) as db:
        run = one(db, run_id)
    if run is None:
        raise PeeringError(f"no run {run_id} in the run log of {settings.peering.state}")
    if as_json:
        print_json(run.as_dict())
    else:
        run_report(run)
