"""The generated PeeringDB data: deterministic, realistic and consistent."""

from __future__ import annotations

import ipaddress
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

from nornir_peering.lab.datagen import (
    NULLABLE,
    PAIRS,
    PRODUCTION,
    Dataset,
    evolve,
    generate,
    read_dataset,
    scaled_counts,
    write_dataset,
)
from nornir_peering.lab.topology import add_lab
from nornir_peering.peeringdb.schema import columns


@pytest.fixture(scope="module")
def data() -> Dataset:
    return generate(scale=0.05, seed=3)


def test_same_seed_same_data(tmp_path: Path) -> None:
    write_dataset(generate(scale=0.005, seed=9), tmp_path / "a")
    write_dataset(generate(scale=0.005, seed=9), tmp_path / "b")
    for name in ("net.json", "netixlan.json", "meta.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "net.json").read_bytes() != json.dumps(
        {"data": generate(scale=0.005, seed=10).rows["net"]}
    ).encode()


def test_counts_follow_the_scale(data: Dataset) -> None:
    counts = scaled_counts(0.05)
    for tag in PRODUCTION:
        assert len(data.rows[tag]) == pytest.approx(counts[tag], rel=0.1, abs=2), tag
    assert scaled_counts(1.0)["netixlan"] == 80000


def test_ids_are_unique_and_references_resolve(data: Dataset) -> None:
    ids = {tag: {r["id"] for r in rows} for tag, rows in data.rows.items()}
    for tag, rows in data.rows.items():
        assert len(ids[tag]) == len(rows), tag
    for ref, tag in (
        ("org_id", "org"),
        ("net_id", "net"),
        ("fac_id", "fac"),
        ("ix_id", "ix"),
        ("ixlan_id", "ixlan"),
        ("carrier_id", "carrier"),
    ):
        for child, rows in data.rows.items():
            for row in rows:
                if row.get(ref) is not None:
                    assert row[ref] in ids[tag], f"{child}.{ref}"


def test_asns_are_unique_and_realistic(data: Dataset) -> None:
    asns = [n["asn"] for n in data.rows["net"]]
    assert len(set(asns)) == len(asns)
    assert any(a < 65536 for a in asns) and any(a > 131071 for a in asns)


def test_addresses_lie_inside_their_ix_prefixes(data: Dataset) -> None:
    prefixes = defaultdict(list)
    for pfx in data.rows["ixpfx"]:
        prefixes[pfx["ixlan_id"]].append(ipaddress.ip_network(pfx["prefix"]))
    seen = set()
    for row in data.rows["netixlan"]:
        for key in ("ipaddr4", "ipaddr6"):
            if row[key] is None:
                continue
            addr = ipaddress.ip_address(row[key])
            assert any(addr in net for net in prefixes[row["ixlan_id"]]), row
            assert (row["ixlan_id"], addr) not in seen
            seen.add((row["ixlan_id"], addr))
        net_asn = data.rows["net"][row["net_id"] - 1]["asn"]
        assert row["asn"] == net_asn
    assert any(r["ipaddr4"] is None for r in data.rows["netixlan"])
    assert any(r["ipaddr6"] is None for r in data.rows["netixlan"])


def test_as_sets_come_in_all_forms(data: Dataset) -> None:
    sets = [n["irr_as_set"] for n in data.rows["net"]]
    patterns = [r"^$", r"^AS-[A-Z0-9]+$", r"^[A-Z]+::AS-", r"^AS\d+:AS-", r"\s", r"^AS\d+$"]
    for pattern in patterns:
        assert any(re.search(pattern, s) for s in sets), pattern


def test_awkward_strings_are_present(data: Dataset) -> None:
    names = [n["name"] for n in data.rows["net"]] + [o["name"] for o in data.rows["org"]]
    assert any(not name.isascii() for name in names)
    assert any(ch in name for name in names for ch in '"{};\\')
    assert any("\n" in n["notes"] for n in data.rows["net"])
    assert any(n["info_prefixes4"] is None for n in data.rows["net"])


def test_contacts_of_every_visibility(data: Dataset) -> None:
    assert {p["visible"] for p in data.rows["poc"]} == {"Public", "Users", "Private"}


