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
        for tag in (
            "org",
            "campus",
            "fac",
            "net",
            "ix",
            "carrier",
            "carrierfac",
            "ixfac",
            "ixlan",
            "netfac",
            "netixlan",
            "poc",
        ):
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
        row.update(status="deleted", updated=stamp)
        for child_tag, ref in _CHILDREN.get(tag, ()):
            for child in self._index[(child_tag, ref)].get(row["id"], []):
                self.delete(child_tag, child, stamp)
        if tag == "campus":  # a facility outlives its campus
            for fac in self._campus_facs.get(row["id"], []):
                fac.update(campus_id=None, updated=stamp)


def evolve(data: Dataset, seed: int, fraction: float = 0.01, hours: int = 24) -> Dataset:
    """A later snapshot: some objects updated, some deleted, some new.

    New objects include a few that were created and deleted in between, which
    a sync must not create.
    """
    rng = random.Random(seed)
    rows = copy.deepcopy(data.rows)
    start = datetime.fromtimestamp(data.generated, tz=UTC)
    generated = start + timedelta(hours=hours)

    def later() -> str:
        return _ts(start + timedelta(seconds=rng.randint(1, hours * 3600 - 1)))

    cascade = _Cascade(rows)
    for tag, table in rows.items():
        # objects with ids from LAB_IDS on are the lab's own (lab/topology.py): kept as they are
        live = [row for row in table if row["status"] == "ok" and row["id"] < LAB_IDS]
        changes = max(1, int(len(live) * fraction))
        for row in rng.sample(live, min(changes, len(live))):
            row.update(updated=later(), version=row["version"] + 1)
            _mutate(tag, row, rng)
        # deletions, always leaving some of every type
        for row in rng.sample(live, min(max(1, changes // 2), len(live) // 2)):
            row["version"] += 1
            cascade.delete(tag, row, later())
        live = [row for row in live if row["status"] == "ok"]
        next_id = max(row["id"] for row in table if row["id"] < LAB_IDS) + 1
        for _ in range(max(1, changes // 2) if live and tag != "ixlan" else 0):
            new = copy.deepcopy(rng.choice(live))
            new.update(id=next_id, created=later(), version=1)
            new["updated"] = new["created"]
            _make_unique(tag, new, next_id, rows)
            if rng.random() < 0.2:
                new["status"] = "deleted"  # created and deleted again between two syncs
            table.append(new)
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
    else:
        row["name"] = f"{row.get('name') or ''} (updated)".strip()


def _make_unique(tag: str, row: Row, new_id: int, rows: dict[str, list[Row]]) -> None:
    """Keep the fields PeeringDB keeps unique unique in a cloned object."""
    if "name" in row and tag in ("org", "net", "ix", "fac", "carrier", "campus"):
        row["name"] = f"{row['name']} #{new_id}"
    if tag == "net":
        row["asn"] = 4_200_000_000 + new_id  # private-use range: never collides
    if tag == "netixlan":
        # a new port: an address from the upper half of the LAN, which the
        # generator leaves free
        for pfx in rows["ixpfx"]:
            if pfx["ixlan_id"] != row["ixlan_id"]:
                continue
            net = ipaddress.ip_network(pfx["prefix"])
            key = "ipaddr4" if net.version == 4 else "ipaddr6"
            if row[key]:
                free = net.num_addresses // 2 - 2
                row[key] = str(net.broadcast_address - 1 - new_id % free)


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
