"""Reading PeeringDB's ``irr_as_set`` (or an inventory override) into IRR objects.

The cases are data: what was sent (the field's text) and what is received (the
objects, as ``SOURCE::NAME`` text, and how many problems), netutils style.
"""

from __future__ import annotations

import re
from typing import TypedDict

import pytest

from nornir_peering.inventory.session import as_sets
from nornir_peering.irr import IRRObject
from nornir_peering.irr.query import (
    MAX_LENGTH,
    JunkItem,
    irr_objects,
    is_source,
    objects_for,
    parse_object,
)
from nornir_peering.lab import topology


class Case(TypedDict):
    sent: str | None
    received: list[str]  # the objects' text
    problems: int


ASN = 65001
FALLBACK = [f"AS{ASN}"]

GOOD: list[Case] = [
    {"sent": "AS-FOO", "received": ["AS-FOO"], "problems": 0},
    {"sent": "as-foo", "received": ["AS-FOO"], "problems": 0},
    {"sent": "AS-FOO AS-BAR", "received": ["AS-FOO", "AS-BAR"], "problems": 0},
    {"sent": "AS-FOO,AS-BAR", "received": ["AS-FOO", "AS-BAR"], "problems": 0},
    {"sent": "AS-FOO, AS-BAR ,AS-BAZ", "received": ["AS-FOO", "AS-BAR", "AS-BAZ"], "problems": 0},
    {"sent": " AS-FOO\tAS-BAR ", "received": ["AS-FOO", "AS-BAR"], "problems": 0},
    {"sent": "AS-FOO AS-FOO as-foo", "received": ["AS-FOO"], "problems": 0},
    {"sent": "RIPE::AS-FOO", "received": ["RIPE::AS-FOO"], "problems": 0},
    {"sent": "ripe::as-foo", "received": ["RIPE::AS-FOO"], "problems": 0},
    {"sent": "AS-FOO@RIPE", "received": ["RIPE::AS-FOO"], "problems": 0},
    {"sent": "as-foo@radb", "received": ["RADB::AS-FOO"], "problems": 0},
    {"sent": "RIPE:AS-FOO", "received": ["RIPE::AS-FOO"], "problems": 0},
    {"sent": "LEVEL3:AS-FOO", "received": ["LEVEL3::AS-FOO"], "problems": 0},
    {"sent": "RIPE-NONAUTH:AS-FOO", "received": ["RIPE-NONAUTH::AS-FOO"], "problems": 0},
    {"sent": "LAB:AS-FOO", "received": ["LAB::AS-FOO"], "problems": 0},  # a word, no digits
    {"sent": "RIPE:: AS-FOO", "received": ["RIPE::AS-FOO"], "problems": 0},
    {"sent": "RADB: AS-FOO", "received": ["RADB::AS-FOO"], "problems": 0},
    {"sent": "AS-FOO RIPE::AS-FOO", "received": ["AS-FOO", "RIPE::AS-FOO"], "problems": 0},
    {"sent": "AS65001:AS-CUSTOMERS", "received": ["AS65001:AS-CUSTOMERS"], "problems": 0},
    {"sent": "RIPE:AS65001:AS-CUST", "received": ["RIPE::AS65001:AS-CUST"], "problems": 0},
    {"sent": "RIPE::AS65001:AS-CUST", "received": ["RIPE::AS65001:AS-CUST"], "problems": 0},
    {"sent": "AS65001:AS-CUST@RIPE", "received": ["RIPE::AS65001:AS-CUST"], "problems": 0},
    {"sent": "AS-FOO:AS-BAR", "received": ["AS-FOO:AS-BAR"], "problems": 0},
    {"sent": "AS1:AS-FOO:AS2", "received": ["AS1:AS-FOO:AS2"], "problems": 0},
    {"sent": "RS-FOO", "received": ["RS-FOO"], "problems": 0},
    {"sent": "AS65001:RS-FOO", "received": ["AS65001:RS-FOO"], "problems": 0},
    {"sent": "AS-FOO_BAR-2", "received": ["AS-FOO_BAR-2"], "problems": 0},
    {"sent": "AS65005", "received": ["AS65005"], "problems": 0},
    {"sent": "as65005", "received": ["AS65005"], "problems": 0},
    {"sent": "AS065005", "received": ["AS65005"], "problems": 0},
    {"sent": "AS4294967295", "received": ["AS4294967295"], "problems": 0},
    {"sent": "RIPE::AS65002", "received": ["RIPE::AS65002"], "problems": 0},
    {"sent": "AS-" + "X" * (MAX_LENGTH - 3), "received": ["AS-" + "X" * 97], "problems": 0},
    {"sent": "", "received": FALLBACK, "problems": 0},
    {"sent": "  ", "received": FALLBACK, "problems": 0},
    {"sent": None, "received": FALLBACK, "problems": 0},
    {"sent": "ipv4:AS-FOO ipv6:AS-FOO6", "received": ["AS-FOO", "AS-FOO6"], "problems": 2},
]

