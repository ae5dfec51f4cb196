"""``PeeringInventory``: the Nornir inventory plugin that joins intent and knowledge.

Registered under Nornir's ``nornir.plugins.inventory`` entry point, so a
user's own script gets the same hosts as the CLI::

    from nornir import InitNornir
    nr = InitNornir(config_file="config.yaml")   # inventory.plugin: PeeringInventory
    nr.inventory.hosts["edge1"]["sessions"]

Each host's data gets ``sessions`` and ``connections`` (see
:class:`~nornir_peering.inventory.session.Session`); the defaults get ``local_as``,
``policies`` and ``communities``; hosts join the derived groups
``ix__<slug>``, ``platform__<name>`` and ``asn__<local asn>``.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nornir.core.inventory import (
    ConnectionOptions,
    Defaults,
    Group,
    Groups,
    Host,
    Hosts,
    Inventory,
    ParentGroups,
)

from nornir_peering.inventory import intent as model
from nornir_peering.inventory.checks import Problem, clear_text_secrets
from nornir_peering.inventory.load import Intent, read_intent
from nornir_peering.inventory.resolve import resolve
from nornir_peering.secrets import SecretRef, is_reference, remember
from nornir_peering.secrets.logins import Unrevealed
from nornir_peering.store import open_state


@dataclass
class LoadedInventory:
    """The Nornir inventory, and the drift found while building it."""

    inventory: Inventory
    problems: list[Problem] = field(default_factory=list)


class PeeringInventory:
    """Nornir inventory plugin: routers from ``inventory/``, sessions resolved
    against the PeeringDB cache in the state file.

    Relative paths (``inventory_dir``, ``state``, and the files the local bird and
    frr drivers open) are relative to the directory of the configuration file:
    ``config_file`` when given, else the one ``InitNornir(config_file=...)`` was
    called with, else ``./config.yaml``.
    """

    def __init__(
        self,
        inventory_dir: str = "inventory",
        state: str | None = None,
        host_file: str = "hosts.yaml",
        group_file: str = "groups.yaml",
        defaults_file: str = "defaults.yaml",
        peering_file: str = "peering.yaml",
        drift_days: int = 14,
        wait: float = 10.0,
        config_file: str | None = None,
    ) -> None:
        self.config_file = _config_file(config_file)
        self.base = base = self.config_file.parent if self.config_file else Path.cwd()
        self.directory = base / Path(inventory_dir).expanduser()
        self.state = base / Path(state).expanduser() if state else None
        self.files = {
            "host_file": host_file,
            "group_file": group_file,
            "defaults_file": defaults_file,
            "peering_file": peering_file,
        }
        self.drift_days = drift_days
        self.wait = wait

    def load(self) -> Inventory:
        """The inventory, as Nornir asks for it."""
        return self.load_with_problems().inventory

    def load_with_problems(self) -> LoadedInventory:
        """The inventory and the drift between intent and PeeringDB (``inventory --problems``)."""
        from nornir_peering.settings import PREFIX_LIST_LIMITS, load_settings

        settings = load_settings(self.config_file).peering
        state = self.state or settings.state
        intent = read_intent(self.directory, **self.files)
        inventory = _nornir_inventory(intent, self.base)
        local_asns = {
            name: int(host.get("local_asn") or intent.peering.local_as.asn)
            for name, host in inventory.hosts.items()
        }
        with open_state(state, wait=self.wait) as db:
            resolution = resolve(
                intent.peering, local_asns, db, intent.peering_file, drift_days=self.drift_days
            )
        resolution.problems.extend(clear_text_secrets(intent))
        peering = intent.peering
        inventory.defaults.data.update(
            local_as=peering.local_as.model_dump(mode="json"),
            policies={n: p.model_dump(mode="json") for n, p in peering.policies.items()},
            communities=dict(peering.communities),
            ignore_asns=[i.model_dump(mode="json") for i in peering.ignore_asns],
            customer_lists=resolution.customer_lists,
        )
        # what tasks and runbooks need, whoever built the Nornir object (plain data)
        inventory.defaults.data[TOOLKIT_DATA] = {
            "config_file": str(self.config_file) if self.config_file else None,
            "state": str(state),
            "lock_wait": self.wait,
            "router_timeout": settings.router_timeout,
            "templates": str(settings.templates),
            "prefix_list_limits": {
                platform: settings.prefix_list_limit(platform)
                for platform in {*PREFIX_LIST_LIMITS, *settings.prefix_list_limits}
            },
            "problems": [asdict(problem) for problem in resolution.problems],
        }
        for name, host in inventory.hosts.items():
            host.data["sessions"] = _with_secrets(resolution.sessions.get(name, []), self.base)
            host.data["connections"] = resolution.connections.get(name, [])
            derived = [f"ix__{c['ix']}" for c in host.data["connections"]]
            if host.platform:
                derived.append(f"platform__{host.platform}")
            derived.append(f"asn__{local_asns[name]}")
            for group_name in dict.fromkeys(derived):
                group = inventory.groups.get(group_name)
                if group is None:
                    group = inventory.groups[group_name] = Group(
                        name=group_name, defaults=inventory.defaults
                    )
                host.groups.add(group)
        return LoadedInventory(inventory, resolution.problems)


TOOLKIT_DATA = "nornir_peering"  # the key, in the inventory's defaults data


def _with_secrets(sessions: list[Any], base: Path) -> list[Any]:
    """``sessions`` with a file reference's path made absolute (relative ones are relative
    to config.yaml); a password in clear is remembered, to be masked wherever shown."""
    for session in sessions:
        password = session["password"]
        if is_reference(password) and "file" in password:
            session["password"] = SecretRef.model_validate(password).as_data(base)
        elif isinstance(password, str):
            remember(password)
    return sessions


def _config_file(explicit: str | None) -> Path | None:
    """The configuration file relative paths are relative to.

    Nornir gives an inventory plugin its options, never the file they came
    from; so, when not told, the plugin looks for the ``config_file`` that
    ``InitNornir`` was called with, up the call stack. A symlinked file is where its
    link is (the repository's ``config.yaml`` is one, to the lab's project)."""
    if explicit:
        return Path(explicit).expanduser().absolute()
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "InitNornir" and frame.f_globals.get("__name__") == (
            "nornir.init_nornir"
        ):
            named = frame.f_locals.get("config_file")
            return Path(named).expanduser().absolute() if named else None
        frame = frame.f_back  # type: ignore[assignment]
    default = Path("config.yaml")
    return default.absolute() if default.exists() else None


def _nornir_inventory(intent: Intent, base: Path) -> Inventory:
    """Nornir's objects, built as SimpleInventory builds them, from validated intent."""
    defaults = Defaults(
        **_element(intent.defaults, base),
        connection_options=_connections(intent.defaults.connection_options, base),
    )
    groups = Groups()
    for name, entry in intent.groups.items():
        groups[name] = Group(
            name=name,
            **_element(entry, base),
            defaults=defaults,
            connection_options=_connections(entry.connection_options, base),
        )
    for name, entry in intent.groups.items():
        groups[name].groups = ParentGroups([groups[g] for g in entry.groups])
    hosts = Hosts()
    for name, entry in intent.hosts.items():
        hosts[name] = Host(
            name=name,
            **_element(entry, base),
            defaults=defaults,
            groups=ParentGroups([groups[g] for g in entry.groups]),
            connection_options=_connections(entry.connection_options, base),
        )
    return Inventory(hosts=hosts, groups=groups, defaults=defaults)


