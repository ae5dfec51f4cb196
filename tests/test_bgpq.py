"""bgpq.py runs the real bgpq4 and bgpq3 against the lab IRR server.

What a set should expand to is computed here from the lab's RPSL objects
(:func:`lab_irr`): the sets' members, nested sets and ``member-of`` followed by
hand, then the route objects of those ASNs. Neither the server's index nor the
code under test is used for that. What needs no bgpq binary (the command line, reading
its output, finding the program) is tested in tests/test_bgpq_parse.py.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from ipaddress import ip_network
from typing import Any

import pytest

from nornir_peering.irr import Fetched, IRRObject, PrefixEntry
from nornir_peering.irr.bgpq import (
    BgpqConfig,
    Job,
    Program,
    fetch,
    fetch_all,
    find_program,
)
from nornir_peering.irr.query import objects_for
from nornir_peering.irr.whois import WhoisError, object_exists
from nornir_peering.lab import rpsl, topology
from nornir_peering.lab.irrserver import IrrServer
from nornir_peering.lab.rpsl import RpslObject, lab_irr, synthetic
from tests.helpers import SilentServer, lab_fixture

PROGRAMS = ["bgpq4", "bgpq3"]
LAB = lab_irr()


# -- what the lab's IRR holds, worked out from its objects -----------------------------


def find_set(name: str, sources: Sequence[str]) -> RpslObject | None:
    """The as-set ``name`` in the first of ``sources`` that has it."""
    for source in sources:
        for obj in LAB:
            if obj.object_class == "as-set" and obj.key == name and obj.source == source:
                return obj
    return None


def set_asns(name: str, source: str | None = None) -> set[int]:
    """The ASNs behind as-set ``name`` (from ``source`` if given, the rest from any),
    nested sets followed once each, ``member-of`` counted where ``mbrs-by-ref`` allows."""
    found: set[int] = set()
    seen: set[str] = set()
    todo = [(name, (source,) if source else rpsl.SOURCES)]
    while todo:
        current, sources = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        obj = find_set(current, sources)
        if obj is None:
            continue
        refs = set(obj.values("mbrs-by-ref"))
        members = obj.values("members") + [
            other.key
            for other in LAB
            if current in other.values("member-of") and refs & set(other.values("mnt-by"))
        ]
        for member in members:
            if re.fullmatch(r"AS\d+", member):
                found.add(int(member[2:]))
            else:
                todo.append((member, rpsl.SOURCES))
    return found


def routes(asns: Iterable[int], family: int, sources: Sequence[str] = rpsl.SOURCES) -> set[str]:
    """The prefixes of the route (4) or route6 (6) objects of ``asns`` in ``sources``."""
    origins = {f"AS{asn}" for asn in asns}
    object_class = "route" if family == 4 else "route6"
    return {
        obj.key
        for obj in LAB
        if obj.object_class == object_class
        and obj.first("origin") in origins
        and obj.source in sources
    }


def accepted(entries: Iterable[PrefixEntry]) -> set[str]:
    """Every prefix a list accepts, its aggregates expanded."""
    found: set[str] = set()
    for entry in entries:
        network = ip_network(entry.prefix)
        if entry.exact:
            found.add(str(network))
            continue
        low = entry.greater_equal or network.prefixlen
        high = entry.less_equal or network.max_prefixlen
        for length in range(low, high + 1):
            found.update(str(subnet) for subnet in network.subnets(new_prefix=length))
    return found


def prefixes(result: Fetched) -> set[str]:
    assert result.error is None, result.error
    assert all(entry.exact for entry in result.prefixes)
    found = {entry.prefix for entry in result.prefixes}
    assert len(found) == len(result.prefixes)
    return found


def without_time(results: Iterable[Fetched]) -> list[Fetched]:
    return [replace(result, fetched_at=None) for result in results]


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
@lab_fixture  # every test here is in the lab tier
def programs() -> None:
    missing = [name for name in PROGRAMS if shutil.which(name) is None]
    assert not missing, f"these tests run {missing}: apt-get install bgpq4 bgpq3"


@pytest.fixture(scope="module")
def irr() -> Iterator[IrrServer]:
    with IrrServer(LAB) as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_log(request: pytest.FixtureRequest) -> None:
    if "irr" in request.fixturenames:
        request.getfixturevalue("irr").logged(clear=True)


def config(irr: IrrServer, program: str, **changes: Any) -> BgpqConfig:
    return replace(BgpqConfig(program=program, host=irr.address, aggregate=False), **changes)


# -- the lab's data, as this file reads it ----------------------------------------------


def test_the_expected_sets_are_what_the_lab_says() -> None:
    """The resolver above against the lab's own description (rpsl.py)."""
    assert set_asns("AS-PEERONE") == {65001, 65200}  # through AS-PEERONE-CUSTOMERS
    assert set_asns("AS-PEERONE-CUSTOMERS") == {65001, 65200}  # the loop, from below
    assert set_asns("AS-TWOPORTS", "RIPE") == {65002}
    assert set_asns("AS-TWOPORTS") == {65002, 65004}  # LAB's stale copy comes first
    assert set_asns("AS-NPLAB") == {topology.LOCAL_ASN, 65200}  # member-of
    for name in rpsl.EMPTY_SETS:
        assert find_set(name, rpsl.SOURCES) is not None
        assert set_asns(name) == set()
    for name in rpsl.MISSING_SETS:
        assert find_set(name, rpsl.SOURCES) is None
    assert "12.1.2.0/24" in rpsl.UNREGISTERED[65001]
    assert "12.1.2.0/24" not in routes([65001], 4)
    assert routes([65001], 4) and routes([65001], 6)


