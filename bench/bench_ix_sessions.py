"""Benchmark: ``check-ix-sessions`` at 50 IXes over a production-scale PeeringDB cache.

Syncs the production-scale generated dataset (``bench/data/scale-1-seed-1`` when
present, else generated with scale 1.0, seed 1) from the lab server into a new
state file, in a child process. Writes intent for the 50 largest IX LANs with
both an IPv4 and an IPv6 prefix, two routers each, each IX wanting every other
member (by ASN) as a peer, so that the rest is missing; then times
``check_ix_sessions(nr, fetch_ixf=False)`` on the Nornir object ``InitNornir``
builds, and the DuckDB query behind its ``missing`` section (``missing_peers``)
alone.

The comparison is what a user would write instead: PeeringDB's netixlan and net
rows read into Python, then a loop per router, IX and family with a set
difference against the sessions, as a Peering Manager-style script does. Both
must give the same missing rows (router, IX, family, ASN, address), or it fails.

    python bench/bench_ix_sessions.py [--ixes 50] [--routers-per-ix 2] [--runs 3]
"""

from __future__ import annotations

import argparse
import ipaddress
import multiprocessing
import resource
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import yaml
from nornir import InitNornir
from nornir.core import Nornir

from nornir_peering.inventory.discovery import POLICIES, Ours, missing_peers, ours_loaded
from nornir_peering.lab.datagen import Dataset, generate, read_dataset
from nornir_peering.lab.pdbserver import LabServer
from nornir_peering.peeringdb.sync import sync_peeringdb
from nornir_peering.runbooks.ix_sessions import SECTIONS, check_ix_sessions, excluded
from nornir_peering.settings import PeeringSettings
from nornir_peering.store import open_state

DATA = Path(__file__).resolve().parent / "data" / "scale-1-seed-1"
GOAL = 1.0  # seconds, for check-ix-sessions at 50 IXes with two routers each
LOCAL_AS = 64500
Key = tuple[str, str, int, int, str]  # router, ix, family, asn, address


# -- the state and the intent ---------------------------------------------------------


def dataset() -> Dataset:
    return read_dataset(DATA) if (DATA / "meta.json").exists() else generate(scale=1.0, seed=1)


def build_state(state: Path) -> int:
    """Sync the dataset into ``state`` (run in a child: the dataset's memory stays there);
    returns the number of objects in the dataset."""
    data = dataset()
    with LabServer(data) as server:
        settings = PeeringSettings.model_validate(
            {"peeringdb_url": server.api_url, "cache_url": server.url, "state": state}
        )
        sync_peeringdb(settings)
    return sum(len(rows) for rows in data.rows.values())


def write_intent(state: Path, directory: Path, ixes: int, routers: int) -> None:
    """config.yaml, hosts.yaml and peering.yaml: ``routers`` routers at each of the
    ``ixes`` largest dual-stack IX LANs, each IX wanting every other member."""
    with duckdb.connect(str(state), read_only=True) as db:
        ours = db.execute("SELECT count(*) FROM pdb_netixlan WHERE asn = ?", [LOCAL_AS]).fetchone()
        if ours != (0,):
            raise SystemExit(f"AS{LOCAL_AS}, our AS here, is a member of an IX in the dataset")
        lans = db.execute(
            """
            SELECT l.id, list(DISTINCT n.asn), list(DISTINCT p.prefix)
            FROM pdb_ixlan l JOIN pdb_netixlan n ON n.ixlan_id = l.id
            JOIN pdb_ixpfx p ON p.ixlan_id = l.id
            GROUP BY l.id HAVING count(DISTINCT p.protocol) = 2
            ORDER BY count(DISTINCT n.asn) DESC, l.id LIMIT ?
            """,
            [ixes],
        ).fetchall()
    if len(lans) < ixes:
        raise SystemExit(f"the dataset has only {len(lans)} dual-stack IX LANs")
    hosts: dict[str, Any] = {}
    intent: dict[str, Any] = {"local_as": {"asn": LOCAL_AS, "name": "Bench"}, "ixes": {}}
    for number, (ixlan, asns, prefixes) in enumerate(lans):
        nets = {ipaddress.ip_network(p).version: ipaddress.ip_network(p) for p in prefixes}
        connections = []
        for k in range(routers):
            name = f"r{number:02d}-{k}"
            hosts[name] = {"hostname": f"127.0.{number}.{k + 1}", "platform": "bird"}
            # our addresses: the top of each LAN, which the generator leaves free
            connections.append(
                {
                    "router": name,
                    "ipv4": str(nets[4].broadcast_address - 1 - k),
                    "ipv6": str(nets[6].broadcast_address - 1 - k),
                }
            )
        intent["ixes"][f"ix{number:02d}"] = {
            "ixlan_id": ixlan,
            "connections": connections,
            "peers": [{"asn": asn} for asn in sorted(asns)[::2]],
        }
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "hosts.yaml").write_text(yaml.safe_dump(hosts))
    (directory / "peering.yaml").write_text(yaml.safe_dump(intent))


