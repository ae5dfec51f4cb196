"""``poll-bgp-sessions`` (also ``poll_bgp_sessions``)."""

from __future__ import annotations

import click

from nornir_peering.cli.options import settings_options
from nornir_peering.cli.selection import selection_options
from nornir_peering.inventory import Selection
from nornir_peering.report import poll_report, print_json
from nornir_peering.runbooks.poll import poll_bgp_sessions
from nornir_peering.settings import Settings


@click.command("poll-bgp-sessions")
@settings_options
@selection_options
@click.option("--json", "as_json", is_flag=True, help="Print every session as JSON.")
def poll(settings: Settings, selection: Selection, as_json: bool) -> None:
    """Poll the BGP sessions of every selected router, in parallel, and store them.

    Routers whose data says poll: false are left out. Ends with what needs
    attention: sessions not Established, near their max-prefix limit, on the
    router but not in the inventory, or in the inventory but not on the
    router. Exit code 1 if a router could not be polled.
    """
    report = poll_bgp_sessions(settings, selection)
    if as_json:
        print_json(report.as_dict())
    else:
        poll_report(report)
    if report.failed:
        raise click.exceptions.Exit(1)
