"""The IRR lists in the state file: what a run decides per AS and family, the guards
that keep a good list, one transaction per run, and reading them back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from nornir_peering.irr import Fetched, IRRObject, PrefixEntry
from nornir_peering.store import SCHEMA_VERSION, migrations, open_state, schema_version
from nornir_peering.store.irr import (
    ListChange,
    StoredList,
    apply,
    plan_updates,
    read_lists,
)

AT = datetime(2026, 1, 1, 12, 0)
LATER = datetime(2026, 1, 2, 12, 0)


def answer(
    asn: int,
    name: str,
    family: int,
    prefixes: list[str | PrefixEntry] | None = None,
    *,
    asns: tuple[int, ...] = (),
    error: str | None = None,
    at: datetime = AT,
) -> Fetched:
    """What the bgpq runner gives for one object."""
    obj = IRRObject(name)
    entries = tuple(p if isinstance(p, PrefixEntry) else PrefixEntry(p) for p in prefixes or ())
    flag = f"-{family}" if family else "-t"
    return Fetched(
        asn,
        obj,
        family,
        entries,
        asns,
        program="bgpq4 1.9",
        host="rr.example.net:43",
        sources=("RIPE", "RADB"),
        command=("bgpq4", "-h", "rr.example.net:43", "-j", "-l", f"AS{asn}", flag, obj.text),
        fetched_at=at,
        error=error,
    )


def v4(count: int, start: int = 0) -> list[str | PrefixEntry]:
    return [f"10.{i // 256 % 256}.{i % 256}.0/24" for i in range(start, start + count)]


def run(
    state: Path,
    fetched: list[Fetched],
    *,
    max_shrink: int = 50,
    limit: int | None = None,
    force: bool = False,
    now: datetime = LATER,
) -> dict[tuple[int, int], ListChange]:
    with open_state(state, write=True) as db:
        changes = plan_updates(db, fetched, max_shrink=max_shrink, limit=limit, force=force)
        apply(db, changes, now=now)
    return {(c.asn, c.family): c for c in changes}


def stored(state: Path, asns: list[int] | None = None) -> dict[int, dict[int, StoredList]]:
    with open_state(state) as db:
        return read_lists(db, asns)


def prefixes(state: Path, asn: int, family: int = 4) -> list[str]:
    return [e.prefix for e in stored(state)[asn][family].prefixes]


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state" / "peering.duckdb"


def test_new_lists_with_provenance(state: Path) -> None:
    ranged = PrefixEntry("12.1.0.0/23", exact=False, greater_equal=24, less_equal=24)
    v6 = PrefixEntry("2a0f:1209::/32", exact=False, greater_equal=32, less_equal=48)
    changes = run(
        state,
        [
            answer(65001, "AS-FOO", 4, ["12.0.0.0/16", ranged]),
            answer(65001, "AS-FOO", 6, [v6]),
            answer(65001, "AS-FOO", 0, asns=(65300, 65001, 65200)),
        ],
        now=LATER,
    )
    assert {
        key: (c.status, c.added, c.removed, c.previous, c.count) for key, c in changes.items()
    } == {
        (65001, 4): ("new", 2, 0, None, 2),
        (65001, 6): ("new", 1, 0, None, 1),
        (65001, 0): ("new", 3, 0, None, 3),
    }
    assert changes[65001, 4].message == "2 prefixes" and changes[65001, 4].applied
    lists = stored(state)[65001]
    four = lists[4]
    assert four.prefixes == (PrefixEntry("12.0.0.0/16"), ranged)
    assert four.asns == ()
    assert (four.objects, four.host, four.sources, four.program) == (
        ("AS-FOO",),
        "rr.example.net:43",
        ("RIPE", "RADB"),
        "bgpq4 1.9",
    )
    assert four.commands == ("bgpq4 -h rr.example.net:43 -j -l AS65001 -4 AS-FOO",)
    assert (four.count, four.fetched_at, four.changed_at, four.checked_at) == (2, AT, LATER, LATER)
    assert (four.status, four.message) == ("new", None)
    assert lists[6].prefixes == (v6,)
    assert lists[0].asns == (65001, 65200, 65300) and lists[0].prefixes == ()


def test_update_counts_what_was_added_and_removed(state: Path) -> None:
    run(state, [answer(65001, "AS-FOO", 4, v4(10)), answer(65001, "AS-FOO", 0, asns=(1, 2))])
    changes = run(
        state,
        [answer(65001, "AS-FOO", 4, v4(10, 3)), answer(65001, "AS-FOO", 0, asns=(2, 3, 4))],
        now=datetime(2026, 1, 3),
    )
    four, path = changes[65001, 4], changes[65001, 0]
    assert (four.status, four.added, four.removed, four.previous, four.count) == (
        "updated",
        3,
        3,
        10,
        10,
    )
    assert four.message == "+3 -3 (10 → 10)"
    assert (path.status, path.added, path.removed) == ("updated", 2, 1)
    assert prefixes(state, 65001) == v4(10, 3)
    assert stored(state)[65001][0].asns == (2, 3, 4)
    assert stored(state)[65001][4].changed_at == datetime(2026, 1, 3)


def test_unchanged_list_refreshes_when_fetched_not_when_changed(state: Path) -> None:
    run(state, [answer(65001, "AS-FOO", 4, v4(5))], now=LATER)
    again = answer(65001, "AS-FOO", 4, list(reversed(v4(5))), at=datetime(2026, 1, 5))
    changes = run(state, [again], now=datetime(2026, 1, 6))
    change = changes[65001, 4]
    assert (change.status, change.added, change.removed, change.message) == (
        "unchanged",
        0,
        0,
        "",
    )
    assert not change.applied
    after = stored(state)[65001][4]
    assert after.prefixes == tuple(PrefixEntry(p) for p in v4(5))  # the stored order stays
    assert (after.fetched_at, after.changed_at, after.checked_at, after.status) == (
        datetime(2026, 1, 5),
        LATER,
        datetime(2026, 1, 6),
        "unchanged",
    )


def test_failed_query_keeps_the_last_good_list_and_says_so(state: Path) -> None:
    run(state, [answer(65001, "AS-FOO", 4, v4(4)), answer(65001, "AS-FOO", 6, ["2001:db8::/32"])])
    timeout = "bgpq4 timed out after 120.0 s (limit 120 s)"
    changes = run(
        state,
        [
            answer(65001, "AS-FOO", 4, error=timeout),
            answer(65001, "AS-FOO", 6, ["2001:db8::/32", "2001:db9::/32"]),
            answer(65002, "AS-NEW", 4, error="bgpq4 exited with status 1"),
        ],
        now=datetime(2026, 1, 7),
    )
    failed = changes[65001, 4]
    assert (failed.status, failed.previous, failed.count, failed.kept) == ("failed", 4, None, True)
    assert failed.message == (
        f"AS-FOO: {timeout}; kept the stored list (4 prefixes, fetched 2026-01-01 12:00 UTC)"
    )
    assert changes[65001, 6].status == "updated"  # every other list goes on
    never = changes[65002, 4]
    assert (never.status, never.previous, never.kept) == ("failed", None, False)
    assert never.message.endswith("; none stored")
    lists = stored(state)
    assert prefixes(state, 65001) == v4(4)
    assert (lists[65001][4].status, lists[65001][4].message) == ("failed", failed.message)
    assert lists[65001][4].checked_at == datetime(2026, 1, 7)
    assert lists[65001][4].fetched_at == AT
    assert 65002 not in lists  # failed and never fetched: nothing stored


def test_empty_answer_is_stored_when_new_and_held_when_it_would_empty_a_list(
    state: Path,
) -> None:
    changes = run(state, [answer(65001, "AS-FOO", 6, []), answer(65001, "AS-FOO", 4, v4(3))])
    assert changes[65001, 6].status == "new"
    assert changes[65001, 6].message == "no prefixes: the IRR has none"
    lists = stored(state)[65001]
    assert lists[6].count == 0 and lists[6].prefixes == ()  # "the IRR has none"
    assert 0 not in lists  # never fetched: no list at all

    held = run(state, [answer(65001, "AS-FOO", 4, [])])[65001, 4]
    assert (held.status, held.previous, held.count, held.removed) == ("held", 3, 0, 3)
    assert held.message.startswith("would become empty (3 → 0); kept the stored list")
    assert prefixes(state, 65001) == v4(3)

    forced = run(state, [answer(65001, "AS-FOO", 4, [])], force=True)[65001, 4]
    assert (forced.status, forced.forced, forced.count) == ("updated", True, 0)
    assert forced.message == "forced: would become empty (3 → 0)"
    assert stored(state)[65001][4].prefixes == ()
    assert stored(state)[65001][4].message == forced.message


def test_shrinking_more_than_max_shrink_is_held_unless_forced(state: Path) -> None:
    run(state, [answer(65001, "AS-FOO", 4, v4(100)), answer(65002, "AS-BAR", 4, v4(100))])
    changes = run(
        state,
        [answer(65001, "AS-FOO", 4, v4(49)), answer(65002, "AS-BAR", 4, v4(50))],
        max_shrink=50,
    )
    held, limit = changes[65001, 4], changes[65002, 4]
    assert (held.status, held.removed, held.count, held.kept) == ("held", 51, 49, True)
    assert held.message.startswith(
        "would shrink by 51% (100 → 49), more than max_shrink 50%; kept the stored list"
    )
    assert held.message.endswith("; force applies it")
    assert (limit.status, limit.removed) == ("updated", 50)  # exactly max_shrink passes
    assert len(prefixes(state, 65001)) == 100
    assert len(prefixes(state, 65002)) == 50

    forced = run(state, [answer(65001, "AS-FOO", 4, v4(49))], force=True)[65001, 4]
    assert (forced.status, forced.forced) == ("updated", True)
    assert forced.message.startswith("forced: would shrink by 51% (100 → 49)")
    assert prefixes(state, 65001) == v4(49)

    none_allowed = run(state, [answer(65001, "AS-FOO", 4, v4(48))], max_shrink=0)[65001, 4]
    assert none_allowed.status == "held"


def test_over_the_limit_is_skipped_and_the_stored_list_stays(state: Path) -> None:
    run(state, [answer(65001, "AS-FOO", 4, v4(5))])
    changes = run(
        state,
        [
            answer(65001, "AS-FOO", 4, v4(20)),
            answer(65002, "AS-BIG", 6, [f"2001:db8:{i:x}::/48" for i in range(11)]),
            answer(65002, "AS-BIG", 0, asns=tuple(range(1, 50))),  # no limit on ASNs
            answer(65003, "AS-SMALL", 4, v4(10)),
        ],
        limit=10,
        force=True,  # does not override the limit
    )
    skipped = changes[65001, 4]
    assert (skipped.status, skipped.count, skipped.previous, skipped.added) == (
        "skipped",
        20,
        5,
        15,
    )
    assert skipped.message.startswith("20 prefixes, over the limit of 10; kept the stored list")
    assert changes[65002, 6].status == "skipped"
    assert changes[65002, 6].message == "11 prefixes, over the limit of 10; none stored"
    assert changes[65002, 0].status == "new"
    assert changes[65003, 4].status == "new"  # exactly the limit is stored
    lists = stored(state)
    assert prefixes(state, 65001) == v4(5)
    assert lists[65001][4].status == "skipped"
    assert 6 not in lists[65002]


def test_list_is_the_union_of_the_objects_of_an_as(state: Path) -> None:
    ranged = PrefixEntry("10.0.0.0/16", exact=False, greater_equal=24, less_equal=24)
    changes = run(
        state,
        [
            answer(65001, "AS-FOO", 4, ["10.0.1.0/24", "10.0.0.0/24"]),
            answer(65001, "AS-FOO", 0, asns=(65001, 65010)),
            answer(65001, "AS65001:AS-BAR", 4, ["10.0.0.0/24", ranged, "10.0.9.0/24"]),
            answer(65001, "AS65001:AS-BAR", 0, asns=(65010, 65020)),
        ],
    )
    four = changes[65001, 4]
    assert (four.status, four.count, four.objects) == ("new", 4, ("AS-FOO", "AS65001:AS-BAR"))
    lists = stored(state)[65001]
    assert lists[4].prefixes == (  # each entry once, the objects in turn
        PrefixEntry("10.0.1.0/24"),
        PrefixEntry("10.0.0.0/24"),
        ranged,
        PrefixEntry("10.0.9.0/24"),
    )
    assert lists[4].objects == ("AS-FOO", "AS65001:AS-BAR")
    assert len(lists[4].commands) == 2
    assert lists[0].asns == (65001, 65010, 65020)
    assert lists[0].count == 3


def test_one_failed_object_keeps_the_whole_as_family(state: Path) -> None:
    run(
        state,
        [answer(65001, "AS-FOO", 4, v4(3)), answer(65001, "AS-BAR", 4, v4(3, 100))],
    )
    before = stored(state)[65001][4].prefixes
    changes = run(
        state,
        [
            answer(65001, "AS-FOO", 4, v4(4)),
            answer(65001, "AS-BAR", 4, error="bgpq4: ERROR:Error expanding AS-BAR"),
            answer(65002, "AS-OTHER", 4, v4(2)),
        ],
    )
    change = changes[65001, 4]
    assert (change.status, change.previous, change.count) == ("failed", 6, None)
    assert change.message.startswith("AS-BAR: bgpq4: ERROR:Error expanding AS-BAR; kept")
    assert stored(state)[65001][4].prefixes == before
    assert changes[65002, 4].status == "new"


def test_answers_the_store_cannot_take_fail_their_list_only(state: Path) -> None:
    changes = run(
        state,
        [
            answer(65001, "AS-COMMA", 4, ["10.0.0.0/24,1,,"]),
            answer(65002, "AS-BREAK", 4, ["10.0.0.0/24\n65002,4,7,11.0.0.0/8,1,,"]),
            answer(65007, "AS-SPACE", 4, ["10.0.0.0/24 1-"]),
            answer(65003, "AS-EMPTY", 4, ["10.0.0.0/24", ""]),
            answer(65004, "AS-LENGTH", 4, [PrefixEntry("10.0.0.0/8", False, 300, 301)]),
            answer(65005, "AS-FAMILY", 5, ["10.0.0.0/8"]),
            answer(65006, "AS-FINE", 4, v4(1)),
        ],
    )
    assert [c.status for c in changes.values()] == ["failed"] * 6 + ["new"]
    for key in (65001, 4), (65002, 4), (65007, 4):
        assert "a prefix with ',', a space or a line break in it" in changes[key].message
    assert "1 empty prefix(es)" in changes[65003, 4].message
    assert "not a prefix entry" in changes[65004, 4].message
    assert "no such family 5" in changes[65005, 5].message
    assert list(stored(state)) == [65006]


def test_plan_writes_nothing_and_works_read_only(state: Path) -> None:
    run(state, [answer(65001, "AS-FOO", 4, v4(3))])
    with open_state(state) as db:  # read-only
        changes = plan_updates(
            db, [answer(65001, "AS-FOO", 4, v4(5))], max_shrink=50, limit=None, force=False
        )
        assert [c.status for c in changes] == ["updated"]
        with pytest.raises(duckdb.Error):
            apply(db, changes)
    assert prefixes(state, 65001) == v4(3)


def test_apply_on_another_connection_or_after_another_plan(state: Path) -> None:
    run(state, [answer(65001, "AS-FOO", 4, v4(3))])
    with open_state(state, write=True) as db:
        first = plan_updates(
            db, [answer(65001, "AS-FOO", 4, v4(4))], max_shrink=50, limit=None, force=False
        )
    with open_state(state, write=True) as db:  # the plan's staged rows are gone
        apply(db, first)
    assert prefixes(state, 65001) == v4(4)
    with open_state(state, write=True) as db:
        older = plan_updates(
            db, [answer(65001, "AS-FOO", 4, v4(5))], max_shrink=50, limit=None, force=False
        )
        newer = plan_updates(
            db, [answer(65002, "AS-BAR", 4, v4(2))], max_shrink=50, limit=None, force=False
        )
        apply(db, older)
        apply(db, newer)
        leftover = db.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall()
    assert leftover == [(0,)]
    assert prefixes(state, 65001) == v4(5)
    assert prefixes(state, 65002) == v4(2)


def test_a_failure_inside_apply_leaves_every_list_as_it_was(state: Path) -> None:
    run(state, [answer(65001, "AS-FOO", 4, v4(10)), answer(65001, "AS-FOO", 0, asns=(1, 2))])
    before = stored(state)
    with open_state(state, write=True) as db:
        changes = plan_updates(
            db,
            [answer(65001, "AS-FOO", 4, v4(12)), answer(65001, "AS-FOO", 0, asns=(1, 2, 3))],
            max_shrink=50,
            limit=None,
            force=False,
        )
        assert [c.status for c in changes] == ["updated", "updated"]
        # a list of no family: irr_list refuses it, after the prefixes are written
        bogus = ListChange(65009, 5, "new", replacement=changes[0].replacement)
        with pytest.raises(duckdb.ConstraintException):
            apply(db, [*changes, bogus])
    assert stored(state) == before


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime
    from pathlib import Path
    from nornir_peering.irr import Fetched, IRRObject, PrefixEntry
    from nornir_peering.store import open_state
    from nornir_peering.store import irr

    state, marker, count = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    entries = tuple(
        PrefixEntry(f"{20 + i // 65536}.{i // 256 % 256}.{i % 256}.0/24") for i in range(count)
    )
    fetched = [
        Fetched(65001, IRRObject("AS-FOO"), 4, entries, fetched_at=datetime(2026, 2, 1)),
        Fetched(65001, IRRObject("AS-FOO"), 0, asns=(7, 8, 9)),
        Fetched(65002, IRRObject("AS-NEW"), 4, entries[:1000]),
    ]
    insert_lists = irr._insert_lists

    def stuck(db, rows):  # inside apply's transaction, the prefixes written
        insert_lists(db, rows)
        marker.write_text("inside")
        time.sleep(600)

    irr._insert_lists = stuck
    with open_state(state, write=True) as db:
        changes = irr.plan_updates(db, fetched, max_shrink=50, limit=None, force=False)
        irr.apply(db, changes)
    """
)


