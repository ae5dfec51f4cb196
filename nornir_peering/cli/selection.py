"""The host-selection options every command that works on routers shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from nornir_peering.inventory import Selection

F = TypeVar("F", bound=Callable[..., Any])


def _names(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name.strip() for value in values for name in value.split(",") if name.strip())


def selection_options(func: F) -> F:
    """``--limit``, ``-g/--group``, ``--ix``, ``--platform``, ``--exclude``."""
    for decorator in reversed(
        (
            click.option(
                "--limit",
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
        func = decorator(func)
    return func


def selection_from(
    limit: tuple[str, ...],
    groups: tuple[str, ...],
    ixes: tuple[str, ...],
    platforms: tuple[str, ...],
    exclude: tuple[str, ...],
) -> Selection:
    return Selection(
        limit=_names(limit),
        groups=_names(groups),
        ixes=_names(ixes),
        platforms=_names(platforms),
        exclude=_names(exclude),
    )
