"""The Nornir object every command works on, built as an engineer's script builds it.

``init_nornir(settings)`` is ``InitNornir(config_file=...)`` with what the
command line adds (``--state``, ``--wait``): so the runner, the inventory
plugin's options and ``transform_function`` of ``config.yaml`` all apply.
``fleet(settings, selection)`` is that object filtered by the host selection.
Runbooks take either such a Nornir object or the settings and selection.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from nornir import InitNornir
from nornir.core import Nornir
from nornir.core.inventory import Host, Inventory
from nornir.core.task import Result

from nornir_peering.errors import ConfigError
from nornir_peering.inventory import Problem, Selection, select
from nornir_peering.inventory.plugin import TOOLKIT_DATA, LoadedInventory
from nornir_peering.secrets import mask, mask_logs
from nornir_peering.settings import Settings, load_settings

_SILENT = logging.NullHandler()  # one handler, added once however many runs


def init_nornir(settings: Settings) -> Nornir:
    """``InitNornir`` on ``config.yaml``, the state file and lock wait the settings say."""
    section = dict(settings.nornir.get("inventory") or {})
    section.setdefault("plugin", "PeeringInventory")
    if section["plugin"] == "PeeringInventory":
        options = dict(section.get("options") or {})
        options.update(state=str(settings.peering.state), wait=settings.peering.lock_wait)
        if settings.config_file:
            options["config_file"] = str(settings.config_file)
        section["options"] = options
    extra: dict[str, Any] = {"inventory": section}
    if "logging" not in settings.nornir:  # Nornir would write nornir.log where we stand
        extra["logging"] = {"enabled": False}
    config_file = str(settings.config_file) if settings.config_file else ""
    try:
        nr = InitNornir(config_file=config_file, **extra)
    except TypeError as exc:  # an option the inventory plugin does not take
        raise ConfigError(f"config.yaml: inventory.options: {exc}") from None
    mask_logs(*nr.config.logging.loggers)  # nornir.log, when enabled, gets no secret
    if not nr.config.logging.enabled:
        # a router's failure is reported by the command, in one line; Nornir logs its
        # traceback too, which, with no handler anywhere, Python's last resort would print
        # on stderr
        logging.getLogger("nornir").addHandler(_SILENT)
    return nr


def fleet(settings: Settings, selection: Selection) -> Nornir:
    """The routers the command line selected."""
    return selected(init_nornir(settings), selection)


def selected(nr: Nornir, selection: Selection) -> Nornir:
    """``nr`` filtered to the routers ``selection`` names."""
    chosen = set(select(nr.inventory, selection).hosts)
    return nr.filter(filter_func=lambda host: host.name in chosen)


def nornir_for(target: Nornir | Settings, selection: Selection | None = None) -> Nornir:
    """A runbook's routers: an engineer's Nornir object as it is, or the selection."""
    if isinstance(target, Nornir):
        return target
    return fleet(target, selection or Selection())


def toolkit_data(where: Inventory | Host) -> dict[str, Any]:
    """What PeeringInventory recorded for tasks and runbooks (paths, drift problems)."""
    if isinstance(where, Inventory):
        found = where.defaults.data.get(TOOLKIT_DATA)
    else:
        found = where.get(TOOLKIT_DATA)
    if not isinstance(found, dict):
        raise ConfigError(
            "this inventory has no nornir-peering data: load it with the PeeringInventory "
            "plugin (inventory.plugin in config.yaml)"
        )
    return found


def load_inventory(settings: Settings) -> LoadedInventory:
    """The whole inventory ``config.yaml`` describes, with its drift problems."""
    nr = init_nornir(settings)
    return LoadedInventory(nr.inventory, problems(nr))


def problems(nr: Nornir) -> list[Problem]:
    """The drift the inventory plugin found loading ``nr``'s inventory."""
    return [Problem(**p) for p in toolkit_data(nr.inventory).get("problems", [])]


def settings_of(nr: Nornir) -> Settings:
    """The settings of the configuration file the inventory was loaded from."""
    config_file = toolkit_data(nr.inventory).get("config_file")
    return load_settings(Path(config_file) if config_file else None)


def failure(result: Result) -> str:
    """One line saying why a task failed on a host."""
    exc = result.exception
    if exc is None:
        return mask(str(getattr(result, "note", "") or "failed"))
    return mask(str(exc).strip()) or type(exc).__name__
