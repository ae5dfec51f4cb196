"""``peeringdb-sync`` through the CLI, against the lab PeeringDB server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nornir_peering.lab.datagen import read_dataset
from nornir_peering.lab.pdbserver import LabServer
from nornir_peering.peeringdb.schema import TAGS
from tests.helpers import (
    API_KEY,
    Datasets,
    assert_cache_equals,
    by_tag,
    cache_rows,
    run,
    sync_json,
    visible_rows,
)


def api_requests(pdb: LabServer) -> list[dict[str, object]]:
    return [r for r in pdb.lab.logged() if not str(r["path"]).startswith("/_lab")]


class TestFullSync:
    def test_first_sync_downloads_everything(
        self, env: Path, datasets: Datasets, pdb: LabServer
    ) -> None:
        summary = sync_json()
        assert summary["ok"] is True
        rows = by_tag(summary)
        assert list(rows) == list(TAGS)
        day1 = read_dataset(datasets.day1)
        for tag in TAGS:
            assert rows[tag]["mode"] == "full"
            assert rows[tag]["created"] == rows[tag]["total"] == len(visible_rows(day1, tag, False))
        assert_cache_equals(env, datasets.day1)
        # the public cache files, one request per type, with our User-Agent
        paths = sorted(str(r["path"]) for r in api_requests(pdb))
        assert paths == sorted(f"/{tag}-0.json" for tag in TAGS)
        assert all(str(r["user_agent"]).startswith("nornir-peering/") for r in api_requests(pdb))

    def test_summary_table(self, env: Path) -> None:
        result = run("peeringdb-sync")
        assert result.exit_code == 0, result.stderr
        for word in ("created", "updated", "deleted", "total", "seconds", "netixlan", "all"):
            assert word in result.stdout

    def test_old_cron_name(self, env: Path, datasets: Datasets) -> None:
        assert run("peeringdb_sync").exit_code == 0
        assert_cache_equals(env, datasets.day1)

    def test_without_cache_url_uses_the_api(
        self, env: Path, pdb: LabServer, monkeypatch: pytest.MonkeyPatch, datasets: Datasets
    ) -> None:
        monkeypatch.setenv("PEERINGDB_CACHE_URL", "")
        sync_json()
        assert_cache_equals(env, datasets.day1)
        assert {str(r["path"]) for r in api_requests(pdb)} == {f"/api/{tag}" for tag in TAGS}

    def test_unknown_fields_are_ignored(
        self, env: Path, pdb: LabServer, datasets: Datasets, tmp_path: Path
    ) -> None:
        data = read_dataset(datasets.day1)
        for row in data.rows["net"]:
            row["shiny_new_field"] = {"nested": [1, 2]}
        pdb.lab.load(data)
        sync_json()
        assert "shiny_new_field" not in next(iter(cache_rows(env, "net").values()))
        assert_cache_equals(env, datasets.day1)  # day1 on disk has no such field

    def test_missing_optional_fields_are_null(
        self, env: Path, pdb: LabServer, datasets: Datasets
    ) -> None:
        data = read_dataset(datasets.day1)
        for row in data.rows["net"]:
            del row["irr_as_set"], row["info_prefixes6"]
        pdb.lab.load(data)
        sync_json()
        nets = cache_rows(env, "net").values()
        assert nets and all(n["irr_as_set"] is None and n["info_prefixes6"] is None for n in nets)


class TestIncrementalSync:
    def test_applies_updates_deletes_and_creates(
        self, env: Path, pdb: LabServer, datasets: Datasets
    ) -> None:
        sync_json()
        pdb.lab.load(datasets.day2)
        pdb.lab.logged(clear=True)
        rows = by_tag(sync_json())
        assert_cache_equals(env, datasets.day2)
        day1, day2 = read_dataset(datasets.day1), read_dataset(datasets.day2)
        for tag in TAGS:
            old, new = visible_rows(day1, tag, False), visible_rows(day2, tag, False)
            assert rows[tag]["mode"] == "incremental"
            assert rows[tag]["created"] == len(new.keys() - old.keys()), tag
            assert rows[tag]["deleted"] == len(old.keys() - new.keys()), tag
            changed = {i for i in old.keys() & new.keys() if old[i]["updated"] != new[i]["updated"]}
            assert rows[tag]["updated"] == len(changed), tag
        # every type asked only for what changed since its cursor
        for request in api_requests(pdb):
            assert str(request["path"]).startswith("/api/")
            assert int(str(request["query"]["since"])) > 0  # type: ignore[index]

    def test_deleted_object_never_cached_is_not_created(
        self, env: Path, pdb: LabServer, datasets: Datasets
    ) -> None:
        sync_json()
        day1, day2 = read_dataset(datasets.day1), read_dataset(datasets.day2)
        known = {row["id"] for row in day1.rows["netixlan"]}
        ghosts = [
            r["id"]
            for r in day2.rows["netixlan"]
            if r["status"] == "deleted" and r["id"] not in known
        ]
        assert ghosts, "the evolved dataset must contain created-then-deleted objects"
        pdb.lab.load(datasets.day2)
        sync_json()
        assert not set(ghosts) & set(cache_rows(env, "netixlan"))

    def test_two_days_in_a_row(self, env: Path, pdb: LabServer, datasets: Datasets) -> None:
        sync_json()
        pdb.lab.load(datasets.day2)
        sync_json()
        pdb.lab.load(datasets.day3)
        sync_json()
        assert_cache_equals(env, datasets.day3)

    def test_no_change(self, env: Path, datasets: Datasets) -> None:
        sync_json()
        rows = by_tag(sync_json())
        for tag in TAGS:
            assert (rows[tag]["created"], rows[tag]["updated"], rows[tag]["deleted"]) == (0, 0, 0)
        assert_cache_equals(env, datasets.day1)

    def test_full_flag_downloads_everything_again(
        self, env: Path, pdb: LabServer, datasets: Datasets
    ) -> None:
        sync_json()
        pdb.lab.load(datasets.day2)
        rows = by_tag(sync_json("--full"))
        assert {row["mode"] for row in rows.values()} == {"full"}
        assert_cache_equals(env, datasets.day2)

    def test_sync_runs_are_recorded(self, env: Path) -> None:
        sync_json()
        sync_json()
        result = run("query", "--json", "SELECT summary FROM sync_runs ORDER BY started_at")
        runs = [json.loads(r["summary"]) for r in json.loads(result.stdout)]
        assert [t["mode"] for r in runs for t in r["types"]][:: len(TAGS)] == [
            "full",
            "incremental",
        ]


class TestFlush:
    def test_flush_removes_data_and_cursors(
        self, env: Path, pdb: LabServer, datasets: Datasets
    ) -> None:
        counts = (
            "SELECT (SELECT count(*) FROM pdb_sync_cursor) AS cursors, "
            "(SELECT count(*) FROM pdb_netixlan_log) AS log"
        )
        sync_json()
        pdb.lab.load(datasets.day2)
        sync_json()  # day2 moves and removes ports: the log has rows
        before = json.loads(run("query", "--json", counts).stdout)[0]
        assert before["cursors"] == len(TAGS) and before["log"] > 0
        result = run("peeringdb-sync", "--flush", "--yes")
        assert result.exit_code == 0, result.stderr
        assert all(not cache_rows(env, tag) for tag in TAGS)
        assert json.loads(run("query", "--json", counts).stdout) == [{"cursors": 0, "log": 0}]
        pdb.lab.load(datasets.day1)
        rows = by_tag(sync_json())
        assert {row["mode"] for row in rows.values()} == {"full"}
        assert_cache_equals(env, datasets.day1)

    def test_flush_asks_on_a_terminal(self, env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        sync_json()
        monkeypatch.setattr("nornir_peering.cli.peeringdb._interactive", lambda: True)
        result = run("peeringdb-sync", "--flush", input="n\n")
        assert result.exit_code == 1
        assert "Remove all PeeringDB data" in result.stdout
        assert cache_rows(env, "net")


class TestApiKey:
    def test_private_contacts_come_with_a_key(
        self, env: Path, pdb: LabServer, datasets: Datasets, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("PEERINGDB_API_KEY", API_KEY)
        sync_json()
        assert_cache_equals(env, datasets.day1, authenticated=True)
        day1 = read_dataset(datasets.day1)
        assert len(cache_rows(env, "poc")) > len(visible_rows(day1, "poc", False))
        poc = [r for r in api_requests(pdb) if "poc" in str(r["path"])]
        assert [str(r["path"]) for r in poc] == ["/api/poc"]  # not the public cache file
        assert all(r["authorization"] == f"Api-Key {API_KEY}" for r in api_requests(pdb))

    def test_adding_a_key_refetches_contacts_in_full(
        self, env: Path, datasets: Datasets, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        sync_json()
        monkeypatch.setenv("PEERINGDB_API_KEY", API_KEY)
        rows = by_tag(sync_json())
        assert rows["poc"]["mode"] == "full"
        assert rows["net"]["mode"] == "incremental"
        assert_cache_equals(env, datasets.day1, authenticated=True)
        monkeypatch.delenv("PEERINGDB_API_KEY")
        sync_json()
        assert_cache_equals(env, datasets.day1, authenticated=False)

    def test_invalid_key_fails_clearly(self, env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("PEERINGDB_API_KEY", "wrong")
        result = run("peeringdb-sync")
        assert result.exit_code == 1
        assert "HTTP 401" in result.stderr and "Invalid API key" in result.stderr
        assert "cache is unchanged" in result.stderr


class TestDuplicates:
    def test_newest_copy_of_an_object_wins(
        self, env: Path, pdb: LabServer, datasets: Datasets
    ) -> None:
        sync_json()
        data = read_dataset(datasets.day2)
        newest = max(data.rows["netixlan"], key=lambda r: r["updated"])
        stale = {**newest, "updated": "2026-11-01T00:00:01Z", "speed": 1}
        data.rows["netixlan"].append(stale)  # the same id twice, an older copy too
        pdb.lab.load(data)
        sync_json()
        if newest["status"] == "ok":
            assert cache_rows(env, "netixlan")[newest["id"]]["speed"] == newest["speed"]
        else:
            assert newest["id"] not in cache_rows(env, "netixlan")


class TestQuery:
    def test_query_reads_the_cache(self, env: Path, datasets: Datasets) -> None:
        sync_json()
        result = run("query", "--json", "SELECT count(*) AS n FROM pdb_ix")
        assert json.loads(result.stdout) == [{"n": read_dataset(datasets.day1).count("ix")}]

    def test_bad_sql_is_a_usage_error(self, env: Path) -> None:
        result = run("query", "SELECT nope FROM pdb_ix")
        assert result.exit_code == 2
        assert "query: Binder Error" in result.stderr

    def test_query_cannot_write(self, env: Path) -> None:
        sync_json()
        result = run("query", "DELETE FROM pdb_ix")
        assert result.exit_code == 2 and "read-only" in result.stderr
        assert cache_rows(env, "ix")
