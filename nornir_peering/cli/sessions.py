"""``sessions``: the stored BGP state, without contacting routers."""

from __future__ import annotations

import click

from nornir_peering.cli.options import settings_options
from nornir_peering.cli.selection import selection_options
from nornir_peering.inventory import Selection
from nornir_peering.report import print_json, print_rows
from nornir_peering.runbooks.sessions import stored_sessions
from nornir_peering.settings import Settings


@click.command()
@settings_options
@selection_options
@click.option(
    "--bgp-state",
    default=None,
    metavar="STATE",
    help="Only sessions in this state (Established, Active, 'not configured', ...). "
    "(--state names the state file, as on every command.)",
)
@click.option(
    "--at",
    "ix",
    default=None,
    metavar="SLUG",
    help="Only sessions at this IX (--ix selects routers).",
)
@click.option("--asn", type=int, default=None, help="Only sessions with this remote AS.")
@click.option("--history", is_flag=True, help="Show the state changes instead.")
@click.option("--json", "as_json", is_flag=True)
def sessions(
    settings: Settings,
    selection: Selection,
    bgp_state: str | None,
    ix: str | None,
    asn: int | None,
    history: bool,
    as_json: bool,
) -> None:
    """The BGP sessions as last polled, or their history, from the state file."""
    view = stored_sessions(
        settings, selection, bgp_state=bgp_state, ix=ix, asn=asn, history=history
    )
    if as_json:
        print_json(view.as_dicts())
    else:
        print_rows(
            view.columns,
            view.rows,
            title="Session history" if history else "Sessions, as last polled",
        )
