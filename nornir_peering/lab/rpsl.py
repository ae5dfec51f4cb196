"""The lab's IRR data: RPSL objects generated to match the lab's PeeringDB topology.

Every AS-SET a lab network publishes in PeeringDB resolves here, with the
awkward cases an IRR has: a nested set (``AS-PEERONE`` holds
``AS-PEERONE-CUSTOMERS``, which holds ``AS-PEERONE`` again), a set found
through ``mbrs-by-ref``/``member-of`` (``AS-NPLAB``), a set that exists in two
sources with different members (``AS-TWOPORTS``: only ``RIPE::AS-TWOPORTS``
is the real one), an empty set (:data:`EMPTY_SETS`) and a set PeeringDB names
but no IRR has (:data:`MISSING_SETS`). Some peers announce prefixes they
never registered (:data:`UNREGISTERED`), so that an IRR filter visibly
rejects them, and the hostile peer registered route objects for what it
should never announce (:data:`FORGED`), so that only the other filters can
catch those. :func:`synthetic` makes a large IRR for benchmarks.

Objects are kept as RPSL text files, one per source, in a folder::

    write_rpsl(lab_irr(), Path("state/lab/irr"))
    objects = read_rpsl(Path("state/lab/irr"))

>>> obj = as_set("AS-FOO", ["AS65001", "AS-BAR"], descr="Foo")
>>> print(obj.text(), end="")
as-set:         AS-FOO
descr:          Foo
members:        AS65001, AS-BAR
mnt-by:         MAINT-LAB
source:         LAB
>>> parse(obj.text()) == [obj]
True
>>> obj.values("members")
['AS65001', 'AS-BAR']
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path

from nornir_peering.lab import topology

LAB, RIPE = "LAB", "RIPE"
SOURCES = (LAB, RIPE)  # the lab IRR's sources, in the order it searches them
MAINTAINER = "MAINT-LAB"

# Prefixes lab peers announce without a route object: an IRR filter rejects them
UNREGISTERED: dict[int, tuple[str, ...]] = {
    65001: ("12.1.2.0/24", "2a0f:1201:2::/48"),
    65006: ("2a0f:1265:2::/48",),
    65200: ("12.10.2.0/24",),
}
# Route objects the hostile peer registered for what it must never announce: a bogon,
# one of our prefixes, prefixes longer than /24 or /48. The IRR lets them through.
FORGED: dict[int, tuple[str, ...]] = dict(topology.HOSTILE)
# AS-SETs that exist but have no members: ``!i`` answers "key not found", as IRRd 4 does
EMPTY_SETS = ("AS-TWOPORTS-V6",)
# AS-SETs PeeringDB names (what a parser keeps of AS65004's) that no IRR source has
MISSING_SETS = ("AS-EVIL",)
# Where an AS registered its aut-num and route objects, when not in LAB
ROUTE_SOURCE = {65002: RIPE}
# The lab's sets: (source, name, members, mbrs-by-ref)
LAB_SETS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    # our customer by members:, ourselves by member-of: in our aut-num
    (LAB, "AS-NPLAB", ("AS65200",), ("MAINT-NPLAB",)),
    (LAB, "AS-PEERONE", ("AS65001", "AS-PEERONE-CUSTOMERS"), ()),
    (LAB, "AS-PEERONE-CUSTOMERS", ("AS65200", "AS-PEERONE"), ()),  # a loop back to the top
    (RIPE, "AS-TWOPORTS", ("AS65002",), ()),
    (LAB, "AS-TWOPORTS", ("AS65002", "AS65004"), ()),  # a stale copy in another source
    (LAB, "AS-TWOPORTS-V6", (), ()),
    (LAB, "AS-SIXONLY", ("AS65006",), ()),
    (LAB, "AS-LABIX-RS", ("AS65010", "AS-PEERONE", "AS65003", "AS65005"), ()),
)
# Our route-set: our prefixes and their more-specifics up to /24 and /48
ROUTE_SETS = (("RS-NPLAB", ("11.0.0.0/22^22-24",), ("2a0f:11::/44^44-48",)),)

# attributes whose values are comma-separated lists
LIST_ATTRIBUTES = frozenset({"members", "mp-members", "member-of", "mbrs-by-ref", "mnt-by"})


@dataclass(frozen=True)
class RpslObject:
    """One RPSL object: its attributes in order, the first naming its class and key."""

    attributes: tuple[tuple[str, str], ...]

    @property
    def object_class(self) -> str:
        """``as-set``, ``route``, ``aut-num``...: the first attribute's name."""
        return self.attributes[0][0]

    @property
    def key(self) -> str:
        """The first attribute's value: a set's name, a route's prefix, an ``ASn``."""
        return self.attributes[0][1]

    @property
    def source(self) -> str:
        """The ``source:`` attribute, upper case (``LAB`` if there is none)."""
        return next((v.upper() for k, v in self.attributes if k == "source"), LAB)

    def first(self, name: str) -> str | None:
        """The value of the first attribute ``name``, or None."""
        return next((value for key, value in self.attributes if key == name), None)

    def values(self, name: str) -> list[str]:
        """Every value of attribute ``name``, lists (``members: A, B``) split on commas
        and spaces."""
        found: list[str] = []
        for key, value in self.attributes:
            if key == name:
                items = re.split(r"[,\s]+", value) if name in LIST_ATTRIBUTES else [value]
                found += [item.strip() for item in items if item.strip()]
        return found

    def text(self) -> str:
        """The object as RPSL text, values aligned at column 17, ending in a newline."""
        return "".join(f"{name + ':':<16}{value}\n" for name, value in self.attributes)


