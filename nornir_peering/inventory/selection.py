"""Host selection shared by every command: ``--limit``, ``-g``, ``--ix``,
``--platform``, ``--exclude``, compiled into one Nornir ``F`` filter.

Different options narrow the selection (AND); repeating an option widens it
(OR): ``-g edge -g core --ix lab-ix`` is "in group edge or core, and at lab-ix".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from nornir.core.filter import F
from nornir.core.inventory import Inventory

from nornir_peering.errors import ConfigError


@dataclass(frozen=True)
class Selection:
    """The routers a command works on, as the options shared by every command name them."""

    limit: tuple[str, ...] = ()  # router names
    groups: tuple[str, ...] = ()
    ixes: tuple[str, ...] = ()  # IX slugs
    platforms: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()  # globs on router names

    def describe(self) -> str:
        """The selection as the options that make it, for messages."""
        parts = [f"--limit {','.join(self.limit)}"] if self.limit else []
        parts += [f"-g {g}" for g in self.groups] + [f"--ix {i}" for i in self.ixes]
        parts += [f"--platform {p}" for p in self.platforms]
        parts += [f"--exclude {e}" for e in self.exclude]
        return " ".join(parts) or "(everything)"


def host_filter(selection: Selection, inventory: Inventory) -> Any:
    """The ``F`` filter for ``selection``; names it cannot match are errors.

    For example::

        host_filter(Selection(limit=("edge1",)), inventory)
        # <Filter ({'name__in': ['edge1']})>
    """
    names = set(inventory.hosts)
    unknown = [n for n in selection.limit if n not in names]
    if unknown:
        raise ConfigError(f"--limit: unknown router(s) {', '.join(unknown)}")
    for group in selection.groups:
        if group not in inventory.groups:
            raise ConfigError(f"-g/--group: no group named {group!r}")
    for ix in selection.ixes:
        if f"ix__{ix}" not in inventory.groups:
            raise ConfigError(f"--ix: no router is connected to an IX named {ix!r}")

    rules: list[Any] = []
    if selection.limit:
        rules.append(F(name__in=list(selection.limit)))
    if selection.groups:
        rules.append(_any(F(has_parent_group=g) for g in selection.groups))
    if selection.ixes:
        rules.append(_any(F(has_parent_group=f"ix__{ix}") for ix in selection.ixes))
    if selection.platforms:
        rules.append(F(platform__in=list(selection.platforms)))
    if selection.exclude:
        excluded = sorted(n for n in names if any(fnmatchcase(n, g) for g in selection.exclude))
        rules.append(~F(name__in=excluded))
    if not rules:
        return None
    combined = rules[0]
    for rule in rules[1:]:
        combined = combined & rule
    return combined


def select(inventory: Inventory, selection: Selection) -> Inventory:
    """The hosts ``selection`` picks; an empty result is an error that says so."""
    rule = host_filter(selection, inventory)
    chosen = inventory if rule is None else inventory.filter(rule)
    if not chosen.hosts:
        raise ConfigError(f"no router matches {selection.describe()}")
    return chosen


def _any(filters: Iterable[F]) -> Any:
    items = list(filters)
    combined: Any = items[0]
    for item in items[1:]:
        combined = combined | item
    return combined
