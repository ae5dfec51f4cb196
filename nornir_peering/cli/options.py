"""Options every command shares: ``--config``, ``--state``, ``--wait``.

A command decorated with :func:`settings_options` receives one ``settings``
argument, loaded and validated from them, instead of the three options, and logs as
``config.yaml``'s ``logging`` section says (:func:`start_logging`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from nornir_peering.errors import ConfigError
from nornir_peering.secrets import mask_logs
from nornir_peering.settings import Settings, load_settings


def settings_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--config``, ``--state`` and ``--wait``, given to the command as ``settings``."""

    @functools.wraps(func)
    def command(
        *args: Any, config_file: Path | None, state: Path | None, wait: float | None, **kwargs: Any
    ) -> Any:
        settings = load_settings(config_file, overrides={"state": state, "lock_wait": wait})
        start_logging(settings)
        return func(*args, settings=settings, **kwargs)

    return settings_flags(command)


def settings_flags(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--config``, ``--state`` and ``--wait`` as they are (``config_file``, ``state``,
    ``wait``), for a command that loads the settings itself."""
    for option in (
        click.option(
            "--wait",
            type=click.FloatRange(min=0),
            default=None,
            metavar="SECONDS",
            help="How long to wait for another writer to release the state file "
            "(default: lock_wait, 10 s).",
        ),
        click.option(
            "--state",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="DuckDB state file (default: user_defined.peering.state).",
        ),
        click.option(
            "--config",
            "config_file",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="Nornir config file with user_defined.peering (default: ./config.yaml).",
        ),
    ):
        func = option(func)
    return func


def start_logging(settings: Settings) -> None:
    """Nornir's ``logging`` section of ``config.yaml``, for every command (Nornir applies it
    only where it runs): when it is enabled, the toolkit's own records go to its
    ``log_file`` too (``loggers`` defaults to ``[nornir, nornir_peering]``), among them
    the details behind a one-line error, such as DuckDB's traceback for a damaged state
    file. No section: no logging, as for Nornir runs."""
    section = settings.nornir.get("logging")
    if not isinstance(section, Mapping) or not section.get("enabled", True):
        return
    from nornir.core.configuration import LoggingConfig

    options = {"loggers": ["nornir", "nornir_peering"], **section}
    try:
        LoggingConfig(**options).configure()
    except TypeError as exc:  # a key LoggingConfig does not take
        raise ConfigError(f"config.yaml: logging: {exc}") from None
    mask_logs(*options["loggers"])


def asn_list(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[int, ...]:
    """``--asn 65001,AS65002`` (repeatable) as AS numbers; a bad one is a usage error."""
    found = []
    for value in values:
        for word in value.split(","):
            text = word.strip().upper().removeprefix("AS")
            if not text.isdigit() or not 0 < int(text) < 2**32:
                raise click.BadParameter(f"{word.strip()!r} is not an AS number", ctx, param)
            found.append(int(text))
    return tuple(found)
