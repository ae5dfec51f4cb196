"""``grab-prefixes`` end to end: the lab's inventory and PeeringDB, the lab IRR, the real
bgpq4, a state file; and nothing is lost when the IRR fails or answers too little."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from ipaddress import ip_network
from pathlib import Path

import pytest

from nornir_peering.irr import PrefixEntry
from nornir_peering.lab.irrserver import IrrServer
from nornir_peering.lab.rpsl import UNREGISTERED, lab_irr
from nornir_peering.store import open_state
from nornir_peering.store.irr import StoredList, read_lists
from tests.helpers import run

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
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    lists = outcome(result.stdout)
    # our AS, every peer of the lab inventory's sessions; IPv4, IPv6, AS path each
    assert {asn for asn, _ in lists} == {64500, *range(65001, 65007), 65010, 65100, 65200}
    assert {family for _, family in lists} == {4, 6, 0}
    assert all(row["status"] == "new" for row in lists.values())
    found = stored(project)
    peer_one = found[65001][4].prefixes
    assert covers(peer_one, "12.1.0.0/24") and covers(peer_one, "12.1.1.0/24")
    assert not any(covers(peer_one, p) for p in UNREGISTERED[65001])
    assert found[65001][0].asns == (65001, 65200)  # AS-PEERONE holds its customer's set
    assert found[65001][4].host == project_irr(project)
    # the hostile AS-SET field: its junk reported, never run
    assert any("AS65004" in problem and '"/etc"' in problem for problem in report["problems"])
    assert found[65004][4].objects == ("AS-EVIL",)


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
    result = run("grab_prefixes", "--limit", "2", "--json")
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
    assert run("grab-prefixes").exit_code == 0
    before = stored(project)
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
