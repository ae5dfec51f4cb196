"""What to ask the IRR for an AS: its AS-SETs, read from text strangers wrote.

PeeringDB's ``irr_as_set`` (or the inventory's ``as_set`` override) holds one or
more objects, separated by spaces and/or commas (line breaks count as spaces),
in any of these forms:

- ``AS-FOO``, ``RS-FOO``: an as-set or route-set; hierarchical names too
  (``AS65001:AS-CUSTOMERS``, ``AS65001:RS-FOO``, ``AS-FOO:AS-BAR``), as RFC 2622
  section 5 has them: ASNs and set names joined by colons, at least one set
  name, all set names of one class;
- ``AS65001`` / ``as65001``: an AS on its own (its route objects);
- ``SOURCE::NAME`` (bgpq4's form), ``NAME@SOURCE`` (PeeringDB's), and the
  ambiguous ``SOURCE:NAME``. A single colon joins the parts of a hierarchical
  name too, so the part before it is a source only if it is a known IRR source
  (:data:`KNOWN_SOURCES`) or a word of letters and hyphens, no digits, that
  does not begin with ``AS`` nor a set class (``RS-``...): ``RIPE:AS-FOO`` and
  ``LAB:AS-FOO`` name a source, ``AS65001:AS-FOO`` and ``AS-FOO:AS-BAR`` do not.
  ``SOURCE::`` or ``SOURCE:`` alone is joined to the name after it
  (``RIPE:: AS-FOO``). ``IPV4:`` / ``IPV6:`` in front of a name (as Peering
  Manager also strips them) are dropped, with a problem noted, since one object
  serves both families here.

Names and sources come back upper case, each object once, in order. Anything
else is a problem, never an object, so that it cannot reach a command line:
line breaks (noted, then read as spaces), quotes, braces, semicolons and other
characters no IRR name has, non-ASCII text, items over :data:`MAX_LENGTH`
characters, the reserved words (``ANY``, ``AS-ANY``...), empty names or sources
(``RIPE::``, ``@RIPE``), filter-sets and the like, bare numbers.

An empty or blank ``irr_as_set`` is no problem: the network has no set, so its
ASN is asked for, ``AS<asn>``; so it is when nothing usable remains.

>>> irr_objects(65001, "RIPE::AS-FOO, as-bar@radb AS65001:AS-CUST")
([IRRObject(name='AS-FOO', source='RIPE'), IRRObject(name='AS-BAR', source='RADB'), \
IRRObject(name='AS65001:AS-CUST', source=None)], [])
>>> irr_objects(65004, 'AS-EVIL\\n}; include "/etc"')
([IRRObject(name='AS-EVIL', source=None)], ['a line break, read as a space', \
"'};': characters an IRR name cannot have", "'include': not an AS-SET, route-set or ASN", \
'\\'"/etc"\\': characters an IRR name cannot have'])
>>> irr_objects(65003, None)
([IRRObject(name='AS65003', source=None)], [])
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from nornir_peering.irr import IRRObject

MAX_LENGTH = 100  # characters in one item (PeeringDB's whole field holds 255)
MAX_ASN = 4_294_967_295
# IRR sources PeeringDB accepts and NTT's and RADB's mirrors carry, and the RIRs'
# NONAUTH ones; any other word of letters passes too, see the module's docstring.
KNOWN_SOURCES = frozenset(
    {
        "AFRINIC",
        "ALTDB",
        "APNIC",
        "ARIN",
        "ARIN-NONAUTH",
        "BBOI",
        "BELL",
        "CANARIE",
        "IDNIC",
        "JPIRR",
        "LACNIC",
        "LEVEL3",
        "NESTEGG",
        "NTTCOM",
        "PANIX",
        "RADB",
        "REACH",
        "RIPE",
        "RIPE-NONAUTH",
        "RPKI",
        "TC",
        "WCGDB",
    }
)
# RPSL reserved words that look like set names, and the ones strangers write
RESERVED = frozenset({"ANY", "AS-ANY", "RS-ANY", "PEERAS", "EXCEPT", "AND", "OR", "NOT"})

_SEPARATORS = re.compile(r"[\s,]+")
_CHARACTERS = re.compile(r"[A-Z0-9_:@-]+")  # after upper-casing
_SOURCE = re.compile(r"[A-Z](?:[A-Z0-9-]*[A-Z0-9])?")
_SOURCE_WORD = re.compile(r"[A-Z](?:[A-Z-]*[A-Z])?")  # a source without "::": no digits
_ASN = re.compile(r"AS(\d{1,10})")
# RFC 2622: letters, digits, "_" and "-", a letter first, a letter or digit last
_SET = re.compile(r"(AS|RS)-[A-Z0-9_-]*[A-Z0-9]")
_OTHER_SETS = re.compile(r"(FLTR|RTRS|PRNG)-")
_CLASS = re.compile(r"(AS|RS|FLTR|RTRS|PRNG)-")  # how set names begin
_FAMILY = re.compile(r"IPV[46]")


class JunkItem(ValueError):
    """An item that is not an IRR object; its message says why."""


def irr_objects(asn: int, text: str | None) -> tuple[list[IRRObject], list[str]]:
    """The IRR objects in ``text`` (an ``irr_as_set``), and a problem per item of junk;
    ``[IRRObject("AS<asn>")]`` when there is no usable one.

    >>> irr_objects(65001, "AS-FOO AS-FOO RIPE:AS-BAR AS-BAZ@LAB RS-QUX")[0]
    [IRRObject(name='AS-FOO', source=None), IRRObject(name='AS-BAR', source='RIPE'), \
IRRObject(name='AS-BAZ', source='LAB'), IRRObject(name='RS-QUX', source=None)]
    >>> irr_objects(65001, "ANY")
    ([IRRObject(name='AS65001', source=None)], ["'ANY': a reserved word, not a set", \
'nothing usable: AS65001 is used'])
    """
    if not 0 < asn <= MAX_ASN:
        raise ValueError(f"not an AS number: {asn}")
    objects: list[IRRObject] = []
    problems: list[str] = []
    text = text or ""
    if "\n" in text or "\r" in text:
        problems.append("a line break, read as a space")
    for item in _items(text):
        try:
            found, note = parse_object(item)
        except JunkItem as exc:
            problems.append(f"{_shown(item)}: {exc}")
            continue
        if note:
            problems.append(f"{_shown(item)}: {note}")
        if found not in objects:
            objects.append(found)
    if not objects:
        if problems:
            problems.append(f"nothing usable: AS{asn} is used")
        objects = [IRRObject(f"AS{asn}")]
    return objects, list(dict.fromkeys(problems))


def objects_for(
    asn: int, override: str | None, irr_as_set: str | None
) -> tuple[list[IRRObject], list[str]]:
    """The objects to expand for ``asn``: the inventory's ``override`` if it is set (not
    blank), else PeeringDB's ``irr_as_set``, else ``AS<asn>``; problems name where the
    junk came from. An override with nothing usable in it gives ``AS<asn>``, not
    PeeringDB's set: whoever wrote it meant to replace that one.

    >>> objects_for(65001, " ", "AS-FOO")
    ([IRRObject(name='AS-FOO', source=None)], [])
    >>> objects_for(65001, "AS-BAR", "AS-FOO")
    ([IRRObject(name='AS-BAR', source=None)], [])
    >>> objects_for(65001, "{AS-BAR}", "AS-FOO")
    ([IRRObject(name='AS65001', source=None)], ["as_set override: '{AS-BAR}': characters \
an IRR name cannot have", 'as_set override: nothing usable: AS65001 is used'])
    """
    if override is not None and override.strip():
        objects, problems = irr_objects(asn, override)
        where = "as_set override"
    else:
        objects, problems = irr_objects(asn, irr_as_set)
        where = "PeeringDB irr_as_set"
    return objects, [f"{where}: {problem}" for problem in problems]


def parse_object(item: str) -> tuple[IRRObject, str | None]:
    """One item (no spaces, no commas) as an object, and a note if part of it was
    dropped; :class:`JunkItem` (a ValueError) if it is junk.

    >>> parse_object("ripe::as-foo")
    (IRRObject(name='AS-FOO', source='RIPE'), None)
    >>> parse_object("AS65001:AS-FOO")
    (IRRObject(name='AS65001:AS-FOO', source=None), None)
    >>> parse_object("LEVEL3:AS065001")
    (IRRObject(name='AS65001', source='LEVEL3'), None)
    >>> parse_object("ipv6:AS-FOO")
    (IRRObject(name='AS-FOO', source=None), 'IPV6: dropped, the set serves both families')
    >>> parse_object("AS-FOO;")
    Traceback (most recent call last):
    ...
    nornir_peering.irr.query.JunkItem: characters an IRR name cannot have
    """
    if not item:
        raise JunkItem("empty")
    if not item.isascii():
        raise JunkItem("not ASCII")
    if len(item) > MAX_LENGTH:
        raise JunkItem(f"longer than {MAX_LENGTH} characters")
    text = item.upper()
    if not _CHARACTERS.fullmatch(text):
        raise JunkItem("characters an IRR name cannot have")
    note = None
    family, colon, rest = text.partition(":")
    if colon and _FAMILY.fullmatch(family):
        text, note = rest, f"{family}: dropped, the set serves both families"
    source: str | None = None
    if "@" in text:
        text, _, source = text.partition("@")
        if "@" in source:
            raise JunkItem("more than one @")
    elif "::" in text:
        source, _, text = text.partition("::")
    else:
        first, colon, rest = text.partition(":")
        if colon and is_source(first):
            source, text = first, rest
    if source is not None and not _SOURCE.fullmatch(source):
        raise JunkItem("no IRR source" if not source else f"not an IRR source: {source}")
    return IRRObject(_name(text), source), note


def is_source(word: str) -> bool:
    """Whether ``word`` (upper case), before a single colon, is an IRR source rather than
    the first part of a hierarchical set name.

    >>> [is_source(w) for w in ("RIPE", "LEVEL3", "LAB", "AS65001", "AS-FOO", "RS-FOO")]
    [True, True, True, False, False, False]
    """
    if word in KNOWN_SOURCES:
        return True
    return (
        bool(_SOURCE_WORD.fullmatch(word)) and not word.startswith("AS") and not _CLASS.match(word)
    )


def _name(text: str) -> str:
    """A set name or ``ASn``, checked and normalised (``AS065001`` is ``AS65001``)."""
    if not text:
        raise JunkItem("no name")
    if text in RESERVED:
        raise JunkItem("a reserved word, not a set")
    parts: list[str] = []
    classes: set[str] = set()
    for part in text.split(":"):
        asn = _ASN.fullmatch(part)
        if asn:
            number = int(asn[1])
            if not 0 < number <= MAX_ASN:
                raise JunkItem(f"not an AS number: {part}")
            parts.append(f"AS{number}")
        elif _SET.fullmatch(part) and part not in RESERVED:
            classes.add(part[:2])
            parts.append(part)
        elif _OTHER_SETS.match(part):
            raise JunkItem("a filter-, rtr- or peering-set, not an AS-SET or route-set")
        elif part in RESERVED:
            raise JunkItem("a reserved word, not a set")
        else:
            raise JunkItem("not an AS-SET, route-set or ASN")
    if len(parts) > 1 and not classes:
        raise JunkItem("ASNs joined by colons, no set name")
    if len(classes) > 1:
        raise JunkItem("as-set and route-set names mixed in one name")
    return ":".join(parts)


def _items(text: str) -> Iterable[str]:
    """The items of ``text``, ``SOURCE::`` and ``SOURCE:`` joined to the name after them."""
    items = [item for item in _SEPARATORS.split(text) if item]
    pending = ""
    for item in items:
        head = item.upper().rstrip(":")
        if item.endswith(":") and not pending and (head in KNOWN_SOURCES or is_source(head)):
            pending = item
            continue
        yield pending + item
        pending = ""
    if pending:
        yield pending


def _shown(item: str) -> str:
    """An item for a message: quoted, escaped, cut at 40 characters."""
    return repr(item if len(item) <= 40 else item[:40] + "...")
