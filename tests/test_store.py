"""The state file: schema migrations, the writer lock, read-only access."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from nornir_peering.errors import PeeringError, StateBusy
from nornir_peering.peeringdb.schema import TAGS, columns
from nornir_peering.store import SCHEMA_VERSION, open_state, schema_version, writer_lock


def test_new_file_gets_the_whole_schema(tmp_path: Path) -> None:
    state = tmp_path / "s" / "peering.duckdb"
    with open_state(state) as db:  # even a reader creates and migrates a missing file
        assert schema_version(db) == SCHEMA_VERSION
        tables = {row[0] for row in db.execute("SHOW TABLES").fetchall()}
        described = db.execute("DESCRIBE pdb_netixlan").fetchall()
    assert {f"pdb_{tag}" for tag in TAGS} <= tables
    assert {"pdb_sync_cursor", "sync_runs", "schema_version"} <= tables
    assert [(r[0], r[1]) for r in described] == list(columns("netixlan").items())
    assert [r[0] for r in described if r[3] == "PRI"] == ["id"]


def test_migrations_run_once(tmp_path: Path) -> None:
    state = tmp_path / "peering.duckdb"
    for _ in range(3):
        with open_state(state, write=True) as db:
            rows = db.execute("SELECT version FROM schema_version").fetchall()
    assert rows == [(v,) for v in range(1, SCHEMA_VERSION + 1)]


def test_data_survives_reopening(tmp_path: Path) -> None:
    state = tmp_path / "peering.duckdb"
    with open_state(state, write=True) as db:
        db.execute("INSERT INTO pdb_org (id, status, name) VALUES (1, 'ok', 'Org')")
    with open_state(state) as db:
        assert db.execute("SELECT name FROM pdb_org").fetchall() == [("Org",)]


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "peering.duckdb"
    with open_state(state, write=True) as db:
        db.execute("INSERT INTO schema_version VALUES (999, now()::TIMESTAMP)")
    with (
        pytest.raises(PeeringError, match="schema version 999, newer than this"),
        open_state(state, write=True),
    ):
        pass


def test_readers_cannot_write(tmp_path: Path) -> None:
    state = tmp_path / "peering.duckdb"
    with open_state(state) as db, pytest.raises(duckdb.Error):
        db.execute("DELETE FROM pdb_net")


def test_writer_lock_is_exclusive_and_bounded(tmp_path: Path) -> None:
    state = tmp_path / "peering.duckdb"
    with writer_lock(state, wait=0):
        began = time.monotonic()
        with (
            pytest.raises(StateBusy, match=r"another writer \(pid \d+\)"),
            writer_lock(state, wait=0.2),
        ):
            pass
        assert time.monotonic() - began >= 0.2
    with writer_lock(state, wait=0):  # released
        pass


def test_reader_waits_for_another_process_then_gives_up(tmp_path: Path) -> None:
    """DuckDB lets no reader in while another process has the file open to write."""
    state = tmp_path / "peering.duckdb"
    with open_state(state, write=True):
        pass
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; db = duckdb.connect(sys.argv[1]); print('open', flush=True); "
            "sys.stdin.read()",
            str(state),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with (
            pytest.raises(StateBusy, match="another process has the state file open"),
            open_state(state, wait=0.3),
        ):
            pass
    finally:
        holder.communicate("", timeout=30)
    with open_state(state, wait=0.3) as db:  # and gets in once it is closed
        assert schema_version(db) == SCHEMA_VERSION