JUNK: list[Case] = [
    {"sent": 'AS-EVIL\n}; include "/etc"', "received": ["AS-EVIL"], "problems": 4},
    {"sent": "AS-FOO\r\nAS-BAR", "received": ["AS-FOO", "AS-BAR"], "problems": 1},
    {"sent": '"AS-FOO"', "received": FALLBACK, "problems": 2},
    {"sent": "'AS-FOO'", "received": FALLBACK, "problems": 2},
    {"sent": "{AS-FOO}", "received": FALLBACK, "problems": 2},
    {"sent": "AS-FOO;AS-BAR", "received": FALLBACK, "problems": 2},
    {"sent": "AS-FOO; AS-BAR", "received": ["AS-BAR"], "problems": 1},
    {"sent": "AS-FÖÖ", "received": FALLBACK, "problems": 2},
    {"sent": "AS-FOO\u00a0AS-BAR", "received": ["AS-FOO", "AS-BAR"], "problems": 0},  # a space
    {"sent": "AS-FOO\u200bAS-BAR", "received": FALLBACK, "problems": 2},  # zero width
    {"sent": "AS-" + "X" * MAX_LENGTH, "received": FALLBACK, "problems": 2},
    {"sent": "ANY", "received": FALLBACK, "problems": 2},
    {"sent": "AS-ANY", "received": FALLBACK, "problems": 2},
    {"sent": "RS-ANY", "received": FALLBACK, "problems": 2},
    {"sent": "any AS-FOO", "received": ["AS-FOO"], "problems": 1},
    {"sent": "RIPE::", "received": FALLBACK, "problems": 2},
    {"sent": "RIPE::AS-FOO AS-BAR@", "received": ["RIPE::AS-FOO"], "problems": 1},
    {"sent": "@RIPE", "received": FALLBACK, "problems": 2},
    {"sent": "AS-FOO@RIPE@RADB", "received": FALLBACK, "problems": 2},
    {"sent": "1RIPE::AS-FOO", "received": FALLBACK, "problems": 2},
    {"sent": "RIPE-::AS-FOO", "received": FALLBACK, "problems": 2},
    {"sent": "RS-:AS-FOO", "received": FALLBACK, "problems": 2},
    {"sent": "AS-", "received": FALLBACK, "problems": 2},
    {"sent": "AS-FOO-", "received": FALLBACK, "problems": 2},
    {"sent": "AS", "received": FALLBACK, "problems": 2},
    {"sent": "AS0", "received": FALLBACK, "problems": 2},
    {"sent": "AS4294967296", "received": FALLBACK, "problems": 2},
    {"sent": "65001", "received": FALLBACK, "problems": 2},
    {"sent": "FOO", "received": FALLBACK, "problems": 2},
    {"sent": "AS65001:AS65002", "received": FALLBACK, "problems": 2},
    {"sent": "AS-FOO:RS-BAR", "received": FALLBACK, "problems": 2},
    {"sent": "AS-FOO::", "received": FALLBACK, "problems": 2},
    {"sent": "AS-FOO:", "received": FALLBACK, "problems": 2},
    {"sent": "FLTR-FOO", "received": FALLBACK, "problems": 2},
    {"sent": "AS65001:PRNG-FOO", "received": FALLBACK, "problems": 2},
    {"sent": "-h evil", "received": FALLBACK, "problems": 3},
    {"sent": "AS-FOO -S EVIL", "received": ["AS-FOO"], "problems": 2},
    {"sent": "AS-FOO/AS-BAR", "received": FALLBACK, "problems": 2},
    {"sent": "AS-FOO$(id)", "received": FALLBACK, "problems": 2},
    {"sent": "AS-FOO\x00", "received": FALLBACK, "problems": 2},
    {"sent": ",,,", "received": FALLBACK, "problems": 0},
]


def texts(objects: list[IRRObject]) -> list[str]:
    return [obj.text for obj in objects]


@pytest.mark.parametrize("data", GOOD, ids=lambda data: repr(data["sent"]))
def test_good_forms(data: Case) -> None:
    objects, problems = irr_objects(ASN, data["sent"])
    assert (texts(objects), len(problems)) == (data["received"], data["problems"]), problems