def make(
    object_class: str, key: str, *attributes: tuple[str, str], source: str = LAB
) -> RpslObject:
    """An object of ``object_class`` named ``key``: ``attributes``, then mnt-by and source."""
    tail = (("mnt-by", MAINTAINER),) if all(k != "mnt-by" for k, _ in attributes) else ()
    return RpslObject(((object_class, key), *attributes, *tail, ("source", source)))


def as_set(
    name: str,
    members: Iterable[str],
    *,
    descr: str | None = None,
    mbrs_by_ref: Iterable[str] = (),
    source: str = LAB,
) -> RpslObject:
    """An ``as-set`` with ``members`` (ASNs, other sets) on one line, if it has any."""
    members, refs = list(members), list(mbrs_by_ref)
    return make(
        "as-set",
        name,
        *((("descr", _line(descr)),) if descr else ()),
        *((("members", ", ".join(members)),) if members else ()),
        *((("mbrs-by-ref", ", ".join(refs)),) if refs else ()),
        source=source,
    )


def route_set(
    name: str, members: Iterable[str], mp_members: Iterable[str] = (), *, source: str = LAB
) -> RpslObject:
    """A ``route-set``: IPv4 ``members`` and ``mp-members`` of any family, ranges allowed."""
    members, mp_members = list(members), list(mp_members)
    return make(
        "route-set",
        name,
        *((("members", ", ".join(members)),) if members else ()),
        *((("mp-members", ", ".join(mp_members)),) if mp_members else ()),
        source=source,
    )


def aut_num(
    asn: int,
    descr: str,
    *,
    member_of: Iterable[str] = (),
    mnt_by: str = MAINTAINER,
    source: str = LAB,
) -> RpslObject:
    """An ``aut-num`` for ``asn``, in the sets ``member_of`` names."""
    sets = list(member_of)
    return make(
        "aut-num",
        f"AS{asn}",
        ("as-name", f"LAB-AS{asn}"),
        ("descr", _line(descr)),
        *((("member-of", ", ".join(sets)),) if sets else ()),
        ("mnt-by", mnt_by),
        source=source,
    )


def route(prefix: str, origin: int, *, descr: str | None = None, source: str = LAB) -> RpslObject:
    """A ``route`` (IPv4) or ``route6`` object for ``prefix`` originated by ``origin``."""
    network = ip_network(prefix)
    return make(
        "route" if network.version == 4 else "route6",
        str(network),
        *((("descr", _line(descr)),) if descr else ()),
        ("origin", f"AS{origin}"),
        source=source,
    )


