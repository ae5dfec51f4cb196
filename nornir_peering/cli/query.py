"""``query``: read-only SQL against the state file."""

from __future__ import annotations

import click
import duckdb

from nornir_peering.cli.options import settings_options
from nornir_peering.errors import ConfigError
from nornir_peering.report import print_json, print_rows
from nornir_peering.settings import Settings
from nornir_peering.store import open_state
from nornir_peering.store.faults import state_error


@click.command()
@settings_options
@click.argument("sql")
@click.option("--json", "as_json", is_flag=True, help="Print rows as a JSON list of objects.")
def query(settings: Settings, sql: str, as_json: bool) -> None:
    """Run a read-only SQL query on the state file.

    \b
    Example:
      nornir-peering query "SELECT asn, name, irr_as_set FROM pdb_net WHERE asn = 64500"
    """
    peering = settings.peering
    with open_state(peering.state, wait=peering.lock_wait) as db:
        try:
            result = db.execute(sql)
            columns = [d[0] for d in result.description or []]
            rows = result.fetchall()
        except duckdb.Error as exc:
            if state_error(peering.state, exc) is not None:
                raise  # the file, not the query: open_state says so
            raise ConfigError(f"query: {str(exc).splitlines()[0]}") from None
    if as_json:
        print_json([dict(zip(columns, row, strict=True)) for row in rows])
    else:
        print_rows(columns, rows)