def test_evolve_updates_deletes_and_creates(data: Dataset, tmp_path: Path) -> None:
    later = evolve(data, seed=4, fraction=0.02)
    assert later.generated == data.generated + 86400
    before = {r["id"]: r for r in data.rows["net"]}
    after = {r["id"]: r for r in later.rows["net"]}
    assert after.keys() > before.keys()
    changed = [i for i in before if after[i]["updated"] != before[i]["updated"]]
    deleted = [i for i in before if before[i]["status"] == "ok" and after[i]["status"] == "deleted"]
    assert changed and deleted
    stamp = "2026-11-01T00:00:00Z"
    assert all(after[i]["updated"] > stamp for i in changed)
    assert data.rows["net"][0] == before[data.rows["net"][0]["id"]]  # the original is untouched
    write_dataset(later, tmp_path)
    assert read_dataset(tmp_path).rows == later.rows


def test_deleted_parents_leave_no_live_children(data: Dataset) -> None:
    later = evolve(data, seed=5, fraction=0.05)
    for dataset in (data, later):
        live = {
            tag: {r["id"] for r in rows if r["status"] == "ok"}
            for tag, rows in dataset.rows.items()
        }
        for child, ref, parent in (
            ("netixlan", "net_id", "net"),
            ("netfac", "net_id", "net"),
            ("poc", "net_id", "net"),
            ("net", "org_id", "org"),
            ("netixlan", "ixlan_id", "ixlan"),
            ("ixpfx", "ixlan_id", "ixlan"),
            ("ixfac", "fac_id", "fac"),
            ("fac", "campus_id", "campus"),
        ):
            for row in dataset.rows[child]:
                if row["status"] == "ok" and row[ref] is not None:
                    assert row[ref] in live[parent], f"live {child} {row['id']} -> {parent}"


def test_values_are_peeringdb_choices(data: Dataset) -> None:
    from django_peeringdb import const

    for field, choices in (
        ("info_traffic", const.TRAFFIC),
        ("info_ratio", const.RATIOS),
        ("info_scope", const.SCOPES),
        ("policy_general", const.POLICY_GENERAL),
        ("policy_locations", const.POLICY_LOCATIONS),
    ):
        allowed = {value for value, _ in choices}
        assert {n[field] for n in data.rows["net"]} <= allowed, field
    allowed = {value for value, _ in const.AVAILABLE_VOLTAGE}
    assert {v for f in data.rows["fac"] for v in f["available_voltage_services"]} <= allowed


@pytest.fixture(scope="module")
def generations(data: Dataset) -> list[Dataset]:
    """The lab's dataset and three evolutions of it, with many changes each."""
    first = add_lab(data)
    second = evolve(first, seed=21, fraction=0.1)
    third = evolve(second, seed=22, fraction=0.1)
    return [first, second, third, evolve(third, seed=23, fraction=0.1)]


def test_nulls_only_where_peeringdb_has_them(generations: list[Dataset]) -> None:
    for dataset in generations:
        for tag, rows in dataset.rows.items():
            kinds = columns(tag)
            for row in rows:
                nulls = {k for k in kinds if row.get(k) is None}
                assert nulls <= NULLABLE[tag], (tag, row["id"], nulls - NULLABLE[tag])
                assert row.get("arp_sponge") != "", (tag, row["id"])


def test_unique_values_stay_unique(generations: list[Dataset]) -> None:
    """Over deleted objects too: peeringdb-py's tables keep them under the same constraints."""
    for dataset in generations:
        rows = dataset.rows
        for tag in ("org", "net", "ix", "fac", "carrier", "campus"):
            names = [r["name"] for r in rows[tag]]
            assert len(names) == len(set(names)), tag
        assert len({r["asn"] for r in rows["net"]}) == len(rows["net"])
        for tag, (left, right) in PAIRS.items():
            pairs = [(r[left], r[right]) for r in rows[tag]]
            assert len(pairs) == len(set(pairs)), tag
        prefixes = [ipaddress.ip_network(r["prefix"]) for r in rows["ixpfx"]]
        assert len(prefixes) == len(set(prefixes))
        for key in ("ipaddr4", "ipaddr6"):
            taken = [(r["ixlan_id"], r[key]) for r in rows["netixlan"] if r[key]]
            assert len(taken) == len(set(taken)), key


def test_evolved_ports_lie_in_live_prefixes_of_their_lan(generations: list[Dataset]) -> None:
    last = generations[-1].rows
    live = defaultdict(list)
    for pfx in last["ixpfx"]:
        if pfx["status"] == "ok":
            live[pfx["ixlan_id"]].append(ipaddress.ip_network(pfx["prefix"]))
    for port in last["netixlan"]:
        if port["status"] != "ok":
            continue
        for key in ("ipaddr4", "ipaddr6"):
            if port[key]:
                address = ipaddress.ip_address(port[key])
                assert any(address in net for net in live[port["ixlan_id"]]), (port["id"], key)
