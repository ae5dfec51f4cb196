"""``peeringdb-sync`` (also ``peeringdb_sync``)."""

from __future__ import annotations

import sys

import click

from nornir_peering.cli.jobs import enqueued, tasks_options
from nornir_peering.cli.options import settings_options
from nornir_peering.cli.runlog import Finished, finish, note, recorded
from nornir_peering.errors import PeeringError
from nornir_peering.jobs.batch import Background
from nornir_peering.peeringdb.schema import TAGS
from nornir_peering.peeringdb.sync import SyncReport, flush_peeringdb, sync_peeringdb
from nornir_peering.report import SyncProgress, out, print_json, sync_table
from nornir_peering.settings import Settings


def _interactive() -> bool:
    """Whether a person is at the terminal to answer a question."""
    return sys.stdin.isatty()


@click.command("peeringdb-sync")
@settings_options
@recorded
@click.option("--full", is_flag=True, help="Download everything, ignoring the sync cursors.")
@click.option("--flush", is_flag=True, help="Remove all PeeringDB data and cursors, then stop.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before --flush.")
@tasks_options
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def peeringdb_sync(
    settings: Settings,
    background: Background | None,
    full: bool,
    flush: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Keep the local PeeringDB cache up to date.

    The first run downloads everything; later runs ask only for what changed
    since the last one. All object types are applied in one transaction: a
    sync that fails or is killed leaves the cache as it was. With --tasks, workers
    download each type and this command applies them.
    """
    peering = settings.peering
    if flush and background is not None:
        raise click.UsageError("--flush runs here, not as a job: leave out --tasks")
    if flush:
        if not yes and _interactive():
            click.confirm(
                f"Remove all PeeringDB data and sync cursors from {peering.state}?", abort=True
            )
        removed = flush_peeringdb(peering)
        note(f"flushed {sum(removed.values())} PeeringDB objects")
        if as_json:
            print_json({"ok": True, "flushed": removed})
        else:
            out().print(
                f"removed {sum(removed.values())} PeeringDB objects and all sync cursors "
                f"from {peering.state}"
            )
        return
    progress = SyncProgress(TAGS)
    try:
        with progress.shown():
            report = sync_peeringdb(peering, full=full, progress=progress, background=background)
    except PeeringError as exc:
        note(f"failed: {exc}")
        if as_json:
            print_json({"ok": False, "error": str(exc)})
        raise
    finish(sync_finished(report, as_json))


def sync_finished(report: SyncReport, as_json: bool) -> Finished:
    """Print a sync's outcome; what the run log keeps of it."""
    if report.batch is not None:
        return enqueued(report.batch, as_json)
    if as_json:
        print_json({"ok": True, **report.as_dict()})
    else:
        out().print(sync_table(report))
    return Finished(report.summary)
