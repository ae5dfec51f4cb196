"""A damaged state file, a full disk, and the way back: one line from every command,
``state check``, ``state rebuild`` and ``state backup`` on real files, and a sync on a
small tmpfs of its own (a private mount namespace)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from nornir_peering.lab.datagen import generate
from nornir_peering.lab.pdbserver import LabServer
from nornir_peering.store.migrations import KEPT, TABLES
from tests.helpers import Datasets, assert_cache_equals, run

REPO = Path(__file__).parent.parent
HEADERS = 3 * 4096  # a DuckDB file starts with three 4 KiB headers, then its blocks

COMMANDS = [
    ["inventory"],
    ["runs"],
    ["poll-bgp-sessions"],
    ["configure-routers"],
    ["peeringdb-sync"],
    ["peeringdb-sync", "--flush", "--yes"],
]


@pytest.fixture
def project(env: Path, synced_state: Path) -> Path:
    """The repository's config, inventory and templates, a state file holding day1 and
    two runs in its run log; returns the state file."""
    root = env.parent.parent
    for folder in ("inventory", "templates"):
        shutil.copytree(REPO / folder, root / folder)
    shutil.copy(REPO / "config.yaml", root / "config.yaml")
    env.parent.mkdir()
    shutil.copy(synced_state, env)
    assert run("peeringdb-sync").exit_code == 0
    assert run("peeringdb-sync", "--full").exit_code == 0
    return env


def block_offset(state: Path, block: int) -> int:
    """Where the middle of DuckDB block ``block`` of ``state`` is."""
    with duckdb.connect(str(state), read_only=True) as db:
        [(size,)] = db.execute("SELECT block_size FROM pragma_database_size()").fetchall()
    return HEADERS + block * size + size // 2


def overwrite(state: Path, offset: int) -> None:
    with open(state, "r+b") as file:
        file.seek(offset)
        file.write(os.urandom(4096))


def catalog_block(state: Path) -> int:
    with duckdb.connect(str(state), read_only=True) as db:
        [(block,)] = db.execute("SELECT min(block_id) FROM pragma_metadata_info()").fetchall()
    return int(block)


def table_block(state: Path, table: str) -> int:
    with duckdb.connect(str(state), read_only=True) as db:
        [(block,)] = db.execute(
            f"SELECT min(block_id) FROM pragma_storage_info('{table}') WHERE block_id >= 0"
        ).fetchall()
    return int(block)


def as_json(*args: str, code: int = 0) -> Any:
    result = run(*args, "--json")
    assert result.exit_code == code, result.stdout + result.stderr
    return json.loads(result.stdout)


def runs_logged() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = as_json("runs", "--last", "100")
    return found


def rows(report: dict[str, Any]) -> dict[str, int]:
    return {t["table"]: t["rows"] for t in report["tables"]}


def one_line(result: Any, state: Path) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert str(state) in lines[0] and "'nornir-peering state check'" in lines[0], lines[0]
    return str(lines[0])


class TestDamagedCatalog:
    """The block holding the file's catalog overwritten: nothing reads."""

    @pytest.fixture
    def damaged(self, project: Path) -> Path:
        overwrite(project, block_offset(project, catalog_block(project)))
        return project

    @pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
    def test_every_command_says_so_in_one_line(self, damaged: Path, command: list[str]) -> None:
        before = damaged.read_bytes()
        result = run(*command)
        assert result.exit_code == 1
        line = one_line(result, damaged)
        assert line.startswith(f"error: the state file {damaged} is damaged (a block at byte ")
        assert damaged.read_bytes() == before  # not even the run log wrote to it

    def test_check_then_rebuild_then_sync(self, damaged: Path, datasets: Datasets) -> None:
        damaged_bytes = damaged.read_bytes()
        found = as_json("state", "check", code=1)
        assert found["verdict"] == "damaged" and "fails its checksum" in found["reason"]
        text = run("state", "check")
        assert text.exit_code == 1 and "damaged" in text.stdout.splitlines()[-1]
        rebuilt = as_json("state", "rebuild")
        outcomes = {t["table"]: t["outcome"] for t in rebuilt["tables"]}
        assert outcomes["runs"] == "lost" and outcomes["pdb_net"] == "left empty"
        aside = Path(rebuilt["aside"])
        assert aside.name.startswith("peering.duckdb.damaged-")
        assert aside.read_bytes() == damaged_bytes
        assert as_json("state", "check")["verdict"] == "ok"
        assert run("peeringdb-sync").exit_code == 0
        assert_cache_equals(damaged, datasets.day1)
        assert [r["command"] for r in runs_logged()] == ["peeringdb-sync"]


