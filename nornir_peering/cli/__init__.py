"""The ``nornir-peering`` command: click commands that parse options, call
one runbook and print its report. Nothing else lives here."""

from __future__ import annotations

from typing import Any

import click

from nornir_peering import __version__
from nornir_peering.cli.inventory import inventory
from nornir_peering.cli.lab import lab
from nornir_peering.cli.peeringdb import peeringdb_sync
from nornir_peering.cli.query import query
from nornir_peering.errors import PeeringError
from nornir_peering.report import error


class _Commands(click.Group):
    """Turns a :class:`PeeringError` into one line on stderr and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PeeringError as exc:
            error(str(exc))
            ctx.exit(exc.exit_code)


@click.group(
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="nornir-peering")
def cli() -> None:
    """BGP peering operations: PeeringDB cache, router configuration, sessions."""


def _alias(command: click.Command, name: str) -> click.Command:
    """``command`` under an older name (as in existing cron lines), hidden from --help."""
    return click.Command(
        name, params=command.params, callback=command.callback, help=command.help, hidden=True
    )


cli.add_command(peeringdb_sync)
cli.add_command(_alias(peeringdb_sync, "peeringdb_sync"))
cli.add_command(inventory)
cli.add_command(query)
cli.add_command(lab)
main = cli