def nornir(workdir: Path, state: Path) -> Nornir:
    """The Nornir object an engineer's script builds, from a config.yaml."""
    config = workdir / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "logging": {"enabled": False},
                "runner": {"plugin": "threaded"},
                "inventory": {
                    "plugin": "PeeringInventory",
                    "options": {"inventory_dir": "inventory", "state": str(state)},
                },
                "user_defined": {"peering": {"state": str(state)}},
            }
        )
    )
    return InitNornir(config_file=str(config))


def collect(nr: Nornir) -> Ours:
    """Our IX ports and IX sessions, as the runbook hands them to DuckDB."""
    ours = Ours()
    for host in nr.inventory.hosts.values():
        for conn in host["connections"]:
            ours.lans.add(conn["ixlan_id"])
            for family, key in ((4, "ipv4"), (6, "ipv6")):
                if conn[key]:
                    ours.add_port(host.name, conn["ix"], conn["ixlan_id"], family, conn["vrf"])
        ours.add_sessions(host.name, host["sessions"])
    return ours


# -- the alternative: the same question in Python loops -------------------------------


def python_missing(
    db: duckdb.DuckDBPyConnection, ours: Ours, exclude: set[int]
) -> list[dict[str, Any]]:
    """``missing_peers`` written as a Python script would: the rows read into Python,
    then per router, IX and family the members less the addresses we have sessions
    with, with the same columns, one row per router and address, the same ranking."""
    members: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for ixlan, asn, ip4, ip6, rs, operational in db.execute(
        "SELECT ixlan_id, asn, ipaddr4, ipaddr6, is_rs_peer, operational "
        "FROM pdb_netixlan WHERE status = 'ok'"
    ).fetchall():
        lower = (ip4 and ip4.lower(), ip6 and ip6.lower())
        members[ixlan].append((asn, *lower, bool(rs), operational is not False, None, "peeringdb"))
    for ixlan, asn, ip4, ip6, rs, name in db.execute(
        "SELECT ixlan_id, asn, ipaddr4, ipaddr6, is_rs_peer, name FROM ixf_member"
    ).fetchall():
        members[ixlan].append((asn, ip4, ip6, rs, True, name, "ixf"))
    nets = {
        row[0]: row[1:]
        for row in db.execute(
            "SELECT asn, name, policy_general, info_never_via_route_servers, "
            "info_prefixes4, info_prefixes6 FROM pdb_net WHERE status = 'ok'"
        ).fetchall()
    }
    have = {(f[0], f[5], f[4]) for f in (line.split("\t") for line in ours.sessions)}
    ports = [
        (router, ix, int(ixlan), int(family), vrf)
        for router, ix, ixlan, family, vrf in (line.split("\t") for line in ours.ports)
    ]
    lans: dict[int, set[int]] = defaultdict(set)  # asn -> our LANs it is on
    found: dict[Key, dict[str, Any]] = {}
    for router, ix, ixlan, family, vrf in ports:
        for asn, ip4, ip6, rs, operational, name, source in members[ixlan]:
            if asn in exclude:
                continue
            lans[asn].add(ixlan)
            address = ip4 if family == 4 else ip6
            if address is None or (router, vrf, address) in have:
                continue
            key = (router, ix, family, asn, address)
            row = found.get(key)
            if row is None:
                row = found[key] = {"rs": False, "operational": None, "name": None, "src": set()}
            row["rs"] = row["rs"] or rs
            if source == "peeringdb":
                row["operational"] = operational and row["operational"] is not False
            row["name"] = row["name"] or name
            row["src"].add(source)
    rows = []
    for (router, ix, family, asn, address), row in found.items():
        net = nets.get(asn)
        name, policy, never_rs, prefixes4, prefixes6 = net or (None,) * 5
        rows.append(
            {
                "router": router,
                "ix": ix,
                "family": family,
                "asn": asn,
                "name": name if name is not None else row["name"],
                "address": address,
                "policy_general": policy,
                "is_rs_peer": row["rs"],
                "never_via_route_servers": never_rs,
                "operational": row["operational"] is not False,
                "prefixes": prefixes4 if family == 4 else prefixes6,
                "shared_ixes": len(lans[asn]),
                "source": "both" if len(row["src"]) == 2 else next(iter(row["src"])),
            }
        )
    rows.sort(key=rank)
    kept: dict[tuple[str, str, int], dict[str, Any]] = {}
    for row in rows:  # the first, by rank, of each router and address
        kept.setdefault((row["router"], row["address"], row["asn"]), row)
    return list(kept.values())


