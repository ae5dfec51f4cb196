"""Benchmark: our ``peeringdb-sync`` against peeringdb-py's ``peeringdb sync``.

Both tools sync a generated, production-scale PeeringDB dataset from the lab
server, which runs as a separate process on a loopback port::

    /tmp/venv/bin/python bench/bench_sync.py [--scale 1.0] [--seed 1] [--runs 3]
                                             [--skip-peeringdb-py]

Measured, for each tool: a full sync into an empty store (wall time and the
child's peak RSS, from ``os.wait4``) and a second, no-change sync. Row counts
of both stores are checked against the dataset. Results go to stdout and to
``bench/results/sync.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx

from nornir_peering.lab import datagen
from nornir_peering.lab.wait import wait_for
from nornir_peering.peeringdb.schema import PEERINGDB_PY_TABLES

BENCH = Path(__file__).resolve().parent
DATA = BENCH / "data"
RESULTS = BENCH / "results" / "sync.json"
BIN = Path(sys.executable).parent
OURS_CLI = BIN / "nornir-peering"
PDB_CLI = BIN / "peeringdb"
TAGS = tuple(datagen.PRODUCTION)

# settings that would point either tool somewhere else than the lab server
ENV_PREFIXES = (
    "PDB_",
    "PEERINGDB_",
    "NORNIR_PEERING_",
    "FAILED_ENTRIES_FILE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
)

TARGET_FULL_S = 5.0
TARGET_SPEEDUP = 30.0
TARGET_INCR_S = 1.0
TARGET_FULL_PEAK_MB = 300.0
TARGET_INCR_PEAK_MB = 150.0

SERVER_START_TIMEOUT = 300.0
WARMUP_TIMEOUT = 300.0
OURS_TIMEOUT = 600.0
MAX_ERRORS = 200


# -- child processes ----------------------------------------------------------------


# process groups still running -> the Popen to reap, or None where a reaper thread waits
_children: dict[int, subprocess.Popen[bytes] | None] = {}


def _exited(pid: int) -> bool:
    """Whether ``pid`` is gone or a zombie (a zombie still counts for ``killpg(pgid, 0)``)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def _kill_group(pgid: int, grace: float = 5.0) -> None:
    """SIGTERM a process group, SIGKILL what is left of it after ``grace`` seconds."""
    proc = _children.pop(pgid, None)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while not _exited(pgid) and time.monotonic() < deadline:
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)


def _kill_all_children() -> None:
    for pgid in list(_children):
        _kill_group(pgid)


def _on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@dataclass
class Measured:
    """One finished child: exit code, wall time, peak RSS and its output."""

    argv: list[str]
    returncode: int
    wall: float
    peak_mb: float
    stdout: str
    stderr: str
    timed_out: bool = False


