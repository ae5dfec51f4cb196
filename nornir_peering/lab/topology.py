"""The lab's own corner of PeeringDB: our AS and its peers at two IXes, dual stack.

The lab's routers live in a network namespace of their own, on addresses of
its loopback: the lab IXes have IPv4 prefixes from 127.0.0.0/8
(127.0.1.0/24, 127.0.2.0/24) and ULA IPv6 prefixes (fd00:7f8:1::/64,
fd00:7f8:2::/64). These objects are added to a generated dataset with fixed
ids (from :data:`LAB_ID`), so the lab's ``inventory/`` and the tests can name
them.

For example::

    data = add_lab(generate(scale=0.001))
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from ipaddress import ip_network
from typing import Any

from nornir_peering.errors import ConfigError
from nornir_peering.lab.datagen import BASE_TIME, LAB_IDS, NULLABLE, Dataset, Row
from nornir_peering.peeringdb.schema import columns

LAB_ID = LAB_IDS
LOCAL_ASN = 64500


@dataclass(frozen=True)
class LabIX:
    """One of the lab's IXes; its ixlan has the same id, ``rs_asn`` its route servers' AS."""

    id: int
    name: str
    prefix4: str
    prefix6: str
    rs_asn: int | None


@dataclass(frozen=True)
class LabNet:
    """A network of the lab, ours or a peer, with its ports at the lab IXes."""

    id: int
    asn: int
    name: str
    as_set: str
    prefixes4: int | None
    prefixes6: int | None
    ports: tuple[tuple[int, str | None, str | None], ...]  # (ix id, ipv4, ipv6)
    info_types: tuple[str, ...] = ("NSP",)
    policy_general: str = "Open"
    never_via_route_servers: bool = False
    rs_peer: bool = True  # its ports are on the IX's route servers
    operational: bool = True  # its ports are


IXES = (
    LabIX(LAB_ID + 1, "LAB-IX Loopback", "127.0.1.0/24", "fd00:7f8:1::/64", 65010),
    LabIX(LAB_ID + 2, "LAB-IX Second", "127.0.2.0/24", "fd00:7f8:2::/64", None),
)
_IX1, _IX2 = LAB_ID + 1, LAB_ID + 2

NETS = (
    LabNet(
        LAB_ID + 1,
        LOCAL_ASN,
        "Nornir Peering Lab",
        "AS-NPLAB",
        10,
        5,
        (
            (_IX1, "127.0.1.1", "fd00:7f8:1::1"),
            (_IX1, "127.0.1.2", "fd00:7f8:1::2"),
            (_IX1, "127.0.1.3", "fd00:7f8:1::3"),
            (_IX2, "127.0.2.1", "fd00:7f8:2::1"),
            (_IX2, "127.0.2.3", "fd00:7f8:2::3"),
        ),
    ),
    LabNet(
        LAB_ID + 2,
        65001,
        "Peer One Networks",
        "AS-PEERONE",
        20,
        10,
        ((_IX1, "127.0.1.11", "fd00:7f8:1::11"), (_IX2, "127.0.2.11", "fd00:7f8:2::11")),
    ),
    LabNet(
        LAB_ID + 3,
        65002,
        "Two Ports Telecom",
        "RIPE::AS-TWOPORTS AS-TWOPORTS-V6",
        150,
        None,
        ((_IX1, "127.0.1.12", "fd00:7f8:1::12"), (_IX1, "127.0.1.13", None)),
    ),
    LabNet(LAB_ID + 4, 65003, "Only Four Broadband", "", 8, 0, ((_IX1, "127.0.1.14", None),)),
    LabNet(
        LAB_ID + 8,
        65006,
        "Six Only Networks",
        "AS-SIXONLY",
        0,
        4,
        ((_IX1, None, "fd00:7f8:1::16"),),
    ),
    # a stranger's name and AS-SET, the kind a template must never paste as is
    LabNet(
        LAB_ID + 5,
        65004,
        'Evil "Net" }; protocol bgp x {',
        'AS-EVIL\n}; include "/etc"',
        1000,
        1000,
        ((_IX1, "127.0.1.15", "fd00:7f8:1::15"),),
    ),
    LabNet(
        LAB_ID + 6,
        65010,
        "LAB-IX Route Servers",
        "AS-LABIX-RS",
        50000,
        10000,
        ((_IX1, "127.0.1.250", "fd00:7f8:1::250"),),
        ("Route Server",),
    ),
    LabNet(
        LAB_ID + 7,
        65005,
        "Second IX Only Hosting",
        "AS65005",
        30,
        30,
        ((_IX2, "127.0.2.15", "fd00:7f8:2::15"),),
    ),
)

# Members of the lab IXes that the inventory does not peer with (yet): in PeeringDB
# only, no lab router, for check-ix-sessions to find and rank
PROSPECTS = (
    LabNet(
        LAB_ID + 20,
        65020,
        "Open Prospect Transit",
        "AS-OPENPROSPECT",
        500,
        100,
        ((_IX1, "127.0.1.20", "fd00:7f8:1::20"), (_IX2, "127.0.2.20", "fd00:7f8:2::20")),
        rs_peer=False,
    ),
    LabNet(
        LAB_ID + 21,
        65021,
        "Selective Content Delivery",
        "AS-SELECTIVE",
        2000,
        500,
        ((_IX1, "127.0.1.21", "fd00:7f8:1::21"), (_IX1, "127.0.1.22", "fd00:7f8:1::22")),
        ("Content",),
        policy_general="Selective",
    ),
    LabNet(
        LAB_ID + 22,
        65022,
        "Restrictive Eyeballs",
        "",
        40000,
        None,
        ((_IX1, "127.0.1.23", None),),
        ("Cable/DSL/ISP",),
        policy_general="Restrictive",
        never_via_route_servers=True,
        rs_peer=False,
    ),
    LabNet(
        LAB_ID + 23,
        65023,
        "Sleeping Port Hosting",
        "AS65023",
        5,
        5,
        ((_IX1, "127.0.1.24", "fd00:7f8:1::24"),),
        operational=False,
    ),
    # inventory/peering.yaml's ignore_asns: 65024 for good, 65025 until a past date
    LabNet(LAB_ID + 24, 65024, "Ignored For Good", "", 10, 0, ((_IX1, "127.0.1.25", None),)),
    LabNet(LAB_ID + 25, 65025, "Ignored Until 2024", "", 10, 0, ((_IX1, "127.0.1.26", None),)),
)

# What the lab IXes' IX-F member exports (lab/ixf.py) say beyond PeeringDB: a member
# that PeeringDB lacks, (ix id, asn, name, ipv4, ipv6), and an address that differs,
# (ix id, asn, PeeringDB's address, the export's)
IXF_ONLY = ((_IX1, 65030, "IX-F Only Networks", "127.0.1.30", "fd00:7f8:1::30"),)
IXF_DIFFERENT = ((_IX1, 65021, "127.0.1.22", "127.0.1.29"),)


def ixf_url(ix_id: int) -> str:
    """Where the lab PeeringDB serves an IX's IX-F export: a path on the server itself
    (PeeringDB's own are absolute URLs; a relative one is read against the API's)."""
    return f"/ixf/{ix_id}.json"


# Sessions outside the IXes: (remote ASN, its address, our address, our router)
DIRECT = ((65100, "127.0.3.1", "127.0.3.2", "edge2"), (65200, "127.0.4.1", "127.0.4.2", "edge1"))
# How many prefixes each peer announces in the lab (65003 is at its limit)
ANNOUNCES = {
    65001: 3,
    65002: 5,
    65003: 9,
    65004: 2,
    65006: 3,
    65010: 20,
    65005: 4,
    65100: 50,
    65200: 3,
}
# What a hostile peer announces besides its own, in each family: a bogon, one of our
# prefixes, one longer than /24 (/48), the default route and one shorter than /8 (/16).
# Every import policy must drop all of them (it has no IRR list to do it for them).
HOSTILE = {
    65004: (
        "10.66.0.0/24",
        "11.0.0.0/24",
        "12.99.0.128/25",
        "0.0.0.0/0",
        "4.0.0.0/6",
        "fd00:dead::/48",
        "2a0f:11::/48",
        "2a0f:1299:0:1::/64",
        "::/0",
        "2a00::/12",
    )
}
# The environment variables holding the TCP MD5 keys the lab's peers expect: lab up
# reads them, and inventory/peering.yaml refers to the same ({env: ...}); ./run demo
# draws one at random.
PASSWORD_VARIABLES = {65005: "LAB_AS65005_PASSWORD"}


def peer_password(asn: int) -> str | None:
    """The TCP MD5 key the lab's AS ``asn`` expects (None: it has none), from the
    environment; a lab peer with a key and no variable set is an error."""
    variable = PASSWORD_VARIABLES.get(asn)
    if variable is None:
        return None
    value = os.environ.get(variable)
    if not value:
        raise ConfigError(
            f"{variable} is not set: the lab's AS{asn} peer needs its BGP password "
            f"(export {variable}=... first; inventory/peering.yaml reads the same variable)"
        )
    if '"' in value or "\\" in value:
        raise ConfigError(f"{variable}: the lab's BIRD peers cannot take a quote or a backslash")
    return value


# Our prefixes (inventory/peering.yaml's local_as.prefixes4/6), announced by our edges
OUR_PREFIXES = ("11.0.0.0/22", "2a0f:11::/44")


@dataclass(frozen=True)
class LabEdge:
    """One of our routers: nornir-peering configures its sessions."""

    router_id: str
    addresses: tuple[str, ...]  # its IX ports (both families) and direct sessions
    announces: tuple[str, ...]
    platform: str = "bird"


OURS = {
    "edge1": LabEdge(
        "127.0.1.1",
        ("127.0.1.1", "fd00:7f8:1::1", "127.0.2.1", "fd00:7f8:2::1", "127.0.4.2"),
        ("11.0.0.0/24", "2a0f:11::/48"),
    ),
    "edge2": LabEdge(
        "127.0.1.2", ("127.0.1.2", "fd00:7f8:1::2", "127.0.3.2"), ("11.0.1.0/24", "2a0f:11:1::/48")
    ),
    # FRR: its own configuration announces 11.0.2.0/24 and 2a0f:11:2::/48, and has a
    # route collector
    "edge3": LabEdge(
        "127.0.1.3",
        ("127.0.1.3", "fd00:7f8:1::3", "127.0.2.3", "fd00:7f8:2::3"),
        ("11.0.2.0/24", "2a0f:11:2::/48"),
        "frr",
    ),
}
# The FRR edge's own iBGP neighbor, which nornir-peering does not manage: (address, router)
COLLECTOR = ("127.0.9.3", "edge3")


def peer_prefixes(block: int, count: int, family: int = 4) -> tuple[str, ...]:
    """``count`` prefixes for the lab peer numbered ``block``: 12.<block>.<i>.0/24, or
    2a0f:12<block>:<i>::/48 in IPv6.

    Public-looking space, so that bogon filters let them through; the lab never
    installs a route in a kernel, and its routers live in a network namespace of
    their own, so nothing is ever sent there.

    >>> peer_prefixes(3, 2), peer_prefixes(3, 2, 6)
    (('12.3.0.0/24', '12.3.1.0/24'), ('2a0f:1203::/48', '2a0f:1203:1::/48'))
    """
    if family == 6:
        return tuple(str(ip_network(f"2a0f:{0x1200 + block:x}:{i:x}::/48")) for i in range(count))
    return tuple(f"12.{block}.{i}.0/24" for i in range(count))


def next_hop_for_frr(address: str) -> str:
    """The next hop a lab BIRD router announces to an FRR router: 127.0.X.Y → 198.18.X.Y.

    FRR 8.4 drops an UPDATE whose next hop is in 127.0.0.0/8 ("Martian
    nexthop") and resets the session, so the lab's BIRD routers announce
    routes to FRR with a next hop from 198.18.0.0/15 (RFC 2544, never routed
    here: FRR runs without zebra and installs nothing).
    """
    return "198.18." + ".".join(address.split(".")[2:])


def add_lab(data: Dataset) -> Dataset:
    """``data`` with the lab's organisation, IXes, networks and ports added."""
    stamp = BASE_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = {tag: list(table) for tag, table in data.rows.items()}

    def add(tag: str, **fields: Any) -> None:
        """A row with every field of ``tag`` as PeeringDB leaves it blank, then ``fields``:
        null where PeeringDB has null (:data:`NULLABLE`), otherwise "", 0, false or []."""
        row: Row = {
            name: None if name in NULLABLE[tag] else [] if kind.endswith("[]") else _BLANK[kind]
            for name, kind in columns(tag).items()
        }
        row.update(status="ok", created="2020-01-01T00:00:00Z", updated=stamp, version=1)
        rows[tag].append({**row, **fields})

    add("org", id=LAB_ID, name="Nornir Peering Lab Org", city="Loopback", country="NL")
    for ix in IXES:
        add(
            "ix",
            id=ix.id,
            org_id=LAB_ID,
            name=ix.name,
            name_long=ix.name,
            city="Loopback",
            country="NL",
            region_continent="Europe",
            media="Ethernet",
            proto_unicast=True,
            proto_ipv6=True,
            ixf_import_request_status="queued",
        )
        add(
            "ixlan",
            id=ix.id,
            ix_id=ix.id,
            mtu=1500,
            rs_asn=ix.rs_asn,
            ixf_ixp_member_list_url=ixf_url(ix.id),
            ixf_ixp_member_list_url_visible="Public",
        )
        for offset, (proto, prefix) in enumerate((("IPv4", ix.prefix4), ("IPv6", ix.prefix6))):
            add(
                "ixpfx",
                id=ix.id * 10 + offset,
                ixlan_id=ix.id,
                protocol=proto,
                prefix=prefix,
                in_dfz=True,
            )
    port_id = LAB_ID
    for net in NETS + PROSPECTS:
        add(
            "net",
            id=net.id,
            org_id=LAB_ID,
            name=net.name,
            asn=net.asn,
            irr_as_set=net.as_set,
            info_type=net.info_types[0],
            info_types=list(net.info_types),
            info_prefixes4=net.prefixes4,
            info_prefixes6=net.prefixes6,
            info_unicast=True,
            info_ipv6=True,
            info_never_via_route_servers=net.never_via_route_servers,
            policy_general=net.policy_general,
            policy_locations="Not Required",
            policy_contracts="Not Required",
            rir_status="ok",
            rir_status_updated=stamp,
        )
        for ix_id, ipv4, ipv6 in net.ports:
            port_id += 1
            name = next(ix.name for ix in IXES if ix.id == ix_id)
            add(
                "netixlan",
                id=port_id,
                net_id=net.id,
                ix_id=ix_id,
                ixlan_id=ix_id,
                name=name,
                speed=10000,
                asn=net.asn,
                ipaddr4=ipv4,
                ipaddr6=ipv6,
                is_rs_peer=net.rs_peer and net.asn != 65010,
                operational=net.operational,
            )
    return Dataset(rows, data.generated)


# what a field the lab leaves unset holds, by its column type, unless PeeringDB has null
# there: counts are 0, never null (peeringdb-py's columns are NOT NULL); created and
# updated are always given
_BLANK: dict[str, Any] = {
    "VARCHAR": "",
    "BOOLEAN": False,
    "BIGINT": 0,
    "DOUBLE": 0.0,
    "TIMESTAMP": None,
}
