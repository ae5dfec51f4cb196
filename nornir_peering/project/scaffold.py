"""``init``: a new project for one AS, its IX ports read from PeeringDB.

The project is ``config.yaml``, ``inventory/peering.yaml`` (``local_as`` from the
network's PeeringDB object, one ``ixes:`` entry per IX LAN it has a port on, each port
on a placeholder router), ``inventory/hosts.yaml`` (the placeholders, and one commented
router per platform), the example templates, a ``.gitignore`` for ``state/`` and a
README naming the next commands. Text from PeeringDB goes into the YAML through
PyYAML's emitter, never pasted; no file that exists is written.

For example::

    made = init_project(Path("peering"), 64500)
    made.files.created, made.routers
    # (['config.yaml', 'inventory/peering.yaml', ...], ['router1', 'router2'])
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML

from nornir_peering.inventory.intent import NAME_MAX  # an IX's key in peering.yaml
from nornir_peering.lab import DEFAULT_PORT
from nornir_peering.project.files import ProjectFiles, packaged
from nornir_peering.project.network import Network, Port, find_network
from nornir_peering.settings import Settings, load_settings


@dataclass
class Project:
    """What ``init`` made: the network, the files, the placeholder routers."""

    directory: Path
    network: Network
    files: ProjectFiles
    routers: list[str] = field(default_factory=list)
    ixes: list[str] = field(default_factory=list)
    skipped_ports: int = 0  # ports PeeringDB lists with no address

    def settings(self, overrides: Mapping[str, Any] | None = None) -> Settings:
        """The project's settings (its ``config.yaml``, the environment, ``overrides``)."""
        return load_settings(self.directory / "config.yaml", overrides=overrides)


def init_project(
    directory: Path,
    asn: int,
    *,
    peeringdb_url: str | None = None,
    cache_url: str | None = None,
) -> Project:
    """Write a project for AS``asn`` in ``directory`` (made if missing), from what the
    PeeringDB of its settings knows about it; nothing is written when that fails.

    ``peeringdb_url`` goes into a new ``config.yaml`` (the real PeeringDB's when None),
    with ``cache_url`` ("": every download from the API, when another PeeringDB is
    named without one); both also win over an existing one for this lookup."""
    if peeringdb_url is not None and cache_url is None:
        cache_url = ""
    overrides = {"peeringdb_url": peeringdb_url, "cache_url": cache_url}
    config = render_config(peeringdb_url, cache_url)
    files = ProjectFiles(directory)
    network = find_network(_settings(directory, config, overrides).peering, asn)
    peering, ixes, routers, skipped = render_peering(network)
    files.write("config.yaml", config)
    files.write("inventory/peering.yaml", peering)
    files.write("inventory/hosts.yaml", render_hosts(routers))
    files.copy_tree(packaged("templates"), "templates")
    files.write(".gitignore", _skeleton("gitignore"))
    files.write("README.md", _skeleton("README.md"))
    return Project(directory, network, files, routers, ixes, skipped)


def write_lab_project(directory: Path, port: int = DEFAULT_PORT) -> ProjectFiles:
    """The lab's own project in ``directory``: its ``config.yaml`` (the lab PeeringDB on
    ``port``, its IRR and Redis on the two ports after it), ``inventory/`` and the
    example templates, as ``lab up`` and the demo use them."""
    files = ProjectFiles(directory)
    project = packaged("lab", "project")
    config = project.joinpath("config.yaml").read_text(encoding="utf-8")
    for offset in range(3):  # PeeringDB, IRR, Redis
        config = config.replace(f"127.0.0.1:{DEFAULT_PORT + offset}", f"127.0.0.1:{port + offset}")
    files.write("config.yaml", config)
    files.copy_tree(project / "inventory", "inventory")
    files.copy_tree(packaged("templates"), "templates")
    return files


def render_config(peeringdb_url: str | None, cache_url: str | None) -> str:
    """The new project's ``config.yaml``: the skeleton's, with another PeeringDB's URLs
    written in by the YAML emitter when given (comments kept)."""
    text = _skeleton("config.yaml")
    if peeringdb_url is None and cache_url is None:
        return text
    editor = YAML(typ="rt")
    editor.width = 4096
    document = editor.load(text)
    peering = document["user_defined"]["peering"]
    if peeringdb_url is not None:
        peering["peeringdb_url"] = peeringdb_url
    if cache_url is not None:
        peering["cache_url"] = cache_url
    buffer = io.StringIO()
    editor.dump(document, buffer)
    return buffer.getvalue()


