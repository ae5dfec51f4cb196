"""``render`` and ``configure-routers`` (also ``configure_routers``)."""

from __future__ import annotations

from pathlib import Path

import click

from nornir_peering.cli.jobs import enqueued, tasks_options
from nornir_peering.cli.options import settings_options
from nornir_peering.cli.runlog import Finished, finish, recorded
from nornir_peering.cli.selection import selection_options
from nornir_peering.inventory import Selection
from nornir_peering.jobs.batch import Background
from nornir_peering.report import configure_report, print_json, render_report
from nornir_peering.runbooks.configure import ConfigureReport, configure_routers
from nornir_peering.runbooks.render import render_routers
from nornir_peering.settings import Settings
from nornir_peering.store.runs import RunItem


@click.command()
@settings_options
@selection_options
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write one file per router (ROUTER.conf) here, readable by you only, secrets "
    "included, instead of printing.",
)
@click.option(
    "--show-secrets",
    is_flag=True,
    help="Print BGP passwords as they are; without it they are masked.",
)
def render(
    settings: Settings, selection: Selection, output: Path | None, show_secrets: bool
) -> None:
    """Render router configurations without contacting any router.

    BIRD configurations are checked with `bird -p`; an error shows the
    failing line in context. Exit code 1 if any router failed. Printed
    configurations have their secrets masked; files written with -o are the
    real configuration.
    """
    report = render_routers(settings, selection)
    render_report(report, output, show_secrets=show_secrets)
    if report.failed:
        raise click.exceptions.Exit(1)


@click.command("configure-routers")
@settings_options
@recorded
@selection_options
@click.option("--commit", is_flag=True, help="Commit routers whose diff is not empty.")
@click.option(
    "--no-commit-check",
    "commit_check",
    flag_value=False,
    default=True,
    help="With --commit: commit even when the diff is empty.",
)
@click.option(
    "--confirm",
    type=click.IntRange(min=1),
    default=None,
    metavar="SECONDS",
    help="With --commit: revert automatically unless confirmed; the run confirms "
    "once the router still answers.",
)
@click.option(
    "--force",
    is_flag=True,
    help="With --commit: commit even what removes more sessions than max_removed_sessions "
    "or max_removed_share allow.",
)
@click.option(
    "--replace",
    is_flag=True,
    help="With --commit: replace the whole configuration of the routers whose own data says "
    "'deploy: replace' (without it they are refused).",
)
@tasks_options
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def configure(
    settings: Settings,
    selection: Selection,
    background: Background | None,
    commit: bool,
    commit_check: bool,
    confirm: int | None,
    force: bool,
    replace: bool,
    as_json: bool,
) -> None:
    """Render, show the diff and — with --commit — deploy, router by router in parallel.

    Without --commit this is a dry run: every candidate is discarded. A commit that
    would remove more than max_removed_sessions (10) of a router's BGP sessions, or more
    than max_removed_share (30%) of them, is refused for that router unless --force.
    One run at a time deploys to a router: another waits --wait seconds for it.
    Exit code 1 if any router failed or was refused, 75 if those that failed were
    busy with another run; the others carry on.
    """
    if confirm and not commit:
        raise click.UsageError("--confirm goes with --commit")
    if force and not commit:
        raise click.UsageError("--force goes with --commit")
    if replace and not commit:
        raise click.UsageError("--replace goes with --commit")
    _configure(
        settings, selection, commit, commit_check, confirm, force, replace, as_json, background
    )


@click.command("configure_routers", hidden=True)
@settings_options
@recorded
@selection_options
@click.option(
    "--no-commit-check",
    "commit_check",
    flag_value=False,
    default=True,
    help="Commit even when the diff is empty.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Commit even what removes more sessions than max_removed_sessions "
    "or max_removed_share allow.",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Replace the whole configuration of the routers whose own data says "
    "'deploy: replace' (without it they are refused).",
)
@tasks_options
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def configure_routers_as_peering_manager(
    settings: Settings,
    selection: Selection,
    background: Background | None,
    commit_check: bool,
    force: bool,
    replace: bool,
    as_json: bool,
) -> None:
    """Peering Manager's command, as its crontab writes it: render and deploy
    (``configure-routers --commit``); ``--no-commit-check`` commits an empty diff too,
    ``--limit r1,r2`` picks routers, ``--tasks`` deploys as background jobs. The guards
    on commits apply."""
    _configure(settings, selection, True, commit_check, None, force, replace, as_json, background)


def _configure(
    settings: Settings,
    selection: Selection,
    commit: bool,
    commit_check: bool,
    confirm: int | None,
    force: bool,
    replace: bool,
    as_json: bool,
    background: Background | None,
) -> None:
    report = configure_routers(
        settings,
        selection,
        commit=commit,
        commit_check=commit_check,
        confirm=confirm,
        force=force,
        replace=replace,
        background=background,
    )
    finish(configure_finished(report, as_json))


def configure_finished(report: ConfigureReport, as_json: bool) -> Finished:
    """Print a configure run's outcome; what the run log keeps of it."""
    if report.batch is not None:
        return enqueued(report.batch, as_json)
    if as_json:
        print_json(
            {
                "commit": report.commit,
                "failed": report.failed,
                "routers": [r.as_dict() for r in report.routers],
            }
        )
    else:
        configure_report(report)
    return Finished(
        report.summary,
        [RunItem(r.router, r.status, r.committed, r.diff, r.note) for r in report.routers],
        report.exit_code,
    )