# -- prefix lists -----------------------------------------------------------------------


@pytest.mark.parametrize("family", [4, 6])
@pytest.mark.parametrize("program", PROGRAMS)
def test_a_nested_set_with_a_loop_is_exactly_its_registered_routes(
    irr: IrrServer, program: str, family: int
) -> None:
    result = fetch(65001, IRRObject("AS-PEERONE"), family, config(irr, program))
    assert prefixes(result) == routes(set_asns("AS-PEERONE"), family)
    assert (result.asn, result.object, result.family) == (65001, IRRObject("AS-PEERONE"), family)
    assert result.notes == ()
    assert result.host == irr.address
    assert result.program == f"{program} {find_program(program).version}"
    assert result.fetched_at is not None
    assert result.command[1:] == tuple(
        ["-h", irr.address, "-j", "-l", "AS65001", "-p"]
        + (["-3"] if program == "bgpq3" else [])
        + [f"-{family}", "AS-PEERONE"]
    )


@pytest.mark.parametrize("program", PROGRAMS)
def test_the_ripe_set_not_the_stale_lab_copy(irr: IrrServer, program: str) -> None:
    ripe = fetch(65002, IRRObject("AS-TWOPORTS", "RIPE"), 4, config(irr, program))
    stale = fetch(65002, IRRObject("AS-TWOPORTS"), 4, config(irr, program))
    assert prefixes(ripe) == routes(set_asns("AS-TWOPORTS", "RIPE"), 4) == routes([65002], 4)
    assert prefixes(stale) == routes([65002, 65004], 4)
    assert prefixes(ripe) < prefixes(stale)
    asked = [entry.query for entry in irr.logged()]
    assert "!sRIPE" in asked
    if program == "bgpq4":  # the set from RIPE, the routes from the server's sources
        assert ripe.command[-1] == "RIPE::AS-TWOPORTS"
        assert ripe.sources == ()
    else:  # bgpq3 does not know RIPE::, so RIPE is the only source
        assert ripe.command[-3:] == ("RIPE", "-4", "AS-TWOPORTS")
        assert ripe.sources == ("RIPE",)


