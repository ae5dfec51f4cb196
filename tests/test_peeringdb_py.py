"""peeringdb-py's own ``peeringdb sync`` (Django/SQLite) against the lab PeeringDB.

A full sync of day1, then an incremental one after the server loads day2 (an
evolved dataset: updates, deletions, new objects, some created and deleted in
between). peeringdb-py exits 0 even when its sync fails, so each run is judged
by what it printed and by its failed-entries file, and the SQLite tables are
compared with the dataset, object by object and field by field.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from nornir_peering.lab.datagen import NULLABLE, Dataset, read_dataset
from nornir_peering.lab.pdbserver import LabServer
from nornir_peering.peeringdb.schema import PEERINGDB_PY_TABLES, TAGS, columns
from tests.helpers import Datasets, lab_fixture, visible_rows

PDB_CLI = Path(sys.executable).parent / "peeringdb"
# columns of django-peeringdb's models that the API does not send
LOCAL_ONLY = {"notes_private", "avail_sonet", "avail_ethernet", "avail_atm", "vlan"}
# settings that would point peeringdb-py somewhere else than the lab server
FOREIGN_ENV = ("PDB_", "PEERINGDB", "FAILED_ENTRIES_FILE", "HTTP_PROXY", "HTTPS_PROXY")


@dataclass(frozen=True)
class Run:
    """One ``peeringdb sync``: its exit code and output, and the database after it."""

    returncode: int
    output: str
    failed: list[Any]
    database: Path
    requests: list[dict[str, Any]]


@dataclass(frozen=True)
class Syncs:
    full: Run
    incremental: Run


def peeringdb_sync(workdir: Path, server: LabServer, name: str) -> Run:
    """Run ``peeringdb -C <config> sync`` against ``server``; keep a copy of its database."""
    config_dir, database = workdir / "config", workdir / "peeringdb.sqlite3"
    failed = workdir / "failed_entries.json"
    config_dir.mkdir(exist_ok=True)
    config = {
        "sync": {
            "url": server.api_url,
            "cache_url": server.url,
            "cache_dir": str(workdir / "cache"),
            "failed_entries": str(failed),
            "api_key": "",
            "user": "",
            "password": "",
            "timeout": 30,
        },
        "orm": {"database": {"engine": "sqlite3", "name": str(database)}},
    }
    (config_dir / "config.yaml").write_text(json.dumps(config))  # YAML is a superset of JSON
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(FOREIGN_ENV)}
    env.update(HOME=str(workdir), NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
    server.lab.logged(clear=True)
    done = subprocess.run(
        [str(PDB_CLI), "-C", str(config_dir), "sync"],
        capture_output=True,
        text=True,
        env=env,
        cwd=workdir,
        timeout=240,
    )
    copy = workdir / f"{name}.sqlite3"
    shutil.copyfile(database, copy)
    return Run(
        returncode=done.returncode,
        output=done.stdout + done.stderr,
        failed=json.loads(failed.read_text() or "[]") if failed.exists() else [],
        database=copy,
        requests=server.lab.logged(),
    )


@pytest.fixture(scope="module")
@lab_fixture  # peeringdb-py and Django syncing the lab PeeringDB: half a minute
def syncs(datasets: Datasets, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Syncs]:
    """peeringdb-py syncs day1 in full, then day2 incrementally, from an anonymous client."""
    workdir = tmp_path_factory.mktemp("peeringdb-py")
    with LabServer(datasets.day1) as server:
        full = peeringdb_sync(workdir, server, "full")
        server.lab.load(datasets.day2)
        incremental = peeringdb_sync(workdir, server, "incremental")
    yield Syncs(full, incremental)


def problems(run: Run) -> list[str]:
    """What went wrong in ``run``, by peeringdb-py's own words."""
    found = [f"exit {run.returncode}"] if run.returncode else []
    found += [
        line
        for line in run.output.splitlines()
        if any(word in line for word in ("Error", "error", "Failed", "Traceback"))
    ]
    return found + [f"failed entry {entry}" for entry in run.failed]


def stored(database: Path) -> dict[str, dict[int, dict[str, Any]]]:
    """Every row of every table, by type and id."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        db.row_factory = sqlite3.Row
        return {
            tag: {row["id"]: dict(row) for row in db.execute(f"SELECT * FROM {table}")}
            for tag, table in PEERINGDB_PY_TABLES.items()
        }


def as_stored(kind: str, value: Any) -> Any:
    """An API value as peeringdb-py's Django models store it in SQLite."""
    if value is None:
        return None
    if kind == "TIMESTAMP":
        return value.replace("T", " ").removesuffix("Z")
    if kind == "BOOLEAN":
        return int(value)
    if kind == "VARCHAR[]":  # django-peeringdb's MultipleChoiceField, which keeps no order
        return sorted(value)
    if kind.startswith("STRUCT"):  # a JSONField
        return json.dumps(value)
    return value