def parse(text: str, source: str | None = None) -> list[RpslObject]:
    """The objects in RPSL ``text``: blank lines between objects, ``%`` and ``#`` lines
    ignored, continuation lines (starting with a space, a tab or ``+``) joined to the
    attribute before them. ``source`` is added to objects that have no ``source:``."""
    objects: list[RpslObject] = []
    current: list[tuple[str, str]] = []

    def flush() -> None:
        if current:
            if source and all(k != "source" for k, _ in current):
                current.append(("source", source))
            objects.append(RpslObject(tuple(current)))
            current.clear()

    for line in text.splitlines():
        if not line.strip():
            flush()
        elif line.startswith(("%", "#")):
            continue
        elif line[0] in " \t+" and current:
            name, value = current[-1]
            more = line[1:].strip()
            current[-1] = (name, f"{value} {more}".strip() if more else value)
        elif ":" in line:
            name, _, value = line.partition(":")
            current.append((name.strip().lower(), value.strip()))
        else:
            raise ValueError(f"not an RPSL attribute: {line!r}")
    flush()
    return objects


def write_rpsl(objects: Iterable[RpslObject], folder: Path) -> list[Path]:
    """Write ``objects`` to ``folder``: ``<source>.db`` per source, and ``SOURCES``, the
    sources in the order they first appear (the order the IRR searches them)."""
    by_source: dict[str, list[RpslObject]] = defaultdict(list)
    for obj in objects:
        by_source[obj.source].append(obj)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for source, members in by_source.items():
        path = folder / f"{source.lower()}.db"
        path.write_text("\n".join(obj.text() for obj in members), encoding="utf-8")
        written.append(path)
    (folder / "SOURCES").write_text("".join(f"{s}\n" for s in by_source), encoding="utf-8")
    return written


def read_rpsl(folder: Path) -> list[RpslObject]:
    """The objects :func:`write_rpsl` wrote to ``folder``, in the order of its ``SOURCES``
    (every ``*.db`` file, sorted by name, if there is no ``SOURCES`` file)."""
    order = folder / "SOURCES"
    if order.exists():
        names = [line.strip() for line in order.read_text().splitlines() if line.strip()]
        paths = [folder / f"{name.lower()}.db" for name in names]
    else:
        paths = sorted(folder.glob("*.db"))
    objects: list[RpslObject] = []
    for path in paths:
        objects += parse(path.read_text(encoding="utf-8"), source=path.stem.upper())
    return objects


def sources(objects: Iterable[RpslObject]) -> tuple[str, ...]:
    """The sources of ``objects``, in the order they first appear."""
    return tuple(dict.fromkeys(obj.source for obj in objects))


# -- the lab ------------------------------------------------------------------------


def announced() -> dict[int, tuple[str, ...]]:
    """What every lab AS announces, ours included (our edges and our aggregates), from
    the lab topology, each prefix once, in order."""
    from nornir_peering.lab.bird import lab_routers  # the routers' announcements live there

    found: dict[int, list[str]] = defaultdict(list)
    found[topology.LOCAL_ASN] += topology.OUR_PREFIXES
    for edge in topology.OURS.values():
        found[topology.LOCAL_ASN] += edge.announces
    for router in lab_routers():
        if router.asn != topology.LOCAL_ASN:
            found[router.asn] += router.announces
    return {asn: tuple(dict.fromkeys(prefixes)) for asn, prefixes in found.items()}


def registered() -> dict[int, tuple[str, ...]]:
    """The prefixes each lab AS has route objects for: what it announces, less
    :data:`UNREGISTERED`; the hostile peer's :data:`FORGED` ones included."""
    return {
        asn: tuple(p for p in prefixes if p not in UNREGISTERED.get(asn, ()))
        for asn, prefixes in announced().items()
    }


