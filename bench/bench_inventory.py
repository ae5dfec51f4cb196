"""Benchmark: loading the inventory for 1,000 routers and ~100,000 sessions.

Builds a PeeringDB cache from generated data (synced from the lab server),
writes intent for 1,000 routers spread over the largest IXes, each wanting
~50 peers in both families, then times ``PeeringInventory.load()``.

The comparison is what a Nornir user does without it: every session written
out in the host data of a SimpleInventory ``hosts.yaml`` (the same sessions,
dumped from ours) and loaded with Nornir's SimpleInventory.

    python bench/bench_inventory.py [--routers 1000] [--peers 50] [--runs 3]
"""

from __future__ import annotations

import argparse
import ipaddress
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import yaml
from nornir.plugins.inventory.simple import SimpleInventory

from nornir_peering.inventory import PeeringInventory
from nornir_peering.lab.datagen import generate
from nornir_peering.lab.pdbserver import LabServer
from nornir_peering.peeringdb.sync import sync_peeringdb
from nornir_peering.settings import PeeringSettings


def build_state(workdir: Path, scale: float) -> Path:
    state = workdir / "peering.duckdb"
    with LabServer(generate(scale=scale, seed=3)) as server:
        sync_peeringdb(
            PeeringSettings(peeringdb_url=server.api_url, cache_url=server.url, state=state)
        )
    return state


def write_intent(state: Path, directory: Path, routers: int, peers: int) -> int:
    """hosts.yaml and peering.yaml; returns the number of IXes used."""
    with duckdb.connect(str(state), read_only=True) as db:
        ixes = db.execute(
            """
            SELECT l.id, list(DISTINCT n.asn), list(DISTINCT p.prefix)
            FROM pdb_ixlan l JOIN pdb_netixlan n ON n.ixlan_id = l.id
            JOIN pdb_ixpfx p ON p.ixlan_id = l.id
            GROUP BY l.id HAVING count(DISTINCT p.protocol) = 2
            ORDER BY count(DISTINCT n.asn) DESC LIMIT 10
            """
        ).fetchall()
    directory.mkdir(parents=True, exist_ok=True)
    hosts: dict[str, Any] = {}
    intent: dict[str, Any] = {"local_as": {"asn": 64500, "name": "Bench"}, "ixes": {}}
    per_ix = routers // len(ixes)
    for number, (ixlan, asns, prefixes) in enumerate(ixes):
        nets = {ipaddress.ip_network(p).version: ipaddress.ip_network(p) for p in prefixes}
        connections = []
        for k in range(per_ix):
            name = f"r{number:02d}-{k:03d}"
            hosts[name] = {"hostname": f"127.0.{number}.{k % 250 + 1}", "platform": "bird"}
            # our addresses: the top of each LAN, which the generator leaves free
            connections.append(
                {
                    "router": name,
                    "ipv4": str(nets[4].broadcast_address - 1 - k),
                    "ipv6": str(nets[6].broadcast_address - 1 - k),
                }
            )
        intent["ixes"][f"ix{number}"] = {
            "ixlan_id": ixlan,
            "connections": connections,
            "peers": [{"asn": asn} for asn in sorted(asns)[:peers]],
        }
    (directory / "hosts.yaml").write_text(yaml.safe_dump(hosts))
    (directory / "peering.yaml").write_text(yaml.safe_dump(intent))
    return len(ixes)


def simple_inventory(inventory: Any, directory: Path) -> float:
    """Seconds for Nornir's SimpleInventory to load the same sessions from YAML."""
    hosts = {
        name: {"hostname": h.hostname, "platform": h.platform, "data": {"sessions": h["sessions"]}}
        for name, h in inventory.hosts.items()
    }
    path = directory / "simple-hosts.yaml"
    path.write_text(yaml.dump(hosts, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper)))
    started = time.perf_counter()
    SimpleInventory(
        host_file=str(path), group_file="/nonexistent", defaults_file="/nonexistent"
    ).load()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routers", type=int, default=1000)
    parser.add_argument("--peers", type=int, default=50, help="wanted peers per IX")
    parser.add_argument("--scale", type=float, default=0.2, help="PeeringDB data scale")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-inventory-") as tmp:
        workdir = Path(tmp)
        state = build_state(workdir, args.scale)
        ixes = write_intent(state, workdir / "inventory", args.routers, args.peers)
        plugin = PeeringInventory(inventory_dir=str(workdir / "inventory"), state=str(state))
        times, count = [], 0
        for _ in range(args.runs):
            started = time.perf_counter()
            inventory = plugin.load()
            times.append(time.perf_counter() - started)
            count = sum(len(h["sessions"]) for h in inventory.hosts.values())
        ours = statistics.median(times)
        simple = simple_inventory(inventory, workdir)
    print(f"inventory: {args.routers} routers at {ixes} IXes, {count} sessions")
    print(
        f"  PeeringInventory.load()    {ours:6.2f} s  (median of {args.runs}: "
        f"{', '.join(f'{t:.2f}' for t in times)})"
    )
    print(f"  SimpleInventory, sessions written out in hosts.yaml  {simple:6.2f} s")
    print(f"  ratio                      {simple / ours:6.1f}x")
    print(
        f"  target: < 2 s for 1,000 routers and 100,000 sessions: "
        f"{'met' if ours < 2 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