# The peak RSS the kernel reports for a child (ru_maxrss) includes what it held before
# it exec'd: a child forked from this process starts as big as this process is (the
# dataset, DuckDB, httpx loaded), and that floor hid the no-change sync's own peak.
# So each tool is started by a small Python launcher, which forks and execs it and
# writes its wall time and ru_maxrss (KiB) to the pipe it is given.
_LAUNCHER = """
import os, sys, time
report, argv = int(sys.argv[1]), sys.argv[2:]
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.close(report)
    os.execv(argv[0], argv)
_, status, usage = os.wait4(pid, 0)
os.write(report, f"{time.perf_counter() - started} {usage.ru_maxrss}".encode())
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def run_measured(
    argv: list[str], *, env: dict[str, str], cwd: Path, timeout: float, log: Path
) -> Measured:
    """Run ``argv`` to completion; wall time and peak RSS of that program alone."""
    out_path, err_path = log.with_suffix(".out"), log.with_suffix(".err")
    measured, report = os.pipe()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-S", "-c", _LAUNCHER, str(report), *argv],
            pass_fds=(report,),
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    os.close(report)
    _children[proc.pid] = None  # reaped by the thread below
    result: dict[str, Any] = {}

    def reap() -> None:
        _, status, _ = os.wait4(proc.pid, 0)
        with os.fdopen(measured, "rb") as pipe:
            said = pipe.read().split()
        result.update(status=status, said=said)

    reaper = threading.Thread(target=reap, daemon=True)
    reaper.start()
    timed_out = False
    try:
        reaper.join(timeout)
        if reaper.is_alive():
            timed_out = True
            _kill_group(proc.pid)
            reaper.join(30)
    except BaseException:
        _kill_group(proc.pid)
        raise
    _children.pop(proc.pid, None)
    if "status" not in result:
        raise RuntimeError(f"could not reap {argv[0]} (pid {proc.pid})")
    proc.returncode = os.waitstatus_to_exitcode(result["status"])
    if len(result["said"]) != 2:  # the launcher itself was killed (a timeout)
        result["said"] = [b"nan", b"nan"]
    wall, peak_kib = (float(value) for value in result["said"])
    return Measured(
        argv=argv,
        returncode=proc.returncode,
        wall=wall,
        peak_mb=peak_kib * 1024 / 1e6,  # KiB on Linux; MB, as the targets are
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
        timed_out=timed_out,
    )


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment without any PeeringDB settings, with its own HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIXES)}
    env.update(HOME=str(home), NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    env.update(extra)
    return env


def free_port() -> int:
    """A currently unused TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the dataset --------------------------------------------------------------------


def _generator_digest() -> str:
    return hashlib.sha256(Path(datagen.__file__).read_bytes()).hexdigest()[:16]