def lab_irr() -> list[RpslObject]:
    """The lab IRR: LAB objects first, then RIPE ones, so LAB is searched first.

    >>> objects = lab_irr()
    >>> [o.key for o in objects if o.object_class == "as-set" and o.source == "RIPE"]
    ['AS-TWOPORTS']
    >>> any(o.key == "12.1.2.0/24" for o in objects)  # AS65001 announces it unregistered
    False
    """
    names = {net.asn: net.name for net in topology.NETS}
    names.update({asn: f"Lab direct peer AS{asn}" for asn, *_ in topology.DIRECT})
    member_of = {topology.LOCAL_ASN: ("AS-NPLAB",)}
    objects: list[RpslObject] = []
    for source, name, members, refs in LAB_SETS:
        objects.append(as_set(name, members, mbrs_by_ref=refs, source=source))
    for name, members, mp_members in ROUTE_SETS:
        objects.append(route_set(name, members, mp_members))
    for asn, prefixes in registered().items():
        source = ROUTE_SOURCE.get(asn, LAB)
        mnt = "MAINT-NPLAB" if asn == topology.LOCAL_ASN else MAINTAINER
        objects.append(
            aut_num(
                asn,
                names.get(asn, f"AS{asn}"),
                member_of=member_of.get(asn, ()),
                mnt_by=mnt,
                source=source,
            )
        )
        for prefix in prefixes:
            forged = prefix in FORGED.get(asn, ())
            objects.append(route(prefix, asn, descr="forged" if forged else None, source=source))
    order = {source: i for i, source in enumerate(SOURCES)}
    return sorted(objects, key=lambda obj: order.get(obj.source, len(order)))


# -- a large IRR for benchmarks ------------------------------------------------------


def synthetic(
    sets: int = 1000,
    routes: int = 10,
    *,
    routes6: int | None = None,
    asns_per_set: int = 2,
    names: Sequence[str] | None = None,
    source: str = "BENCH",
    first_asn: int = 200000,
) -> list[RpslObject]:
    """``sets`` AS-SETs (``AS-BENCH1``... or ``names``, where ``RIPE::AS-FOO`` puts
    AS-FOO in source RIPE), each with ``asns_per_set`` public 32-bit ASNs, the first
    as a member, the others in a nested ``<name>-DOWNSTREAM`` set, and ``routes``
    IPv4 /24s and ``routes6`` (default: ``routes``) IPv6 /48s shared among them.

    >>> objects = synthetic(2, 3, asns_per_set=2)
    >>> [o.key for o in objects if o.object_class == "as-set"]
    ['AS-BENCH1', 'AS-BENCH1-DOWNSTREAM', 'AS-BENCH2', 'AS-BENCH2-DOWNSTREAM']
    >>> [o.key for o in objects if o.first("origin") == "AS200001"]
    ['16.0.2.0/24', '2a10:0:2::/48']
    """
    if asns_per_set < 1:
        raise ValueError("every set needs an ASN")
    routes6 = routes if routes6 is None else routes6
    if names is not None and len(names) < sets:
        raise ValueError(f"{sets} sets, but only {len(names)} names")
    asn, v4, v6 = first_asn, 0, 0
    objects: list[RpslObject] = []
    for i in range(sets):
        qualified = names[i] if names is not None else f"AS-BENCH{i + 1}"
        where, _, name = qualified.rpartition("::")
        where = where.upper() or source
        asns = list(range(asn, asn + asns_per_set))
        asn += asns_per_set
        downstream = f"{name}-DOWNSTREAM"
        top = [f"AS{asns[0]}", *([downstream] if asns_per_set > 1 else [])]
        objects.append(as_set(name, top, source=where))
        if asns_per_set > 1:
            objects.append(as_set(downstream, [f"AS{a}" for a in asns[1:]], source=where))
        for n, a in enumerate(asns):
            objects.append(aut_num(a, f"benchmark AS {a}", source=where))
            for _ in range(n, routes, asns_per_set):
                objects.append(route(str(IPv4Network((_BENCH4 + (v4 << 8), 24))), a, source=where))
                v4 += 1
            for _ in range(n, routes6, asns_per_set):
                objects.append(route(str(IPv6Network((_BENCH6 + (v6 << 80), 48))), a, source=where))
                v6 += 1
    return objects


_BENCH4 = int(IPv4Network("16.0.0.0/8").network_address)  # then 17.0.0.0/8 and on
_BENCH6 = int(IPv6Network("2a10::/16").network_address)


def _line(text: str | None) -> str:
    """``text`` on one line: RPSL values cannot hold a newline."""
    return re.sub(r"\s+", " ", text or "").strip()