@pytest.mark.parametrize("program", PROGRAMS)
def test_configured_sources_limit_sets_and_routes(irr: IrrServer, program: str) -> None:
    result = fetch(65002, IRRObject("AS-TWOPORTS"), 4, config(irr, program, sources=("RIPE",)))
    assert prefixes(result) == routes([65002], 4, ["RIPE"])
    assert result.sources == ("RIPE",)
    assert "-S" in result.command


def test_bgpq4_takes_the_set_from_its_source_and_routes_from_the_configured_ones(
    irr: IrrServer,
) -> None:
    """RIPE::AS-TWOPORTS with -S LAB: the set is RIPE's (AS65002), whose routes are in
    RIPE only, so nothing; -S is not replaced by the object's source for bgpq4."""
    result = fetch(
        65002, IRRObject("AS-TWOPORTS", "RIPE"), 4, config(irr, "bgpq4", sources=("LAB",))
    )
    assert routes([65002], 4, ["LAB"]) == set()
    assert prefixes(result) == set()
    assert result.sources == ("LAB",)


@pytest.mark.parametrize("program", PROGRAMS)
def test_an_asn_object(irr: IrrServer, program: str) -> None:
    for family in (4, 6):
        result = fetch(65005, IRRObject("AS65005"), family, config(irr, program))
        assert prefixes(result) == routes([65005], family)
    assert routes([65005], 4)


@pytest.mark.parametrize("program", PROGRAMS)
def test_an_asn_object_with_a_source_is_asked_with_s(irr: IrrServer, program: str) -> None:
    """bgpq4 refuses RIPE::AS65002 (Invalid symbol in AS number), so -S RIPE AS65002."""
    result = fetch(65002, IRRObject("AS65002", "RIPE"), 6, config(irr, program))
    assert prefixes(result) == routes([65002], 6, ["RIPE"])
    assert routes([65002], 6, ["RIPE"])
    assert result.command[-4:] == ("-S", "RIPE", "-6", "AS65002")
    wrong = fetch(65002, IRRObject("AS65002", "LAB"), 6, config(irr, program))
    assert prefixes(wrong) == set()


@pytest.mark.parametrize("program", PROGRAMS)
def test_ipv6(irr: IrrServer, program: str) -> None:
    result = fetch(65006, IRRObject("AS-SIXONLY"), 6, config(irr, program))
    assert prefixes(result) == routes(set_asns("AS-SIXONLY"), 6)
    assert all(ip_network(prefix).version == 6 for prefix in prefixes(result))
    assert "2a0f:1265:2::/48" in rpsl.UNREGISTERED[65006]
    assert "2a0f:1265:2::/48" not in prefixes(result)


@pytest.mark.parametrize("family", [4, 6])
@pytest.mark.parametrize("program", PROGRAMS)
def test_aggregation_changes_the_list_not_what_it_accepts(
    irr: IrrServer, program: str, family: int
) -> None:
    plain = fetch(65001, IRRObject("AS-PEERONE"), family, config(irr, program))
    aggregated = fetch(65001, IRRObject("AS-PEERONE"), family, config(irr, program, aggregate=True))
    assert aggregated.error is None
    assert "-A" in aggregated.command and "-A" not in plain.command
    assert accepted(aggregated.prefixes) == prefixes(plain) == routes([65001, 65200], family)
    assert len(aggregated.prefixes) < len(plain.prefixes)
    assert any(not entry.exact for entry in aggregated.prefixes)
    for entry in aggregated.prefixes:
        if not entry.exact:
            assert entry.greater_equal is not None and entry.less_equal is not None


def range_prefixes(text: str) -> set[str]:
    """The prefixes an RPSL range (``2a0f:11::/44^44-48``) stands for."""
    prefix, _, lengths = text.partition("^")
    low, _, high = lengths.partition("-")
    network = ip_network(prefix)
    return {
        str(subnet)
        for length in range(int(low), int(high) + 1)
        for subnet in network.subnets(new_prefix=length)
    }


