"""Benchmark: rendering for 1,000 routers, and deploying to BIRD routers in
parallel against a serial run.

1. Render ``bird/peering.j2`` for 1,000 routers with ~100 sessions each (the
   inventory of ``bench_inventory.py``), and check a sample with ``bird -p``.
2. Deploy to 10 real BIRD routers of a lab (~47 sessions each) with
   ``configure-routers --commit``: Nornir's threaded runner with 10 workers
   against 1 worker, each run with a change to commit on every router.

    python bench/bench_configure.py [--routers 1000] [--edges 10] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from bench_inventory import build_state, write_intent

from nornir_peering.inventory import PeeringInventory, Selection
from nornir_peering.lab.bird import BirdLab, LabRouter
from nornir_peering.lab.datagen import generate
from nornir_peering.lab.pdbserver import LabServer
from nornir_peering.lab.topology import NETS, add_lab
from nornir_peering.peeringdb.sync import sync_peeringdb
from nornir_peering.rendering import check_bird, context
from nornir_peering.runbooks.configure import configure_routers
from nornir_peering.settings import PeeringSettings, load_settings
from nornir_peering.templating import environment, render_template

TEMPLATES = Path(__file__).parent.parent / "templates"


def bench_render(workdir: Path, routers: int) -> None:
    state = build_state(workdir, 0.2)
    write_intent(state, workdir / "inventory", routers, 50)
    inventory = PeeringInventory(inventory_dir=str(workdir / "inventory"), state=str(state)).load()
    env = environment(TEMPLATES)
    hosts = list(inventory.hosts.values())
    for host in hosts:
        host.data["vars"] = {"bgp_port": 1179}
    started = time.perf_counter()
    configs = [render_template(env, "bird/peering.j2", context(host)) for host in hosts]
    rendering = time.perf_counter() - started
    sessions = sum(len(h["sessions"]) for h in hosts)
    started = time.perf_counter()
    for config in configs[:10]:
        check_bird(config)
    checking = (time.perf_counter() - started) / 10
    print(
        f"render: {len(hosts)} routers, {sessions} sessions, "
        f"{sum(len(c) for c in configs) / 1e6:.0f} MB of BIRD configuration"
    )
    print(
        f"  rendering         {rendering:6.2f} s  ({rendering / len(hosts) * 1000:.1f} ms a router)"
    )
    print(f"  bird -p check     {checking * 1000:6.0f} ms a router")


def deploy_project(workdir: Path, edges: int) -> tuple[BirdLab, Path, LabServer]:
    """``edges`` BIRD edge routers on the lab IX, with intent and a synced cache."""
    server = LabServer(add_lab(generate(scale=0.002, seed=5))).start()
    state = workdir / "state" / "peering.duckdb"
    sync_peeringdb(PeeringSettings(peeringdb_url=server.api_url, cache_url=server.url, state=state))
    names = [f"edge{i:02d}" for i in range(1, edges + 1)]
    lab = BirdLab(
        workdir / "bird",
        [
            LabRouter(name, f"127.0.1.{100 + i}", 64500, ("203.0.113.0/24",), managed=True)
            for i, name in enumerate(names, start=1)
        ],
    )
    lab.up()
    intent = workdir / "inventory"
    intent.mkdir()
    hosts = {
        name: {
            "hostname": f"127.0.1.{100 + i}",
            "platform": "bird",
            "data": {"template": "bird/peering.j2", "vars": {"bgp_port": 1179, "multihop": True}},
            "connection_options": {
                "napalm": {
                    "extras": {
                        "optional_args": {
                            "socket": str(lab.socket(name)),
                            "config_file": str(lab.config_file(name)),
                        }
                    }
                }
            },
        }
        for i, name in enumerate(names, start=1)
    }
    (intent / "hosts.yaml").write_text(yaml.safe_dump(hosts))
    peers = [{"asn": net.asn} for net in NETS if net.asn != 64500]
    peers += [{"asn": 65300 + i, "ipv4": [f"127.0.1.{150 + i}"]} for i in range(40)]
    intent_data = {
        "local_as": {"asn": 64500, "name": "Bench"},
        "ixes": {
            "lab-ix": {
                "ixlan_id": 10000001,
                "peers": peers,
                "connections": [
                    {"router": name, "ipv4": f"127.0.1.{100 + i}"}
                    for i, name in enumerate(names, start=1)
                ],
            }
        },
    }
    (intent / "peering.yaml").write_text(yaml.safe_dump(intent_data))
    return lab, intent, server


def configure(workdir: Path, workers: int, headroom: int) -> float:
    intent = workdir / "inventory" / "peering.yaml"
    data = yaml.safe_load(intent.read_text())
    data["local_as"]["max_prefix_headroom"] = headroom  # every session changes
    intent.write_text(yaml.safe_dump(data))
    config = workdir / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "inventory": {
                    "plugin": "PeeringInventory",
                    "options": {"inventory_dir": "inventory"},
                },
                "runner": {"plugin": "threaded", "options": {"num_workers": workers}},
                "user_defined": {
                    "peering": {"state": "state/peering.duckdb", "templates": str(TEMPLATES)}
                },
            }
        )
    )
    settings = load_settings(config, environ={"HOME": str(workdir)})
    started = time.perf_counter()
    report = configure_routers(settings, Selection(), commit=True)
    seconds = time.perf_counter() - started
    assert not report.failed, report.failed
    assert all(r.committed for r in report.routers)
    return seconds


def bench_deploy(workdir: Path, edges: int, runs: int) -> None:
    lab, _, server = deploy_project(workdir, edges)
    try:
        parallel, serial = [], []
        headroom = 10
        for _ in range(runs):
            headroom += 1
            parallel.append(configure(workdir, edges, headroom))
            headroom += 1
            serial.append(configure(workdir, 1, headroom))
    finally:
        lab.down()
        server.stop()
    p, s = statistics.median(parallel), statistics.median(serial)
    print(f"deploy: {edges} BIRD routers, 47 sessions each, commit with a diff on every router")
    print(f"  parallel ({edges} workers)  {p:6.2f} s  (median of {runs})")
    print(f"  serial (1 worker)      {s:6.2f} s")
    print(f"  ratio                  {s / p:6.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routers", type=int, default=1000)
    parser.add_argument("--edges", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        bench_render(Path(tmp), args.routers)
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
        bench_deploy(Path(tmp), args.edges, args.runs)


if __name__ == "__main__":
    main()