def _element(entry: model.InventoryEntry | model.Defaults, base: Path) -> dict[str, Any]:
    return {
        "hostname": entry.hostname,
        "port": entry.port,
        "username": entry.username,
        "password": _login(entry.password, base),
        "platform": entry.platform,
        # only what was written, so that a host does not shadow its groups with defaults
        "data": entry.data.model_dump(mode="json", exclude_unset=True),
    }


def _login(password: SecretRef | str | None, base: Path) -> str | None:
    """A login password as Nornir holds it: text (remembered, to be masked), or an
    :class:`Unrevealed` reference that the tasks reveal before they connect."""
    if isinstance(password, SecretRef):
        return Unrevealed(password.as_data(base))
    if password:
        remember(password)
    return password


# Files the bird and frr drivers open on this machine (transport: local): a relative
# path is relative to config.yaml's directory, as the inventory and the state are.
LOCAL_DRIVER_PATHS = ("socket", "config_file", "vty_socket", "config_dir", "rollback_file")


def _connections(
    options: dict[str, model.ConnectionOptions], base: Path
) -> dict[str, ConnectionOptions]:
    return {
        name: ConnectionOptions(
            hostname=o.hostname,
            port=o.port,
            username=o.username,
            password=_login(o.password, base),
            platform=o.platform,
            extras=_local_paths(o.extras, base) if name == "napalm" else o.extras,
        )
        for name, o in options.items()
    }


def _local_paths(extras: dict[str, Any] | None, base: Path) -> dict[str, Any] | None:
    """``extras`` with the local drivers' relative paths made absolute under ``base``."""
    args = (extras or {}).get("optional_args")
    if not isinstance(args, dict) or args.get("transport", "local") != "local":
        return extras
    resolved = {
        key: str(base / value) if key in LOCAL_DRIVER_PATHS and isinstance(value, str) else value
        for key, value in args.items()
    }
    return {**(extras or {}), "optional_args": resolved}
