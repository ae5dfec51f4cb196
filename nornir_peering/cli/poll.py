"""``poll-bgp-sessions`` (also ``poll_bgp_sessions``)."""

from __future__ import annotations

import click

from nornir_peering.cli.jobs import enqueued, tasks_options
from nornir_peering.cli.options import settings_options
from nornir_peering.cli.runlog import Finished, finish, recorded
from nornir_peering.cli.selection import selection_options
from nornir_peering.inventory import Selection
from nornir_peering.jobs.batch import Background
from nornir_peering.report import poll_report, print_json
from nornir_peering.runbooks.poll import ALL, PollReport, poll_bgp_sessions
from nornir_peering.settings import Settings
from nornir_peering.store.runs import RunItem


@click.command("poll-bgp-sessions")
@settings_options
@recorded
@selection_options
@tasks_options
@click.option("--json", "as_json", is_flag=True, help="Print every session as JSON.")
def poll(
    settings: Settings, selection: Selection, background: Background | None, as_json: bool
) -> None:
    """Poll the BGP sessions of every selected router, in parallel, and store them.

    Routers whose data says poll: false are left out. Ends with what needs
    attention: sessions not Established, near their max-prefix limit, on the
    router but not in the inventory, or in the inventory but not on the
    router. Exit code 1 if a router could not be polled.
    """
    finish(poll_finished(poll_bgp_sessions(settings, selection, background=background), as_json))


@click.command("poll_peering_sessions", hidden=True)
@settings_options
@recorded
@click.option("-a", "--all", "everything", is_flag=True, help="Every session (the default).")
@click.option(
    "-g",
    "--bgp-groups",
    "--group",
    "bgp_groups",
    multiple=True,
    is_flag=False,
    flag_value=ALL,
    metavar="[BGP_GROUP]",
    help="Sessions of this BGP group, or of every BGP group without a name (repeatable).",
)
@click.option(
    "-i",
    "--internet-exchanges",
    "--ix",
    "ixes",
    multiple=True,
    is_flag=False,
    flag_value=ALL,
    metavar="[IX]",
    help="Sessions at this IX, or at every IX without a name (repeatable).",
)
@click.option("--json", "as_json", is_flag=True)
def poll_peering_sessions(
    settings: Settings,
    everything: bool,
    bgp_groups: tuple[str, ...],
    ixes: tuple[str, ...],
    as_json: bool,
) -> None:
    """Peering Manager's older command, as its crontab writes it: ``--all`` (``-a``),
    ``--bgp-groups`` (``-g``), ``--internet-exchanges`` (``-i``); -g and -i also take a
    BGP group or an IX by name."""
    if everything:
        bgp_groups, ixes = (), ()
    report = poll_bgp_sessions(settings, Selection(), bgp_groups=bgp_groups, ixes=ixes)
    finish(poll_finished(report, as_json))


def poll_finished(report: PollReport, as_json: bool) -> Finished:
    """Print a poll's outcome; what the run log keeps of it."""
    if report.batch is not None:
        return enqueued(report.batch, as_json)
    if as_json:
        print_json(report.as_dict())
    else:
        poll_report(report)
    return Finished(
        f"{len(report.routers) - len(report.failed)} routers polled, "
        f"{sum(r.up for r in report.routers if r.reachable)} sessions up"
        + (f", {len(report.failed)} unreachable" if report.failed else ""),
        [
            RunItem(r.router, "polled", note=f"{r.up}/{len(r.sessions)} sessions up")
            if r.reachable
            else RunItem(r.router, "unreachable", note=r.error)
            for r in report.routers
        ],
        1 if report.failed else 0,
    )
