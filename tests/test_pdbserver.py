"""The lab PeeringDB server answers as PeeringDB does, to httpx and to peeringdb-py."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from peeringdb.fetch import Fetcher

from nornir_peering.lab.datagen import read_dataset
from nornir_peering.lab.pdbserver import LabServer
from nornir_peering.peeringdb.fetch import StreamingFetcher
from nornir_peering.settings import PeeringSettings
from tests.helpers import API_KEY, Datasets


def get(pdb: LabServer, path: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{pdb.url}{path}", headers=headers, timeout=10)


def data(pdb: LabServer, path: str, **headers: str) -> list[dict[str, Any]]:
    reply = get(pdb, path, **headers)
    assert reply.status_code == 200, reply.text
    rows: list[dict[str, Any]] = reply.json()["data"]
    return rows


@pytest.fixture
def day2(pdb: LabServer, datasets: Datasets) -> LabServer:
    pdb.lab.load(datasets.day2)
    return pdb


class TestApi:
    def test_unfiltered_lists_ok_objects_with_meta_generated(
        self, pdb: LabServer, datasets: Datasets
    ) -> None:
        reply = get(pdb, "/api/net").json()
        day1 = read_dataset(datasets.day1)
        assert reply["meta"]["generated"] == day1.generated
        assert [r["id"] for r in reply["data"]] == sorted(
            r["id"] for r in day1.rows["net"] if r["status"] == "ok"
        )

    def test_cache_file_equals_the_public_list(self, pdb: LabServer) -> None:
        assert get(pdb, "/net-0.json").json() == get(pdb, "/api/net").json()
        assert get(pdb, "/nothing-0.json").status_code == 404

    def test_since_includes_deleted_objects(self, day2: LabServer, datasets: Datasets) -> None:
        day1 = read_dataset(datasets.day1)
        since = int(day1.generated)
        rows = data(day2, f"/api/netixlan?since={since}")
        assert {r["status"] for r in rows} == {"ok", "deleted"}
        assert all(r["updated"] >= "2026-11-01T00:00:00Z" for r in rows)

    @pytest.mark.parametrize(
        ("query", "check"),
        [
            ("id=3", lambda rows: [r["id"] for r in rows] == [3]),
            ("id__in=3,5,7", lambda rows: [r["id"] for r in rows] == [3, 5, 7]),
            ("limit=4&skip=2", lambda rows: len(rows) == 4),
            ("fields=id,asn", lambda rows: all(set(r) == {"id", "asn"} for r in rows)),
            ("info_unicast=true&limit=2", lambda rows: all(r["info_unicast"] for r in rows)),
            ("depth=0&limit=1", lambda rows: len(rows) == 1),
        ],
    )
    def test_filters(self, pdb: LabServer, query: str, check: Any) -> None:
        rows = data(pdb, f"/api/net?{query}")
        assert rows and check(rows)

    def test_asn_filters(self, pdb: LabServer) -> None:
        nets = data(pdb, "/api/net?limit=3")
        asns = [str(n["asn"]) for n in nets]
        assert [n["asn"] for n in data(pdb, f"/api/net?asn={asns[0]}")] == [nets[0]["asn"]]
        assert len(data(pdb, f"/api/net?asn__in={','.join(asns)}")) == 3

    def test_single_object(self, pdb: LabServer) -> None:
        assert [r["id"] for r in data(pdb, "/api/ix/1")] == [1]
        assert get(pdb, "/api/ix/999999").status_code == 404
        assert get(pdb, "/api/nope").status_code == 404
        assert get(pdb, "/api").status_code == get(pdb, "/api/").status_code == 404

    @pytest.mark.parametrize("query", ["depth=2", "colour=blue", "limit=x", "fields=nope"])
    def test_bad_queries_are_400(self, pdb: LabServer, query: str) -> None:
        reply = get(pdb, f"/api/net?{query}")
        assert reply.status_code == 400 and reply.json()["meta"]["error"]


class TestContacts:
    def test_anonymous_sees_public_contacts_only(self, pdb: LabServer) -> None:
        assert {r["visible"] for r in data(pdb, "/api/poc")} == {"Public"}
        assert {r["visible"] for r in data(pdb, "/poc-0.json")} == {"Public"}

    def test_api_key_sees_all(self, pdb: LabServer) -> None:
        rows = data(pdb, "/api/poc", Authorization=f"Api-Key {API_KEY}")
        assert {r["visible"] for r in rows} == {"Public", "Users", "Private"}

    def test_invalid_key_is_401(self, pdb: LabServer) -> None:
        reply = get(pdb, "/api/poc", Authorization="Api-Key nope")
        assert reply.status_code == 401 and reply.json()["meta"]["error"] == "Invalid API key"


class TestPeeringdbPy:
    """peeringdb-py's own fetcher works against the lab, and so does ours through
    peeringdb-py's interface."""

    def test_peeringdb_py_fetcher(self, pdb: LabServer, datasets: Datasets, tmp_path: Path) -> None:
        fetcher = Fetcher(pdb.api_url, timeout=10, cache_url=pdb.url, cache_dir=str(tmp_path))
        fetcher.load("ixlan", since=0)
        day1 = read_dataset(datasets.day1)
        assert len(fetcher.entries("ixlan")) == len(day1.rows["ixlan"])
        assert fetcher.remote_cache_used
        assert fetcher.get("net", 2, force_fetch=True)["id"] == 2

    def test_streaming_fetcher_keeps_the_interface(
        self, pdb: LabServer, tmp_path: Path, datasets: Datasets
    ) -> None:
        settings = PeeringSettings(peeringdb_url=pdb.api_url, cache_url=pdb.url)
        fetcher = StreamingFetcher(settings, tmp_path, threading.Event())
        try:
            fetcher.load("ixpfx")
            assert fetcher.files["ixpfx"].exists()
            day1 = read_dataset(datasets.day1)
            assert len(fetcher.entries("ixpfx")) == day1.count("ixpfx")
            assert fetcher.get("org", 5, force_fetch=True)["id"] == 5
        finally:
            fetcher.close()


def test_lab_listens_on_loopback_only(datasets: Datasets) -> None:
    with pytest.raises(ValueError, match="loopback only"):
        LabServer(datasets.day1, host="0.0.0.0")


def test_a_server_never_started_stops(datasets: Datasets) -> None:
    """Stopping closes the socket even when nothing was served (it used to wait forever
    for a serving loop that never ran)."""
    server = LabServer(datasets.day1)
    done = threading.Thread(target=server.stop, daemon=True)
    done.start()
    done.join(30)
    assert not done.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/api/net", timeout=5)