@pytest.mark.parametrize("program", PROGRAMS)
def test_a_route_set(irr: IrrServer, program: str) -> None:
    """bgpq4 says it skips the other family's members: a note, not an error. bgpq leaves
    greater-equal out when it is the prefix's own length."""
    ((name, _, (v6_range,)),) = rpsl.ROUTE_SETS
    plain = fetch(64500, IRRObject(name), 6, config(irr, program))
    aggregated = fetch(64500, IRRObject(name), 6, config(irr, program, aggregate=True))
    assert prefixes(plain) == range_prefixes(v6_range)
    assert aggregated.error is None
    assert aggregated.prefixes == (PrefixEntry("2a0f:11::/44", False, None, 48),)
    assert accepted(aggregated.prefixes) == range_prefixes(v6_range)
    if program == "bgpq4":
        assert aggregated.notes == ("ERROR:Ignoring prefix 11.0.0.0/22^22-24, wrong af 2",)
    else:
        assert aggregated.notes == ()


# -- AS-path lists ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["AS-PEERONE", "AS-LABIX-RS", "AS-NPLAB"])
@pytest.mark.parametrize("program", PROGRAMS)
def test_the_as_path_list_is_the_member_asns(irr: IrrServer, program: str, name: str) -> None:
    result = fetch(65010, IRRObject(name), 0, config(irr, program, aggregate=True))
    assert result.error is None
    assert result.asns == tuple(sorted(set_asns(name)))
    assert result.prefixes == ()
    assert "-t" in result.command and "-A" not in result.command


@pytest.mark.parametrize("program", PROGRAMS)
def test_the_as_path_list_of_an_asn_and_a_ripe_set(irr: IrrServer, program: str) -> None:
    assert fetch(65005, IRRObject("AS65005"), 0, config(irr, program)).asns == (65005,)
    ripe = fetch(65002, IRRObject("AS-TWOPORTS", "RIPE"), 0, config(irr, program))
    assert ripe.asns == (65002,)


@pytest.mark.parametrize("program", PROGRAMS)
def test_32_bit_asns_stay_themselves(program: str) -> None:
    """bgpq3 writes them as 23456 without -3."""
    objects = synthetic(2, 4, asns_per_set=3)
    wanted = {int(o.key[2:]) for o in objects if o.object_class == "aut-num"}
    with IrrServer(objects) as irr:
        result = fetch(1, IRRObject("AS-BENCH2"), 0, BgpqConfig(program=program, host=irr.address))
        assert result.error is None
        assert result.asns == (200003, 200004, 200005)
        assert set(result.asns) <= wanted


# -- empty and missing sets -------------------------------------------------------------


@pytest.mark.parametrize("family", [4, 6, 0])
@pytest.mark.parametrize("program", PROGRAMS)
@pytest.mark.parametrize("name", [*rpsl.EMPTY_SETS, *rpsl.MISSING_SETS])
def test_an_empty_set_and_a_missing_one_are_an_empty_success(
    irr: IrrServer, program: str, name: str, family: int
) -> None:
    """IRRd answers D to both, bgpq prints an empty list and exits 0, says nothing: they
    cannot be told apart, so both are a success with nothing in it."""
    result = fetch(65002, IRRObject(name), family, config(irr, program))
    assert (result.error, result.prefixes, result.asns, result.notes) == (None, (), (), ())
    asked = re.compile(rf"!(i|a[46]?){name}(,1)?", re.IGNORECASE)  # !a: bgpq4, IRRd 4
    expansions = [e.answer for e in irr.logged() if asked.fullmatch(e.query)]
    assert expansions == ["D"]


