"""The inventory: routers and BGP sessions from ``inventory/`` and the PeeringDB
cache, as a Nornir inventory plugin (:class:`PeeringInventory`)."""

from __future__ import annotations

from pathlib import Path

from nornir_peering.errors import ConfigError
from nornir_peering.inventory.plugin import LoadedInventory, PeeringInventory
from nornir_peering.inventory.resolve import Problem
from nornir_peering.inventory.selection import Selection, select
from nornir_peering.settings import Settings

__all__ = [
    "LoadedInventory",
    "PeeringInventory",
    "Problem",
    "Selection",
    "load_inventory",
    "select",
]


def load_inventory(settings: Settings) -> LoadedInventory:
    """The inventory ``config.yaml`` describes, as the CLI loads it.

    Paths in ``inventory.options`` are relative to the config file, as the
    state path is; the state file is the one the settings name.
    """
    section = dict(settings.nornir.get("inventory") or {})
    plugin = section.get("plugin", "PeeringInventory")
    if plugin != "PeeringInventory":
        raise ConfigError(
            f"config.yaml: inventory.plugin: nornir-peering needs PeeringInventory, not {plugin!r}"
        )
    options = dict(section.get("options") or {})
    base = settings.config_file.parent if settings.config_file else Path.cwd()
    options["inventory_dir"] = str(base / options.get("inventory_dir", "inventory"))
    options["state"] = str(settings.peering.state)
    options.setdefault("wait", settings.peering.lock_wait)
    try:
        return PeeringInventory(**options).load_with_problems()
    except TypeError as exc:
        raise ConfigError(f"config.yaml: inventory.options: {exc}") from None
