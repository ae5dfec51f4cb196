"""Benchmark: fetching 1,000 AS-SETs from a slow IRR with 20 bgpq4 workers against 1.

A synthetic IRR (``rpsl.synthetic``: ``--sets`` AS-SETs, each with one ASN as a
member and one in a nested ``-DOWNSTREAM`` set, ten IPv4 and ten IPv6 routes)
served by the lab IRR server on loopback, every answer held back ``--delay``
seconds. Every set is run as ``grab-prefixes`` runs it: an IPv4 and an IPv6
prefix list and an AS-path list (three bgpq4 runs), through ``fetch_all`` with
``--workers`` workers, then with 1. The serial run is slow (bgpq4 asks several
queries per run, each delayed), so by default it covers the first
``--serial-sample`` sets and its time is scaled to all of them (``0``: all).
Every answer must be whole: no error, a non-empty prefix list or AS list, the
set's own ASNs. Also: the most connections the server held at once, the peak
RSS of this process (the IRR server's threads included) and of one bgpq4 run.
Building the IRR and the server's index is not timed.

    python bench/bench_irr_fetch.py [--sets 1000] [--delay 0.05] [--workers 20]
                                    [--serial-sample 100] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from ipaddress import ip_network
from pathlib import Path

from nornir_peering.irr import Fetched, IRRObject
from nornir_peering.irr.bgpq import BgpqConfig, Job, command, fetch_all, find_program
from nornir_peering.lab.irrserver import IrrServer
from nornir_peering.lab.rpsl import synthetic
from nornir_peering.runbooks.prefixes import FAMILIES

GOAL = 15.0  # times faster with 20 workers than with 1
FIRST_ASN = 200000
ASNS_PER_SET = 2
DEFAULTS = {"sets": 1000, "serial_sample": 100}
QUICK = {"sets": 40, "serial_sample": 10}  # --quick: a smoke run of about 15 s


class BenchError(Exception):
    """An answer the benchmark cannot count as a fetch."""


def jobs_for(sets: int) -> list[Job]:
    """Three runs per set (``FAMILIES``), for the set's first ASN, in set order."""
    jobs: list[Job] = []
    for i in range(sets):
        asn = FIRST_ASN + i * ASNS_PER_SET
        jobs.extend(Job(asn, IRRObject(f"AS-BENCH{i + 1}"), family) for family in FAMILIES)
    return jobs


def check(jobs: list[Job], fetched: list[Fetched]) -> None:
    """Raise :class:`BenchError` unless every run answered whole."""
    if len(fetched) != len(jobs):
        raise BenchError(f"{len(jobs)} jobs, {len(fetched)} answers")
    for job, got in zip(jobs, fetched, strict=True):
        what = f"AS{job.asn} {job.object.text} family {job.family}"
        if got.error is not None:
            raise BenchError(f"{what}: {got.error}")
        if (got.asn, got.object, got.family) != (job.asn, job.object, job.family):
            raise BenchError(f"{what}: answered for {got.asn} {got.object} {got.family}")
        if job.family and not got.prefixes:
            raise BenchError(f"{what}: empty prefix list")
        if job.family and any(ip_network(p.prefix).version != job.family for p in got.prefixes):
            raise BenchError(f"{what}: a prefix of the other family: {got.prefixes}")
        wanted = tuple(range(job.asn, job.asn + ASNS_PER_SET))
        if not job.family and got.asns != wanted:
            raise BenchError(f"{what}: AS list {got.asns}, not {wanted}")


@dataclass
class Phase:
    """One timed ``fetch_all``: its answers, seconds, the most connections the server
    held at once, and the listen queue overflows meanwhile (None without /proc)."""

    fetched: list[Fetched]
    seconds: float
    peak_connections: int
    overflows: int | None


def timed(jobs: list[Job], config: BgpqConfig, irr: IrrServer) -> Phase:
    """Run ``jobs``, timed; :class:`BenchError` unless every run answered whole."""
    irr.peak_connections = 0  # nothing is open between runs
    before = listen_overflows()
    started = time.perf_counter()
    fetched = fetch_all(jobs, config)
    seconds = time.perf_counter() - started
    after = listen_overflows()
    overflows = None if before is None or after is None else after - before
    try:
        check(jobs, fetched)
    except BenchError as exc:
        if overflows:  # a full accept queue makes Linux answer with SYN cookies
            raise BenchError(f"{exc} ({overflows} listen queue overflows meanwhile)") from exc
        raise
    return Phase(fetched, seconds, irr.peak_connections, overflows)


def listen_overflows() -> int | None:
    """Linux's count of connections a full listen queue turned away (TcpExt
    ListenOverflows, for the whole network namespace), None where it cannot be read."""
    path = Path("/proc/net/netstat")
    if not path.exists():
        return None
    rows = [line.split() for line in path.read_text().splitlines() if line.startswith("TcpExt:")]
    if len(rows) < 2 or "ListenOverflows" not in rows[0]:
        return None
    return int(rows[1][rows[0].index("ListenOverflows")])


def queries_per_run(jobs: list[Job], config: BgpqConfig, irr: IrrServer) -> dict[int, int]:
    """Per family, how many answered (so delayed) queries one bgpq4 run asks; not timed."""
    irr.logged(clear=True)
    asked: dict[int, int] = {}
    for job in jobs:
        check([job], fetch_all([job], config))
        asked[job.family] = sum(q.answer is not None for q in irr.logged(clear=True))
    return asked


def answers(fetched: list[Fetched]) -> list[tuple[object, ...]]:
    """What the runs answered, to compare two runs of the same jobs."""
    return [(f.prefixes, f.asns) for f in fetched]