@pytest.mark.parametrize("program", PROGRAMS)
def test_fetch_all_asks_the_irr_whether_an_empty_set_exists(irr: IrrServer, program: str) -> None:
    """What bgpq cannot tell, fetch_all asks (!m): a missing set fails in every family, an
    empty one is an empty success, and an ASN without routes is not asked about."""
    names = [*rpsl.EMPTY_SETS, *rpsl.MISSING_SETS, "AS64999"]
    jobs = [Job(65002, IRRObject(name), family) for name in names for family in (4, 6, 0)]
    results = fetch_all(jobs, config(irr, program))
    errors = {(r.object.name, r.family): r.error for r in results}
    for family in (4, 6, 0):
        assert errors[rpsl.EMPTY_SETS[0], family] is None
        assert errors["AS64999", family] is None
        assert errors[rpsl.MISSING_SETS[0], family] == f"no such as-set at {irr.address}"
    asked = sorted(e.query for e in irr.logged() if e.query.startswith("!m"))
    assert asked == sorted(f"!mas-set,{name}" for name in (*rpsl.EMPTY_SETS, *rpsl.MISSING_SETS))


def test_a_set_missing_from_its_own_source_fails(irr: IrrServer) -> None:
    """RIPE::AS-PEERONE exists only in LAB: the set is looked for where it was named."""
    results = fetch_all([Job(65001, IRRObject("AS-PEERONE", "RIPE"), 4)], config(irr, "bgpq3"))
    assert results[0].error == f"no such as-set at {irr.address} (sources RIPE)"


def test_the_empty_and_the_missing_set_are_what_the_lab_says() -> None:
    assert all(find_set(name, rpsl.SOURCES) for name in rpsl.EMPTY_SETS)
    assert not any(find_set(name, rpsl.SOURCES) for name in rpsl.MISSING_SETS)


# -- failures ---------------------------------------------------------------------------


def test_an_unknown_source_in_the_object_fails_not_falls_back_bgpq4(irr: IrrServer) -> None:
    """bgpq4 gets F to !sNOPE, goes on with every source and exits 0: a failure here.
    (bgpq4 prints what else its read brought after IRRd's answer, which depends on timing.)"""
    result = fetch(65004, IRRObject("AS-TWOPORTS", "NOPE"), 4, config(irr, "bgpq4"))
    assert result.error is not None and result.error.startswith(
        "bgpq4: ERROR:Error expanding !sNOPE : F One or more selected sources are unavailable."
    )
    assert result.prefixes == ()
    assert result.notes == (result.error.removeprefix("bgpq4: "),)


def test_an_unknown_source_fails_bgpq3(irr: IrrServer) -> None:
    result = fetch(65004, IRRObject("AS-TWOPORTS", "NOPE"), 4, config(irr, "bgpq3"))
    assert result.error == (
        "bgpq3 exited with status 1: ERROR:Invalid source(s) 'NOPE': "
        "F One or more selected sources are unavailable."
    )
    assert result.prefixes == ()


@pytest.mark.parametrize("program", PROGRAMS)
def test_a_timeout_kills_bgpq(program: str) -> None:
    with IrrServer(LAB, delay=5.0) as slow:
        start = time.monotonic()
        result = fetch(65001, IRRObject("AS-PEERONE"), 4, config(slow, program, timeout=0.5))
        elapsed = time.monotonic() - start
    assert result.error is not None
    assert re.fullmatch(rf"{program} timed out after 0\.\d s \(limit 0\.5 s\)", result.error)
    assert elapsed >= 0.5
    assert result.prefixes == ()
    assert result.command[0].endswith(program)


@pytest.mark.parametrize("program", PROGRAMS)
def test_a_host_that_refuses_connections(program: str) -> None:
    with socket.socket() as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        host = f"127.0.0.1:{sock.getsockname()[1]}"
        result = fetch(65001, IRRObject("AS-PEERONE"), 4, BgpqConfig(program=program, host=host))
    reason = "Connection refused" if program == "bgpq4" else "Transport endpoint is not connected"
    assert result.error == (
        f"{program} exited with status 1: ERROR:All attempts to connect 127.0.0.1 failed, "
        f"last error: {reason}"
    )
    assert result.host == host
    assert result.prefixes == ()


# -- the program ------------------------------------------------------------------------