class TestDamagedTable:
    """A block of one PeeringDB table overwritten: the run log still reads."""

    @pytest.fixture
    def damaged(self, project: Path) -> Path:
        overwrite(project, block_offset(project, table_block(project, "pdb_ixlan")))
        return project

    @pytest.mark.parametrize(
        "command",
        [c for c in COMMANDS if c != ["runs"]] + [["query", "SELECT * FROM pdb_ixlan"]],
        ids=" ".join,
    )
    def test_commands_that_read_it_say_so_in_one_line(
        self, damaged: Path, command: list[str]
    ) -> None:
        result = run(*command)
        assert result.exit_code == 1
        one_line(result, damaged)

    def test_rebuild_keeps_the_run_log(self, damaged: Path, datasets: Datasets) -> None:
        logged = runs_logged()
        assert len(logged) >= 2
        found = as_json("state", "check", code=1)
        assert found["reason"].startswith("pdb_ixlan: a block at byte")
        assert [t["table"] for t in found["tables"] if t["error"]] == ["pdb_ixlan"]
        rebuilt = as_json("state", "rebuild")
        outcome = {t["table"]: (t["outcome"], t["kind"]) for t in rebuilt["tables"]}
        assert outcome["runs"] == ("copied", KEPT)
        assert outcome["sync_runs"] == ("copied", KEPT)
        assert outcome["pdb_ixlan"] == ("left empty", "peeringdb-sync")
        assert outcome["pdb_sync_cursor"] == ("left empty", "peeringdb-sync")
        assert outcome["pdb_net"] == ("left empty", "peeringdb-sync")  # the cache as a whole
        assert not Path(str(damaged) + ".wal").exists()
        checked = as_json("state", "check")
        assert checked["verdict"] == "ok" and rows(checked)["pdb_net"] == 0
        assert runs_logged() == logged  # and run ids go on from where they were
        sync = as_json("peeringdb-sync")
        assert {t["mode"] for t in sync["types"]} == {"full"}
        assert_cache_equals(damaged, datasets.day1)
        assert runs_logged()[0]["id"] == logged[0]["id"] + 1
        assert run("inventory").exit_code == 0