def detached_facilities(before: Dataset, after: Dataset) -> set[int]:
    """Facilities whose campus changed between the two snapshots, while they did not.

    peeringdb-py 2.5.0 applies an updated campus with ``campus.fac_set.set(row["fac_set"])``
    (peeringdb/_sync.py ``set_many_relations``), but PeeringDB leaves ``*_set`` fields out of
    lists at depth 0, its sync's depth (peeringdb_server/serializers.py
    ``ModelSerializer.to_representation``: related fields are popped below depth 1). The set
    is then empty, and Django nulls the ``campus_id`` of the campus's facilities. The lab
    server answers as PeeringDB does, so peeringdb-py's database shows that defect here too.
    """
    since = before.generated
    changed = {
        row["id"]
        for row in after.rows["campus"]
        if max(row["created"], row["updated"]) > _ts(since)
    }
    facs_changed = {row["id"] for row in after.rows["fac"] if row["updated"] > _ts(since)}
    return {
        row["id"]
        for row in after.rows["fac"]
        if row["campus_id"] in changed and row["id"] not in facs_changed
    }


def _ts(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def assert_same_objects(database: Path, dataset: Dataset, detached: set[int] = frozenset()) -> None:
    """The database holds the dataset's live objects exactly; its deleted rows are deleted
    objects of the dataset; every row equals its object, field by field, except for the
    ``detached`` facilities, which have no campus (:func:`detached_facilities`)."""
    tables = stored(database)
    for tag in TAGS:
        rows, objects = tables[tag], {row["id"]: row for row in dataset.rows[tag]}
        live = {oid for oid, row in rows.items() if row["status"] == "ok"}
        assert live == set(visible_rows(dataset, tag, authenticated=False)), tag
        assert rows.keys() <= objects.keys(), f"{tag}: rows that are no objects"
        kinds = columns(tag)
        shared = sorted(kinds.keys() & next(iter(rows.values())).keys())
        assert next(iter(rows.values())).keys() - kinds.keys() <= LOCAL_ONLY, tag
        for oid, row in rows.items():
            want = {name: as_stored(kinds[name], objects[oid].get(name)) for name in shared}
            if tag == "fac" and oid in detached:
                want["campus_id"] = None
            got = {name: row[name] for name in shared}
            for name in shared:
                if kinds[name] == "VARCHAR[]" and got[name] is not None:
                    got[name] = sorted(filter(None, got[name].split(",")))
            if "social_media" in got:
                got["social_media"] = json.dumps(json.loads(got["social_media"]))
            assert got == want, f"{tag} {oid}"


class TestFullSync:
    def test_no_errors(self, syncs: Syncs) -> None:
        assert problems(syncs.full) == [], syncs.full.output[-3000:]
        for tag in TAGS:
            assert f"[{tag}] Processed " in syncs.full.output, tag

    def test_the_live_objects_exactly(self, syncs: Syncs, datasets: Datasets) -> None:
        assert_same_objects(syncs.full.database, read_dataset(datasets.day1))

    def test_read_the_public_cache_files(self, syncs: Syncs) -> None:
        paths = {str(r["path"]) for r in syncs.full.requests}
        assert {f"/{tag}-0.json" for tag in TAGS} <= paths


class TestIncrementalSync:
    def test_no_errors(self, syncs: Syncs) -> None:
        assert problems(syncs.incremental) == [], syncs.incremental.output[-3000:]
        for tag in TAGS:
            assert f"[{tag}] Processed " in syncs.incremental.output, tag

    def test_asked_only_for_changes(self, syncs: Syncs) -> None:
        asked = {
            str(r["path"]).removeprefix("/api/"): r["query"] for r in syncs.incremental.requests
        }
        assert set(asked) == set(TAGS)
        assert all(int(query["since"]) > 0 for query in asked.values())

    def test_the_live_objects_exactly(self, syncs: Syncs, datasets: Datasets) -> None:
        day1, day2 = read_dataset(datasets.day1), read_dataset(datasets.day2)
        detached = detached_facilities(day1, day2)
        assert detached, "the evolved dataset updates a campus with facilities"
        assert_same_objects(syncs.incremental.database, day2, detached)
        # the sync did change things: updates, deletions and new objects all arrived
        before, after = stored(syncs.full.database), stored(syncs.incremental.database)
        for tag in ("net", "netfac", "ixpfx", "netixlan"):
            assert after[tag].keys() > before[tag].keys(), tag
            assert any(row["status"] == "deleted" for row in after[tag].values()), tag
            assert any(after[tag][i] != before[tag][i] for i in before[tag]), tag


def test_nulls_are_where_peeringdb_py_allows_them(syncs: Syncs) -> None:
    """datagen.NULLABLE names exactly the columns django-peeringdb lets be null."""
    with contextlib.closing(sqlite3.connect(syncs.full.database)) as db:
        for tag, table in PEERINGDB_PY_TABLES.items():
            info = db.execute(f"PRAGMA table_info({table})").fetchall()
            nullable = {name for _, name, _, notnull, _, _ in info if not notnull}
            shared = {name for _, name, *_ in info} & columns(tag).keys()
            assert nullable & shared == NULLABLE[tag] & shared, tag