@pytest.mark.parametrize("program", PROGRAMS)
def test_the_version_is_what_the_program_says(program: str) -> None:
    found = find_program(program)
    said = subprocess.run([program, "-v"], capture_output=True, text=True, check=False)
    version = re.search(r"version: (\S+)", said.stdout + said.stderr)
    assert version is not None
    assert found == Program(shutil.which(program) or "", program, version[1])
    assert re.fullmatch(r"\d+(\.\d+)+", found.version)


# -- the command ------------------------------------------------------------------------


def test_a_job_that_cannot_be_run_is_an_error_not_a_run(irr: IrrServer) -> None:
    result = fetch(65001, IRRObject("AS-FOO;rm"), 4, config(irr, "bgpq4"))
    assert result.error is not None and result.error.startswith("not run: ")
    assert result.command == ()
    assert irr.logged() == []


# -- many at once -----------------------------------------------------------------------


def lab_jobs() -> list[Job]:
    """Every lab network's objects (as the grab-prefixes command picks them), every family."""
    jobs = []
    for net in topology.NETS:
        objects, _ = objects_for(net.asn, None, net.as_set)
        jobs += [Job(net.asn, obj, family) for obj in objects for family in (4, 6, 0)]
    return jobs


@pytest.mark.parametrize("program", PROGRAMS)
def test_parallel_runs_answer_as_serial_ones_in_order(irr: IrrServer, program: str) -> None:
    jobs = lab_jobs()
    assert len(jobs) >= 20
    serial = fetch_all(jobs, config(irr, program, workers=1, aggregate=True))
    parallel = fetch_all(jobs, config(irr, program, workers=8, aggregate=True))
    differing = [
        (p.object.name, p.family, p.error, s.error, p.notes, s.notes, p.prefixes == s.prefixes)
        for p, s in zip(without_time(parallel), without_time(serial), strict=True)
        if p != s
    ]
    assert not differing, differing
    assert [(r.asn, r.object, r.family) for r in parallel] == [
        (j.asn, j.object, j.family) for j in jobs
    ]
    missing = {r.object.name for r in parallel if r.error}  # fetch_all asked the IRR (!m)
    assert missing == set(rpsl.MISSING_SETS)
    one = fetch(jobs[0].asn, jobs[0].object, jobs[0].family, config(irr, program, aggregate=True))
    assert without_time([one]) == without_time(parallel[:1])
    by_job = {(r.asn, r.object.text, r.family): r for r in parallel}
    assert accepted(by_job[(65001, "AS-PEERONE", 4)].prefixes) == routes([65001, 65200], 4)
    assert by_job[(65004, "AS-EVIL", 0)].error == f"no such as-set at {irr.address}"


def test_one_failure_does_not_stop_the_others(irr: IrrServer) -> None:
    jobs: list[Job | tuple[int, IRRObject, int]] = [
        Job(65001, IRRObject("AS-PEERONE"), 4),
        Job(65004, IRRObject("AS-TWOPORTS", "NOPE"), 4),
        Job(65001, IRRObject("AS-FOO;"), 4),
        (65006, IRRObject("AS-SIXONLY"), 6),
    ]
    results = fetch_all(jobs, config(irr, "bgpq4", workers=2))
    assert [result.error is None for result in results] == [True, False, False, True]
    assert prefixes(results[0]) == routes([65001, 65200], 4)
    assert prefixes(results[3]) == routes([65006], 6)
    assert fetch_all([], config(irr, "bgpq4")) == []


def test_workers_run_at_once() -> None:
    """Eight runs with eight workers overlap at the IRR; with one worker they do not (the
    server may still be closing one connection when the next opens: two at most)."""
    jobs = [Job(65001, IRRObject("AS-PEERONE"), family) for family in (4, 6) * 4]
    with IrrServer(LAB, delay=0.1) as slow:
        serial = fetch_all(jobs, config(slow, "bgpq4", workers=1))
        assert slow.peak_connections <= 2
        parallel = fetch_all(jobs, config(slow, "bgpq4", workers=8))
        assert slow.peak_connections >= 4
    assert all(result.error is None for result in parallel)
    assert [r.prefixes for r in parallel] == [r.prefixes for r in serial]


