"""``check-ix-sessions`` on the lab's inventory and PeeringDB, whose answers are known:
its IXes hold members the inventory does not peer with (lab/topology.py's PROSPECTS),
three routers share one IX, one member has two ports, one port is not operational,
two ASNs are ignored (one until a date that has passed)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from ipaddress import ip_network
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import yaml

from nornir_peering.lab.pdbserver import Fault, LabServer
from nornir_peering.peeringdb.fetch import FetchError, StreamingFetcher
from nornir_peering.peeringdb.ixf import parse_export, refuse_url
from nornir_peering.settings import PeeringSettings
from nornir_peering.store import open_state
from nornir_peering.store.bgp import replace_router
from tests.helpers import API_KEY, run

REPO = Path(__file__).resolve().parent.parent
SECTIONS = {
    "missing",
    "one_family",
    "not_at_ix",
    "gone_from_peeringdb",
    "never_established",
    "ixf_disagreements",
    "ixf",
}
ROW_KEYS = {
    "router",
    "ix",
    "family",
    "asn",
    "name",
    "address",
    "policy_general",
    "is_rs_peer",
    "never_via_route_servers",
    "operational",
    "prefixes",
    "shared_ixes",
    "source",
}


@pytest.fixture
def project(
    synced_state: Path, pdb: LabServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The repository's inventory, its own copy of the synced lab state, and the lab
    PeeringDB (which serves the lab IXes' IX-F exports)."""
    shutil.copytree(REPO / "inventory", tmp_path / "inventory")
    shutil.copyfile(synced_state, tmp_path / "peering.duckdb")
    (tmp_path / "config.yaml").write_text(
        "inventory:\n  plugin: PeeringInventory\n  options:\n    inventory_dir: inventory\n"
        f"user_defined:\n  peering:\n    state: {tmp_path / 'peering.duckdb'}\n"
        f"    peeringdb_url: {pdb.api_url}\n    retries: 0\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "250")
    return tmp_path


def check(*args: str) -> dict[str, list[dict[str, Any]]]:
    result = run("check-ix-sessions", "--json", *args)
    assert result.exit_code == 0, result.stderr
    found: dict[str, list[dict[str, Any]]] = json.loads(result.stdout)
    return found


def missing(report: dict[str, list[dict[str, Any]]]) -> set[tuple[str, str, int, str]]:
    return {(r["router"], r["ix"], r["asn"], r["address"]) for r in report["missing"]}


def edit(project: Path, old: str, new: str) -> None:
    peering = project / "inventory" / "peering.yaml"
    text = peering.read_text()
    assert old in text
    peering.write_text(text.replace(old, new, 1))


def polled(
    state: str, address: str = "127.0.1.11", asn: int = 65001, configured: bool = True
) -> dict[str, Any]:
    """A session as poll-bgp-sessions stores it (store.bgp.replace_router's input)."""
    return {
        "vrf": "global",
        "remote_address": address,
        "remote_asn": asn,
        "wanted": True,
        "configured": configured,
        "state": state,
        "received_prefixes": None,
        "accepted_prefixes": None,
        "advertised_prefixes": None,
        "max_prefix": None,
        "uptime": None,
    }


def test_every_member_without_a_session_on_each_router(project: Path) -> None:
    report = check()
    assert set(report) == SECTIONS
    assert all(set(row) == ROW_KEYS for row in report["missing"])
    rows = missing(report)
    # three routers on lab-ix, two on lab-ix-2: a member is missing on each of them
    assert {r for r in rows if r[2] == 65020} == {
        *((router, "lab-ix", 65020, a) for router in ("edge1", "edge2", "edge3")
          for a in ("127.0.1.20", "fd00:7f8:1::20")),
        *((router, "lab-ix-2", 65020, a) for router in ("edge1", "edge3")
          for a in ("127.0.2.20", "fd00:7f8:2::20")),
    }  # fmt: skip
    # two ports: two addresses per family (and the one the IX-F export has instead of
    # .22); one IPv4-only port
    assert {a for _, _, asn, a in rows if asn == 65021} == {
        "127.0.1.21",
        "127.0.1.22",
        "127.0.1.29",
        "fd00:7f8:1::21",
        "fd00:7f8:1::22",
    }
    assert {a for _, _, asn, a in rows if asn == 65022} == {"127.0.1.23"}
    # ours and the ASNs the inventory already peers with are not missing; 65024 is
    # ignored for good, 65025 only until a date that has passed; 65030 is only in the
    # IX's own IX-F export
    assert {asn for _, _, asn, _ in rows} == {65020, 65021, 65022, 65023, 65025, 65030}
    sleeping = [r for r in report["missing"] if r["asn"] == 65023]
    assert sleeping and not any(r["operational"] for r in sleeping)


def test_the_ixf_export_adds_members_and_disagreements(project: Path, pdb: LabServer) -> None:
    report = check("--limit", "edge1")
    source = {(r["ix"], r["address"]): r["source"] for r in report["missing"]}
    assert source["lab-ix", "127.0.1.20"] == source["lab-ix-2", "fd00:7f8:2::20"] == "both"
    assert source["lab-ix", "127.0.1.30"] == source["lab-ix", "fd00:7f8:1::30"] == "ixf"
    # AS65021's second port: PeeringDB says .22, the IX provisioned .29
    assert (source["lab-ix", "127.0.1.22"], source["lab-ix", "127.0.1.29"]) == ("peeringdb", "ixf")
    ixf_only = next(r for r in report["missing"] if r["asn"] == 65030)
    assert (ixf_only["name"], ixf_only["policy_general"]) == ("IX-F Only Networks", None)
    assert report["ixf_disagreements"] == [
        {
            "ix": "lab-ix",
            "asn": 65021,
            "family": 4,
            "peeringdb": ["127.0.1.21", "127.0.1.22"],
            "ixf": ["127.0.1.21", "127.0.1.29"],
        }
    ]
    assert {(e["ix"], e["error"]) for e in report["ixf"]} == {("lab-ix", None), ("lab-ix-2", None)}
    assert all(e["url"].startswith(pdb.url) for e in report["ixf"])


def test_a_failing_ixf_export_keeps_the_last_good_one(project: Path, pdb: LabServer) -> None:
    before = check()
    pdb.lab.add_fault(Fault(match="/ixf/", status=503))
    result = run("check-ix-sessions", "--json")
    assert result.exit_code == 1
    after = json.loads(result.stdout)
    assert after["missing"] == before["missing"]  # PeeringDB, and the last good export
    assert all("HTTP 503" in str(e["error"]) for e in after["ixf"])
    assert [e["fetched_at"] for e in after["ixf"]] == [e["fetched_at"] for e in before["ixf"]]
    text = run("check-ix-sessions", "--limit", "edge1")
    assert text.exit_code == 1
    assert "lab-ix: IX-F export" in text.stderr and "HTTP 503" in text.stderr
    pdb.lab.logged(clear=True)
    offline = run("check-ix-sessions", "--no-ixf", "--json")
    assert offline.exit_code == 1  # the stored state still says the last fetch failed
    assert not any("/ixf/" in entry["path"] for entry in pdb.lab.logged())


def test_a_trickling_ixf_export_fails_at_download_timeout(
    project: Path, pdb: LabServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """lab-ix's server sends its export a byte a second and never finishes: that export
    fails at download_timeout, and its last good one stays stored and used; lab-ix-2's is
    fetched as usual."""
    before = check()
    stored = members(project)
    assert {row[0] for row in stored} == {10000001, 10000002}  # both IXes' last good exports
    monkeypatch.setenv("NORNIR_PEERING_DOWNLOAD_TIMEOUT", "2")
    pdb.lab.add_fault(Fault(match="/ixf/10000001.json", trickle=1))
    result = subprocess.run(
        [sys.executable, "-m", "nornir_peering", "check-ix-sessions", "--json"],
        capture_output=True,
        text=True,
        timeout=60,  # it ends, however the IX's server behaves
    )
    assert result.returncode == 1, result.stderr
    after = json.loads(result.stdout)
    exports = {e["ix"]: e for e in after["ixf"]}
    assert exports["lab-ix"]["error"] == (
        f"download from {pdb.url}/ixf/10000001.json took longer than download_timeout (2s); stopped"
    )
    assert exports["lab-ix-2"]["error"] is None
    assert [e["fetched_at"] for e in after["ixf"] if e["ix"] == "lab-ix"] == [
        e["fetched_at"] for e in before["ixf"] if e["ix"] == "lab-ix"
    ]
    assert after["missing"] == before["missing"]  # the last good export still counts
    assert members(project) == stored


def members(project: Path) -> list[tuple[Any, ...]]:
    """Every IX-F member row stored."""
    with open_state(project / "peering.duckdb") as db:
        return db.execute("SELECT * FROM ixf_member ORDER BY ALL").fetchall()


def test_without_any_ixf_export_peeringdb_alone_answers(project: Path, pdb: LabServer) -> None:
    pdb.lab.add_fault(Fault(match="/ixf/", status=404))
    result = run("check-ix-sessions", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert {r["source"] for r in report["missing"]} == {"peeringdb"}
    assert 65030 not in {r["asn"] for r in report["missing"]}


def test_the_default_ranking(project: Path) -> None:
    """Open before Selective before Restrictive; among the open, more prefixes first."""
    order = list(dict.fromkeys(r["asn"] for r in check("--limit", "edge1")["missing"]))
    assert order == [65020, 65025, 65023, 65021, 65022, 65030]  # 65030: no PeeringDB record
    first = check("--limit", "edge1", "--asn", "65020")["missing"][0]
    assert (first["policy_general"], first["prefixes"], first["shared_ixes"]) == ("Open", 500, 2)
    assert first["is_rs_peer"] is False


def test_filters(project: Path) -> None:
    assert {r["asn"] for r in check("--policy", "selective")["missing"]} == {65021}
    assert {r["family"] for r in check("--family", "6")["missing"]} == {6}
    assert {r["asn"] for r in check("--asn", "65022,65023")["missing"]} == {65022, 65023}
    only = check("--ix", "lab-ix-2")["missing"]
    assert {(r["ix"], r["asn"]) for r in only} == {("lab-ix-2", 65020)}
    assert {r["router"] for r in check("--limit", "edge2")["missing"]} == {"edge2"}
    bad = run("check-ix-sessions", "--policy", "friendly")
    assert bad.exit_code == 2 and "friendly" in bad.stderr


def test_an_ignore_until_a_later_date_hides_the_peer(project: Path) -> None:
    edit(project, "until: 2024-01-31", "until: 2999-01-31")
    assert 65025 not in {r["asn"] for r in check()["missing"]}


def test_one_family_wanted_not_at_ix_and_pinned_addresses(project: Path) -> None:
    """edge2's lab-ix port without IPv6: its dual-stack peers there are reached over one
    family (ours to fix); AS65021 wanted at lab-ix-2, where it has no port; an address
    pinned for AS65005 that PeeringDB does not list."""
    edit(
        project,
        '{router: edge2, ipv4: 127.0.1.2, ipv6: "fd00:7f8:1::2"}',
        "{router: edge2, ipv4: 127.0.1.2}",
    )
    edit(
        project,
        "    peers:\n      - asn: 65001\n      - asn: 65005",
        "    peers:\n      - asn: 65001\n      - asn: 65021\n"
        "      - asn: 65005\n        ipv4: [127.0.2.15, 127.0.2.99]",
    )
    report = check()
    single = {(r["router"], r["ix"], r["asn"], r["family"], r["address"], r["our_port"])
              for r in report["one_family"]}  # fmt: skip
    assert single == {
        ("edge2", "lab-ix", 65001, 6, "fd00:7f8:1::11", False),
        ("edge2", "lab-ix", 65002, 6, "fd00:7f8:1::12", False),
        ("edge2", "lab-ix", 65004, 6, "fd00:7f8:1::15", False),
        ("edge2", "lab-ix", 65010, 6, "fd00:7f8:1::250", False),
    }
    assert not any(r["router"] == "edge2" and r["family"] == 6 for r in report["missing"])
    assert [(r["ix"], r["asn"]) for r in report["not_at_ix"]] == [("lab-ix-2", 65021)]
    assert [(r["ix"], r["asn"]) for r in report["gone_from_peeringdb"]] == [("lab-ix-2", 65005)]
    assert "127.0.2.99" in report["gone_from_peeringdb"][0]["message"]
    text = run("check-ix-sessions")
    assert "Peers we reach over one family only" in text.stdout
    assert "Wanted peers PeeringDB does not place at the IX" in text.stdout


def test_sessions_down_for_more_than_a_day(project: Path) -> None:
    """From the polled state: a session never up since it was first polled three days
    ago is listed; one down for an hour, or up, is not."""
    now = datetime.now(tz=UTC).replace(tzinfo=None)

    with open_state(project / "peering.duckdb", write=True) as db:
        replace_router(
            db,
            "edge1",
            [polled("Active"), polled("Established", "127.0.1.12", 65002)],
            now - timedelta(days=3),
        )
        replace_router(db, "edge2", [polled("Connect")], now - timedelta(hours=1))
    rows = check()["never_established"]
    assert [(r["router"], r["asn"], r["address"], r["state"]) for r in rows] == [
        ("edge1", 65001, "127.0.1.11", "Active")
    ]
    assert rows[0]["last_established"] is None
    assert "Sessions down for more than a day" in run("check-ix-sessions").stdout


def test_emit_yaml_is_ready_to_paste(project: Path) -> None:
    result = run("check-ix-sessions", "--emit-yaml", "--policy", "open")
    assert result.exit_code == 0, result.stderr
    assert "# lab-ix: under ixes.lab-ix.peers" in result.stdout
    parsed = yaml.safe_load(result.stdout.split("# lab-ix-2:")[0])
    assert parsed == [{"asn": 65020}, {"asn": 65025}, {"asn": 65023}]
    assert "65030" not in result.stdout  # no PeeringDB policy, so not "open"


def test_the_old_name_runs_the_same_check(project: Path) -> None:
    old = run("check_for_ix_peering_sessions", "--json")
    assert old.exit_code == 0, old.stderr
    new = check()
    assert {k: v for k, v in json.loads(old.stdout).items() if k != "ixf"} == {
        k: v for k, v in new.items() if k != "ixf"
    }


def test_the_api_key_never_goes_to_an_ixf_url(
    project: Path, pdb: LabServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The IX-F export is the IX's server, not PeeringDB's: no credentials go there."""
    monkeypatch.setenv("PEERINGDB_API_KEY", API_KEY)
    pdb.lab.logged(clear=True)
    assert run("check-ix-sessions", "--json").exit_code == 0
    fetched = [e for e in pdb.lab.logged() if e["path"].startswith("/ixf/")]
    assert len(fetched) == 2 and all(e["authorization"] is None for e in fetched)


def test_a_malformed_export_is_reported(project: Path, pdb: LabServer) -> None:
    pdb.lab.add_fault(Fault(match="/ixf/10000001", malformed=20))
    result = run("check-ix-sessions", "--json")
    assert result.exit_code == 1
    errors = {e["ix"]: e["error"] for e in json.loads(result.stdout)["ixf"]}
    assert errors["lab-ix-2"] is None
    assert str(errors["lab-ix"]).startswith("not an IX-F export: ")


def test_a_session_counts_from_when_the_router_has_it(project: Path) -> None:
    """Polled as 'not configured' for ten days (the peer waited for configure-routers),
    then configured an hour ago and not up yet: not down for more than a day. A session
    the inventory disables is down on purpose: never listed."""
    now = datetime.now(tz=UTC).replace(tzinfo=None)

    with open_state(project / "peering.duckdb", write=True) as db:
        replace_router(
            db, "edge1", [polled("not configured", configured=False)], now - timedelta(days=10)
        )
        replace_router(db, "edge1", [polled("Active")], now - timedelta(hours=1))
        replace_router(db, "edge2", [polled("Idle")], now - timedelta(days=3))
    assert [(r["router"], r["address"]) for r in check()["never_established"]] == [
        ("edge2", "127.0.1.11")
    ]
    edit(
        project,
        "      - asn: 65001\n      - asn: 65002",
        "      - asn: 65001\n        enabled: false\n      - asn: 65002",
    )
    assert check()["never_established"] == []


def test_shared_ixes_count_every_ix_we_are_on(project: Path) -> None:
    """Asking about one IX does not change how many of ours a peer shares with us."""
    row = next(r for r in check("--ix", "lab-ix", "--asn", "65020")["missing"])
    assert row["shared_ixes"] == 2


def test_emit_yaml_pins_ixf_only_peers_and_skips_wanted_ones(project: Path) -> None:
    text = run("check-ix-sessions", "--emit-yaml", "--ix", "lab-ix").stdout
    entries = yaml.safe_load(text)
    pinned = next(e for e in entries if e["asn"] == 65030)
    assert pinned == {"asn": 65030, "ipv4": ["127.0.1.30"], "ipv6": ["fd00:7f8:1::30"]}
    assert "only the IX's IX-F export lists it" in text
    # a wanted peer with an address PeeringDB adds later is missing, but already wanted
    edit(project, "      - asn: 65002 ", "      - asn: 65002\n        ipv4: 127.0.1.12\n        #")
    report = check("--ix", "lab-ix")
    assert ("edge1", "lab-ix", 65002, "127.0.1.13") in missing(report)
    assert 65002 not in {
        e["asn"]
        for e in yaml.safe_load(run("check-ix-sessions", "--emit-yaml", "--ix", "lab-ix").stdout)
    }


@pytest.mark.parametrize(
    ("data", "found"),
    [
        ({"member_list": [{"asnum": 65001, "connection_list": 5}]}, []),
        ({"member_list": [{"asnum": "65001", "connection_list": []}]}, []),
        ({"member_list": [{"asnum": 65001, "connection_list": [{"state": "inactive",
          "vlan_list": [{"ipv4": {"address": "192.0.2.9", "routeserver": "no"}}]}]}]},
         [{"asn": 65001, "name": "AS65001", "ipaddr4": "192.0.2.9", "ipaddr6": None,
           "is_rs_peer": False, "operational": False}]),
        ({"member_list": [{"asnum": 65001, "connection_list": [{"vlan_list": [
            {"ipv4": {"address": "198.51.100.1"}}, {"ipv6": {"address": "not an address"}}]}]}]},
         []),
    ],
)  # fmt: skip
def test_an_export_is_read_as_a_strangers_text(data: Any, found: list[dict[str, Any]]) -> None:
    """Wrong types are skipped, a connection's state and routeserver read strictly, and
    only addresses inside the LAN's prefixes kept."""
    assert parse_export(data, [ip_network("192.0.2.0/24")]) == found
    with pytest.raises(ValueError, match="no member_list"):
        parse_export([1, 2], [])


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("/ixf/1.json", None),
        ("http://127.0.0.1/ixf.json", "127.0.0.1 is 127.0.0.1, not a public address"),
        ("http://[::1]:8080/x.json", "::1 is ::1, not a public address"),
        ("http://10.1.2.3/x.json", "10.1.2.3 is 10.1.2.3, not a public address"),
        ("ftp://192.0.2.1/x.json", "not an http(s) URL"),
        ("file:///etc/passwd", "not an http(s) URL"),
    ],
)
def test_export_urls_that_are_not_fetched(url: str, refused: str | None) -> None:
    """PeeringDB's export URL is written by the IX: it must not make us ask our own
    network (the lab's relative URLs are the PeeringDB server's own)."""
    absolute = urljoin("http://127.0.0.1:8590/", url)
    reason = refuse_url(url, absolute)
    assert reason == refused if refused is None else refused in str(reason)


def test_an_export_larger_than_allowed_is_cut_off(pdb: LabServer, tmp_path: Path) -> None:
    fetcher = StreamingFetcher(PeeringSettings(peeringdb_url=pdb.api_url, retries=0), tmp_path)
    try:
        with pytest.raises(FetchError, match="sent more than 1,000 bytes; stopped"):
            fetcher.fetch_url("ixf", f"{pdb.api_url}/net", tmp_path / "x.json", max_bytes=1000)
    finally:
        fetcher.close()
