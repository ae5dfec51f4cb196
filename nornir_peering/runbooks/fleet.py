"""A Nornir object for the selected routers, as every runbook starts."""

from __future__ import annotations

from dataclasses import dataclass

from nornir.core import Nornir
from nornir.core.configuration import Config, LoggingConfig, RunnerConfig
from nornir.core.plugins.connections import ConnectionPluginRegister
from nornir.core.plugins.runners import RunnersPluginRegister

from nornir_peering.inventory import Problem, Selection, load_inventory, select
from nornir_peering.settings import Settings


@dataclass
class Fleet:
    nornir: Nornir
    problems: list[Problem]


def fleet(settings: Settings, selection: Selection) -> Fleet:
    """The selected routers in a Nornir object with the runner ``config.yaml`` names."""
    loaded = load_inventory(settings)
    inventory = select(loaded.inventory, selection)
    section = dict(settings.nornir.get("runner") or {})
    config = Config(
        runner=RunnerConfig(
            plugin=section.get("plugin", "threaded"), options=section.get("options") or {}
        ),
        logging=LoggingConfig(enabled=False),
    )
    RunnersPluginRegister.auto_register()
    ConnectionPluginRegister.auto_register()
    runner = RunnersPluginRegister.get_plugin(config.runner.plugin)(**config.runner.options)
    return Fleet(Nornir(inventory=inventory, runner=runner, config=config), loaded.problems)