def bgpq_peak_mb(jobs: list[Job], config: BgpqConfig) -> float | None:
    """The largest peak RSS (MB) of one bgpq run of ``jobs``, read from /proc while it
    runs (None without /proc); not timed. ``RUSAGE_CHILDREN`` cannot tell it: Linux
    counts a child's RSS before its exec, which is this process's."""
    program = find_program(config.program)
    peak = None
    for job in jobs:
        argv = command(program, job.object, job.family, host=config.host, name=f"AS{job.asn}")
        with subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as run:
            status = Path(f"/proc/{run.pid}/status")
            while run.poll() is None:
                with contextlib.suppress(OSError):  # it may end meanwhile
                    for line in status.read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            peak = max(peak or 0.0, int(line.split()[1]) / 1024)
                time.sleep(0.005)
    return peak


def self_peak_mb() -> float:
    """This process's peak RSS in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=None, help="AS-SETs (default 1000)")
    parser.add_argument("--delay", type=float, default=0.05, help="seconds per IRR answer")
    parser.add_argument("--workers", type=int, default=20)
    parser.add_argument(
        "--serial-sample",
        type=int,
        default=None,
        help="sets the 1-worker run covers, scaled to all (default 100; 0: all)",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: 40 sets, sample 10")
    parser.add_argument("--program", default="bgpq4")
    args = parser.parse_args()
    defaults = QUICK if args.quick else DEFAULTS
    sets: int = defaults["sets"] if args.sets is None else args.sets
    sample: int = defaults["serial_sample"] if args.serial_sample is None else args.serial_sample
    if sets < 1 or sample < 0 or args.workers < 1 or args.delay < 0:
        parser.error("--sets and --workers at least 1, --serial-sample and --delay at least 0")
    if shutil.which(args.program) is None:
        sys.exit(f"{args.program} not found: install the bgpq4 package")
    sample = sets if sample == 0 or sample >= sets else sample

    started = time.perf_counter()
    objects = synthetic(sets, asns_per_set=ASNS_PER_SET, first_asn=FIRST_ASN)
    kinds = Counter(obj.object_class for obj in objects)
    jobs = jobs_for(sets)
    try:
        with IrrServer(objects, "127.0.0.1", 0, delay=args.delay) as irr:
            built = time.perf_counter() - started
            config = BgpqConfig(
                program=args.program, host=irr.address, timeout=120.0, workers=args.workers
            )
            asked = queries_per_run(jobs[: len(FAMILIES)], config, irr)
            bgpq_mb = bgpq_peak_mb(jobs[: len(FAMILIES)], config)
            parallel = timed(jobs, config, irr)
            serial_jobs = jobs[: sample * len(FAMILIES)]
            serial = timed(serial_jobs, replace(config, workers=1), irr)
    except BenchError as exc:
        sys.exit(f"irr fetch: a run did not answer whole, no figures: {exc}")
    if answers(serial.fetched) != answers(parallel.fetched[: len(serial.fetched)]):
        sys.exit("irr fetch: the serial answers differ from the parallel ones")
    serial_seconds = serial.seconds * sets / sample
    runs = len(jobs)
    per_set = sum(asked.get(f, 0) for f in FAMILIES)
    ratio = serial_seconds / parallel.seconds
    prefixes = sum(len(f.prefixes) for f in parallel.fetched)

    print(
        f"irr fetch: {sets:,} AS-SETs x {len(FAMILIES)} runs (families "
        f"{', '.join(map(str, FAMILIES))}) = {runs:,} {args.program} runs, "
        f"delay {args.delay * 1000:g} ms per answer"
    )
    print(
        f"  IRR: {kinds['as-set']:,} as-sets, {kinds['route']:,} routes, "
        f"{kinds['route6']:,} routes6; built and indexed in {built:.1f} s (not timed)"
    )
    print(
        f"  answered queries per run: {asked.get(4, 0)} (IPv4), {asked.get(6, 0)} (IPv6), "
        f"{asked.get(0, 0)} (AS path): {per_set * args.delay:.2f} s of delay per set"
    )
    rows = (
        (f"{args.workers} workers", parallel.seconds, parallel),
        ("1 worker", serial_seconds, serial),
    )
    for label, seconds, phase in rows:
        overflows = "" if phase.overflows is None else f", listen overflows {phase.overflows}"
        print(
            f"  {label:12} {seconds:8.2f} s  {runs / seconds:6.1f} runs/s   "
            f"peak connections {phase.peak_connections}{overflows}"
        )
    if sample < sets:
        print(
            f"  (1 worker EXTRAPOLATED: {serial.seconds:.2f} s measured for the first "
            f"{sample:,} sets, {len(serial_jobs):,} runs, x {sets / sample:g})"
        )
    else:
        print(f"  (1 worker measured over all {sets:,} sets)")
    verdict = "met" if ratio >= GOAL else "missed"
    print(f"  ratio        {ratio:8.1f}x  (goal {GOAL:g}x: {verdict}; at most {args.workers}x)")
    print(f"  answers      {runs:,} checked whole, {prefixes:,} prefix entries (aggregated)")
    print(f"  peak RSS     {self_peak_mb():8.0f} MB this process (the IRR server's threads too)")
    if bgpq_mb is not None:
        peak = parallel.peak_connections
        print(
            f"               {bgpq_mb:8.1f} MB one {args.program} run (the largest of one "
            f"set's {len(FAMILIES)}); x {peak} at once: {bgpq_mb * peak:.0f} MB"
        )


if __name__ == "__main__":
    main()
