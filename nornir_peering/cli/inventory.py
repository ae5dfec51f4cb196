"""``inventory``: the routers, their sessions and the drift from PeeringDB."""

from __future__ import annotations

import click

from nornir_peering.cli.options import settings_options
from nornir_peering.cli.selection import selection_options
from nornir_peering.inventory import Selection, select
from nornir_peering.report import inventory_report
from nornir_peering.runbooks.fleet import load_inventory
from nornir_peering.settings import Settings


@click.command()
@settings_options
@selection_options
@click.option("--sessions", "show_sessions", is_flag=True, help="List every session.")
@click.option(
    "--problems", "show_problems", is_flag=True, help="List drift between intent and PeeringDB."
)
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON.")
def inventory(
    settings: Settings,
    selection: Selection,
    show_sessions: bool,
    show_problems: bool,
    as_json: bool,
) -> None:
    """Show the routers and the BGP sessions they should have.

    Sessions are what inventory/ asks for, completed from the PeeringDB
    cache: peer addresses at each IX, names, AS-SETs, max-prefix limits.
    """
    loaded = load_inventory(settings)
    chosen = select(loaded.inventory, selection)
    shown = set(selection.ixes) or {
        c["ix"] for host in chosen.hosts.values() for c in host.data["connections"]
    }
    problems = [p for p in loaded.problems if p.ix is None or p.ix in shown]
    inventory_report(
        chosen, problems, sessions=show_sessions, problems_only=show_problems, as_json=as_json
    )
