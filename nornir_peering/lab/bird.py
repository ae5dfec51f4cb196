"""The lab's routers: real BIRD 2 daemons in the lab's network namespace.

Every router is a ``bird`` process with its own control socket, config and
log under the lab folder, its BGP sessions on port 1179 bound to its own
addresses on the namespace's loopback (``strict bind``): 127.0.x.y and, at
the IXes, fd00:7f8:x::y, a session per family. Our edge routers get
a ``bird.conf`` that includes ``peering.conf``, the file nornir-peering
manages through the NAPALM driver; the peers' configs are fixed, generated
from :mod:`nornir_peering.lab.topology`.

For example::

    lab = BirdLab(Path("state/lab/bird"))
    lab.up(); lab.status(); lab.down()
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any

from nornir_peering.drivers.birdc import BirdControl, BirdError, parse_protocols, parse_status
from nornir_peering.lab import topology
from nornir_peering.lab.daemons import Daemons, missing
from nornir_peering.lab.netns import Namespace

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
    """Our BIRD edges, one router per peer port (with a session per family it has, to each
    of our edges' addresses at that IX in that family), the direct peers and the FRR
    edge's route collector, from the lab topology."""
    ours = next(net for net in topology.NETS if net.asn == topology.LOCAL_ASN)
    routers = [
        LabRouter(name, edge.router_id, topology.LOCAL_ASN, edge.announces, managed=True)
        for name, edge in topology.OURS.items()
        if edge.platform == "bird"
    ]
    block, six_only = 0, 100  # prefix blocks: IPv6-only ports leave the IPv4 ones as they were
    for net in topology.NETS:
        if net.asn == topology.LOCAL_ASN:
            continue
        for ix_id, ipv4, ipv6 in net.ports:
            if ipv4 is not None:
                block += 1
            else:
                six_only += 1
            neighbors: list[tuple[str, str, int]] = []
            announces: list[str] = []
            for family, theirs in ((4, ipv4), (6, ipv6)):
                if theirs is None:
                    continue
                neighbors += [
                    (theirs, mine, topology.LOCAL_ASN)
                    for ix, *addresses in ours.ports
                    if ix == ix_id and (mine := addresses[family // 6]) is not None
                ]
                count = topology.ANNOUNCES.get(net.asn, 1)
                announces += topology.peer_prefixes(block if ipv4 else six_only, count, family)
                announces += [p for p in topology.HOSTILE.get(net.asn, ()) if _family(p) == family]
            address = ipv4 or ipv6
            assert address is not None
            routers.append(
                LabRouter(
                    f"as{net.asn}-{address}",
                    ipv4 or _router_id(address),
                    net.asn,
                    tuple(announces),
                    tuple(neighbors),
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


def _family(prefix: str) -> int:
    return ip_network(prefix).version


def _router_id(ipv6: str) -> str:
    """A router id for an IPv6-only router: 127.6.X.Y from its address's last 16 bits."""
    low = int(ip_address(ipv6)) & 0xFFFF
    return f"127.6.{low >> 8}.{low & 0xFF}"


FRR_ADDRESSES = frozenset(
    address
    for edge in topology.OURS.values()
    if edge.platform == "frr"
    for address in edge.addresses
)


class BirdLab(Daemons):
    """Start, stop and look at the lab's BIRD daemons, all under ``directory``."""

    pid_file = "bird.pid"
    programs = (("bird", "bird2"),)

    def __init__(
        self,
        directory: Path,
        routers: list[LabRouter] | None = None,
        namespace: Namespace | None = None,
    ) -> None:
        self.routers = {r.name: r for r in (routers or lab_routers())}
        super().__init__(directory, list(self.routers), namespace)

    def addresses(self) -> list[str]:
        """Every address the routers' sessions use, ours and the peers'."""
        return sorted({a for r in self.routers.values() for n in r.neighbors for a in n[:2]})

    def socket(self, name: str) -> Path:
        """The router's BIRD control socket."""
        return self.folder(name) / "bird.ctl"

    def config_file(self, name: str) -> Path:
        """The include file nornir-peering manages on an edge router."""
        return self.folder(name) / "peering.conf"

    def up(self, timeout: float = 30.0) -> None:
        """Write every config and start every daemon that is not running."""
        if missing(self.programs):
            raise RuntimeError("BIRD 2 is not installed (Debian package bird2)")
        self.enter()
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
        ]
        for family in (4, 6):
            lines += [
                f"protocol static announced{family} {{",
                f"  ipv{family};",
                *(
                    f"  route {prefix} blackhole;"
                    for prefix in router.announces
                    if _family(prefix) == family
                ),
                "}",
            ]
        password = topology.peer_password(router.asn)
        for index, (mine, theirs, asn) in enumerate(router.neighbors):
            family = ip_address(mine).version
            lines += [
                f"protocol bgp session{index} {{",
                f"  local {mine} port {BGP_PORT} as {router.asn};",
                f"  neighbor {theirs} port {BGP_PORT} as {asn};",
                "  multihop; strict bind yes;",
                *([f'  password "{password}";'] if password else []),
                "  connect delay time 1; connect retry time 2; error wait time 1, 10;",
                f"  ipv{family} {{ import all; export where source = RTS_STATIC;"
                + (
                    f" next hop address {topology.next_hop_for_frr(mine)};"
                    if family == 4 and theirs in FRR_ADDRESSES
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