def test_a_file_cut_short(project: Path, datasets: Datasets) -> None:
    logged = runs_logged()
    with open(project, "r+b") as file:
        file.truncate(project.stat().st_size // 2)
    result = run("inventory")
    assert result.exit_code == 1
    assert "is damaged (cut short: nothing at byte" in one_line(result, project)
    found = as_json("state", "check", code=1)
    assert "cut short" in found["reason"]
    reads = {t["table"] for t in found["tables"] if not t["error"]}
    rebuilt = as_json("state", "rebuild")
    kept = {t["table"]: t["outcome"] for t in rebuilt["tables"] if t["kind"] == KEPT}
    # history is copied table by table, wherever it reads: some of it here, not all
    assert kept == {
        t: "copied" if t in reads else "lost" for t, kind in TABLES.items() if kind == KEPT
    }
    assert set(kept.values()) == {"copied", "lost"}
    assert as_json("state", "check")["verdict"] == "ok"
    assert kept["runs"] == kept["run_items"] == "copied"
    assert runs_logged() == logged
    assert run("peeringdb-sync").exit_code == 0
    assert_cache_equals(project, datasets.day1)


def test_the_details_go_to_the_log_file(project: Path) -> None:
    """With Nornir's logging on, the line on stderr stays one line and DuckDB's
    traceback goes to the log file, for a command that never starts Nornir too."""
    config = project.parent.parent / "config.yaml"
    log = project.parent.parent / "nornir.log"
    config.write_text(
        config.read_text().replace("  enabled: false", f"  enabled: true\n  log_file: {log}")
    )
    overwrite(project, block_offset(project, catalog_block(project)))
    done = subprocess.run(
        [sys.executable, "-m", "nornir_peering", "peeringdb-sync"],
        cwd=project.parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    one_line(done, project)
    logged = log.read_text()
    assert "Traceback" in logged and "Corrupt database file" in logged


class TestCheck:
    def test_a_whole_file(self, project: Path) -> None:
        found = as_json("state", "check")
        assert found["verdict"] == "ok" and not found["log_pending"]
        assert set(rows(found)) == {*TABLES, "schema_version"}
        assert rows(found)["pdb_net"] > 0 and rows(found)["runs"] >= 2

    def test_not_a_state_file(self, env: Path) -> None:
        env.parent.mkdir()
        assert as_json("state", "check", code=2)["reason"] == "no such file"
        env.write_text("routers: []\n")
        assert as_json("state", "check", code=2)["reason"] == "not a DuckDB database"
        result = run("state", "rebuild")
        assert result.exit_code == 2 and "nothing rebuilt" in result.stderr
        assert env.read_text() == "routers: []\n"
        env.unlink()
        with duckdb.connect(str(env)) as db:
            db.execute("CREATE TABLE mine (x INTEGER)")
        found = as_json("state", "check", code=2)
        assert found["reason"] == "a DuckDB database without the toolkit's schema"

    def test_a_whole_file_is_not_rebuilt_unless_forced(self, project: Path) -> None:
        logged = runs_logged()
        result = run("state", "rebuild")
        assert result.exit_code == 2 and "nothing to rebuild" in result.stderr
        assert not list(project.parent.glob("*.damaged-*"))
        rebuilt = as_json("state", "rebuild", "--force")
        assert {t["outcome"] for t in rebuilt["tables"]} == {"copied"}
        assert runs_logged() == logged

    def test_every_table_is_declared(self) -> None:
        """A table a migration adds is either history or filled again by a command."""
        with duckdb.connect(":memory:") as db:
            from nornir_peering.store.migrations import migrate

            migrate(db)
            tables = {r[0] for r in db.execute("SHOW TABLES").fetchall()}
        assert tables == {*TABLES, "schema_version"}


class TestBackup:
    def test_while_another_process_reads_it(self, project: Path, tmp_path: Path) -> None:
        reader = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import duckdb, sys; db = duckdb.connect(sys.argv[1], read_only=True); "
                "print(db.execute('select count(*) from runs').fetchone()[0], flush=True); "
                "sys.stdin.read()",
                str(project),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert reader.stdout is not None and int(reader.stdout.readline()) >= 2
            target = tmp_path / "backups" / "night.duckdb"
            target.parent.mkdir()
            done = as_json("state", "backup", str(target))
        finally:
            reader.communicate("", timeout=30)
        assert done["backup"] == str(target)
        original = rows(as_json("state", "check"))
        restored = tmp_path / "restored" / "peering.duckdb"
        restored.parent.mkdir()
        shutil.copy(target, restored)
        found = as_json("state", "check", "--state", str(restored))
        assert found["verdict"] == "ok" and rows(found) == original
        assert rows(done) == original

    def test_refuses_to_overwrite_without_force(self, project: Path, tmp_path: Path) -> None:
        target = tmp_path / "night.duckdb"
        target.write_text("yesterday's backup")
        result = run("state", "backup", str(target))
        assert result.exit_code == 2
        assert result.stderr.strip() == f"error: {target}: exists; --force to replace it"
        assert target.read_text() == "yesterday's backup"
        assert run("peeringdb-sync").exit_code == 0  # another run in the log
        assert run("state", "backup", str(target), "--force").exit_code == 0
        assert rows(as_json("state", "check", "--state", str(target))) == rows(
            as_json("state", "check")
        )
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

    def test_what_waits_in_the_log_is_in_the_backup(self, project: Path, tmp_path: Path) -> None:
        """A writer that died before its checkpoint left its changes in the write-ahead
        log: a copy of the file alone would not have them."""
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import duckdb, os, sys; db = duckdb.connect(sys.argv[1]); "
                "db.execute(\"INSERT INTO collected_batches VALUES ('b1', 'poll', now())\"); "
                "os._exit(0)",
                str(project),
            ],
            check=True,
            timeout=60,
        )
        assert Path(str(project) + ".wal").stat().st_size > 0
        target = tmp_path / "night.duckdb"
        done = as_json("state", "backup", str(target))
        assert rows(done)["collected_batches"] == 1
        assert not Path(str(target) + ".wal").exists()
        with duckdb.connect(str(target), read_only=True) as db:
            assert db.execute("SELECT batch FROM collected_batches").fetchall() == [("b1",)]

    def test_a_damaged_file_is_not_backed_up(self, project: Path, tmp_path: Path) -> None:
        overwrite(project, block_offset(project, table_block(project, "pdb_net")))
        backups = tmp_path / "backups"
        backups.mkdir()
        result = run("state", "backup", str(backups / "night.duckdb"))
        assert result.exit_code == 1
        one_line(result, project)
        assert list(backups.iterdir()) == []


MOUNTED = r"""
set -eu
mount -t tmpfs -o size="$SIZE"k tmpfs "$DISK"
cp "$STATE" "$DISK/peering.duckdb"
if [ -n "$DOWNLOADS" ]; then ln -s "$DOWNLOADS" "$DISK/.peeringdb-sync"; fi
set +e
"$PYTHON" -m nornir_peering peeringdb-sync $ARGS --state "$DISK/peering.duckdb" \
    >"$OUT/sync.out" 2>"$OUT/sync.err"
echo $? >"$OUT/sync.rc"
"$PYTHON" -m nornir_peering state check --json --state "$DISK/peering.duckdb" >"$OUT/check.json"
echo $? >"$OUT/check.rc"
cp "$DISK"/peering.duckdb* "$OUT/full/"
mount -o remount,size=262144k "$DISK"
"$PYTHON" -m nornir_peering peeringdb-sync --state "$DISK/peering.duckdb" \
    >"$OUT/again.out" 2>"$OUT/again.err"
echo $? >"$OUT/again.rc"
cp "$DISK"/peering.duckdb* "$OUT/after/"
"""


