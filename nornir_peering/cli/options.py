"""Options every command shares, and loading the settings from them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from nornir_peering.settings import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


def settings_options(func: F) -> F:
    """``--config``, ``--state`` and ``--wait``."""
    func = click.option(
        "--wait",
        type=click.FloatRange(min=0),
        default=None,
        metavar="SECONDS",
        help="How long to wait for another writer to release the state file "
        "(default: lock_wait, 10 s).",
    )(func)
    func = click.option(
        "--state",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="DuckDB state file (default: user_defined.peering.state).",
    )(func)
    func = click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Nornir config file with user_defined.peering (default: ./config.yaml).",
    )(func)
    return func


def settings_from(config_file: Path | None, state: Path | None, wait: float | None) -> Settings:
    return load_settings(config_file, overrides={"state": state, "lock_wait": wait})