@pytest.mark.parametrize("program", PROGRAMS)
def test_a_silent_server_is_given_up_after_a_few_timeouts(irr: IrrServer, program: str) -> None:
    """Runs to a server that never answers, between runs to one that does: after three
    timeouts in a row (two workers: a fourth may be under way), the rest to it fail
    unmade; the other server's all run."""
    silent_jobs = [Job(65001, IRRObject(f"AS{asn}"), 4) for asn in range(65001, 65021)]
    lab = [Job(65001, IRRObject("AS-PEERONE"), family, host=irr.address) for family in (4, 6)]
    jobs = [*silent_jobs[:10], *lab, *silent_jobs[10:]]
    with SilentServer() as silent:
        settings = BgpqConfig(program, silent.address, (), 0.5, False, 2, give_up_after=3)
        results = fetch_all(jobs, settings)
        made = silent.accepted
    assert 3 <= made <= 4
    given_up = [r for r in results if r.given_up]
    assert len(given_up) == len(silent_jobs) - made
    assert {r.error for r in given_up} == {
        f"not run: the IRR server {silent.address} timed out 3 times in a row"
    }
    assert all(r.host == silent.address and r.prefixes == () for r in given_up)
    timed_out = [r for r in results if r.host == silent.address and not r.given_up]
    assert len(timed_out) == made
    assert all(str(r.error).startswith(f"{program} timed out after") for r in timed_out)
    by_family = {r.family: r for r in results if r.host == irr.address}
    assert prefixes(by_family[4]) == routes([65001, 65200], 4)
    assert not by_family[6].error and not by_family[6].given_up


def test_a_server_never_given_up_with_0() -> None:
    jobs = [Job(65001, IRRObject(f"AS{asn}"), 4) for asn in range(65001, 65007)]
    with SilentServer() as silent:
        results = fetch_all(
            jobs, BgpqConfig(host=silent.address, timeout=0.3, workers=2, give_up_after=0)
        )
        assert silent.accepted == len(jobs)
    assert not any(r.given_up for r in results)
    assert all(str(r.error).startswith("bgpq4 timed out after") for r in results)


# -- asking the IRR whether a set exists (irr/whois.py) -----------------------------------


def test_object_exists_answers_from_the_irr(irr: IrrServer) -> None:
    assert object_exists(irr.address, "AS-PEERONE")
    assert object_exists(irr.address, rpsl.EMPTY_SETS[0])
    assert not object_exists(irr.address, rpsl.MISSING_SETS[0])
    assert not object_exists(irr.address, "AS-PEERONE", sources=["RIPE"])
    assert object_exists(irr.address, "AS-TWOPORTS", sources=["RIPE"])


def test_object_exists_reads_an_answer_with_text_beyond_ascii() -> None:
    """IRRd counts an answer's length in characters; the lab server in bytes: either
    way the answer ends at its C line."""
    with IrrServer([rpsl.as_set("AS-ZURICH", [], descr="Zürich, Genève: réseau")]) as zurich:
        assert object_exists(zurich.address, "AS-ZURICH")
        assert not object_exists(zurich.address, "AS-BERN")


def test_object_exists_says_when_the_irr_cannot_answer(irr: IrrServer) -> None:
    with pytest.raises(WhoisError, match="!sNOPE answered 'F One or more selected sources"):
        object_exists(irr.address, "AS-PEERONE", sources=["NOPE"])
    with socket.socket() as unused:  # bound, never listening: connections are refused
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
        with pytest.raises(WhoisError, match=f"127.0.0.1:{port}: Connection refused"):
            object_exists(f"127.0.0.1:{port}", "AS-PEERONE", timeout=5)
    with pytest.raises(WhoisError, match="not an IRR server"):
        object_exists("127.0.0.1:x:y", "AS-PEERONE")
