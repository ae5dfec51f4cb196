"""Benchmark: polling 20 lab BIRD routers in parallel against a serial run.

Reuses the deploy set-up of ``bench_configure.py``: 20 BIRD edge routers on
the lab IX with ~47 sessions each, configured once; then
``poll-bgp-sessions`` with 20 Nornir workers and with 1.

    python bench/bench_poll.py [--routers 20] [--runs 3]
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
from bench_configure import configure, deploy_project

from nornir_peering.inventory import Selection
from nornir_peering.runbooks.poll import poll_bgp_sessions
from nornir_peering.settings import load_settings


def poll_once(workdir: Path, workers: int) -> float:
    config = workdir / "config.yaml"
    data = yaml.safe_load(config.read_text())
    data["runner"]["options"]["num_workers"] = workers
    config.write_text(yaml.safe_dump(data))
    settings = load_settings(config, environ={"HOME": str(workdir)})
    started = time.perf_counter()
    report = poll_bgp_sessions(settings, Selection())
    seconds = time.perf_counter() - started
    assert not report.failed and len(report.routers) == data_routers(workdir)
    return seconds


def data_routers(workdir: Path) -> int:
    return len(yaml.safe_load((workdir / "inventory" / "hosts.yaml").read_text()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routers", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-poll-") as tmp:
        workdir = Path(tmp)
        lab, _, server = deploy_project(workdir, args.routers)
        try:
            configure(workdir, args.routers, 10)
            parallel = [poll_once(workdir, args.routers) for _ in range(args.runs)]
            serial = [poll_once(workdir, 1) for _ in range(args.runs)]
        finally:
            lab.down()
            server.stop()
    p, s = statistics.median(parallel), statistics.median(serial)
    print(f"poll: {args.routers} BIRD routers, 47 sessions each")
    print(f"  parallel ({args.routers} workers)  {p:6.2f} s  (median of {args.runs})")
    print(f"  serial (1 worker)      {s:6.2f} s")
    print(f"  ratio                  {s / p:6.1f}x")


if __name__ == "__main__":
    main()
