"""The lab IRR server answers the real bgpq4 and bgpq3 as IRRd does, with the lab's data.

bgpq4 and bgpq3 (Debian packages ``bgpq4`` and ``bgpq3``) run for real against a
server on an ephemeral loopback port. What the lab's sets resolve to is written
out here (:data:`SET_ASNS`), and the prefixes behind each ASN come from what the
lab's routers announce, less :data:`rpsl.UNREGISTERED`: neither is computed by
the code under test.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator
from ipaddress import ip_network
from pathlib import Path
from typing import TypedDict

import pytest

from nornir_peering.inventory.session import as_sets
from nornir_peering.lab import rpsl, topology
from nornir_peering.lab.bird import lab_routers
from nornir_peering.lab.irrserver import NOT_FOUND, IrrServer
from nornir_peering.lab.rpsl import lab_irr
from tests.helpers import lab_fixture

# The ASNs behind each set the lab's IRR has (and the one it lacks), by hand
SET_ASNS: dict[str, set[int]] = {
    "AS-NPLAB": {64500, 65200},  # 64500 through member-of/mbrs-by-ref
    "AS-PEERONE": {65001, 65200},  # nested, with a loop back to itself
    "AS-PEERONE-CUSTOMERS": {65001, 65200},
    "AS-LABIX-RS": {65010, 65003, 65005, 65001, 65200},
    "RIPE::AS-TWOPORTS": {65002},
    "AS-TWOPORTS": {65002, 65004},  # LAB's stale copy: LAB is searched first
    "AS-SIXONLY": {65006},
    "AS-TWOPORTS-V6": set(),  # empty
    "AS-EVIL": set(),  # missing
}
HOSTILE_SET = 'AS-EVIL\n}; include "/etc"'


def announced(asn: int) -> set[str]:
    """What ``asn`` announces in the lab, from the routers (and our edges) themselves."""
    if asn == topology.LOCAL_ASN:
        found = set(topology.OUR_PREFIXES)
        for edge in topology.OURS.values():
            found.update(edge.announces)
        return found
    return {p for router in lab_routers() if router.asn == asn for p in router.announces}


def expected(asns: Iterable[int], family: int) -> set[str]:
    """The prefixes of ``family`` the IRR should have for ``asns``."""
    return {
        prefix
        for asn in asns
        for prefix in announced(asn) - set(rpsl.UNREGISTERED.get(asn, ()))
        if ip_network(prefix).version == family
    }


def prefix_list(stdout: str, name: str = "N") -> set[str]:
    """The prefixes a bgpq JSON prefix-list accepts, aggregates (-A) expanded."""
    found: set[str] = set()
    for entry in json.loads(stdout)[name]:
        network = ip_network(entry["prefix"])
        if entry["exact"]:
            found.add(str(network))
            continue
        low = entry.get("greater-equal", network.prefixlen)
        for length in range(low, entry["less-equal"] + 1):
            found.update(str(subnet) for subnet in network.subnets(new_prefix=length))
    return found


def bgpq(irr: IrrServer, program: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real ``program`` (bgpq4 or bgpq3) against ``irr``, JSON list named N."""
    return subprocess.run(
        [program, "-h", irr.address, "-l", "N", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def queries(irr: IrrServer) -> list[str]:
    """What ``irr`` was asked, the client's version left out of ``!n``: ``!nbgpq4``."""
    return [re.sub(r"^(!nbgpq[34]) .*", r"\1", entry.query) for entry in irr.logged()]


def whois(irr: IrrServer, text: str) -> bytes:
    """Send ``text`` on one connection, then read everything until the server closes it."""
    with socket.create_connection((irr.host, irr.port), timeout=10) as sock:
        sock.sendall(text.encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


@pytest.fixture(scope="session", autouse=True)
@lab_fixture  # every test here is in the lab tier
def programs() -> None:
    missing = [name for name in ("bgpq4", "bgpq3") if shutil.which(name) is None]
    assert not missing, f"these tests run {missing}: apt-get install bgpq4 bgpq3"


@pytest.fixture(scope="module")
def irr() -> Iterator[IrrServer]:
    """The lab IRR, as IRRd 4 answers (with ``!a``)."""
    with IrrServer(lab_irr()) as server:
        yield server


@pytest.fixture(scope="module", params=[True, False], ids=["with-!a", "without-!a"])
def either(request: pytest.FixtureRequest) -> Iterator[IrrServer]:
    """The lab IRR with ``!a`` (bgpq4 asks for a set's prefixes at once) and without
    (bgpq4 expands the set with ``!i``, then asks ``!g``/``!6`` per ASN)."""
    with IrrServer(lab_irr(), a_queries=request.param) as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_logs(request: pytest.FixtureRequest) -> None:
    for name in ("irr", "either"):
        if name in request.fixturenames:
            request.getfixturevalue(name).logged(clear=True)


# -- the data ------------------------------------------------------------------------


@pytest.mark.parametrize("net", topology.NETS, ids=lambda net: f"AS{net.asn}")
def test_every_set_peeringdb_names_resolves_or_is_the_missing_one(net: topology.LabNet) -> None:
    """A network without a set (AS65003) is looked up by its ASN: its aut-num is there."""
    keys = {(o.source, o.key) for o in lab_irr() if o.object_class == "as-set"}
    for name in as_sets(net.as_set) or [f"AS{net.asn}"]:
        source, _, bare = name.rpartition("::")
        if name.startswith("AS-") or "::" in name:
            assert name in SET_ASNS
            assert ((source or "LAB", bare) in keys) == (name not in rpsl.MISSING_SETS)
        else:  # an ASN in place of a set: its aut-num is there
            assert any(o.key == name for o in lab_irr() if o.object_class == "aut-num")


def test_the_hostile_as_set_is_never_a_set_name_or_member(irr: IrrServer) -> None:
    assert HOSTILE_SET not in "".join(o.text() for o in lab_irr())
    for obj in lab_irr():
        if obj.object_class == "as-set":
            assert re.fullmatch(r"AS-[A-Z0-9-]+", obj.key)
            for member in obj.values("members"):
                assert re.fullmatch(r"AS\d+|AS-[A-Z0-9-]+", member)
            received = whois(irr, f"!i{obj.key}\n")
            assert re.fullmatch(rb"D\n|A\d+\n(AS[A-Z0-9-]+ ?)+\nC\n", received)


def test_unregistered_prefixes_are_announced_and_have_no_route_object() -> None:
    routes = {(o.key, o.first("origin")) for o in lab_irr() if o.object_class.startswith("route")}
    assert rpsl.UNREGISTERED
    for asn, prefixes in rpsl.UNREGISTERED.items():
        for prefix in prefixes:
            assert prefix in announced(asn)
            assert all(key != prefix for key, _ in routes)
    for asn in {router.asn for router in lab_routers()} | {topology.LOCAL_ASN}:
        for prefix in expected([asn], 4) | expected([asn], 6):
            assert (prefix, f"AS{asn}") in routes


def test_bgpq4_rejects_what_as65001_announces_unregistered(irr: IrrServer) -> None:
    accepted = prefix_list(ok(bgpq(irr, "bgpq4", "-p", "-j", "AS-PEERONE")))
    assert {"12.1.0.0/24", "12.1.1.0/24", "12.1.2.0/24"} <= announced(65001)
    assert {"12.1.0.0/24", "12.1.1.0/24"} <= accepted
    assert "12.1.2.0/24" not in accepted
    assert "12.1.2.0/24" in rpsl.UNREGISTERED[65001]


def test_forged_route_objects_are_what_the_hostile_peer_announces_besides_its_own() -> None:
    routes = {o.key for o in lab_irr() if o.first("origin") == "AS65004"}
    assert set(rpsl.FORGED[65004]) == set(topology.HOSTILE[65004])
    assert set(topology.HOSTILE[65004]) <= routes


def test_written_and_read_back_the_same(tmp_path: Path) -> None:
    written = rpsl.write_rpsl(lab_irr(), tmp_path / "irr")
    assert sorted(p.name for p in written) == ["lab.db", "ripe.db"]
    assert (tmp_path / "irr" / "SOURCES").read_text() == "LAB\nRIPE\n"
    assert rpsl.read_rpsl(tmp_path / "irr") == lab_irr()


def test_parse_joins_continuation_lines_and_skips_comments() -> None:
    text = "% a comment\nas-set: AS-X\nmembers: AS1,\n   AS2,\n+ AS3 AS4\nsource: RIPE\n\n"
    (obj,) = rpsl.parse(text)
    assert (obj.key, obj.source, obj.values("members")) == (
        "AS-X",
        "RIPE",
        ["AS1", "AS2", "AS3", "AS4"],
    )


def test_parse_refuses_a_line_that_is_no_attribute() -> None:
    with pytest.raises(ValueError, match="not an RPSL attribute"):
        rpsl.parse("as-set: AS-X\nrubbish\n")


# -- bgpq4 -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SET_ASNS))
@pytest.mark.parametrize("family", [4, 6])
def test_bgpq4_prefix_list_is_exactly_the_registered_routes(
    either: IrrServer, name: str, family: int
) -> None:
    stdout = ok(bgpq(either, "bgpq4", "-p", "-j", f"-{family}", name))
    assert prefix_list(stdout) == expected(SET_ASNS[name], family)


@pytest.mark.parametrize("name", ["AS-PEERONE", "AS-LABIX-RS", "AS-NPLAB"])
@pytest.mark.parametrize("family", [4, 6])
def test_bgpq4_aggregates_to_the_same_prefixes(either: IrrServer, name: str, family: int) -> None:
    stdout = ok(bgpq(either, "bgpq4", "-p", "-j", "-A", f"-{family}", name))
    assert prefix_list(stdout) == expected(SET_ASNS[name], family)
    assert any(not entry["exact"] for entry in json.loads(stdout)["N"])


def test_bgpq4_asks_for_a_set_at_once_with_a(irr: IrrServer) -> None:
    ok(bgpq(irr, "bgpq4", "-j", "-6", "AS-PEERONE"))
    assert queries(irr) == [
        "!!",
        "!nbgpq4",
        "!a",
        "!s-lc",
        "!a6AS-PEERONE",
        "!sLAB,RIPE",
        "!q",
    ]
    v6 = " ".join(sorted(expected(SET_ASNS["AS-PEERONE"], 6), key=ip_network))
    assert [entry.answer for entry in irr.logged()] == [
        None,
        "C",
        "F Missing required set name for A query",
        "A9",
        f"A{len(v6) + 1}",
        "C",
        None,
    ]


def test_bgpq4_expands_a_set_itself_without_a() -> None:
    with IrrServer(lab_irr(), a_queries=False) as irr:
        ok(bgpq(irr, "bgpq4", "-p", "-j", "AS-PEERONE"))
        assert queries(irr) == [
            "!!",
            "!nbgpq4",
            "!a",
            "!s-lc",
            "!iAS-PEERONE,1",
            "!sLAB,RIPE",
            "!gas65001",
            "!gas65200",
            "!q",
        ]
        assert irr.logged()[2].answer == "F Unrecognised command: a"


def test_bgpq4_keeps_one_connection_for_all_its_queries(either: IrrServer) -> None:
    ok(bgpq(either, "bgpq4", "-p", "-j", "AS-LABIX-RS"))
    logged = either.logged()
    assert len(logged) > 4
    assert {entry.connection for entry in logged} == {logged[0].connection}
    assert (logged[0].query, logged[-1].query) == ("!!", "!q")


def test_bgpq4_without_pipelining_gets_the_same(either: IrrServer) -> None:
    piped = ok(bgpq(either, "bgpq4", "-p", "-j", "AS-LABIX-RS"))
    assert ok(bgpq(either, "bgpq4", "-p", "-T", "-j", "AS-LABIX-RS")) == piped


@pytest.mark.parametrize(
    ("args", "asns"),
    [
        (["RIPE::AS-TWOPORTS"], {65002}),  # !sRIPE, !iAS-TWOPORTS, then !s<all> for routes
        (["-S", "RIPE", "AS-TWOPORTS"], {65002}),
        (["-S", "LAB,RIPE", "AS-TWOPORTS"], {65002, 65004}),
        (["AS-TWOPORTS"], {65002, 65004}),
    ],
    ids=["qualified", "-S RIPE", "-S LAB,RIPE", "default sources"],
)
def test_bgpq4_source_decides_which_as_twoports(
    either: IrrServer, args: list[str], asns: set[int]
) -> None:
    assert prefix_list(ok(bgpq(either, "bgpq4", "-p", "-j", *args))) == expected(asns, 4)


def test_bgpq4_qualified_set_is_looked_up_in_its_source(irr: IrrServer) -> None:
    ok(bgpq(irr, "bgpq4", "-p", "-j", "RIPE::AS-TWOPORTS"))
    sent = queries(irr)
    assert sent[sent.index("!iAS-TWOPORTS") - 1] == "!sRIPE"
    assert "!gas65004" not in sent


@pytest.mark.parametrize("name", ["AS-TWOPORTS-V6", "AS-EVIL"], ids=["empty", "missing"])
@pytest.mark.parametrize("mode", [[], ["-f", "64500"], ["-t"]], ids=["prefixes", "-f", "-t"])
def test_bgpq4_empty_and_missing_sets_give_an_empty_list_and_success(
    either: IrrServer, name: str, mode: list[str]
) -> None:
    """IRRd 4 answers D (key not found) to both; bgpq4 exits 0, prints no error and an
    empty list, so a caller cannot tell an empty set from a missing one through it."""
    result = bgpq(either, "bgpq4", "-p", "-j", *mode, name)
    assert ok(result) in ('{ "N": [\n] }\n', '{"N": [\n]}\n')
    assert json.loads(result.stdout) == {"N": []}
    answers = [e.answer for e in either.logged() if name in e.query]
    assert answers and set(answers) == {"D"}


@pytest.mark.parametrize("name", ["AS-PEERONE", "AS-LABIX-RS", "AS-NPLAB", "RIPE::AS-TWOPORTS"])
@pytest.mark.parametrize("mode", [["-f", "64500"], ["-t"]], ids=["as-path -f", "asn list -t"])
def test_bgpq4_asn_lists(either: IrrServer, name: str, mode: list[str]) -> None:
    stdout = ok(bgpq(either, "bgpq4", "-p", "-j", *mode, name))
    assert json.loads(stdout) == {"N": sorted(SET_ASNS[name])}


def test_bgpq4_asn_itself(irr: IrrServer) -> None:
    assert prefix_list(ok(bgpq(irr, "bgpq4", "-p", "-j", "AS65003"))) == expected([65003], 4)
    assert "!gas65003" in queries(irr)


def test_bgpq4_route_set_with_ranges(irr: IrrServer) -> None:
    """bgpq4 complains of the route-set's IPv6 member in an IPv4 list, but goes on."""
    result = bgpq(irr, "bgpq4", "-p", "-j", "RS-NPLAB")
    assert result.returncode == 0
    assert result.stderr == "ERROR:Ignoring prefix 2a0f:11::/44^44-48, wrong af 10\n"
    stdout = result.stdout
    wanted = {str(s) for n in (22, 23, 24) for s in ip_network("11.0.0.0/22").subnets(new_prefix=n)}
    assert prefix_list(stdout) == wanted
    assert "!iRS-NPLAB,1" in queries(irr)


class TestPrivateAsns:
    """bgpq4 1.9 (expander.c, bgpq_expander_add_as) refuses ASNs from 64496 to 65551 and
    4200000000 up, printing "Invalid AS number" and dropping them, unless given -p
    (expand_special_asn). All the lab's ASNs are in that range: callers pass -p."""

    def test_without_p_the_asns_are_dropped_with_an_error(self, either: IrrServer) -> None:
        result = bgpq(either, "bgpq4", "-j", "-f", "64500", "AS-PEERONE")
        assert result.returncode == 0
        assert json.loads(result.stdout) == {"N": []}
        assert "Invalid AS number: 65001" in result.stderr
        assert "Invalid AS number: 65200" in result.stderr

    def test_without_p_an_asn_given_as_is_dropped(self, irr: IrrServer) -> None:
        result = bgpq(irr, "bgpq4", "-j", "AS65003")
        assert (result.returncode, json.loads(result.stdout)) == (0, {"N": []})
        assert "Invalid AS number: 65003" in result.stderr
        assert not any(q.startswith("!g") for q in queries(irr))

    def test_without_p_a_prefix_list_through_a_is_not_filtered(self, irr: IrrServer) -> None:
        """With !a the server resolves the ASNs: bgpq4 never sees them to refuse them."""
        stdout = ok(bgpq(irr, "bgpq4", "-j", "AS-PEERONE"))
        assert prefix_list(stdout) == expected(SET_ASNS["AS-PEERONE"], 4)

    def test_without_p_and_without_a_the_prefix_list_is_empty(self) -> None:
        with IrrServer(lab_irr(), a_queries=False) as irr:
            result = bgpq(irr, "bgpq4", "-j", "AS-PEERONE")
            assert json.loads(result.stdout) == {"N": []}
            assert "Invalid AS number: 65001" in result.stderr

    def test_bgpq3_without_p_drops_them_silently(self, irr: IrrServer) -> None:
        result = bgpq(irr, "bgpq3", "-j", "AS-PEERONE")
        assert (result.returncode, result.stderr) == (0, "")
        assert json.loads(result.stdout) == {"N": []}
        assert queries(irr) == ["!!", "!nbgpq3", "!iAS-PEERONE,1", "!q"]


# -- bgpq3 -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["AS-PEERONE", "AS-LABIX-RS", "AS-SIXONLY", "AS-NPLAB"])
@pytest.mark.parametrize("family", [4, 6])
def test_bgpq3_prefix_list(irr: IrrServer, name: str, family: int) -> None:
    stdout = ok(bgpq(irr, "bgpq3", "-p", "-j", f"-{family}", name))
    assert prefix_list(stdout) == expected(SET_ASNS[name], family)
    assert queries(irr)[:3] == ["!!", "!nbgpq3", f"!i{name},1"]


@pytest.mark.parametrize(
    ("sources", "asns"),
    [("RIPE", {65002}), ("LAB", {65004}), ("LAB,RIPE", {65002, 65004})],
    ids=["RIPE", "LAB", "LAB,RIPE"],
)
def test_bgpq3_sources(irr: IrrServer, sources: str, asns: set[int]) -> None:
    """LAB's AS-TWOPORTS has AS65004 too; AS65002 registered its routes in RIPE only."""
    stdout = ok(bgpq(irr, "bgpq3", "-p", "-j", "-S", sources, "AS-TWOPORTS"))
    assert prefix_list(stdout) == expected(asns, 4)
    assert queries(irr)[:2] == ["!!", f"!s{sources}"]


@pytest.mark.parametrize("mode", [["-f", "64500"], ["-t"]], ids=["as-path -f", "asn list -t"])
def test_bgpq3_asn_lists(irr: IrrServer, mode: list[str]) -> None:
    stdout = ok(bgpq(irr, "bgpq3", "-p", "-j", *mode, "AS-LABIX-RS"))
    assert json.loads(stdout) == {"N": sorted(SET_ASNS["AS-LABIX-RS"])}


@pytest.mark.parametrize("name", ["AS-TWOPORTS-V6", "AS-EVIL"], ids=["empty", "missing"])
def test_bgpq3_empty_and_missing_sets(irr: IrrServer, name: str) -> None:
    assert json.loads(ok(bgpq(irr, "bgpq3", "-p", "-j", name))) == {"N": []}
    assert [e.answer for e in irr.logged() if e.query == f"!i{name},1"] == ["D"]


def test_bgpq3_junos_prefix_list(irr: IrrServer) -> None:
    stdout = ok(bgpq(irr, "bgpq3", "-p", "-J", "-6", "AS-SIXONLY"))
    assert "prefix-list N {" in stdout
    lines = {line.strip().rstrip(";") for line in stdout.splitlines() if "::/" in line}
    assert lines == expected([65006], 6)


# -- the protocol itself ------------------------------------------------------------


def answer(data: str) -> bytes:
    """An IRRd data answer: the length counts the data and its newline."""
    return f"A{len(data) + 1}\n{data}\nC\n".encode()


class Exchange(TypedDict):
    sent: str
    received: bytes


SERIALS = {source: sum(o.source == source for o in lab_irr()) for source in rpsl.SOURCES}
PROTOCOL: list[Exchange] = [
    {"sent": "!gAS65003", "received": answer(" ".join(f"12.5.{i}.0/24" for i in range(9)))},
    {"sent": "!gas65006", "received": b"D\n"},
    {"sent": "!6AS65006", "received": answer("2a0f:1265::/48 2a0f:1265:1::/48")},
    {"sent": "!iAS-PEERONE", "received": answer("AS-PEERONE-CUSTOMERS AS65001")},
    {"sent": "!iAS-PEERONE,1", "received": answer("AS65001 AS65200")},
    {"sent": "!ias-peerone,1", "received": answer("AS65001 AS65200")},
    {"sent": "!iAS-NPLAB", "received": answer("AS64500 AS65200")},
    {"sent": "!iAS-TWOPORTS-V6", "received": b"D\n"},
    {"sent": "!iAS-EVIL", "received": b"D\n"},
    {"sent": "!iAS-EVIL,1", "received": b"D\n"},
    {"sent": "!iRS-NPLAB", "received": answer("11.0.0.0/22^22-24 2a0f:11::/44^44-48")},
    {"sent": "!a4AS-SIXONLY", "received": b"D\n"},
    {"sent": "!a6AS-SIXONLY", "received": answer("2a0f:1265::/48 2a0f:1265:1::/48")},
    {"sent": "!a4RS-NPLAB", "received": b"D\n"},
    {"sent": "!s-lc", "received": answer("LAB,RIPE")},
    {"sent": "!sripe", "received": b"C\n"},
    {"sent": "!nmy-tool 1.0", "received": b"C\n"},
    {"sent": "!t60", "received": b"C\n"},
    {"sent": "!j-*", "received": answer(f"LAB:N:0-{SERIALS['LAB']}\nRIPE:N:0-{SERIALS['RIPE']}")},
    {
        "sent": "!jRIPE,NOPE",
        "received": answer(f"RIPE:N:0-{SERIALS['RIPE']}\nNOPE:X:Database unknown"),
    },
    {"sent": "!v", "received": answer("IRRd -- version 4.4 (nornir-peering lab)")},
]


@pytest.mark.parametrize("data", PROTOCOL, ids=lambda data: data["sent"])
def test_answers(irr: IrrServer, data: Exchange) -> None:
    assert whois(irr, f"{data['sent']}\n") == data["received"]


def test_a_gives_every_prefix_of_the_set_ipv4_first(irr: IrrServer) -> None:
    received = whois(irr, "!aAS-NPLAB\n")
    header, data, end = received.split(b"\n", 2)
    assert (header, end) == (b"A%d" % (len(data) + 1), b"C\n")
    prefixes = data.decode().split()
    assert set(prefixes) == expected([64500, 65200], 4) | expected([64500, 65200], 6)
    families = [ip_network(p).version for p in prefixes]
    assert families == sorted(families)


def test_sources_select_what_is_searched_for_the_rest_of_the_connection(irr: IrrServer) -> None:
    received = whois(irr, "!!\n!sRIPE\n!s-lc\n!iAS-TWOPORTS\n!gAS65001\n!q\n")
    assert received == b"C\n" + answer("RIPE") + answer("AS65002") + b"D\n"


MALFORMED: list[Exchange] = [
    {"sent": "!", "received": b"F Missing IRRD command\n"},
    {"sent": "!x", "received": b"F Unrecognised command: x\n"},
    {"sent": "!g", "received": b"F Missing parameter for g query\n"},
    {"sent": "!i", "received": b"F Missing parameter for i query\n"},
    {"sent": "!gfoo", "received": b"F Invalid AS number FOO: number part is not numeric\n"},
    {
        "sent": "!6AS99999999999",
        "received": b"F Invalid AS number AS99999999999: number part is not numeric\n",
    },
    {"sent": "!a", "received": b"F Missing required set name for A query\n"},
    {"sent": "!a6", "received": b"F Missing required set name for A query\n"},
    {"sent": "!t0", "received": b"F Invalid value for timeout: 0\n"},
    {"sent": "!tfoo", "received": b"F Invalid value for timeout: foo\n"},
    {"sent": "!sLAB,NOPE", "received": b"F One or more selected sources are unavailable.\n"},
    {"sent": "-z AS-PEERONE", "received": b"%% ERROR: Unrecognised flag/search: z\n\n\n"},
    {"sent": "-T", "received": b"%% ERROR: Missing argument for flag/search: T\n\n\n"},
    {"sent": "!g" + "1" * 5000, "received": b"F Query longer than 4096 bytes\n"},
]


@pytest.mark.parametrize("data", MALFORMED, ids=lambda data: data["sent"][:20])
def test_malformed_queries_get_an_error(irr: IrrServer, data: Exchange) -> None:
    assert whois(irr, f"{data['sent']}\n") == data["received"]


def test_a_long_query_is_refused_and_the_connection_goes_on(irr: IrrServer) -> None:
    received = whois(irr, "!!\n!i" + "A" * 100_000 + "\n!iAS-SIXONLY\n!q\n")
    assert received == b"F Query longer than 4096 bytes\n" + answer("AS65006")
    assert [e.answer for e in irr.logged()] == [None, "F Query longer than 4096 bytes", "A8", None]


def test_one_query_then_the_server_closes_the_connection(irr: IrrServer) -> None:
    assert whois(irr, "!gAS65200\n!6AS65001\n") == answer("12.10.0.0/24 12.10.1.0/24")
    assert queries(irr) == ["!gAS65200"]


def test_persistent_connection_answers_until_q(irr: IrrServer) -> None:
    received = whois(irr, "!!\n!gAS65200\n\n!iAS-SIXONLY\n!q\n!gAS65001\n")
    assert received == answer("12.10.0.0/24 12.10.1.0/24") + answer("AS65006")
    assert queries(irr) == ["!!", "!gAS65200", "!iAS-SIXONLY", "!q"]
    assert len({entry.connection for entry in irr.logged()}) == 1


def test_persistent_connection_answers_until_the_client_hangs_up(irr: IrrServer) -> None:
    with socket.create_connection((irr.host, irr.port), timeout=10) as sock:
        sock.sendall(b"!!\n!iAS-SIXONLY\n")
        assert sock.recv(1024) == answer("AS65006")
        sock.sendall(b"!iAS-SIXONLY\n")
        assert sock.recv(1024) == answer("AS65006")


def test_pipelined_queries_are_answered_in_order(irr: IrrServer) -> None:
    sent = "".join(f"!gAS{asn}\n" for asn in (65003, 65200, 65006, 65005))
    received = whois(irr, "!!\n" + sent + "!q\n")
    wanted = [
        answer(" ".join(sorted(expected([asn], 4), key=lambda p: ip_network(p))))
        if expected([asn], 4)
        else b"D\n"
        for asn in (65003, 65200, 65006, 65005)
    ]
    assert received == b"".join(wanted)


def test_idle_timeout_closes_the_connection(irr: IrrServer) -> None:
    with socket.create_connection((irr.host, irr.port), timeout=10) as sock:
        sock.sendall(b"!!\n!t1\n")
        start = time.monotonic()
        assert sock.recv(1024) == b"C\n"
        assert sock.recv(1024) == b""
        assert time.monotonic() - start >= 0.9


RIPE_STYLE = [
    ("-r -T as-set AS-PEERONE", ["AS-PEERONE"]),
    ("AS-PEERONE", ["AS-PEERONE"]),
    ("as-peerone", ["AS-PEERONE"]),
    ("-s RIPE AS-TWOPORTS", ["AS-TWOPORTS@RIPE"]),
    ("AS-TWOPORTS", ["AS-TWOPORTS@LAB", "AS-TWOPORTS@RIPE"]),
    ("-T route6 2a0f:1265::/48", ["2a0f:1265::/48"]),
    ("12.10.0.0/24", ["12.10.0.0/24"]),
    ("-T aut-num AS65002", ["AS65002@RIPE"]),
    ("AS-TWOPORTS-V6", ["AS-TWOPORTS-V6"]),
    ("AS-EVIL", []),
    ("-r -T route AS-PEERONE", []),
]


@pytest.mark.parametrize(("query", "keys"), RIPE_STYLE, ids=[q for q, _ in RIPE_STYLE])
def test_ripe_style_queries_return_rpsl_text(irr: IrrServer, query: str, keys: list[str]) -> None:
    objects = {f"{o.key}@{o.source}": o for o in lab_irr()}
    objects.update({o.key: o for o in lab_irr()})
    wanted = "\n".join(objects[key].text() for key in keys).rstrip("\n") or NOT_FOUND
    assert whois(irr, query + "\n") == f"{wanted}\n\n\n".encode()


def test_ripe_style_k_keeps_the_connection(irr: IrrServer) -> None:
    received = whois(irr, "-k\nAS-SIXONLY\n!q\n")
    text = next(o for o in lab_irr() if o.key == "AS-SIXONLY").text()
    assert received == f"{NOT_FOUND}\n\n\n{text.rstrip()}\n\n\n".encode()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "::", "10.0.0.1"])
def test_listens_on_loopback_only(host: str) -> None:
    with pytest.raises(ValueError, match="loopback only"):
        IrrServer(lab_irr(), host=host)


def test_ipv6_loopback() -> None:
    with IrrServer(lab_irr(), host="::1") as irr:
        assert irr.address == f"[::1]:{irr.port}"
        with socket.create_connection(("::1", irr.port), timeout=10) as sock:
            sock.sendall(b"!iAS-SIXONLY\n")
            assert sock.recv(1024) == answer("AS65006")


def test_delay_holds_every_answer_back() -> None:
    with IrrServer(lab_irr(), delay=0.2) as irr:
        start = time.monotonic()
        assert whois(irr, "!iAS-SIXONLY\n") == answer("AS65006")
        assert time.monotonic() - start >= 0.2
        irr.logged(clear=True)
        start = time.monotonic()
        ok(bgpq(irr, "bgpq4", "-p", "-j", "AS-PEERONE"))
        answered = [e for e in irr.logged() if e.answer is not None]
        assert len(answered) >= 5
        assert time.monotonic() - start >= 0.2 * len(answered)


def test_stop_closes_open_connections() -> None:
    irr = IrrServer(lab_irr()).start()
    with socket.create_connection((irr.host, irr.port), timeout=10) as sock:
        sock.sendall(b"!!\n!iAS-SIXONLY\n")
        assert sock.recv(1024) == answer("AS65006")
        irr.stop()
        assert sock.recv(1024) == b""
    with pytest.raises(OSError):
        socket.create_connection((irr.host, irr.port), timeout=1)


def test_serves_a_folder(tmp_path: Path) -> None:
    rpsl.write_rpsl(lab_irr(), tmp_path)
    with IrrServer(tmp_path) as irr:
        stdout = ok(bgpq(irr, "bgpq4", "-p", "-j", "-6", "AS-LABIX-RS"))
        assert prefix_list(stdout) == expected(SET_ASNS["AS-LABIX-RS"], 6)


def test_a_synthetic_irr_of_1000_sets() -> None:
    objects = rpsl.synthetic(1000, 10, asns_per_set=3)
    assert sum(o.object_class == "as-set" for o in objects) == 2000  # each with a nested one
    routes = [o for o in objects if o.object_class in ("route", "route6")]
    assert len(routes) == len({(o.key, o.first("origin")) for o in routes}) == 20000
    with IrrServer(objects) as irr:
        names = [f"AS-BENCH{i}" for i in range(1, 1001)]
        assert json.loads(ok(bgpq(irr, "bgpq4", "-j", "-t", "AS-BENCH7")))["N"] == [
            200018,
            200019,
            200020,
        ]
        irr.logged(clear=True)
        stdout = ok(bgpq(irr, "bgpq4", "-j", *names))
        assert prefix_list(stdout) == {o.key for o in routes if o.object_class == "route"}
        assert len(irr.logged()) == 1000 + 6


def test_a_synthetic_irr_takes_peeringdb_names() -> None:
    objects = rpsl.synthetic(2, 2, names=["RIPE::AS-FOO", "AS65009:AS-BAR"], asns_per_set=1)
    sets = [(o.source, o.key, o.values("members")) for o in objects if o.object_class == "as-set"]
    assert sets == [("RIPE", "AS-FOO", ["AS200000"]), ("BENCH", "AS65009:AS-BAR", ["AS200001"])]