def test_a_writer_killed_inside_apply_leaves_the_previous_lists(
    state: Path, tmp_path: Path
) -> None:
    run(state, [answer(65001, "AS-FOO", 4, v4(1000)), answer(65001, "AS-FOO", 0, asns=(1, 2))])
    before = stored(state)
    marker = tmp_path / "inside"
    # more prefixes than a DuckDB row group (122,880): written to the file before commit
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(state), str(marker), "150000"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert writer.poll() is None, writer.communicate()[1]
            assert time.monotonic() < deadline, "the writer never got inside apply"
            time.sleep(0.02)
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.communicate(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    assert stored(state) == before
    changes = run(state, [answer(65001, "AS-FOO", 4, v4(1001))])  # and it takes writes
    assert (changes[65001, 4].status, changes[65001, 4].added) == ("updated", 1)


def test_state_file_from_before_gets_the_irr_tables(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state.parent.mkdir(parents=True)
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:3])
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", 3)
    old = duckdb.connect(str(state))
    assert migrations.migrate(old) == 3
    old.execute(
        "INSERT INTO bgp_sessions (router, vrf, remote_address, wanted, configured, state, "
        "polled_at, stale) VALUES ('r1', 'global', '192.0.2.1', true, true, 'Established', "
        "now()::TIMESTAMP, false)"
    )
    old.close()
    monkeypatch.undo()
    with open_state(state) as db:  # a reader brings it forward too
        assert schema_version(db) == SCHEMA_VERSION
        tables = {row[0] for row in db.execute("SHOW TABLES").fetchall()}
        assert {"irr_list", "irr_prefix", "irr_asn"} <= tables
        assert db.execute("SELECT router FROM bgp_sessions").fetchall() == [("r1",)]
        assert read_lists(db) == {}
    run(state, [answer(65001, "AS-FOO", 4, v4(2))])
    assert prefixes(state, 65001) == v4(2)


