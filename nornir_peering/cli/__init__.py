"""The ``nornir-peering`` command: click commands that parse options, call
one runbook and print its report. Nothing else lives here.

Commands are imported when they are run, so that a nightly
``peeringdb-sync`` does not pay for loading Nornir, and the reverse.
"""

from __future__ import annotations

import importlib
import logging
import sys
import traceback
from typing import Any

import click

from nornir_peering import __version__
from nornir_peering.errors import PeeringError
from nornir_peering.interrupt import Interrupted, handle_signals, interrupted, stopped
from nornir_peering.report import error
from nornir_peering.secrets import mask

_log = logging.getLogger("nornir_peering")

# name → (module, attribute); the second name of a pair is an older one kept
# for existing cron lines, hidden from --help
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("nornir_peering.cli.init", "init"),
    "peeringdb-sync": ("nornir_peering.cli.peeringdb", "peeringdb_sync"),
    "peeringdb_sync": ("nornir_peering.cli.peeringdb", "peeringdb_sync"),
    "inventory": ("nornir_peering.cli.inventory", "inventory"),
    "render": ("nornir_peering.cli.configure", "render"),
    "configure-routers": ("nornir_peering.cli.configure", "configure"),
    # deploys, as Peering Manager's does; configure-routers is a dry run without --commit
    "configure_routers": ("nornir_peering.cli.configure", "configure_routers_as_peering_manager"),
    "poll-bgp-sessions": ("nornir_peering.cli.poll", "poll"),
    "poll_bgp_sessions": ("nornir_peering.cli.poll", "poll"),
    "poll_peering_sessions": ("nornir_peering.cli.poll", "poll_peering_sessions"),
    "grab-prefixes": ("nornir_peering.cli.prefixes", "grab"),
    "grab_prefixes": ("nornir_peering.cli.prefixes", "grab"),
    "prefixes": ("nornir_peering.cli.prefixes", "prefixes"),
    "check-ix-sessions": ("nornir_peering.cli.ix_sessions", "check"),
    "check_for_ix_peering_sessions": ("nornir_peering.cli.ix_sessions", "check"),
    "sessions": ("nornir_peering.cli.sessions", "sessions"),
    "runs": ("nornir_peering.cli.runs", "runs"),
    "worker": ("nornir_peering.cli.jobs", "worker"),
    "jobs": ("nornir_peering.cli.jobs", "jobs"),
    "schedule": ("nornir_peering.cli.schedule", "schedule"),
    "query": ("nornir_peering.cli.query", "query"),
    "state": ("nornir_peering.cli.state", "state"),
    "lab": ("nornir_peering.cli.lab", "lab"),
    "doctor": ("nornir_peering.cli.doctor", "doctor"),
}
HIDDEN = {
    "peeringdb_sync",
    "configure_routers",
    "poll_bgp_sessions",
    "grab_prefixes",
    "check_for_ix_peering_sessions",
}


class _Commands(click.Group):
    """Loads commands on demand; turns a :class:`PeeringError` into one line
    on stderr and its exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if name not in HIDDEN]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name]
        command: click.Command = getattr(importlib.import_module(module), attribute)
        if name in HIDDEN:
            return click.Command(
                name,
                params=command.params,
                callback=command.callback,
                help=command.help,
                hidden=True,
            )
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
        except PeeringError as exc:
            if exc.__cause__ is not None and _log.hasHandlers():  # logging on: the details
                _log.error("%s", exc, exc_info=exc)
            error(str(exc))
            _exit_stopped(ctx)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (main)
            _exit_stopped(ctx, interrupted(exc))
        except click.exceptions.Exit:
            _exit_stopped(ctx)
            raise
        except Exception:
            # a signal that stops the run inside a library call (DuckDB answers it with
            # "Query interrupted") is still a stop, not a bug
            _exit_stopped(ctx)
            raise
        _exit_stopped(ctx)
        return result


def _exit_stopped(ctx: click.Context, stop: Interrupted | None = None) -> None:
    """A run asked to stop (Ctrl-C, SIGTERM) ends saying so, with 128 + the signal's
    number, whatever it did before it stopped."""
    stop = stop or stopped()
    if stop is not None:
        error(f"interrupted by {stop.by}")
        ctx.exit(stop.exit_code)


@click.group(
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="nornir-peering")
def cli() -> None:
    """BGP peering operations: PeeringDB cache, router configuration, sessions."""


def main() -> None:
    """The console script: :func:`cli`, with the traceback of a bug masked as all output is
    (:func:`~nornir_peering.secrets.mask`): an exception's text may quote configuration;
    SIGTERM stops a run as Ctrl-C does (:mod:`nornir_peering.interrupt`)."""
    sys.excepthook = _masked_traceback
    handle_signals()
    cli()


def _masked_traceback(kind: type[BaseException], value: BaseException, tb: Any) -> None:
    sys.stderr.write(mask("".join(traceback.format_exception(kind, value, tb))))
