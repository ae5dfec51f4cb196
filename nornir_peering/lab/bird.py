"""The lab's routers: real BIRD 2 daemons on loopback addresses.

Every router is a ``bird`` process with its own control socket, config and
log under the lab folder, its BGP sessions on port 1179 (no root needed)
bound to its own 127.0.x.y address (``strict bind``). Our edge routers get
a ``bird.conf`` that includes ``peering.conf``, the file nornir-peering
manages through the NAPALM driver; the peers' configs are fixed, generated
from :mod:`nornir_peering.lab.topology`.

For example::

    lab = BirdLab(Path("state/lab/bird"))
    lab.up(); lab.status(); lab.down()
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from nornir_peering.drivers.birdc import BirdControl, BirdError, parse_protocols, parse_status
from nornir_peering.lab import topology
from nornir_peering.lab.daemons import Daemons

BGP_PORT = 1179


@dataclass(frozen=True)
class LabRouter:
    """One BIRD router of the lab: router id, AS, the routes it announces, its sessions."""

    name: str
    router_id: str
    asn: int
    announces: tuple[str, ...]
    neighbors: tuple[tuple[str, str, int], ...] = ()  # (our address, theirs, their ASN)
    managed: bool = False  # our edge: its sessions come from nornir-peering


def lab_routers() -> list[LabRouter]:
    """Our BIRD edges, one router per peer port, the direct peers and the FRR edge's
    route collector, from the lab topology."""
    ours = next(net for net in topology.NETS if net.asn == topology.LOCAL_ASN)
    routers = [
        LabRouter(name, edge.router_id, topology.LOCAL_ASN, edge.announces, managed=True)
        for name, edge in topology.OURS.items()
        if edge.platform == "bird"
    ]
    block = 0
    for net in topology.NETS:
        if net.asn == topology.LOCAL_ASN:
            continue
        for ix_id, ipv4, _ in net.ports:
            if ipv4 is None:
                continue
            block += 1
            edges = tuple(
                (ipv4, ours_v4, topology.LOCAL_ASN)
                for ix, ours_v4, _ in ours.ports
                if ix == ix_id and ours_v4
            )
            announces = topology.peer_prefixes(block, topology.ANNOUNCES.get(net.asn, 1))
            routers.append(
                LabRouter(
                    f"as{net.asn}-{ipv4}",
                    ipv4,
                    net.asn,
                    announces + topology.HOSTILE.get(net.asn, ()),
                    edges,
                )
            )
    for asn, theirs, mine, _router in topology.DIRECT:
        block += 1
        routers.append(
            LabRouter(
                f"as{asn}-{theirs}",
                theirs,
                asn,
                topology.peer_prefixes(block, topology.ANNOUNCES.get(asn, 1)),
                ((theirs, mine, topology.LOCAL_ASN),),
            )
        )
    collector, edge = topology.COLLECTOR
    routers.append(
        LabRouter(
            "collector",
            collector,
            topology.LOCAL_ASN,
            (),
            ((collector, topology.OURS[edge].router_id, topology.LOCAL_ASN),),
        )
    )
    return routers


FRR_ADDRESSES = frozenset(
    address
    for edge in topology.OURS.values()
    if edge.platform == "frr"
    for address in edge.addresses
)


class BirdLab(Daemons):
    """Start, stop and look at the lab's BIRD daemons, all under ``directory``."""

    pid_file = "bird.pid"

    def __init__(self, directory: Path, routers: list[LabRouter] | None = None) -> None:
        self.routers = {r.name: r for r in (routers or lab_routers())}
        super().__init__(directory, list(self.routers))

    def socket(self, name: str) -> Path:
        """The router's BIRD control socket."""
        return self.folder(name) / "bird.ctl"

    def config_file(self, name: str) -> Path:
        """The include file nornir-peering manages on an edge router."""
        return self.folder(name) / "peering.conf"

    def up(self, timeout: float = 30.0) -> None:
        """Write every config and start every daemon that is not running."""
        if shutil.which("bird") is None:
            raise RuntimeError("BIRD 2 is not installed (Debian package bird2)")
        for router in self.routers.values():
            if not self.running(router.name):
                self._write(router)
                self.start(router.name, timeout)

    def start(self, name: str, timeout: float = 30.0) -> None:
        """Start the router's ``bird``; wait, up to ``timeout``, until its socket answers."""
        folder = self.folder(name)
        argv = ["bird", "-c", str(folder / "bird.conf"), "-s", str(self.socket(name))]
        self.launch(
            [*argv, "-P", str(folder / "bird.pid")],
            lambda: _answers(self.socket(name)),
            (BirdError,),
            timeout,
        )

    def status(self) -> list[dict[str, Any]]:
        """Per router: running or not, and its BGP sessions' states."""
        rows: list[dict[str, Any]] = []
        for name, router in self.routers.items():
            sessions: dict[str, str] = {}
            if self.running(name):
                try:
                    with BirdControl(str(self.socket(name)), timeout=5) as bird:
                        now = parse_status(bird.checked("show status")).get("now") or datetime.now()
                        for proto in parse_protocols(bird.checked("show protocols all"), now):
                            if proto.proto == "BGP":
                                address = proto.attributes.get("Neighbor address", proto.name)
                                sessions[address] = proto.attributes.get("BGP state", proto.state)
                except BirdError:
                    pass
            rows.append(
                {
                    "router": name,
                    "asn": router.asn,
                    "address": router.router_id,
                    "running": self.running(name),
                    "sessions": sessions,
                }
            )
        return rows

    def _write(self, router: LabRouter) -> None:
        folder = self.folder(router.name)
        folder.mkdir(parents=True, exist_ok=True)
        lines = [
            f"# nornir-peering lab router {router.name}, AS{router.asn}",
            f"router id {router.router_id};",
            f'log "{folder / "bird.log"}" all;',
            "timeformat protocol iso long;",
            "protocol device {}",
            "protocol static announced {",
            "  ipv4;",
            *(f"  route {prefix} blackhole;" for prefix in router.announces),
            "}",
        ]
        for index, (mine, theirs, asn) in enumerate(router.neighbors):
            lines += [
                f"protocol bgp session{index} {{",
                f"  local {mine} port {BGP_PORT} as {router.asn};",
                f"  neighbor {theirs} port {BGP_PORT} as {asn};",
                "  multihop; strict bind yes;",
                *(
                    [f'  password "{topology.PASSWORDS[router.asn]}";']
                    if router.asn in topology.PASSWORDS
                    else []
                ),
                "  connect delay time 1; connect retry time 2; error wait time 1, 10;",
                "  ipv4 { import all; export where source = RTS_STATIC;"
                + (
                    f" next hop address {topology.next_hop_for_frr(mine)};"
                    if theirs in FRR_ADDRESSES
                    else ""
                )
                + " };",
                "}",
            ]
        if router.managed:
            config = self.config_file(router.name)
            if not config.exists():
                config.write_text("# managed by nornir-peering\n")
            lines.append(f'include "{config}";')
        (folder / "bird.conf").write_text("\n".join(lines) + "\n")


def _answers(socket: Path) -> None:
    """Connect to BIRD's control socket, and leave: BIRD is up."""
    with BirdControl(str(socket), timeout=2):
        pass
