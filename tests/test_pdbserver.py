"""The lab PeeringDB server answers as PeeringDB does, to httpx and to peeringdb-py."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from peeringdb.fetch import Fetcher
from peeringdb.private import PRIVATE_OBJECTS
from peeringdb.resource import RESOURCES_BY_TAG

from nornir_peering.lab.datagen import read_dataset
from nornir_peering.lab.pdbserver import LabServer
from nornir_peering.peeringdb import schema
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

    @pytest.mark.parametrize("query", ["limit=x", "skip=-1", "depth=deep", "since=yesterday"])
    def test_bad_numbers_are_400(self, pdb: LabServer, query: str) -> None:
        reply = get(pdb, f"/api/net?{query}")
        assert reply.status_code == 400 and reply.json()["meta"]["error"]

    def test_unknown_parameters_are_ignored(self, pdb: LabServer) -> None:
        assert data(pdb, "/api/net?colour=blue&name__sounds_like=x") == data(pdb, "/api/net")


class TestAsPeeringDB:
    """What rest.py and serializers.py do with a query (lab/pdbapi.py cites where)."""

    @pytest.mark.parametrize(
        ("query", "check"),
        [
            ("asn__lt=65002", lambda n: n["asn"] < 65002),
            ("asn__lte=65002", lambda n: n["asn"] <= 65002),
            ("asn__gt=65002", lambda n: n["asn"] > 65002),
            ("asn__gte=65002", lambda n: n["asn"] >= 65002),
            ("name__contains=six only", lambda n: "six only" in n["name"].lower()),
            ("name__startswith=only FOUR", lambda n: n["name"].lower().startswith("only four")),
            ("name=six only networks", lambda n: n["name"] == "Six Only Networks"),
            ("updated__gte=2026-11-01", lambda n: n["updated"] >= "2026-11-01"),
            ("allow_ixp_update=1", lambda n: n["allow_ixp_update"]),
        ],
    )
    def test_filter_suffixes_and_case(self, pdb: LabServer, query: str, check: Any) -> None:
        rows = data(pdb, f"/api/net?{query}")
        everything = data(pdb, "/api/net")
        assert rows == [n for n in everything if check(n)]
        assert 0 < len(rows) < len(everything)

    def test_in_and_reference_names(self, pdb: LabServer) -> None:
        lans = data(pdb, "/api/ixlan?limit=2")
        ids = ",".join(str(lan["id"]) for lan in lans)
        ports = data(pdb, f"/api/netixlan?ixlan__in={ids}")
        assert ports == data(pdb, f"/api/netixlan?ixlan_id__in={ids}")
        assert {p["ixlan_id"] for p in ports} == {lan["id"] for lan in lans}

    def test_lists_are_depth_0_and_sets_are_ids_at_depth_1(self, pdb: LabServer) -> None:
        (flat,) = data(pdb, "/api/ixlan?id=10000001")
        assert "net_set" not in flat and "ixpfx_set" not in flat
        (lan,) = data(pdb, "/api/ixlan?id=10000001&depth=1")
        prefixes = data(pdb, "/api/ixpfx?ixlan_id=10000001")
        assert lan["ixpfx_set"] == [p["id"] for p in prefixes]
        assert {p["protocol"] for p in prefixes} == {"IPv4", "IPv6"}  # a dual-stack LAN
        members = {p["net_id"] for p in data(pdb, "/api/netixlan?ixlan_id=10000001")}
        assert set(lan["net_set"]) == members

    def test_a_single_object_is_depth_2_with_its_parents(self, pdb: LabServer) -> None:
        (lan,) = data(pdb, "/api/ixlan/10000001")
        assert lan["ix"]["id"] == lan["ix_id"]  # the parent object
        assert all(isinstance(p, dict) and "prefix" in p for p in lan["ixpfx_set"])
        (shallow,) = data(pdb, "/api/ixlan/10000001?depth=0")
        assert "ix" not in shallow and "ixpfx_set" not in shallow

    def test_fields_selects_from_the_root_object(self, pdb: LabServer) -> None:
        rows = data(pdb, "/api/net?fields=id,asn,nope&limit=3")
        assert [set(r) for r in rows] == [{"id", "asn"}] * 3

    def test_since_is_strict_and_oldest_update_first(
        self, day2: LabServer, datasets: Datasets
    ) -> None:
        rows = data(day2, f"/api/net?since={int(read_dataset(datasets.day1).generated)}")
        stamps = [(r["updated"], r["id"]) for r in rows]
        assert stamps == sorted(stamps) and len(rows) > 1
        last = rows[-1]["updated"]
        epoch = int(datetime.fromisoformat(last.replace("Z", "+00:00")).timestamp())
        assert all(r["updated"] > last for r in data(day2, f"/api/net?since={epoch}"))

    def test_an_id_query_that_finds_nothing_is_404(self, pdb: LabServer) -> None:
        assert get(pdb, "/api/net?id=999999999").status_code == 404
        assert get(pdb, "/api/net?asn=1").status_code == 200


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

    @pytest.mark.parametrize(
        ("tag", "since", "key"),
        [
            ("net", None, None),  # a first full download: the public cache file
            ("net", 1_700_000_000, None),  # an incremental one: the API
            ("org", None, API_KEY),  # public data with a key: still the cache file
            ("poc", None, API_KEY),  # private data with a key: the API
            ("ixlan", 1_700_000_000, API_KEY),
        ],
    )
    def test_streaming_fetcher_asks_what_peeringdb_py_asks(
        self, pdb: LabServer, tmp_path: Path, tag: str, since: int | None, key: str | None
    ) -> None:
        theirs = Fetcher(
            pdb.api_url, timeout=10, api_key=key or "", cache_url=pdb.url, cache_dir=str(tmp_path)
        )
        pdb.lab.logged(clear=True)
        theirs.load(tag, since=since or 0, fetch_private=key is not None, delay=0)
        [asked] = pdb.lab.logged(clear=True)
        settings = PeeringSettings(peeringdb_url=pdb.api_url, cache_url=pdb.url, api_key=key)
        ours = StreamingFetcher(settings, tmp_path)
        try:
            ours.download(tag, since)
        finally:
            ours.close()
        [we_asked] = pdb.lab.logged(clear=True)
        assert we_asked["path"] == asked["path"]
        # depth=0 is the API's default for lists, said outright
        assert {k: v for k, v in we_asked["query"].items() if k != "depth"} == asked["query"]
        if asked["authorization"]:
            assert we_asked["authorization"] == asked["authorization"]


def test_the_types_are_peeringdb_pys() -> None:
    # written out in schema.py, so that a sync need not import peeringdb-py
    assert tuple(RESOURCES_BY_TAG) == schema.TAGS
    assert tuple(PRIVATE_OBJECTS) == schema.PRIVATE_TAGS


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