def on_a_small_disk(
    state: Path, out: Path, free_kib: int, *args: str, downloads: Path | None = None
) -> dict[str, str]:
    """Copy ``state`` onto a tmpfs of its own with ``free_kib`` KiB left, sync there with
    ``args``; then give the disk room and sync again. What each step printed and the
    files as the full disk left them (``out/full``) and after (``out/after``)."""
    for folder in ("disk", "full", "after"):
        (out / folder).mkdir(parents=True)
    size = -(-state.stat().st_size // 4096) * 4 + free_kib
    env = {
        **os.environ,
        "SIZE": str(size),
        "DISK": str(out / "disk"),
        "STATE": str(state),
        "OUT": str(out),
        "PYTHON": sys.executable,
        "ARGS": " ".join(args),
        "DOWNLOADS": str(downloads or ""),
    }
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "bash", "-c", MOUNTED],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return {p.name: p.read_text() for p in out.iterdir() if p.is_file()}


class TestFullDisk:
    def test_a_checkpoint_that_finds_no_room_fails_the_sync(
        self, env: Path, synced_state: Path, pdb: LabServer, datasets: Datasets, tmp_path: Path
    ) -> None:
        """The changes fit in the write-ahead log, merging them into the file does not:
        the sync fails instead of ending well and leaving the log to the next writer."""
        pdb.lab.load(datasets.day2)
        downloads = tmp_path / "downloads"  # on a disk with room: only the state is short
        downloads.mkdir()
        # 192 KiB: room for the sync's log (some 80 KiB), none for a block of the file (256)
        found = on_a_small_disk(synced_state, tmp_path / "run", 192, downloads=downloads)
        assert found["sync.rc"].strip() == "1", found["sync.err"]
        [line] = found["sync.err"].splitlines()
        assert line.startswith("error: no space left on the disk of ")
        assert "committed changes wait in its write-ahead log (peering.duckdb.wal)" in line
        check = json.loads(found["check.json"])
        assert (check["verdict"], check["log_pending"]) == ("ok", True)
        # what the full disk left: the committed sync, read through its log
        assert_cache_equals(tmp_path / "run" / "full" / "peering.duckdb", datasets.day2)
        assert found["again.rc"].strip() == "0", found["again.err"]
        after = tmp_path / "run" / "after"
        assert sorted(p.name for p in after.iterdir()) == ["peering.duckdb", "peering.duckdb.lock"]
        assert_cache_equals(after / "peering.duckdb", datasets.day2)

    def test_a_sync_that_does_not_fit_leaves_the_cache_as_it_was(
        self, env: Path, synced_state: Path, pdb: LabServer, datasets: Datasets, tmp_path: Path
    ) -> None:
        bigger = generate(scale=0.05, seed=21)
        pdb.lab.load(bigger)
        downloads = tmp_path / "downloads"
        downloads.mkdir()
        found = on_a_small_disk(synced_state, tmp_path / "run", 192, "--full", downloads=downloads)
        assert found["sync.rc"].strip() == "1", found["sync.err"]
        assert found["sync.err"].splitlines() == [
            f"error: no space left on the disk of {tmp_path / 'run' / 'disk' / 'peering.duckdb'}"
            ": nothing was written, the state file is as it was; free space there and run again"
        ]
        assert json.loads(found["check.json"])["verdict"] == "ok"
        assert_cache_equals(tmp_path / "run" / "full" / "peering.duckdb", datasets.day1)
        assert found["again.rc"].strip() == "0", found["again.err"]

    def test_downloads_that_do_not_fit(
        self, env: Path, synced_state: Path, pdb: LabServer, datasets: Datasets, tmp_path: Path
    ) -> None:
        pdb.lab.load(generate(scale=0.05, seed=21))
        found = on_a_small_disk(synced_state, tmp_path / "run", 192, "--full")
        assert found["sync.rc"].strip() == "1", found["sync.err"]
        [line] = found["sync.err"].splitlines()
        assert line.endswith(
            "for the downloads: nothing was written, the cache is unchanged; "
            "free space there and run again"
        )
        assert_cache_equals(tmp_path / "run" / "full" / "peering.duckdb", datasets.day1)