def ensure_dataset(scale: float, seed: int) -> tuple[Path, dict[str, Any]]:
    """The dataset directory and its manifest; generated unless already there."""
    directory = DATA / f"scale-{scale:g}-seed-{seed}"
    manifest_path = directory / "bench-manifest.json"
    wanted = {"scale": scale, "seed": seed, "generator": _generator_digest()}
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if {k: manifest.get(k) for k in wanted} == wanted:
            print(f"reusing dataset {directory.relative_to(BENCH.parent)}", flush=True)
            return directory, manifest
    print(f"generating dataset scale={scale:g} seed={seed} ...", flush=True)
    started = time.perf_counter()
    manifest_path.unlink(missing_ok=True)
    data = datagen.generate(scale=scale, seed=seed)
    datagen.write_dataset(data, directory)
    expected = {  # what an anonymous full sync should end up with
        tag: sum(1 for r in rows if r["status"] == "ok" and r.get("visible", "Public") == "Public")
        for tag, rows in data.rows.items()
    }
    manifest = {
        **wanted,
        "objects": sum(len(rows) for rows in data.rows.values()),
        "bytes": sum(p.stat().st_size for p in directory.glob("*.json")),
        "expected": expected,
    }
    del data
    manifest_path.write_text(json.dumps(manifest, indent=2))
    print(
        f"  {manifest['objects']} objects, {manifest['bytes'] / 1e6:.0f} MB "
        f"in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return directory, manifest


# -- the lab server -----------------------------------------------------------------


@dataclass
class Server:
    """The lab server process."""

    pgid: int
    url: str
    log: Path

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"


def start_server(dataset: Path, workdir: Path) -> Server:
    """Start ``nornir-peering lab peeringdb`` on a free loopback port and wait for it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / "server.log"
    argv = [
        str(OURS_CLI),
        "lab",
        "peeringdb",
        "--dataset",
        str(dataset),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            env=clean_env(workdir),
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _children[proc.pid] = proc
    server = Server(pgid=proc.pid, url=url, log=log)
    started = time.perf_counter()
    deadline = started + SERVER_START_TIMEOUT
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"lab server exited with {proc.returncode}:\n{log.read_text()}")
        if wait_for(f"{url}/api/campus?id=0", 1.0):
            break
    else:
        raise RuntimeError(f"lab server did not answer within {SERVER_START_TIMEOUT:.0f} s")
    print(
        f"lab server on {url} (pid {proc.pid}), loaded in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return server


def warm_server(server: Server) -> float:
    """Fetch every cache file once, so neither tool pays for building the bodies."""
    started = time.perf_counter()
    with httpx.Client(timeout=WARMUP_TIMEOUT, trust_env=False) as client:
        for tag in TAGS:
            client.get(f"{server.url}/{tag}-0.json").raise_for_status()
    return time.perf_counter() - started


# -- the two tools ------------------------------------------------------------------


@dataclass
class Run:
    """One sync: what the bench measured and what the tool said."""

    wall: float
    peak_mb: float
    sync_seconds: float | None = None
    received: int | None = None


@dataclass
class ToolResult:
    """All runs of one tool, and the rows it stored."""

    tool: str
    full: list[Run] = field(default_factory=list)
    incremental: list[Run] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    rows_all: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # the first MAX_ERRORS
    error_count: int = 0


def _ours_argv(state: Path, full: bool) -> list[str]:
    argv = [str(OURS_CLI), "peeringdb-sync", "--json", "--state", str(state)]
    return [*argv, "--full"] if full else argv


def _ours_run(m: Measured, what: str) -> Run:
    if m.timed_out or m.returncode != 0:
        raise RuntimeError(
            f"our {what} sync failed (exit {m.returncode}, timed out "
            f"{m.timed_out}):\n{m.stdout[-2000:]}\n{m.stderr[-2000:]}"
        )
    report = json.loads(m.stdout)
    if not report.get("ok"):
        raise RuntimeError(f"our {what} sync reported failure: {report}")
    return Run(
        wall=m.wall,
        peak_mb=m.peak_mb,
        sync_seconds=float(report["seconds"]),
        received=sum(int(t["received"]) for t in report["types"]),
    )


def bench_ours(server: Server, workdir: Path, runs: int) -> ToolResult:
    """``runs`` full syncs, each into a fresh state file, then ``runs`` no-change syncs."""
    result = ToolResult("nornir-peering")
    state = workdir / "state.duckdb"
    for i in range(runs):
        run_dir = workdir / f"ours-{i}"
        if run_dir.exists():
            shutil.rmtree(run_dir)
        (run_dir / "home").mkdir(parents=True)
        state = run_dir / "state.duckdb"
        env = clean_env(
            run_dir / "home", PEERINGDB_URL=server.api_url, PEERINGDB_CACHE_URL=server.url
        )
        m = run_measured(
            _ours_argv(state, full=True),
            env=env,
            cwd=run_dir,
            timeout=OURS_TIMEOUT,
            log=run_dir / "full",
        )
        run = _ours_run(m, "full")
        result.full.append(run)
        print(
            f"  ours full #{i + 1}: {run.wall:.2f} s wall, sync {run.sync_seconds:.2f} s, "
            f"peak {run.peak_mb:.0f} MB",
            flush=True,
        )
        if i < runs - 1:
            shutil.rmtree(run_dir)
    run_dir = state.parent
    env = clean_env(run_dir / "home", PEERINGDB_URL=server.api_url, PEERINGDB_CACHE_URL=server.url)
    for i in range(runs):
        m = run_measured(
            _ours_argv(state, full=False),
            env=env,
            cwd=run_dir,
            timeout=OURS_TIMEOUT,
            log=run_dir / f"incremental-{i}",
        )
        run = _ours_run(m, "incremental")
        result.incremental.append(run)
        print(
            f"  ours no-change #{i + 1}: {run.wall:.2f} s wall, sync {run.sync_seconds:.2f} s, "
            f"{run.received} objects received, peak {run.peak_mb:.0f} MB",
            flush=True,
        )
    with duckdb.connect(str(state), read_only=True) as db:
        for tag in TAGS:
            [(count,)] = db.execute(f"SELECT count(*) FROM pdb_{tag}").fetchall()
            [(ok,)] = db.execute(f"SELECT count(*) FROM pdb_{tag} WHERE status = 'ok'").fetchall()
            result.rows_all[tag], result.rows[tag] = int(count), int(ok)
    return result


def _pdb_problems(m: Measured, log_name: str, failed: Path) -> list[str]:
    """What peeringdb-py reported going wrong; it exits 0 even when its sync fails."""
    problems = []
    if m.timed_out:
        problems.append(f"{log_name}: timed out after {m.wall:.0f} s")
    if m.returncode != 0:
        problems.append(f"{log_name}: exit {m.returncode}: {m.stderr[-1000:]}")
    for line in (m.stdout + m.stderr).splitlines():
        if any(word in line for word in ("Error", "Failed", "Traceback")):
            problems.append(f"{log_name}: {line.strip()[:300]}")
    if failed.exists():
        with contextlib.suppress(ValueError):
            entries = json.loads(failed.read_text() or "[]")
            if entries:
                problems.append(f"{log_name}: {len(entries)} entries in {failed.name}")
    return problems


def _pdb_received(stdout: str) -> int:
    """Objects peeringdb-py looked at, from its "[tag] Processed N objects (...)" lines."""
    total = 0
    for line in stdout.splitlines():
        if "] Processed " in line:
            words = line.split("] Processed ", 1)[1].replace("(", "").replace(",", "").split()
            # "N objects" or "N objects C created U updated K unchanged"
            numbers = [int(w) for w in words if w.isdigit()]
            total += numbers[0] if len(numbers) == 1 else sum(numbers[1:])
    return total


def bench_peeringdb_py(server: Server, workdir: Path, timeout: float) -> ToolResult:
    """One ``peeringdb sync`` into a fresh SQLite file, then one no-change sync."""
    result = ToolResult("peeringdb-py")
    run_dir = workdir / "peeringdb-py"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    (run_dir / "home").mkdir(parents=True)
    db_path, failed = run_dir / "peeringdb.sqlite3", run_dir / "failed_entries.json"
    env = clean_env(
        run_dir / "home",
        PDB_SYNC_URL=server.api_url,
        PDB_SYNC_CACHE_URL=server.url,
        PDB_SYNC_CACHE_DIR=str(run_dir / "cache"),
        PDB_ORM_DB_NAME=str(db_path),
        FAILED_ENTRIES_FILE=str(failed),
    )
    argv = [str(PDB_CLI), "sync"]
    for kind, runs in (("full", result.full), ("incremental", result.incremental)):
        if kind == "full" and db_path.exists():
            raise RuntimeError(f"{db_path} should not exist before the first sync")
        print(f"  peeringdb-py {kind} sync (timeout {timeout:.0f} s) ...", flush=True)
        m = run_measured(argv, env=env, cwd=run_dir, timeout=timeout, log=run_dir / kind)
        received = _pdb_received(m.stdout + m.stderr)
        runs.append(Run(wall=m.wall, peak_mb=m.peak_mb, received=received))
        problems = _pdb_problems(m, kind, failed)
        result.error_count += len(problems)
        result.errors += problems[: MAX_ERRORS - len(result.errors)]
        print(f"  peeringdb-py {kind}: {m.wall:.2f} s wall, peak {m.peak_mb:.0f} MB", flush=True)
        if m.timed_out:
            break
    if db_path.exists():
        with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
            for tag, table in PEERINGDB_PY_TABLES.items():
                with contextlib.suppress(sqlite3.OperationalError):
                    count, ok = db.execute(
                        f"SELECT count(*), coalesce(sum(status = 'ok'), 0) FROM {table}"
                    ).fetchone()
                    result.rows_all[tag], result.rows[tag] = int(count), int(ok)
    return result


# -- the report ---------------------------------------------------------------------


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def summarise(ours: ToolResult, pdb: ToolResult | None, expected: dict[str, int]) -> dict[str, Any]:
    """Medians, ratios and targets; a ratio against an incomplete sync is not counted."""

    def figures(result: ToolResult) -> dict[str, float | None]:
        return {
            "full_s": _median([r.wall for r in result.full]),
            "full_sync_s": _median(
                [r.sync_seconds for r in result.full if r.sync_seconds is not None]
            ),
            "full_peak_mb": max((r.peak_mb for r in result.full), default=None),
            "incremental_peak_mb": max((r.peak_mb for r in result.incremental), default=None),
            "incremental_s": _median([r.wall for r in result.incremental]),
            "incremental_sync_s": _median(
                [r.sync_seconds for r in result.incremental if r.sync_seconds is not None]
            ),
        }

    summary: dict[str, Any] = {"ours": figures(ours)}
    o = summary["ours"]
    o["complete"] = ours.rows == expected
    full_ratio = incr_ratio = None
    if pdb is not None:
        summary["peeringdb_py"] = p = figures(pdb)
        p["complete"] = pdb.rows == expected
        if p["full_s"] and o["full_s"]:
            full_ratio = p["full_s"] / o["full_s"]
        if p["incremental_s"] and o["incremental_s"]:
            incr_ratio = p["incremental_s"] / o["incremental_s"]
    valid = bool(pdb is not None and summary["peeringdb_py"]["complete"] and o["complete"])
    summary["ratios"] = {"full": full_ratio, "incremental": incr_ratio, "valid": valid}

    def target(name: str, value: float | None, goal: float, lower: bool) -> dict[str, Any]:
        met = None if value is None else (value < goal if lower else value >= goal)
        return {"target": name, "value": value, "goal": goal, "met": met}

    summary["targets"] = [
        target("full sync < 5 s", o["full_s"], TARGET_FULL_S, lower=True),
        target(
            ">= 30x faster than peeringdb-py (full)",
            full_ratio if valid else None,
            TARGET_SPEEDUP,
            lower=False,
        ),
        target(
            "no-change incremental < 1 s (CLI wall)", o["incremental_s"], TARGET_INCR_S, lower=True
        ),
        target("full sync peak RSS <= 300 MB", o["full_peak_mb"], TARGET_FULL_PEAK_MB, lower=True),
        target(
            "no-change sync peak RSS <= 150 MB",
            o["incremental_peak_mb"],
            TARGET_INCR_PEAK_MB,
            lower=True,
        ),
    ]
    return summary


def print_report(
    summary: dict[str, Any],
    ours: ToolResult,
    pdb: ToolResult | None,
    expected: dict[str, int],
    runs: int,
) -> None:
    """The results table, the row counts and the targets."""
    o, p = summary["ours"], summary.get("peeringdb_py")
    rows = [
        (
            "tool",
            "full wall s",
            "full peak MB",
            "no-change wall s",
            "no-change sync s",
            "no-change peak MB",
        )
    ]
    rows.append(
        (
            f"nornir-peering (median of {runs})",
            _fmt(o["full_s"]),
            _fmt(o["full_peak_mb"], ".0f"),
            _fmt(o["incremental_s"]),
            _fmt(o["incremental_sync_s"]),
            _fmt(o["incremental_peak_mb"], ".0f"),
        )
    )
    if p is not None:
        rows.append(
            (
                "peeringdb-py (1 run)",
                _fmt(p["full_s"]),
                _fmt(p["full_peak_mb"], ".0f"),
                _fmt(p["incremental_s"]),
                "-",
                _fmt(p["incremental_peak_mb"], ".0f"),
            )
        )
        ratios = summary["ratios"]
        rows.append(
            (
                "ratio peeringdb-py / ours" + ("" if ratios["valid"] else " (INVALID*)"),
                _fmt(ratios["full"], ".1f") + "x",
                "",
                _fmt(ratios["incremental"], ".1f") + "x",
                "",
                "",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print()
    for n, row in enumerate(rows):
        print(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print(
        f"\nours, each run: full {[round(r.wall, 2) for r in ours.full]} s wall, "
        f"sync {[r.sync_seconds for r in ours.full]} s; no-change "
        f"{[round(r.wall, 2) for r in ours.incremental]} s wall, "
        f"sync {[r.sync_seconds for r in ours.incremental]} s"
    )

    print("\nrows stored (status ok; in brackets: all rows, where different)")
    header = ["type", "expected", "nornir-peering"] + (["peeringdb-py"] if pdb else [])
    table = [header]
    for tag in TAGS:
        line = [tag, str(expected.get(tag, "?"))]
        for result in [ours] + ([pdb] if pdb else []):
            ok, every = result.rows.get(tag), result.rows_all.get(tag)
            cell = "-" if ok is None else str(ok)
            if every is not None and every != ok:
                cell += f" ({every})"
            if ok is not None and ok != expected.get(tag):
                cell += " !"
            line.append(cell)
        table.append(line)
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for line in table:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            )
        )
    if pdb is not None and pdb.rows_all != pdb.rows:
        print(
            "(peeringdb-py also stores deleted objects that live ones refer to: it fetches "
            "each such parent with ?since=1&id=N)"
        )
    if pdb is not None and pdb.errors:
        print(f"\npeeringdb-py reported {pdb.error_count} problems, first ones:")
        for line in pdb.errors[:10]:
            print(f"  {line}")

    if p is not None and not summary["ratios"]["valid"]:
        print(
            "\n* not a like-for-like comparison: a sync did not store every object "
            "(see the row counts), so the speed-up target is not judged"
        )

    print("\ntargets")
    for t in summary["targets"]:
        mark = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        print(f"  {t['target']:<42} {_fmt(t['value']):>8}  {mark}")


# -- main ---------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="dataset scale (1.0: production)")
    parser.add_argument("--seed", type=int, default=1, help="dataset seed")
    parser.add_argument("--runs", type=int, default=3, help="runs of each of our syncs")
    parser.add_argument("--skip-peeringdb-py", action="store_true", help="benchmark only our sync")
    parser.add_argument(
        "--peeringdb-py-timeout",
        type=float,
        default=2400.0,
        help="seconds allowed for each peeringdb-py sync",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="results JSON file")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.scale <= 0:
        parser.error("--runs must be >= 1 and --scale > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 if every sync completed, whatever the targets."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGHUP, _on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with it ignored
    dataset, manifest = ensure_dataset(args.scale, args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=DATA))
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    if load_before[0] > 0.5:
        print(
            f"note: load average {load_before[0]:.2f} before starting; other work on this "
            f"machine skews the figures",
            flush=True,
        )
    try:
        server = start_server(dataset, workdir)
        print(f"warmed the server's cache files in {warm_server(server):.1f} s", flush=True)
        print(f"our sync: {args.runs} full + {args.runs} no-change runs", flush=True)
        ours = bench_ours(server, workdir, args.runs)
        pdb = None
        if not args.skip_peeringdb_py:
            print("peeringdb-py sync:", flush=True)
            pdb = bench_peeringdb_py(server, workdir, args.peeringdb_py_timeout)
    finally:
        _kill_all_children()
        shutil.rmtree(workdir, ignore_errors=True)

    summary = summarise(ours, pdb, manifest["expected"])
    print_report(summary, ours, pdb, manifest["expected"], args.runs)
    results = {
        "started_at": started.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg(),
        },
        "dataset": {k: manifest[k] for k in ("scale", "seed", "objects", "bytes", "expected")},
        "summary": summary,
        "runs": {r.tool: asdict(r) for r in [ours] + ([pdb] if pdb else [])},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