def test_many_prefixes_read_back_whole_and_in_order(state: Path) -> None:
    count = 200_000
    big = [
        PrefixEntry(f"{20 + i // 65536}.{i // 256 % 256}.{i % 256}.0/24")
        if i % 3
        else PrefixEntry(f"2a0{i % 7}:{i:x}::/32", exact=False, greater_equal=32, less_equal=48)
        for i in range(count)
    ]
    four = [e for e in big if ":" not in e.prefix]
    six = [e for e in big if ":" in e.prefix]
    fetched = [answer(65001, "AS-TRANSIT", 4, four[: len(four) // 2])]
    fetched += [answer(65001, "AS-TRANSIT", 6, six)]
    fetched += [
        answer(65100 + n, f"AS-C{n}", 4, four[len(four) // 2 :][n::100]) for n in range(100)
    ]
    changes = run(state, fetched)
    assert sum(c.count or 0 for c in changes.values()) == count
    with open_state(state) as db:
        lists = read_lists(db)
        some = read_lists(db, [65001, 65150, 99999])
    assert sum(len(f.prefixes) for by in lists.values() for f in by.values()) == count
    assert lists[65001][4].prefixes == tuple(four[: len(four) // 2])
    assert lists[65001][6].prefixes == tuple(six)
    assert lists[65150][4].prefixes == tuple(four[len(four) // 2 :][50::100])
    assert set(some) == {65001, 65150}