def render_peering(network: Network) -> tuple[str, list[str], list[str], int]:
    """``peering.yaml`` for ``network``; the IX keys, the placeholder routers, and the
    number of ports left out (no address)."""
    lans: dict[int, list[Port]] = {}
    skipped = 0
    for port in network.ports:
        if port.ipv4 is None and port.ipv6 is None:
            skipped += 1
            continue
        lans.setdefault(port.ixlan_id, []).append(port)
    lans_of_ix: dict[int, int] = {}
    for ports in lans.values():
        lans_of_ix[ports[0].ix_id] = lans_of_ix.get(ports[0].ix_id, 0) + 1
    ixes: dict[str, dict[str, Any]] = {}
    routers: list[str] = []
    for ixlan_id, ports in sorted(lans.items(), key=lambda lan: (lan[1][0].ix_name, lan[0])):
        ix_id = ports[0].ix_id
        key = slug(ports[0].ix_name, f"ix-{ix_id}")
        if key in ixes:
            key = f"{key[: NAME_MAX - 12]}-{ixlan_id}"
        connections = []
        for position, port in enumerate(ports, start=1):
            router = f"router{position}"
            if router not in routers:
                routers.append(router)
            connection: dict[str, Any] = {"router": router}
            if port.ipv4 is not None:
                connection["ipv4"] = str(port.ipv4)
            if port.ipv6 is not None:
                connection["ipv6"] = str(port.ipv6)
            connections.append(connection)
        ixes[key] = {
            # an IX with one LAN of ours is named by its IX id; one with more, by each LAN's
            **({"ix_id": ix_id} if lans_of_ix[ix_id] == 1 else {"ixlan_id": ixlan_id}),
            "import_policy": "ix-in",
            "export_policy": "ix-out",
            "connections": connections,
            "peers": [],
        }
    local_as: dict[str, Any] = {"asn": network.asn, "name": network.name}
    if network.as_set:
        local_as["as_set"] = network.as_set
    local_block = (
        _dump({"local_as": local_as})
        + "  max_prefix_headroom: 10        # percent over a peer's PeeringDB prefix counts\n"
        + "  # what we announce (and its more-specifics up to /24 and /48); PeeringDB's\n"
        + f"  # prefix counts for us: IPv4 {_counted(network.prefixes4)}, "
        + f"IPv6 {_counted(network.prefixes6)}\n"
        + "  prefixes4: []\n"
        + "  prefixes6: []\n"
    )
    text = _skeleton("peering.yaml")
    text = text.replace("# @local_as\n", local_block)
    text = text.replace("# @ixes\n", _dump({"ixes": ixes}))
    return text, list(ixes), routers, skipped


def render_hosts(routers: list[str]) -> str:
    """``hosts.yaml``: the placeholder ``routers`` and the commented examples."""
    placeholders = _dump({name: {"data": {"poll": False}} for name in routers}) if routers else ""
    return _skeleton("hosts.yaml").replace("# @routers\n", placeholders)


def slug(name: str, fallback: str) -> str:
    """An IX's key in ``peering.yaml``, from its name: a word every platform takes.

    >>> slug("LAB-IX Loopback", "ix-1"), slug("DE-CIX Frankfurt: Peering LAN", "ix-2")
    ('lab-ix-loopback', 'de-cix-frankfurt-peering-lan')
    >>> slug('"}; \\n', "ix-3")
    'ix-3'
    """
    words = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return words[:NAME_MAX].rstrip("-") or fallback


def _counted(count: int | None) -> str:
    return "none given" if count is None else f"{count:d}"


def _dump(data: Mapping[str, Any]) -> str:
    """``data`` as YAML by PyYAML's emitter: any text safely quoted, in the given order."""
    return yaml.safe_dump(
        dict(data), sort_keys=False, allow_unicode=True, default_flow_style=False, width=4096
    )


def _skeleton(name: str) -> str:
    return packaged("project", "skeleton", name).read_text(encoding="utf-8")


def _settings(directory: Path, config: str, overrides: Mapping[str, Any]) -> Settings:
    """The settings the project will have: those of its ``config.yaml`` when it has one,
    else those of ``config`` (the file about to be written), and the environment."""
    existing = directory / "config.yaml"
    if existing.exists():
        return load_settings(existing, overrides=overrides)
    with tempfile.TemporaryDirectory(prefix="nornir-peering-init-") as scratch:
        path = Path(scratch) / "config.yaml"
        path.write_text(config, encoding="utf-8")
        return load_settings(path, overrides=overrides)