@pytest.mark.parametrize("data", JUNK, ids=lambda data: repr(data["sent"])[:30])
def test_junk_is_reported_never_returned(data: Case) -> None:
    objects, problems = irr_objects(ASN, data["sent"])
    assert (texts(objects), len(problems)) == (data["received"], data["problems"]), problems
    if data["received"] == FALLBACK and data["problems"]:
        assert problems[-1] == f"nothing usable: AS{ASN} is used"


@pytest.mark.parametrize("data", GOOD + JUNK, ids=lambda data: repr(data["sent"])[:30])
def test_every_object_is_safe_on_a_command_line(data: Case) -> None:
    objects, _ = irr_objects(ASN, data["sent"])
    assert objects
    for obj in objects:
        assert re.fullmatch(r"([A-Z][A-Z0-9-]*::)?[A-Z0-9_:-]+", obj.text), obj
        assert obj.name.startswith(("AS", "RS")), obj
        assert len(obj.name) <= MAX_LENGTH


def test_problems_name_the_item_safely() -> None:
    _, problems = irr_objects(ASN, 'AS-EVIL\n}; include "/etc"')
    assert problems == [
        "a line break, read as a space",
        "'};': characters an IRR name cannot have",
        "'include': not an AS-SET, route-set or ASN",
        "'\"/etc\"': characters an IRR name cannot have",
    ]
    _, problems = irr_objects(ASN, "X" * 1000)
    assert problems[0] == f"{'X' * 40 + '...'!r}: longer than {MAX_LENGTH} characters"
    _, problems = irr_objects(ASN, "AS-FOO\x1b[2J")
    assert problems[0].startswith("'AS-FOO\\x1b[2J'")


def test_a_duplicate_problem_is_reported_once() -> None:
    assert irr_objects(ASN, "ANY ANY AS-FOO")[1] == ["'ANY': a reserved word, not a set"]


@pytest.mark.parametrize("asn", [0, -1, 4294967296])
def test_the_asn_must_be_one(asn: int) -> None:
    with pytest.raises(ValueError, match="not an AS number"):
        irr_objects(asn, "AS-FOO")


@pytest.mark.parametrize(
    ("word", "source"),
    [
        ("RIPE", True),
        ("RADB", True),
        ("LEVEL3", True),  # known, though it has a digit
        ("NTTCOM", True),
        ("LAB", True),  # no digits, not AS...
        ("FOO-BAR", True),
        ("FOO-", False),
        ("RS-", False),
        ("FOO2", False),  # a digit, unknown
        ("AS65001", False),
        ("AS-FOO", False),
        ("ASFOO", False),
        ("RS-FOO", False),
        ("FLTR-FOO", False),
        ("IPV4", False),
    ],
)
def test_what_counts_as_a_source_before_one_colon(word: str, source: bool) -> None:
    assert is_source(word) is source


def test_parse_object_refuses_junk_with_a_value_error() -> None:
    with pytest.raises(ValueError, match="characters an IRR name cannot have"):
        parse_object("AS-FOO}")
    assert issubclass(JunkItem, ValueError)


OVERRIDES = [
    # (override, irr_as_set, objects, problems)
    ("AS-BAR", "AS-FOO", ["AS-BAR"], []),
    (None, "AS-FOO", ["AS-FOO"], []),
    ("", "RIPE::AS-FOO", ["RIPE::AS-FOO"], []),
    ("  ", None, FALLBACK, []),
    (None, None, FALLBACK, []),
    (None, "ANY", FALLBACK, ["PeeringDB irr_as_set: 'ANY': a reserved word, not a set"]),
    ("AS65001", "AS-HUGE", ["AS65001"], []),
    (
        "{AS-BAR}",
        "AS-FOO",
        FALLBACK,
        ["as_set override: '{AS-BAR}': characters an IRR name cannot have"],
    ),
]


@pytest.mark.parametrize(("override", "irr_as_set", "objects", "problems"), OVERRIDES)
def test_objects_for_prefers_the_override(
    override: str | None, irr_as_set: str | None, objects: list[str], problems: list[str]
) -> None:
    found, said = objects_for(ASN, override, irr_as_set)
    assert texts(found) == objects
    assert said[: len(problems)] == problems
    assert len(said) == len(problems) + (objects == FALLBACK and bool(problems))


@pytest.mark.parametrize("net", topology.NETS, ids=lambda net: f"AS{net.asn}")
def test_the_lab_sets_and_what_the_inventory_keeps(net: topology.LabNet) -> None:
    """What query keeps of every lab network's irr_as_set is what session.as_sets keeps,
    upper case, or AS<asn> when it keeps nothing."""
    objects, _ = irr_objects(net.asn, net.as_set)
    assert texts(objects) == ([s.upper() for s in as_sets(net.as_set)] or [f"AS{net.asn}"])
