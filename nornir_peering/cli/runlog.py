"""Recording runs in the run log (:mod:`nornir_peering.store.runs`).

A runbook command is decorated with :func:`recorded`, under ``settings_options``::

    @click.command("poll-bgp-sessions")
    @settings_options
    @recorded
    @selection_options
    def poll(settings, selection): ...

and says what it did with :func:`note` before it returns or exits. Once the command
ends, however it ends (done, exit code 1, an error, a usage error after the settings
were loaded, Ctrl-C or SIGTERM), the run is stored with its exit code: the command as
typed, the options given on the command line, start, end, summary and items. A run log
that cannot be written (the state file busy past ``--wait``) is reported on stderr and
does not change the command's exit code; when the command itself failed on a damaged
state file or a full disk, that one line has said it already.

While it runs, the command keeps a journal (:mod:`nornir_peering.store.journal`): each
router's outcome is written there as it ends, so that a run stopped before it could say
what it did is recorded with the routers it had done; one killed outright is recorded
as interrupted by the next command that records a run (or by ``runs``).
"""

from __future__ import annotations

import functools
import getpass
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import click
from click.core import ParameterSource

from nornir_peering.errors import DiskFull, PeeringError, StateDamaged
from nornir_peering.interrupt import Interrupted, interrupted, on_stop, stopped
from nornir_peering.report import error
from nornir_peering.settings import Settings
from nornir_peering.store import open_state
from nornir_peering.store.journal import IN_FLIGHT, NOT_STARTED, Journal, set_current, settle
from nornir_peering.store.runs import Run, RunItem, record

_NOTE = "nornir_peering.run"
_UNUSABLE = (StateDamaged, DiskFull)  # the state file cannot take the record either


@dataclass(frozen=True)
class Finished:
    """What a command did, for the run log, and the exit code it ends with."""

    summary: str
    items: list[RunItem] = field(default_factory=list)
    exit_code: int = 0


def finish(done: Finished) -> None:
    """Note what the command did; exit with its code when not 0."""
    note(done.summary, done.items)
    if done.exit_code:
        raise click.exceptions.Exit(done.exit_code)


def note(summary: str, items: Sequence[RunItem] = ()) -> None:
    """What the running command did: a one-line summary and its routers' (or ASes')
    outcomes, for the run log."""
    click.get_current_context().meta[_NOTE] = (summary, list(items))


def recorded(func: Callable[..., Any]) -> Callable[..., Any]:
    """Store every run of the command in the run log, with its exit code."""

    @functools.wraps(func)
    def command(*args: Any, settings: Settings, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        run = _run(ctx)
        kept = _journal(settings, run)
        code, stop, failure = 1, None, None
        try:
            result = func(*args, settings=settings, **kwargs)
            code = 0
            return result
        except click.exceptions.Exit as exc:
            code = exc.exit_code
            raise
        except (click.ClickException, PeeringError) as exc:
            code, failure = exc.exit_code, exc
            raise
        except KeyboardInterrupt as exc:
            stop = interrupted(exc)
            raise
        finally:
            set_current(None)
            _store(ctx, settings, run, code, kept, stop or stopped(), failure)

    return command


def _run(ctx: click.Context) -> Run:
    """The run starting now, as far as it is known."""
    started = _now()
    return Run(
        command=_command_name(ctx),
        options=given_options(ctx),
        started_at=started,
        finished_at=started,
        exit_code=1,
        summary="",
        pid=os.getpid(),
        user_name=_user(),
    )


def _journal(settings: Settings, run: Run) -> Journal | None:
    """The run's journal, started, after storing what runs killed before left (a state
    folder that cannot take one is said on stderr; the run goes on without)."""
    peering = settings.peering
    try:
        settle(peering.state, peering.lock_wait)
    except _UNUSABLE:
        pass  # the command says so, in one line, when it opens the state
    except (PeeringError, OSError) as exc:
        error(f"runs killed before this one are not in the run log yet: {exc}")
    try:
        kept = Journal.start(peering.state, run)
    except OSError as exc:
        error(f"this run keeps no journal: {exc}")
        return None
    set_current(kept)
    on_stop(kept.stopping)
    return kept


def _store(
    ctx: click.Context,
    settings: Settings,
    run: Run,
    code: int,
    kept: Journal | None,
    stop: Interrupted | None,
    failure: Exception | None,
) -> None:
    summary, items = ctx.meta.get(_NOTE, ("", []))
    if stop is not None:  # what it did: as it said, or as its journal has it
        code = stop.exit_code
        if not summary:
            items = kept.items() if kept is not None else []
            summary = _counted(items)
        summary = f"interrupted by {stop.by}: {summary}"
    elif not summary and code:
        summary = "failed before it finished" if code != 2 else "refused: bad usage"
    ended = replace(run, finished_at=_now(), exit_code=code, summary=summary, items=items)
    if kept is not None:
        kept.finished(ended)
    peering = settings.peering
    try:
        with open_state(peering.state, write=True, wait=peering.lock_wait) as db:
            record(db, ended)
    except PeeringError as exc:
        if not (isinstance(exc, _UNUSABLE) and isinstance(failure, _UNUSABLE)):
            error(f"this run was not recorded in the run log: {exc}")
        return  # its journal stays: the next run records it
    if kept is not None:
        kept.close()


def _counted(items: Sequence[RunItem]) -> str:
    """``2 done, 1 interrupted, 3 not started``."""
    done = sum(1 for i in items if i.status not in (IN_FLIGHT, NOT_STARTED))
    return f"{done} done" + "".join(
        f", {n} {status}"
        for status in (IN_FLIGHT, NOT_STARTED)
        if (n := sum(1 for i in items if i.status == status))
    )


def _command_name(ctx: click.Context) -> str:
    """The command as typed, without the program: ``grab_prefixes``, ``jobs collect``."""
    names = []
    while ctx.parent is not None:
        names.append(str(ctx.info_name))
        ctx = ctx.parent
    return " ".join(reversed(names))


def given_options(ctx: click.Context) -> dict[str, Any]:
    """The options given on the command line (not their defaults), by parameter name."""
    given = {}
    for name, value in ctx.params.items():
        if ctx.get_parameter_source(name) in (ParameterSource.DEFAULT, None):
            continue
        given[name] = list(value) if isinstance(value, tuple) else value
    return given


def _now() -> datetime:
    return datetime.now(tz=UTC).replace(tzinfo=None)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return str(os.getuid())
