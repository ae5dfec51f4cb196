"""The host-selection options every command that works on routers shares.

A command decorated with :func:`selection_options` receives one
``selection`` argument (:class:`~nornir_peering.inventory.Selection`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from nornir_peering.inventory import Selection


def _names(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name.strip() for value in values for name in value.split(",") if name.strip())


def selection_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--limit``, ``-g/--group``, ``--ix``, ``--platform``, ``--exclude``."""
    return _selection(func, "--limit")


def selection_options_router(func: Callable[..., Any]) -> Callable[..., Any]:
    """The same, with ``--router`` for ``--limit``: for ``grab-prefixes``, whose
    ``--limit`` is Peering Manager's (a prefix count)."""
    return _selection(func, "--router")


def _selection(func: Callable[..., Any], limit_flag: str) -> Callable[..., Any]:
    @functools.wraps(func)
    def command(
        *args: Any,
        routers: tuple[str, ...],
        groups: tuple[str, ...],
        ixes: tuple[str, ...],
        platforms: tuple[str, ...],
        exclude: tuple[str, ...],
        **kwargs: Any,
    ) -> Any:
        selection = Selection(
            limit=_names(routers),
            groups=_names(groups),
            ixes=_names(ixes),
            platforms=_names(platforms),
            exclude=_names(exclude),
        )
        return func(*args, selection=selection, **kwargs)

    for option in reversed(
        (
            click.option(
                limit_flag,
                "routers",
                multiple=True,
                metavar="R1,R2",
                help="Only these routers (comma-separated, repeatable).",
            ),
            click.option(
                "-g",
                "--group",
                "groups",
                multiple=True,
                metavar="GROUP",
                help="Only routers in this group (repeatable: any of them).",
            ),
            click.option(
                "--ix",
                "ixes",
                multiple=True,
                metavar="SLUG",
                help="Only routers connected to this IX (repeatable).",
            ),
            click.option(
                "--platform",
                "platforms",
                multiple=True,
                metavar="NAME",
                help="Only routers of this platform (repeatable).",
            ),
            click.option(
                "--exclude",
                multiple=True,
                metavar="GLOB",
                help="Leave out routers whose name matches (repeatable).",
            ),
        )
    ):
        command = option(command)
    return command
