"""Benchmark: storing and reading back a million IRR prefixes in the state file.

Synthetic answers (what the bgpq runner gives) for ``--ases`` ASes, one of them
with a third of all the prefixes (a big transit AS-SET), the rest evenly; 80 %
IPv4, 20 % IPv6, a third of the entries ranges; and an AS-path list per AS.
Then, on a new state file: storing them (``plan_updates`` + ``apply``), reading
them all back (``read_lists``), storing them again unchanged, and storing them
with 1 % of each list replaced. Each step's seconds and its peak RSS (the
process's, reset before the step); building the answers is not timed.

    python bench/bench_irr_store.py [--prefixes 1000000] [--ases 2000]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from nornir_peering.irr import Fetched, IRRObject, PrefixEntry
from nornir_peering.store import open_state
from nornir_peering.store.irr import ListChange, apply, plan_updates, read_lists

GOAL = 5.0  # seconds, to store and read back a million prefixes


def entry(n: int, family: int) -> PrefixEntry:
    if family == 4:
        prefix = f"{16 + (n >> 16) % 200}.{(n >> 8) & 255}.{n & 255}.0/24"
    else:
        prefix = f"2a0{(n >> 32) & 15:x}:{(n >> 16) & 0xFFFF:x}:{n & 0xFFFF:x}::/48"
    if n % 3:
        return PrefixEntry(prefix)
    longest = 24 if family == 4 else 48
    return PrefixEntry(prefix, False, longest, longest)


def answers(prefixes: int, ases: int, *, churn: float = 0.0) -> list[Fetched]:
    """The runner's answers; ``churn``: that share of each list replaced by others."""
    sizes = [prefixes // 3] + [(prefixes - prefixes // 3) // (ases - 1)] * (ases - 1)
    sizes[-1] += prefixes - sum(sizes)
    at = datetime(2026, 1, 1)
    out: list[Fetched] = []
    first = 0
    for i, size in enumerate(sizes):
        asn = 64512 + i
        obj = IRRObject(f"AS-BENCH{i}", "RIPE")
        v6 = size // 5
        for family, count, base in ((4, size - v6, first), (6, v6, first + size)):
            moved = int(count * churn)
            numbers = range(base + moved, base + count + moved)
            out.append(
                Fetched(
                    asn,
                    obj,
                    family,
                    tuple(entry(n, family) for n in numbers),
                    program="bgpq4 1.9",
                    host="rr.ntt.net",
                    sources=("RIPE",),
                    command=("bgpq4", "-h", "rr.ntt.net", "-j", f"-{family}", obj.text),
                    fetched_at=at,
                )
            )
        members = tuple(range(asn, asn + 1 + min(size // 100, 500)))
        out.append(Fetched(asn, obj, 0, asns=members, program="bgpq4 1.9", fetched_at=at))
        first += 2 * size
    return out


def measured(step: Callable[[], Any]) -> tuple[Any, float, float]:
    """``step()``, its seconds, and the process's peak RSS during it (MB)."""
    reset = Path("/proc/self/clear_refs")
    if reset.exists():
        reset.write_text("5")  # resets the peak RSS (VmHWM) to the current RSS
    started = time.perf_counter()
    result = step()
    seconds = time.perf_counter() - started
    return result, seconds, peak_mb()


def peak_mb() -> float:
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def store(state: Path, fetched: list[Fetched]) -> list[ListChange]:
    with open_state(state, write=True) as db:
        changes = plan_updates(db, fetched, max_shrink=50, limit=None, force=True)
        apply(db, changes)
    return changes


def read(state: Path) -> dict[int, Any]:
    with open_state(state) as db:
        return read_lists(db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefixes", type=int, default=1_000_000)
    parser.add_argument("--ases", type=int, default=2000)
    args = parser.parse_args()
    started = time.perf_counter()
    first = answers(args.prefixes, args.ases)
    second = answers(args.prefixes, args.ases, churn=0.01)
    built = time.perf_counter() - started
    print(f"irr store: {args.prefixes:,} prefixes, {args.ases:,} ASes (+ AS-path lists)")
    print(f"  answers built in {built:.1f} s (not timed), RSS peak {peak_mb():.0f} MB")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-irr-") as tmp:
        state = Path(tmp) / "peering.duckdb"
        changes, s1, m1 = measured(lambda: store(state, first))
        assert {c.status for c in changes} == {"new"}
        rows.append(("store, new", s1, m1))
        lists, s2, m2 = measured(lambda: read(state))
        total = sum(len(f.prefixes) for by in lists.values() for f in by.values())
        assert total == args.prefixes, total
        del lists
        rows.append(("read back", s2, m2))
        changes, s, m = measured(lambda: store(state, first))
        assert {c.status for c in changes} == {"unchanged"}
        rows.append(("store, unchanged", s, m))
        changes, s, m = measured(lambda: store(state, second))
        assert "updated" in {c.status for c in changes}
        rows.append(("store, 1% changed", s, m))
        size = state.stat().st_size / 2**20
    for name, seconds, peak in rows:
        print(f"  {name:20} {seconds:6.2f} s   peak RSS {peak:6.0f} MB")
    verdict = "met" if s1 + s2 < GOAL else "missed"
    print(f"  store + read back    {s1 + s2:6.2f} s   (goal {GOAL:g} s: {verdict})")
    print(f"  state file           {size:6.0f} MB")


if __name__ == "__main__":
    main()
