"""A deterministic generator of PeeringDB-like data, at any scale.

Real PeeringDB data may not be redistributed, so the lab serves generated
data with the shape and awkwardness of the real thing: 16- and 32-bit ASNs,
IRR AS-SETs in all their forms (``AS-FOO``, ``RIPE::AS-FOO``, several sets,
none), IPv4 and IPv6 addresses inside each IX's prefixes, unicode names,
names with quotes and braces, notes over several lines, NULLs where
PeeringDB has them, contacts of all visibilities and a few deleted objects.

>>> data = generate(scale=0.001, seed=7)
>>> sorted(data.rows) == sorted(PRODUCTION)
True
>>> evolve(data, seed=8).generated > data.generated
True

``PRODUCTION`` (scale 1.0) is close to today's PeeringDB: about 270k objects,
well over 100 MB of JSON.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from nornir_peering.peeringdb.schema import TAGS

Row = dict[str, Any]

PRODUCTION: dict[str, int] = {
    "org": 33000,
    "campus": 70,
    "fac": 5900,
    "net": 34000,
    "ix": 1300,
    "carrier": 290,
    "carrierfac": 950,
    "ixfac": 3600,
    "ixlan": 1300,
    "ixpfx": 2300,
    "netfac": 60000,
    "netixlan": 80000,
    "poc": 30000,
}
BASE_TIME = datetime(2026, 11, 1, tzinfo=UTC)
LAB_IDS = 10_000_000  # ids from here on belong to the lab's own objects

# The fields PeeringDB may send as null: null=True in django-peeringdb's models
# (models/abstract.py, concrete.py), and the API's own fields that its serializers
# (peeringdb_server/serializers.py) leave null when unset. Every other field always
# has a value, "", 0, false or [] when blank: peeringdb-py stores the models' columns
# NOT NULL.
NULLABLE: dict[str, frozenset[str]] = {
    tag: frozenset(fields.split())
    for tag, fields in {
        "org": "logo latitude longitude",
        "campus": "name_long aka logo",
        "fac": "campus_id property diverse_serving_substations available_voltage_services "
        "region_continent status_dashboard logo latitude longitude",
        "net": "info_prefixes4 info_prefixes6 netixlan_updated netfac_updated poc_updated "
        "status_dashboard rir_status rir_status_updated logo",
        "ix": "ixf_last_import ixf_import_request status_dashboard logo",
        "carrier": "logo",
        "carrierfac": "",
        "ixfac": "",
        # arp_sponge is also unique: a blank one is null, never "" (MacAddressField)
        "ixlan": "rs_asn arp_sponge ixf_ixp_member_list_url",
        "ixpfx": "",
        "netfac": "",
        "netixlan": "ipaddr4 ipaddr6 net_side_id ix_side_id",
        "poc": "",
    }.items()
}
# The pairs PeeringDB keeps unique (unique_together in django-peeringdb's concrete models)
PAIRS: dict[str, tuple[str, str]] = {
    "carrierfac": ("carrier_id", "fac_id"),
    "ixfac": ("ix_id", "fac_id"),
    "netfac": ("net_id", "fac_id"),
}

_WORDS = [
    "Alpha",
    "Atlas",
    "Aurora",
    "Backbone",
    "Beacon",
    "Blue",
    "Bridge",
    "Cable",
    "Carrier",
    "Cedar",
    "Cloud",
    "Coastal",
    "Comet",
    "Core",
    "Delta",
    "Digital",
    "Direct",
    "Edge",
    "Fiber",
    "First",
    "Global",
    "Granite",
    "Harbor",
    "Horizon",
    "Hyper",
    "Iron",
    "Jade",
    "Lambda",
    "Lantern",
    "Link",
    "Lumen",
    "Metro",
    "Meridian",
    "Nexus",
    "North",
    "Nova",
    "Ocean",
    "Omni",
    "Optic",
    "Orbit",
    "Peak",
    "Pioneer",
    "Pixel",
    "Polar",
    "Prime",
    "Pulse",
    "Quantum",
    "Radius",
    "Relay",
    "River",
    "Signal",
    "Silver",
    "Spark",
    "Spectrum",
    "Star",
    "Summit",
    "Swift",
    "Tele",
    "Terra",
    "Titan",
    "Transit",
    "Unity",
    "Vector",
    "Velocity",
    "Vista",
    "Wave",
    "West",
    "Zenith",
]
_UNICODE = (
    "Zürich",
    "São Paulo",
    "Москва",
    "東京",
    "Kraków",
    "İstanbul",
    "Αθήνα",
    "Ñandú",
    "Reykjavík",
    "Łódź",
    "Šiauliai",
    "Ōsaka",
)
_SUFFIX = (
    "Networks",
    "Telecom",
    "Internet",
    "Communications",
    "Hosting",
    "Broadband",
    "Cloud",
    "Data",
    "ISP",
    "Online",
    "GmbH",
    "Ltd",
    "Inc.",
    "B.V.",
    "S.A.",
    "LLC",
)
# Names that a careless template would turn into configuration.
_HOSTILE = (
    'Quote "Networks"',
    "Brace {Telecom}; protocol",
    "Semi;colon Net",
    "Back\\slash ISP",
    "It's Apostrophe Ltd",
    "Hash # Comment AS",
)
_CITIES = (
    ("Amsterdam", "NL", "Europe"),
    ("Frankfurt", "DE", "Europe"),
    ("London", "GB", "Europe"),
    ("Paris", "FR", "Europe"),
    ("Zürich", "CH", "Europe"),
    ("Stockholm", "SE", "Europe"),
    ("Warsaw", "PL", "Europe"),
    ("New York", "US", "North America"),
    ("Ashburn", "US", "North America"),
    ("Chicago", "US", "North America"),
    ("Toronto", "CA", "North America"),
    ("São Paulo", "BR", "South America"),
    ("Buenos Aires", "AR", "South America"),
    ("Singapore", "SG", "Asia Pacific"),
    ("Tokyo", "JP", "Asia Pacific"),
    ("Hong Kong", "HK", "Asia Pacific"),
    ("Sydney", "AU", "Australia"),
    ("Johannesburg", "ZA", "Africa"),
    ("Nairobi", "KE", "Africa"),
    ("Dubai", "AE", "Middle East"),
)
_INFO_TYPES = (
    "NSP",
    "Content",
    "Cable/DSL/ISP",
    "Enterprise",
    "Educational/Research",
    "Non-Profit",
    "Route Server",
    "Network Services",
    "Government",
)
_POLICIES = ("Open", "Open", "Open", "Selective", "Restrictive", "No")
# PeeringDB's own choices (django-peeringdb's const module)
_TRAFFIC = (
    "",
    "0-20Mbps",
    "20-100Mbps",
    "100-1000Mbps",
    "1-5Gbps",
    "5-10Gbps",
    "10-20Gbps",
    "20-50Gbps",
    "50-100Gbps",
    "100-200Gbps",
    "200-300Gbps",
    "300-500Gbps",
    "500-1000Gbps",
    "1-5Tbps",
    "5-10Tbps",
    "10-20Tbps",
    "20-50Tbps",
    "50-100Tbps",
    "100+Tbps",
)
_RATIOS = (
    "",
    "Not Disclosed",
    "Heavy Outbound",
    "Mostly Outbound",
    "Balanced",
    "Mostly Inbound",
    "Heavy Inbound",
)
_SCOPES = (
    "",
    "Not Disclosed",
    "Regional",
    "North America",
    "Asia Pacific",
    "Europe",
    "South America",
    "Africa",
    "Australia",
    "Middle East",
    "Global",
)
_LOCATIONS = (
    "Not Required",
    "Preferred",
    "Required - US",
    "Required - EU",
    "Required - International",
)
_VOLTAGES = ("48 VDC", "400 VAC", "480 VAC")
_ROLES = ("Abuse", "Maintenance", "Policy", "Technical", "NOC", "Public Relations", "Sales")
_SPEEDS = (1000, 10000, 10000, 10000, 20000, 40000, 100000, 100000, 200000, 400000)


@dataclass
class Dataset:
    """All objects of one PeeringDB snapshot, deleted ones included."""

    rows: dict[str, list[Row]]
    generated: float  # unix time the snapshot was taken

    def count(self, tag: str, status: str = "ok") -> int:
        """How many ``tag`` objects have ``status``."""
        return sum(1 for row in self.rows[tag] if row["status"] == status)


def scaled_counts(scale: float) -> dict[str, int]:
    """Production's count of each type times ``scale``, with a floor for small scales.

    At least one object of each type, two IXes (each with its one ixlan), eight
    networks, and an organisation for every two networks.
    """
    counts = {tag: max(1, round(n * scale)) for tag, n in PRODUCTION.items()}
    counts["ix"] = counts["ixlan"] = max(2, counts["ix"])
    counts["net"] = max(counts["net"], 8)
    counts["org"] = max(counts["org"], counts["net"] // 2)
    return counts


def generate(scale: float = 1.0, seed: int = 1) -> Dataset:
    """A snapshot with ``scale`` times production's object counts."""
    return _Generator(scale, seed).run()