def rank(row: dict[str, Any]) -> tuple[Any, ...]:
    """discovery.RANKING, in Python."""
    policy = row["policy_general"]
    position = POLICIES.index(policy) if policy in POLICIES else len(POLICIES)
    prefixes = row["prefixes"]
    reach = not row["is_rs_peer"] or bool(row["never_via_route_servers"])
    return (
        position,
        prefixes is None,
        -(prefixes or 0),
        -row["shared_ixes"],
        not reach,
        row["asn"],
        row["family"],
        row["address"],
        row["router"],
    )


def keys(rows: list[dict[str, Any]]) -> set[Key]:
    return {(r["router"], r["ix"], r["family"], r["asn"], r["address"]) for r in rows}


# -- measuring ------------------------------------------------------------------------


def timed(step: Callable[[], Any], runs: int) -> tuple[Any, list[float], float]:
    """``step()``'s last result, the seconds of each of ``runs`` runs, and the process's
    peak RSS during them (MB)."""
    reset = Path("/proc/self/clear_refs")
    if reset.exists():
        reset.write_text("5")  # resets the peak RSS (VmHWM) to the current RSS
    result, times = None, []
    for _ in range(runs):
        started = time.perf_counter()
        result = step()
        times.append(time.perf_counter() - started)
    return result, times, peak_mb()


def peak_mb() -> float:
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def line(label: str, times: list[float], peak: float) -> str:
    runs = ", ".join(f"{t:.3f}" for t in times)
    return (
        f"  {label:34} {statistics.median(times):7.3f} s  (median of {len(times)}: {runs})"
        f"  peak RSS {peak:5.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ixes", type=int, default=50)
    parser.add_argument("--routers-per-ix", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ix-sessions-") as tmp:
        workdir = Path(tmp)
        state = workdir / "peering.duckdb"
        started = time.perf_counter()
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as child:
            objects = child.submit(build_state, state).result()
        synced = time.perf_counter() - started
        write_intent(state, workdir / "inventory", args.ixes, args.routers_per_ix)
        nr, load, load_peak = timed(lambda: nornir(workdir, state), 1)
        now = datetime.now(tz=UTC).replace(tzinfo=None)
        report, check, check_peak = timed(
            lambda: check_ix_sessions(nr, now=now, fetch_ixf=False), args.runs
        )
        mine = collect(nr)
        exclude = excluded(nr.inventory.defaults.data, nr, now.date())
        with open_state(state, write=True) as db:
            with ours_loaded(db, mine):
                ours, query, query_peak = timed(lambda: missing_peers(db, exclude), args.runs)
            theirs, loop, loop_peak = timed(lambda: python_missing(db, mine, exclude), args.runs)
    if keys(report.missing) != keys(ours) or len(report.missing) != len(ours):
        raise SystemExit("check_ix_sessions and missing_peers disagree on the missing rows")
    only_sql, only_python = keys(ours) - keys(theirs), keys(theirs) - keys(ours)
    if only_sql or only_python or len(theirs) != len(ours):
        raise SystemExit(
            f"the Python loop disagrees: {len(only_sql)} rows only from SQL "
            f"(e.g. {sorted(only_sql)[:3]}), {len(only_python)} only from Python "
            f"(e.g. {sorted(only_python)[:3]})"
        )
    same_rows = theirs == ours  # every column, in the same order
    routers = len(nr.inventory.hosts)
    print(
        f"check-ix-sessions: {objects:,} PeeringDB objects (synced in {synced:.1f} s, "
        f"not timed), {args.ixes} IXes, {routers} routers, "
        f"{len(mine.sessions):,} IX sessions, {len(mine.ports)} ports"
    )
    print("  rows: " + ", ".join(f"{s} {len(getattr(report, s)):,}" for s in SECTIONS))
    print(line("InitNornir (inventory, not in goal)", load, load_peak))
    print(line("check_ix_sessions (whole runbook)", check, check_peak))
    print(line("missing_peers (the SQL query)", query, query_peak))
    print(line("Python loop, same missing rows", loop, loop_peak))
    sql, runbook, python = (statistics.median(t) for t in (query, check, loop))
    print(
        f"  ratio: Python loop / SQL query {python / sql:5.1f}x, "
        f"Python loop / whole runbook {python / runbook:5.1f}x"
    )
    print(
        f"  same {len(ours):,} missing rows (router, ix, family, asn, address) from both; "
        f"every column and the order too: {'yes' if same_rows else 'no'}"
    )
    verdict = "met" if runbook < GOAL else "NOT met"
    print(f"  goal: check_ix_sessions under {GOAL:g} s at 50 IXes, two routers each: {verdict}")


if __name__ == "__main__":
    main()
