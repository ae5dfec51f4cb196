"""``grab-prefixes`` end to end: the lab's inventory and PeeringDB, the lab IRR, the real
bgpq4, a state file; and nothing is lost when the IRR fails or answers too little."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from ipaddress import ip_network
from pathlib import Path

import pytest

from nornir_peering.inventory import PeeringInventory
from nornir_peering.irr import PrefixEntry
from nornir_peering.lab.irrserver import IrrServer
from nornir_peering.lab.rpsl import UNREGISTERED, as_set, lab_irr
from nornir_peering.store import open_state
from nornir_peering.store.irr import StoredList, read_lists
from tests.helpers import SilentServer, run

pytestmark = pytest.mark.lab  # grab-prefixes and prefixes --live run bgpq4

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def irr() -> Iterator[IrrServer]:
    with IrrServer(lab_irr()) as server:
        yield server


@pytest.fixture
def project(
    synced_state: Path, irr: IrrServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The repository's inventory, its own copy of the state, the lab IRR."""
    shutil.copytree(REPO / "inventory", tmp_path / "inventory")
    shutil.copyfile(synced_state, tmp_path / "peering.duckdb")
    (tmp_path / "config.yaml").write_text(
        "inventory:\n  plugin: PeeringInventory\n  options:\n    inventory_dir: inventory\n"
        f"user_defined:\n  peering:\n    state: {tmp_path / 'peering.duckdb'}\n"
        f"    irr_host: {irr.address}\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "250")
    return tmp_path


def stored(project: Path) -> dict[int, dict[int, StoredList]]:
    with open_state(project / "peering.duckdb") as db:
        return read_lists(db)


def outcome(stdout: str) -> dict[tuple[int, int], dict[str, object]]:
    return {(row["asn"], row["family"]): row for row in json.loads(stdout)["lists"]}


def test_every_peer_and_ours_per_family(project: Path) -> None:
    result = run("grab-prefixes", "--json")
    assert result.exit_code == 1  # AS65004's AS-SET does not exist
    report = json.loads(result.stdout)
    lists = outcome(result.stdout)
    # our AS, every peer of the lab inventory's IRR-filtered sessions (not the transit,
    # AS65100); IPv4, IPv6, AS path each
    assert {asn for asn, _ in lists} == {64500, *range(65001, 65007), 65010, 65200}
    assert {family for _, family in lists} == {4, 6, 0}
    assert report["failed"] == [65004]
    assert all(row["status"] == "new" for (asn, _), row in lists.items() if asn != 65004)
    found = stored(project)
    peer_one = found[65001][4].prefixes
    assert covers(peer_one, "12.1.0.0/24") and covers(peer_one, "12.1.1.0/24")
    assert not any(covers(peer_one, p) for p in UNREGISTERED[65001])
    assert found[65001][0].asns == (65001, 65200)  # AS-PEERONE holds its customer's set
    assert found[65001][4].host == project_irr(project)
    # the hostile AS-SET field: its junk reported, never run
    assert any("AS65004" in problem and '"/etc"' in problem for problem in report["problems"])
    assert lists[65004, 4]["message"] == (
        f"AS-EVIL: no such as-set at {project_irr(project)}; none stored"
    )
    assert 65004 not in found
    # AS-TWOPORTS-V6 exists and is empty: AS65002's lists are RIPE::AS-TWOPORTS' alone
    assert found[65002][0].asns == (65002,)
    # the customer's lists reach every router's templates, not only edge1's, where it is
    inventory = PeeringInventory(
        inventory_dir=str(project / "inventory"), state=str(project / "peering.duckdb")
    ).load_with_problems()
    for host in inventory.inventory.hosts.values():
        customers = {(c["asn"], c["family"]): c for c in host["customer_lists"]}
        assert set(customers) == {(65200, 4)}, host.name
        assert customers[65200, 4]["prefixes"] == list(found[65200][4].prefixes)


def covers(entries: tuple[PrefixEntry, ...], prefix: str) -> bool:
    """Whether a prefix list with ``entries`` lets ``prefix`` through."""
    wanted = ip_network(prefix)
    for entry in entries:
        net = ip_network(entry.prefix)
        if wanted.version != net.version or not wanted.subnet_of(net):  # type: ignore[arg-type]
            continue
        if entry.exact:
            if wanted == net:
                return True
            continue
        low = entry.greater_equal or net.prefixlen
        high = entry.less_equal or low
        if low <= wanted.prefixlen <= high:
            return True
    return False


def project_irr(project: Path) -> str:
    text = (project / "config.yaml").read_text()
    return text.split("irr_host: ")[1].split()[0]


def test_old_name_and_limit_as_peering_manager(project: Path) -> None:
    result = run("grab_prefixes", "--limit", "2", "--json", "--asn", "65001,65005")
    assert result.exit_code == 0, result.stderr
    lists = outcome(result.stdout)
    assert lists[(65001, 4)]["status"] == "skipped"  # 4 prefixes, more than 2
    assert lists[(65005, 4)]["status"] == "new"  # 1 prefix
    assert 4 not in stored(project).get(65001, {})


def test_asn_restricts_the_run(project: Path) -> None:
    result = run("grab-prefixes", "--asn", "AS65001,65005", "--json")
    assert result.exit_code == 0, result.stderr
    assert {asn for asn, _ in outcome(result.stdout)} == {65001, 65005}
    assert set(stored(project)) == {65001, 65005}
    bad = run("grab-prefixes", "--asn", "65001,foo")
    assert bad.exit_code == 2 and "'foo' is not an AS number" in bad.stderr


def test_an_unreachable_irr_keeps_every_list(project: Path) -> None:
    assert run("grab-prefixes").exit_code == 1  # AS65004's set is missing, the rest stored
    before = stored(project)
    assert len(before) == 8
    config = project / "config.yaml"
    config.write_text(config.read_text().replace(project_irr(project), "127.0.0.1:9"))
    result = run("grab-prefixes", "--json")
    assert result.exit_code == 1
    lists = outcome(result.stdout)
    assert {row["status"] for row in lists.values()} == {"failed"}
    after = stored(project)
    assert {asn: {f: s.prefixes for f, s in by.items()} for asn, by in after.items()} == {
        asn: {f: s.prefixes for f, s in by.items()} for asn, by in before.items()
    }


def test_a_silent_irr_is_given_up_after_a_few_timeouts(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An IRR server that accepts and never answers: three bgpq runs time out (with two
    workers, a fourth may be under way), the others fail at once, unmade; every list
    stored before is kept, and the report and the run log say how many were not made."""
    assert run("grab-prefixes").exit_code == 1  # AS65004's set is missing, the rest stored
    before = stored(project)
    assert len(before) == 8
    monkeypatch.setenv("NORNIR_PEERING_IRR_TIMEOUT", "0.5")
    monkeypatch.setenv("NORNIR_PEERING_IRR_WORKERS", "2")
    monkeypatch.setenv("NORNIR_PEERING_IRR_GIVE_UP_AFTER", "3")
    with SilentServer() as silent:
        monkeypatch.setenv("NORNIR_PEERING_IRR_HOST", silent.address)
        result = run("grab-prefixes", "--json")
        made = silent.accepted
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert 3 <= made <= 4
    [(host, not_made)] = report["given_up"].items()
    assert host == silent.address and not_made >= 27 - made  # 9 ASes, 3 lists each, or more
    lists = outcome(result.stdout)
    assert len(lists) == 27 and {row["status"] for row in lists.values()} == {"failed"}
    reason = f"not run: the IRR server {silent.address} timed out 3 times in a row"
    assert sum(reason in str(row["message"]) for row in lists.values()) >= 27 - made
    assert all("kept the stored list" in str(row["message"]) or row["asn"] == 65004
               for row in lists.values())  # fmt: skip
    assert (
        f"{silent.address}: {not_made} bgpq run(s) not made, the server given up after its "
        "runs timed out irr_give_up_after times in a row; their ASes keep the lists stored before"
    ) in report["problems"]
    after = stored(project)
    assert {asn: {f: (s.prefixes, s.asns) for f, s in by.items()} for asn, by in after.items()} == {
        asn: {f: (s.prefixes, s.asns) for f, s in by.items()} for asn, by in before.items()
    }
    [logged] = json.loads(run("runs", "--json", "--last", "1").stdout)
    assert logged["summary"].endswith(
        f"; {not_made} bgpq run(s) not made, their IRR server given up"
    )


def test_a_list_that_would_shrink_is_held_unless_forced(project: Path) -> None:
    assert run("grab-prefixes", "--asn", "65001").exit_code == 0
    # the IRR loses every IPv4 route of AS-PEERONE (AS65001 and its customer AS65200)
    # but one: 4 entries (aggregated) would become 1
    shrunk = [
        o
        for o in lab_irr()
        if not (
            o.object_class == "route"
            and o.first("origin") in ("AS65001", "AS65200")
            and o.key != "12.1.0.0/24"
        )
    ]
    with IrrServer(shrunk) as small:
        config = project / "config.yaml"
        config.write_text(config.read_text().replace(project_irr(project), small.address))
        held = run("grab-prefixes", "--asn", "65001", "--json")
        assert held.exit_code == 1
        assert outcome(held.stdout)[(65001, 4)]["status"] == "held"
        assert len(stored(project)[65001][4].prefixes) == 4
        forced = run("grab-prefixes", "--asn", "65001", "--force", "--json")
        assert forced.exit_code == 0, forced.stderr
        row = outcome(forced.stdout)[(65001, 4)]
        assert (row["status"], row["forced"], row["added"], row["removed"]) == (
            "updated",
            True,
            1,
            4,
        )
    assert [e.prefix for e in stored(project)[65001][4].prefixes] == ["12.1.0.0/24"]


def test_bgpq4_missing_is_one_line_and_exit_2(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NORNIR_PEERING_BGPQ", str(project / "no-such-bgpq4"))
    result = run("grab-prefixes")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "no-such-bgpq4" in line
    assert stored(project) == {}


def test_a_missing_set_fails_its_as_and_keeps_its_old_list(project: Path) -> None:
    """AS65004's AS-EVIL once existed; now it is gone: AS65004 fails, its lists stay,
    every other AS is done."""
    config, lab = project / "config.yaml", project_irr(project)
    with IrrServer([*lab_irr(), as_set("AS-EVIL", ["AS65004"])]) as then:
        config.write_text(config.read_text().replace(lab, then.address))
        assert run("grab-prefixes", "--asn", "65004,65001").exit_code == 0
        kept = stored(project)[65004]
        assert kept[0].asns == (65004,) and kept[4].prefixes
    config.write_text(config.read_text().replace(then.address, lab))
    result = run("grab-prefixes", "--asn", "65004,65001", "--json")
    assert result.exit_code == 1
    lists = outcome(result.stdout)
    assert {f: lists[65004, f]["status"] for f in (0, 4, 6)} == dict.fromkeys((0, 4, 6), "failed")
    assert {f: lists[65001, f]["status"] for f in (0, 4, 6)} == dict.fromkeys(
        (0, 4, 6), "unchanged"
    )
    after = stored(project)[65004]
    assert {f: s.prefixes for f, s in after.items()} == {f: s.prefixes for f, s in kept.items()}
    assert after[4].message and "no such as-set" in after[4].message
    text = run("grab-prefixes", "--asn", "65004")
    assert "AS-EVIL: no such as-set" in text.stdout and "AS65004" in text.stderr


def test_a_timeout_fails_the_run_and_keeps_the_lists(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("grab-prefixes", "--asn", "65001").exit_code == 0
    before = stored(project)
    with IrrServer(lab_irr(), delay=3.0) as slow:
        config = project / "config.yaml"
        config.write_text(config.read_text().replace(project_irr(project), slow.address))
        monkeypatch.setenv("NORNIR_PEERING_IRR_TIMEOUT", "0.5")
        result = run("grab-prefixes", "--asn", "65001", "--json")
    assert result.exit_code == 1
    rows = outcome(result.stdout)
    assert {rows[65001, f]["status"] for f in (0, 4, 6)} == {"failed"}
    assert "timed out after" in str(rows[65001, 4]["message"])
    assert "(limit 0.5 s)" in str(rows[65001, 4]["message"])
    assert stored(project)[65001][4].prefixes == before[65001][4].prefixes


def test_an_as_asks_its_own_irr_when_the_inventory_says_so(project: Path) -> None:
    """irr_host and irr_sources on a peer in peering.yaml: that AS asks there, the others
    the configured server."""
    with IrrServer(lab_irr()) as own:
        peering = project / "inventory" / "peering.yaml"
        text = peering.read_text()
        assert "      - asn: 65005\n" in text
        peering.write_text(
            text.replace(
                "      - asn: 65005\n",
                f"      - asn: 65005\n        irr_host: {own.address}\n        irr_sources: lab\n"
                "        irr_aggregate: false\n",
                1,
            )
        )
        result = run("grab-prefixes", "--asn", "65005,65001", "--json")
        assert result.exit_code == 0, result.stderr
        asked = {e.query for e in own.logged()}
    found = stored(project)
    assert (found[65005][4].host, found[65005][4].sources) == (own.address, ("LAB",))
    assert (found[65001][4].host, found[65001][4].sources) == (project_irr(project), ())
    assert "-A" not in found[65005][4].commands[0].split()  # its own: not aggregated
    assert "-A" in found[65001][4].commands[0].split()
    assert "!sLAB" in asked and not any("PEERONE" in query for query in asked)


# -- nornir-peering prefixes ----------------------------------------------------------------


def test_prefixes_shows_what_is_stored(project: Path) -> None:
    assert run("grab-prefixes", "--asn", "65001,65002").exit_code == 0
    result = run("prefixes", "65001", "AS-TWOPORTS", "--json")
    assert result.exit_code == 0, result.stderr
    answers = {(a["object"], a["family"]): a for a in json.loads(result.stdout)}
    assert set(answers) == {("AS65001", 4), ("AS65001", 6), ("AS-TWOPORTS", 4), ("AS-TWOPORTS", 6)}
    one = answers["AS65001", 4]
    kept = stored(project)[65001][4]
    assert one["prefixes"] == [e.as_json() for e in kept.prefixes]
    assert one["prefixes"][0] == {
        "prefix": "12.1.0.0/23",
        "exact": False,
        "greater-equal": 24,
        "less-equal": 24,
    }
    assert (one["error"], one["asn"], one["asns"], one["objects"]) == (
        None,
        65001,
        [65001, 65200],
        ["AS-PEERONE"],
    )
    assert one["host"] == project_irr(project) and one["program"].startswith("bgpq4 ")
    assert one["fetched_at"] == kept.fetched_at.isoformat()
    assert answers["AS-TWOPORTS", 6]["asn"] == 65002  # RIPE::AS-TWOPORTS is one of its sets
    table = run("prefixes", "65001")
    assert "AS-PEERONE" in table.stdout and "12.1.0.0/23 ge 24 le 24" in table.stdout
    assert "ago" in table.stdout


def test_prefixes_says_what_it_does_not_have(project: Path) -> None:
    assert run("grab-prefixes", "--asn", "65001").exit_code == 0
    result = run("prefixes", "65003", "AS-NOPE", "--json")
    assert result.exit_code == 1
    errors = {
        (a["object"], a["family"]): (a["prefixes"], a["error"]) for a in json.loads(result.stdout)
    }
    assert errors["AS65003", 4] == ([], "no IRR list stored for AS65003 in IPv4: run grab-prefixes")
    assert errors["AS-NOPE", 6] == ([], "no stored IRR list comes from AS-NOPE")
    junk = run("prefixes", "AS-FOO;")
    assert junk.exit_code == 2 and "'AS-FOO;' is not an AS number or an AS-SET" in junk.stderr
    summary = run("prefixes")
    assert summary.exit_code == 0 and "AS65001" in summary.stdout


def test_prefixes_live_asks_the_irr_and_stores_nothing(project: Path) -> None:
    result = run("prefixes", "--live", "AS-PEERONE", "AS-TWOPORTS-V6", "AS-EVIL", "--json")
    assert result.exit_code == 1  # AS-EVIL does not exist
    answers = {(a["object"], a["family"]): a for a in json.loads(result.stdout)}
    assert answers["AS-PEERONE", 4]["error"] is None
    assert {p["prefix"] for p in answers["AS-PEERONE", 4]["prefixes"]} >= {"12.1.0.0/23"}
    assert answers["AS-PEERONE", 6]["asns"] == [65001, 65200]
    # an empty set is an answer; a missing one is an error, never an empty list
    assert (answers["AS-TWOPORTS-V6", 6]["prefixes"], answers["AS-TWOPORTS-V6", 6]["error"]) == (
        [],
        None,
    )
    assert answers["AS-EVIL", 4]["error"] == f"no such as-set at {project_irr(project)}"
    assert stored(project) == {}
    assert run("prefixes", "--live").exit_code == 2