class _Generator:
    def __init__(self, scale: float, seed: int) -> None:
        self.rng = random.Random(seed)
        self.counts = scaled_counts(scale)
        self.rows: dict[str, list[Row]] = {tag: [] for tag in PRODUCTION}
        self.names: set[tuple[str, str]] = set()

    def run(self) -> Dataset:
        for tag in TAGS:  # parents before children; an ixlan's prefixes come with it
            if tag != "ixpfx":
                getattr(self, f"_{tag}")(self.counts[tag])
        self._delete_some()
        return Dataset(self.rows, BASE_TIME.timestamp())

    # -- helpers -------------------------------------------------------------

    def _base(self, tag: str) -> Row:
        rng = self.rng
        created = BASE_TIME - timedelta(seconds=rng.randint(86400, 16 * 365 * 86400))
        span = int((BASE_TIME - created).total_seconds())
        updated = created + timedelta(seconds=rng.randint(0, span - 3600))
        row: Row = {
            "id": len(self.rows[tag]) + 1,
            "status": "ok",
            "created": _ts(created),
            "updated": _ts(updated),
            "version": rng.randint(1, 12),
        }
        self.rows[tag].append(row)
        return row

    def _name(self, kind: str) -> str:
        rng = self.rng
        while True:
            roll = rng.random()
            if roll < 0.004:
                name = f"{rng.choice(_HOSTILE)} {rng.randint(1, 99999)}"
            elif roll < 0.06:
                name = f"{rng.choice(_UNICODE)} {rng.choice(_WORDS)} {rng.choice(_SUFFIX)}"
            else:
                name = f"{rng.choice(_WORDS)}{rng.choice(_WORDS).lower()} {rng.choice(_SUFFIX)}"
            if rng.random() < 0.5:
                name = f"{name} {rng.randint(2, 9999)}"
            if (kind, name) not in self.names:
                self.names.add((kind, name))
                return name

    def _social(self, website: str) -> list[dict[str, str]]:
        media = [{"service": "website", "identifier": website}] if website else []
        if self.rng.random() < 0.2:
            media.append({"service": "x", "identifier": f"@{self.rng.choice(_WORDS).lower()}"})
        return media

    def _notes(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.6:
            return ""
        lines = [
            f"{rng.choice(_WORDS)} {rng.choice(_WORDS).lower()} policy applies."
            for _ in range(rng.randint(1, 4))
        ]
        if roll > 0.97:
            lines.append("Contact: noc@example.net\r\n} protocol bgp evil {")
        return "\n".join(lines)

    def _address(self, row: Row) -> None:
        rng = self.rng
        city, country, _ = rng.choice(_CITIES)
        row.update(
            address1=f"{rng.randint(1, 300)} {rng.choice(_WORDS)} Street",
            address2="",
            city=city,
            state="",
            zipcode=str(rng.randint(1000, 99999)),
            country=country,
            suite="",
            floor="",
            latitude=round(rng.uniform(-60, 70), 6) if rng.random() < 0.7 else None,
            longitude=round(rng.uniform(-180, 180), 6) if rng.random() < 0.7 else None,
        )

    def _website(self, name: str) -> str:
        slug = "".join(ch for ch in name.lower() if ch.isascii() and ch.isalnum())[:20] or "net"
        return f"https://www.{slug}.example" if self.rng.random() < 0.9 else ""

    def _pick(self, tag: str) -> Row:
        return self.rng.choice(self.rows[tag])

    # -- object types, parents first -----------------------------------------

    def _org(self, n: int) -> None:
        for _ in range(n):
            row = self._base("org")
            name = self._name("org")
            site = self._website(name)
            row.update(
                name=name,
                aka="",
                name_long="",
                website=site,
                social_media=self._social(site),
                notes=self._notes(),
                logo=None,
            )
            self._address(row)

    def _campus(self, n: int) -> None:
        for _ in range(n):
            org = self._pick("org")
            row = self._base("campus")
            city, country, _ = self.rng.choice(_CITIES)
            row.update(
                org_id=org["id"],
                org_name=org["name"],
                name=f"{org['name']} {city} Campus {row['id']}",
                name_long="",
                aka="",
                website=org["website"],
                social_media=[],
                notes="",
                country=country,
                city=city,
                zipcode="",
                state="",
                logo=None,
            )

    def _fac(self, n: int) -> None:
        rng = self.rng
        for _ in range(n):
            org = self._pick("org")
            row = self._base("fac")
            name = f"{rng.choice(_WORDS)} {rng.choice(_WORDS)} DC{row['id']}"
            campus = self._pick("campus")["id"] if rng.random() < 0.05 else None
            row.update(
                org_id=org["id"],
                org_name=org["name"],
                campus_id=campus,
                name=name,
                aka="",
                name_long="",
                website=self._website(name),
                social_media=[],
                clli=f"{rng.choice(_WORDS)[:4].upper()}{rng.choice('ABCDEFGH')}",
                rencode="",
                npanxx="",
                tech_email=f"noc@dc{row['id']}.example",
                tech_phone="",
                sales_email="",
                sales_phone="",
                property=rng.choice((None, "Owner", "Lessee")),
                diverse_serving_substations=rng.choice((None, True, False)),
                available_voltage_services=rng.sample(_VOLTAGES, rng.randint(0, 3)),
                notes=self._notes(),
                region_continent=None,
                status_dashboard=None,
                net_count=0,
                ix_count=0,
                carrier_count=0,
                logo=None,
            )
            self._address(row)
            row["region_continent"] = next(c[2] for c in _CITIES if c[1] == row["country"])

    def _net(self, n: int) -> None:
        rng = self.rng
        asns = self._asns(n)
        orgs = self.rows["org"]
        for i in range(n):
            org = orgs[i] if i < len(orgs) else self._pick("org")
            row = self._base("net")
            name = self._name("net") if i else org["name"]
            self.names.add(("net", name))
            site = self._website(name)
            types = rng.sample(_INFO_TYPES, rng.choice((1, 1, 1, 2)))
            row.update(
                org_id=org["id"],
                name=name,
                aka="",
                name_long="",
                website=site,
                social_media=self._social(site),
                asn=asns[i],
                looking_glass=f"https://lg.{site[12:]}" if site and rng.random() < 0.2 else "",
                route_server="",
                irr_as_set=self._as_set(asns[i], name),
                info_type=types[0],
                info_types=types,
                info_prefixes4=self._prefix_count(10),
                info_prefixes6=self._prefix_count(4),
                info_traffic=rng.choice(_TRAFFIC),
                info_ratio=rng.choice(_RATIOS),
                info_scope=rng.choice(_SCOPES),
                info_unicast=True,
                info_multicast=rng.random() < 0.05,
                info_ipv6=rng.random() < 0.8,
                info_never_via_route_servers=rng.random() < 0.05,
                ix_count=0,
                fac_count=0,
                notes=self._notes(),
                netixlan_updated=None,
                netfac_updated=None,
                poc_updated=None,
                policy_url="",
                policy_general=rng.choice(_POLICIES),
                policy_locations=rng.choice(_LOCATIONS),
                policy_ratio=rng.random() < 0.1,
                policy_contracts=rng.choice(("Not Required", "Private Only", "Required")),
                allow_ixp_update=rng.random() < 0.5,
                status_dashboard=None,
                rir_status="ok",
                rir_status_updated=row["updated"],
                logo=None,
            )

    def _asns(self, n: int) -> list[int]:
        rng = self.rng
        pool16 = rng.sample(range(1, 64496), min(n // 2 + 1, 60000))
        pool32 = rng.sample(range(131072, 401309), n)
        out: list[int] = []
        for i in range(n):
            out.append(pool16[i] if i < len(pool16) and rng.random() < 0.55 else pool32[i])
        assert len(set(out)) == n
        return out

    def _as_set(self, asn: int, name: str) -> str:
        rng = self.rng
        word = "".join(ch for ch in name.upper() if ch.isascii() and ch.isalnum())[:12] or "NET"
        roll = rng.random()
        if roll < 0.25:
            return ""
        if roll < 0.55:
            return f"AS-{word}"
        if roll < 0.70:
            return f"{rng.choice(('RIPE', 'ARIN', 'RADB', 'APNIC', 'NTTCOM'))}::AS-{word}"
        if roll < 0.80:
            return f"AS{asn}:AS-CUSTOMERS"
        if roll < 0.88:
            return f"AS-{word} AS-{word}-V6"
        if roll < 0.93:
            return f"RIPE::AS-{word}, RADB::AS-{word}"
        if roll < 0.97:
            return f"AS{asn}"
        return f"as-{word.lower()}"

    def _prefix_count(self, scale: int) -> int | None:
        rng = self.rng
        if rng.random() < 0.08:
            return None
        return min(int(rng.paretovariate(1.1) * scale) - scale, 1_000_000)

    def _ix(self, n: int) -> None:
        rng = self.rng
        for _ in range(n):
            org = self._pick("org")
            row = self._base("ix")
            city, country, region = rng.choice(_CITIES)
            name = f"{rng.choice(_WORDS).upper()}-IX {city} {row['id']}"
            row.update(
                org_id=org["id"],
                name=name,
                aka="",
                name_long=f"{name} Internet Exchange",
                city=city,
                country=country,
                region_continent=region,
                media="Ethernet",
                notes=self._notes(),
                proto_unicast=True,
                proto_multicast=False,
                proto_ipv6=True,
                website=self._website(name),
                social_media=[],
                url_stats="",
                tech_email=f"noc@ix{row['id']}.example",
                tech_phone="",
                policy_email=f"peering@ix{row['id']}.example",
                policy_phone="",
                sales_email="",
                sales_phone="",
                net_count=0,
                fac_count=0,
                ixf_net_count=0,
                ixf_last_import=None,
                ixf_import_request=None,
                ixf_import_request_status="queued",
                service_level="Not Disclosed",
                terms="Not Disclosed",
                status_dashboard=None,
                logo=None,
            )

    def _carrier(self, n: int) -> None:
        for _ in range(n):
            org = self._pick("org")
            row = self._base("carrier")
            name = f"{org['name']} Carrier {row['id']}"
            row.update(
                org_id=org["id"],
                org_name=org["name"],
                name=name,
                aka="",
                name_long="",
                website=org["website"],
                social_media=[],
                notes="",
                fac_count=0,
                logo=None,
            )

    def _pairs(self, n: int, left: str, right: str) -> Iterator[tuple[Row, Row]]:
        seen: set[tuple[int, int]] = set()
        while len(seen) < min(n, len(self.rows[left]) * len(self.rows[right])):
            a, b = self._pick(left), self._pick(right)
            if (a["id"], b["id"]) not in seen:
                seen.add((a["id"], b["id"]))
                yield a, b

    def _carrierfac(self, n: int) -> None:
        for carrier, fac in self._pairs(n, "carrier", "fac"):
            row = self._base("carrierfac")
            row.update(carrier_id=carrier["id"], fac_id=fac["id"], name=carrier["name"])

    def _ixfac(self, n: int) -> None:
        for ix, fac in self._pairs(n, "ix", "fac"):
            row = self._base("ixfac")
            row.update(
                ix_id=ix["id"],
                fac_id=fac["id"],
                name=fac["name"],
                city=fac["city"],
                country=fac["country"],
            )

    def _netfac(self, n: int) -> None:
        for net, fac in self._pairs(n, "net", "fac"):
            row = self._base("netfac")
            row.update(
                net_id=net["id"],
                fac_id=fac["id"],
                name=fac["name"],
                city=fac["city"],
                country=fac["country"],
                local_asn=net["asn"],
            )

    def _ixlan(self, n: int) -> None:
        """IX LANs, their prefixes sized for their members, and their members."""
        rng = self.rng
        members = self._member_counts(self.counts["netixlan"], n)
        v6_share = max(0.0, min(1.0, self.counts["ixpfx"] / n - 1))
        cursor = int(ipaddress.IPv4Address("185.0.0.0"))
        self.ixlan_nets: dict[int, list[ipaddress.IPv4Network | ipaddress.IPv6Network]] = {}
        for ix, count in zip(self.rows["ix"], members, strict=True):
            row = self._base("ixlan")
            row.update(
                id=ix["id"],
                ix_id=ix["id"],
                name="",
                descr="",
                mtu=rng.choice((1500, 9000)),
                dot1q_support=False,
                rs_asn=rng.choice((None, 6695, 64500 + ix["id"] % 1000)),
                arp_sponge=None,
                ixf_ixp_member_list_url=None,
                ixf_ixp_member_list_url_visible=rng.choice(("Public", "Private")),
                ixf_ixp_import_enabled=False,
            )
            bits = max(8, (count * 2 + 4).bit_length())  # room for everyone, twice over
            cursor = -(-cursor // (1 << bits)) * (1 << bits)
            v4 = ipaddress.IPv4Network((cursor, 32 - bits))
            cursor += 1 << bits
            nets: list[Any] = [v4]
            self._prefix(row["id"], v4)
            if rng.random() < v6_share:
                v6 = ipaddress.ip_network(f"2001:7f8:{row['id']:x}::/64")
                nets.append(v6)
                self._prefix(row["id"], v6)
            self.ixlan_nets[row["id"]] = nets
        self.ixlan_members = dict(zip((r["id"] for r in self.rows["ixlan"]), members, strict=True))

    def _member_counts(self, total: int, n: int, cap: int = 1500) -> list[int]:
        """Members per IX: a few large exchanges, a long tail of small ones."""
        weights = [1.0 / (rank + 1) ** 0.8 for rank in range(n)]
        scale = total / sum(weights)
        counts = [min(cap, max(1, int(w * scale))) for w in weights]
        rank = 0
        while sum(counts) < total and min(counts) < cap:
            counts[rank % n] += counts[rank % n] < cap
            rank += 1
        self.rng.shuffle(counts)
        return counts

    def _prefix(self, ixlan: int, net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> None:
        row = self._base("ixpfx")
        row.update(
            ixlan_id=ixlan, protocol=f"IPv{net.version}", prefix=str(net), in_dfz=True, notes=""
        )

    def _netixlan(self, n: int) -> None:
        rng = self.rng
        nets = self.rows["net"]
        ix_names = {ix["id"]: ix["name"] for ix in self.rows["ix"]}
        for ixlan_id, members in self.ixlan_members.items():
            prefixes = self.ixlan_nets[ixlan_id]
            hosts4 = prefixes[0].hosts()
            for k, net in enumerate(rng.sample(nets, min(members, len(nets)))):
                for port in range(2 if rng.random() < 0.02 else 1):
                    row = self._base("netixlan")
                    roll = rng.random()
                    v4 = str(next(hosts4)) if roll > 0.03 or len(prefixes) == 1 else None
                    v6 = None
                    if len(prefixes) > 1 and roll < 0.9:
                        v6 = str(prefixes[1].network_address + (k * 4 + port + 1))
                    row.update(
                        net_id=net["id"],
                        ix_id=ixlan_id,
                        ixlan_id=ixlan_id,
                        name=ix_names[ixlan_id],
                        notes="",
                        speed=rng.choice(_SPEEDS),
                        asn=net["asn"],
                        ipaddr4=v4,
                        ipaddr6=v6,
                        is_rs_peer=rng.random() < 0.6,
                        bfd_support=rng.random() < 0.2,
                        operational=rng.random() < 0.97,
                        net_side_id=None,
                        ix_side_id=None,
                    )

    def _poc(self, n: int) -> None:
        rng = self.rng
        for _ in range(n):
            net = self._pick("net")
            row = self._base("poc")
            role = rng.choice(_ROLES)
            row.update(
                net_id=net["id"],
                role=role,
                visible=rng.choices(("Public", "Users", "Private"), (6, 3, 1))[0],
                name=f"{role} {rng.choice(_WORDS)}",
                phone=f"+{rng.randint(10**9, 10**11)}",
                email=f"{role.lower().replace(' ', '')}@as{net['asn']}.example",
                url="",
            )

    def _delete_some(self) -> None:
        """A few deleted objects, as ``since=`` replies show them.

        As in PeeringDB, deleting an object deletes what hangs off it; the
        organisations deleted are ones that own networks only.
        """
        rng = self.rng
        cascade = _Cascade(self.rows)
        owners = {
            row["org_id"] for tag in ("fac", "ix", "carrier", "campus") for row in self.rows[tag]
        }
        for tag in ("netixlan", "netfac", "poc", "net", "org"):
            rows = [r for r in self.rows[tag] if tag != "org" or r["id"] not in owners]
            for row in rng.sample(rows, max(1, len(self.rows[tag]) // 200)):
                cascade.delete(tag, row, row["updated"])


# Deleting a parent deletes these children: (child type, its reference to the parent)
_CHILDREN: dict[str, tuple[tuple[str, str], ...]] = {
    "org": (
        ("net", "org_id"),
        ("fac", "org_id"),
        ("ix", "org_id"),
        ("carrier", "org_id"),
        ("campus", "org_id"),
    ),
    "net": (("netixlan", "net_id"), ("netfac", "net_id"), ("poc", "net_id")),
    "fac": (("netfac", "fac_id"), ("ixfac", "fac_id"), ("carrierfac", "fac_id")),
    "ix": (("ixlan", "ix_id"), ("ixfac", "ix_id")),
    "ixlan": (("ixpfx", "ixlan_id"), ("netixlan", "ixlan_id")),
    "carrier": (("carrierfac", "carrier_id"),),
}


class _Cascade:
    """Deletes an object and, recursively, the objects that refer to it."""

    def __init__(self, rows: dict[str, list[Row]]) -> None:
        self._index: dict[tuple[str, str], dict[int, list[Row]]] = {}
        for children in _CHILDREN.values():
            for tag, ref in children:
                index = self._index.setdefault((tag, ref), {})
                for row in rows[tag]:
                    index.setdefault(row[ref], []).append(row)
        self._campus_facs: dict[int, list[Row]] = {}
        for fac in rows["fac"]:
            if fac["campus_id"] is not None:
                self._campus_facs.setdefault(fac["campus_id"], []).append(fac)

    def delete(self, tag: str, row: Row, stamp: str) -> None:
        if row["status"] == "deleted":
            return
        # never before the object was created: PeeringDB's since= looks at both stamps
        row.update(status="deleted", updated=max(stamp, row["created"]))
        for child_tag, ref in _CHILDREN.get(tag, ()):
            for child in self._index[(child_tag, ref)].get(row["id"], []):
                self.delete(child_tag, child, stamp)
        if tag == "campus":  # a facility outlives its campus
            for fac in self._campus_facs.get(row["id"], []):
                fac.update(campus_id=None, updated=stamp)


def evolve(data: Dataset, seed: int, fraction: float = 0.01, hours: int = 24) -> Dataset:
    """A later snapshot: some objects updated, some deleted, some new.

    New objects include a few that were created and deleted in between, which
    a sync must not create. New objects keep what PeeringDB keeps unique
    unique (names, ASNs, prefixes, the pairs of :data:`PAIRS`, a LAN's
    addresses), over deleted objects too.
    """
    rng = random.Random(seed)
    rows = copy.deepcopy(data.rows)
    start = datetime.fromtimestamp(data.generated, tz=UTC)
    generated = start + timedelta(hours=hours)

    def later() -> str:
        return _ts(start + timedelta(seconds=rng.randint(1, hours * 3600 - 1)))

    cascade = _Cascade(rows)
    fresh = _Fresh(rows, _ts(start))
    for tag, table in rows.items():
        # objects with ids from LAB_IDS on are the lab's own (lab/topology.py): kept as
        # they are; so are those created by this call (the ixlans of new exchanges)
        live = fresh.live(tag)
        changes = max(1, int(len(live) * fraction))
        for row in rng.sample(live, min(changes, len(live))):
            row.update(updated=later(), version=row["version"] + 1)
            _mutate(tag, row, rng)
        # deletions, always leaving some of every type
        deletable = fresh.deletable(tag, live)
        for row in rng.sample(deletable, min(max(1, changes // 2), len(live) // 2, len(deletable))):
            row["version"] += 1
            cascade.delete(tag, row, later())
        live = [row for row in live if row["status"] == "ok"]
        next_id = max(row["id"] for row in table if row["id"] < LAB_IDS) + 1
        for _ in range(max(1, changes // 2) if live and tag != "ixlan" else 0):
            new = copy.deepcopy(rng.choice(live))
            new.update(id=next_id, created=later(), version=1)
            new["updated"] = new["created"]
            if not fresh.make_unique(tag, new, rng):
                continue
            if rng.random() < 0.2:
                new["status"] = "deleted"  # created and deleted again between two syncs
            table.append(new)
            lans = fresh.live("ixlan") if tag == "ix" else []
            if lans:  # PeeringDB creates an exchange's LAN with it, with the same id
                lan = copy.deepcopy(rng.choice(lans))
                lan.update({k: new[k] for k in ("id", "status", "created", "updated", "version")})
                rows["ixlan"].append({**lan, "ix_id": new["id"], "name": "", "descr": ""})
            next_id += 1
    return Dataset(rows, generated.timestamp())


def _mutate(tag: str, row: Row, rng: random.Random) -> None:
    if tag == "net":
        row["info_prefixes4"] = (row["info_prefixes4"] or 0) + rng.randint(1, 50)
        row["irr_as_set"] = rng.choice(("", f"AS{row['asn']}:AS-ALL", row["irr_as_set"]))
    elif tag == "netixlan":
        row["speed"] = rng.choice(_SPEEDS)
        row["is_rs_peer"] = not row["is_rs_peer"]
    elif "notes" in row:
        row["notes"] = f"{row['notes']}\nUpdated {rng.randint(1, 1000)}".strip()
    elif tag not in PAIRS:  # their names are their facility's: an update only touches them
        row["name"] = f"{row.get('name') or ''} (updated)".strip()


# Where new prefixes of evolved IX LANs come from: space the generator leaves alone
_NEW_PREFIXES = {4: ipaddress.ip_network("194.0.0.0/8"), 6: ipaddress.ip_network("2001:7f9::/32")}
_NAMED = ("org", "net", "ix", "fac", "carrier", "campus")
_IX_NAME_LENGTH = 64  # InternetExchangeBase.name's max_length; the others allow 255


class _Fresh:
    """What :func:`evolve` needs to keep unique values unique in the objects it clones.

    Values in use are counted over every object, deleted ones too: PeeringDB's
    database, and peeringdb-py's, keep deleted rows under the same constraints.
    """

    def __init__(self, rows: dict[str, list[Row]], before: str) -> None:
        self.rows = rows
        self.before = before  # objects created later are new in this evolve
        self._taken: dict[tuple[str, str], set[Any]] = {}
        self._by_id: dict[str, dict[int, Row]] = {}

    def live(self, tag: str) -> list[Row]:
        """Live objects of ``tag`` that evolve may change: not the lab's, not new ones."""
        return [
            row
            for row in self.rows[tag]
            if row["status"] == "ok" and row["id"] < LAB_IDS and row["created"] <= self.before
        ]

    def deletable(self, tag: str, live: list[Row]) -> list[Row]:
        """The objects of ``live`` PeeringDB would let a user delete.

        An ixlan goes with its exchange only; a prefix only while no port uses an
        address in it (peeringdb_server/models.py, IXLanPrefix.deletable).
        """
        if tag == "ixlan":
            return []
        if tag != "ixpfx":
            return live
        ports: dict[int, list[Any]] = {}
        for port in self.rows["netixlan"]:
            if port["status"] == "ok":
                addresses = (port["ipaddr4"], port["ipaddr6"])
                ports.setdefault(port["ixlan_id"], []).extend(
                    ipaddress.ip_address(a) for a in addresses if a
                )
        return [
            pfx
            for pfx in live
            if not any(
                a in ipaddress.ip_network(pfx["prefix"]) for a in ports.get(pfx["ixlan_id"], [])
            )
        ]

    def make_unique(self, tag: str, row: Row, rng: random.Random) -> bool:
        """Give ``row``, a copy of another object, fresh unique values; False if there are none."""
        if tag in _NAMED:
            suffix = f" #{row['id']}"
            limit = _IX_NAME_LENGTH if tag == "ix" else 255
            row["name"] = row["name"][: limit - len(suffix)] + suffix
            if not self._take(tag, "name", row["name"]):
                return False
        if tag == "net":
            row["asn"] = 4_200_000_000 + row["id"]  # private-use range: never generated
            return self._take(tag, "asn", row["asn"])
        if tag in PAIRS:
            return self._pair(tag, row, rng)
        if tag == "ixpfx":
            version = 4 if row["protocol"] == "IPv4" else 6
            row["prefix"] = str(self._free_prefix(version))
            return True
        if tag == "netixlan":
            for key in ("ipaddr4", "ipaddr6"):
                if row[key]:
                    row[key] = self._free_address(row["ixlan_id"], 4 if key == "ipaddr4" else 6)
            return bool(row["ipaddr4"] or row["ipaddr6"])
        return True

    def _taken_set(self, tag: str, key: str) -> set[Any]:
        if (tag, key) not in self._taken:
            self._taken[(tag, key)] = {row[key] for row in self.rows[tag]}
        return self._taken[(tag, key)]

    def _take(self, tag: str, key: str, value: Any) -> bool:
        taken = self._taken_set(tag, key)
        if value in taken:
            return False
        taken.add(value)
        return True

    def _row(self, tag: str, oid: int) -> Row:
        if tag not in self._by_id:
            self._by_id[tag] = {row["id"]: row for row in self.rows[tag]}
        return self._by_id[tag][oid]

    def _pair(self, tag: str, row: Row, rng: random.Random) -> bool:
        """A (parent, facility) pair no object of ``tag`` has yet, the first parent kept if
        it can be; the fields copied from the parents follow."""
        left_key, right_key = PAIRS[tag]
        if (tag, "pair") not in self._taken:
            self._taken[(tag, "pair")] = {(r[left_key], r[right_key]) for r in self.rows[tag]}
        taken = self._taken[(tag, "pair")]
        lefts, facs = self.live(left_key[:-3]), self.live("fac")
        for attempt in range(100 if lefts and facs else 0):
            left = row[left_key] if attempt < 50 else rng.choice(lefts)["id"]
            pair = (left, rng.choice(facs)["id"])
            if pair not in taken:
                break
        else:
            return False
        taken.add(pair)
        fac = self._row("fac", pair[1])
        row.update({left_key: pair[0], right_key: pair[1]})
        if tag == "carrierfac":
            row["name"] = self._row("carrier", pair[0])["name"]
        else:
            row.update(name=fac["name"], city=fac["city"], country=fac["country"])
        if tag == "netfac":
            row["local_asn"] = self._row("net", pair[0])["asn"]
        return True

    def _free_prefix(self, version: int) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        """The first /24 (IPv4) or /64 (IPv6) of :data:`_NEW_PREFIXES` no ixpfx has."""
        taken = self._taken_set("ixpfx", "prefix")
        for prefix in _NEW_PREFIXES[version].subnets(new_prefix=24 if version == 4 else 64):
            if str(prefix) not in taken:
                taken.add(str(prefix))
                return prefix
        raise ValueError(f"no IPv{version} prefix left for new IX LANs")

    def _free_address(self, ixlan: int, version: int) -> str | None:
        """An address of the LAN's live ``version`` prefix that no port has had, from the top
        of its upper half, which the generator leaves free; None if there is none."""
        used = self._taken.setdefault(("netixlan", "address"), set())
        if not used:
            for port in self.rows["netixlan"]:
                used.update((port["ixlan_id"], a) for a in (port["ipaddr4"], port["ipaddr6"]) if a)
        for pfx in self.rows["ixpfx"]:
            net = ipaddress.ip_network(pfx["prefix"])
            if pfx["ixlan_id"] != ixlan or pfx["status"] != "ok" or net.version != version:
                continue
            top = net.network_address + min(net.num_addresses, 1 << 16) - 2
            for step in range(min(net.num_addresses, 1 << 16) // 2 - 2):
                address = str(top - step)
                if (ixlan, address) not in used:
                    used.add((ixlan, address))
                    return address
        return None


def _ts(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- on disk ---------------------------------------------------------------------


def write_dataset(data: Dataset, directory: Path) -> None:
    """One ``<tag>.json`` per type (``{"data": [...]}``) and ``meta.json``."""
    directory.mkdir(parents=True, exist_ok=True)
    for tag, table in data.rows.items():
        with (directory / f"{tag}.json").open("w", encoding="utf-8") as out:
            json.dump({"data": table}, out, ensure_ascii=False, separators=(",", ":"))
    (directory / "meta.json").write_text(json.dumps({"generated": data.generated}))


def read_dataset(directory: Path) -> Dataset:
    """The dataset :func:`write_dataset` wrote to ``directory``."""
    meta = json.loads((directory / "meta.json").read_text())
    rows = {}
    for tag in PRODUCTION:
        with (directory / f"{tag}.json").open(encoding="utf-8") as body:
            rows[tag] = json.load(body)["data"]
    return Dataset(rows, float(meta["generated"]))
