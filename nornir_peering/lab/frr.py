"""The lab's FRR router: a real FRR ``bgpd`` beside the BIRD routers, in the lab's
network namespace.

``bgpd`` runs unprivileged (``-S``: no user switch, ``-Z``: no zebra, so no
route is ever installed), listens on the edge's own addresses on the lab's
BGP port, and keeps its vty socket and configuration in the router's folder,
where ``vtysh --vty_socket DIR --config_dir DIR`` (an empty ``vtysh.conf``)
reaches it. Its starting configuration is the operator's own, which
nornir-peering must leave alone: a prefix list and route-maps of its own, a
network it announces in each family, and an iBGP neighbor (the lab's route
collector).

For example::

    frr = FrrLab(Path("state/lab/frr"))
    frr.up(); frr.status(); frr.down()
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from nornir_peering.drivers.vtysh import FrrTools, VtyshError
from nornir_peering.lab import topology
from nornir_peering.lab.bird import BGP_PORT
from nornir_peering.lab.daemons import Daemons, missing
from nornir_peering.lab.netns import Namespace

BGPD = "/usr/lib/frr/bgpd"


def starting_config(name: str) -> str:
    """The configuration an FRR edge starts with: the operator's, none of it nornir-peering's."""
    edge = topology.OURS[name]
    collector, _ = topology.COLLECTOR
    network, network6 = edge.announces
    return "\n".join(
        [
            "frr defaults traditional",
            f"hostname {name}",
            "!",
            f"ip prefix-list OPERATOR-NETS seq 5 permit {network}",
            "!",
            "route-map OPERATOR-TO-COLLECTOR permit 10",
            " match ip address prefix-list OPERATOR-NETS",
            "exit",
            "!",
            "route-map OPERATOR-FROM-COLLECTOR deny 10",
            "exit",
            "!",
            f"router bgp {topology.LOCAL_ASN}",
            f" bgp router-id {edge.router_id}",
            " no bgp default ipv4-unicast",
            f" neighbor {collector} remote-as {topology.LOCAL_ASN}",
            f" neighbor {collector} description route collector, not managed by nornir-peering",
            f" neighbor {collector} port {BGP_PORT}",
            f" neighbor {collector} update-source {edge.router_id}",
            " !",
            " address-family ipv4 unicast",
            f"  network {network}",
            f"  neighbor {collector} activate",
            f"  neighbor {collector} route-map OPERATOR-FROM-COLLECTOR in",
            f"  neighbor {collector} route-map OPERATOR-TO-COLLECTOR out",
            " exit-address-family",
            " !",
            " address-family ipv6 unicast",
            f"  network {network6}",
            " exit-address-family",
            "exit",
            "",
        ]
    )


class FrrLab(Daemons):
    """Start, stop and look at the lab's FRR routers, all under ``directory``."""

    pid_file = "bgpd.pid"
    programs = ((BGPD, "frr"), ("vtysh", "frr"))

    def __init__(self, directory: Path, namespace: Namespace | None = None) -> None:
        self.routers = {
            name: edge for name, edge in topology.OURS.items() if edge.platform == "frr"
        }
        super().__init__(directory, list(self.routers), namespace)

    def addresses(self) -> list[str]:
        """The edges' own addresses, where ``bgpd`` listens."""
        return sorted({a for edge in self.routers.values() for a in edge.addresses})

    def tools(self, name: str) -> FrrTools:
        """vtysh and frr-reload.py for the router ``name``."""
        folder = str(self.folder(name))
        return FrrTools(vty_socket=folder, config_dir=folder, timeout=30)

    def optional_args(self, name: str) -> dict[str, Any]:
        """What the FRR NAPALM driver needs to reach ``name``."""
        folder = str(self.folder(name))
        return {
            "vty_socket": folder,
            "config_dir": folder,
            "rollback_file": f"{folder}/nornir-peering.previous",
        }

    def up(self, timeout: float = 30.0) -> None:
        """Start every router that is not running; a new one gets its starting configuration."""
        if missing(self.programs):
            raise RuntimeError(f"FRR is not installed (Debian package frr: {BGPD}, vtysh)")
        self.enter()
        for name in self.routers:
            if not self.running(name):
                folder = self.folder(name)
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "vtysh.conf").touch()
                if not (folder / "bgpd.conf").exists():
                    (folder / "bgpd.conf").write_text(starting_config(name))
                self.start(name, timeout)

    def reset(self, name: str, timeout: float = 30.0) -> None:
        """Back to the starting configuration, as if the router were new."""
        self.stop(name)
        (self.folder(name) / "bgpd.conf").write_text(starting_config(name))
        self.start(name, timeout)

    def start(self, name: str, timeout: float = 30.0) -> None:
        """Start the router's ``bgpd``; wait, up to ``timeout``, until vtysh reaches it."""
        folder = self.folder(name)
        listen = [arg for address in self.routers[name].addresses for arg in ("-l", address)]
        daemon = [BGPD, "-d", "-S", "-Z", "--vty_socket", str(folder), "-p", str(BGP_PORT)]
        files = ["-f", str(folder / "bgpd.conf"), "-i", str(folder / "bgpd.pid")]
        self.launch(
            [*daemon, *listen, *files, "--log", f"file:{folder / 'bgpd.log'}"],
            lambda: self.tools(name).show("show version"),
            (VtyshError,),
            timeout,
        )

    def sessions(self, name: str) -> dict[str, str]:
        """Each BGP neighbor's state, by address."""
        data = json.loads(self.tools(name).show("show bgp vrf all neighbors json") or "{}")
        return {
            address: peer["bgpState"]
            for peers in data.values()
            for address, peer in peers.items()
            if isinstance(peer, dict) and "bgpState" in peer
        }

    def status(self) -> list[dict[str, Any]]:
        """Per router: running or not, and its BGP sessions' states."""
        rows = []
        for name, edge in self.routers.items():
            sessions: dict[str, str] = {}
            if self.running(name):
                with contextlib.suppress(VtyshError):
                    sessions = self.sessions(name)
            rows.append(
                {
                    "router": name,
                    "asn": topology.LOCAL_ASN,
                    "address": edge.router_id,
                    "running": self.running(name),
                    "sessions": sessions,
                }
            )
        return rows
