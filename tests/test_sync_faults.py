"""A sync that meets a fault says which type failed and why, writes nothing,
and exits non-zero; retries are bounded and honour ``Retry-After``."""

from __future__ import annotations

import json
import os
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from nornir_peering.errors import StateBusy
from nornir_peering.lab.datagen import read_dataset
from nornir_peering.lab.pdbserver import Fault, LabServer
from nornir_peering.lab.tls import LabSecrets
from nornir_peering.peeringdb.fetch import FetchError, StreamingFetcher
from nornir_peering.peeringdb.sync import sync_peeringdb
from nornir_peering.settings import PeeringSettings, load_settings
from nornir_peering.store import writer_lock
from tests.helpers import Datasets, assert_cache_equals, free_port, run, sync_json, wait_until


def requests_to(pdb: LabServer, path: str) -> int:
    return sum(1 for r in pdb.lab.logged() if r["path"] == path)


@pytest.fixture
def day1_synced(env: Path, pdb: LabServer, datasets: Datasets) -> Path:
    """A cache holding day1, with the server already serving day2."""
    sync_json()
    pdb.lab.load(datasets.day2)
    pdb.lab.logged(clear=True)
    return env


def fails_unchanged(state: Path, datasets: Datasets, *words: str, full: bool = False) -> str:
    """Run a sync that must fail; the cache must still be day1. Returns stderr."""
    result = run("peeringdb-sync", *(["--full"] if full else []))
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "the cache is unchanged" in result.stderr
    for word in words:
        assert word in result.stderr
    assert_cache_equals(state, datasets.day1)
    return result.stderr


class TestHttpFaults:
    def test_429_waits_as_retry_after_asks_then_succeeds(
        self, day1_synced: Path, pdb: LabServer, datasets: Datasets
    ) -> None:
        pdb.lab.add_fault(Fault(match="/api/net?", status=429, retry_after="0.2", times=2))
        began = time.monotonic()
        sync_json()
        assert time.monotonic() - began >= 0.4  # two waits of Retry-After: 0.2
        assert requests_to(pdb, "/api/net") == 3
        assert_cache_equals(day1_synced, datasets.day2)

    def test_429_with_http_date_retry_after(
        self, day1_synced: Path, pdb: LabServer, datasets: Datasets
    ) -> None:
        pdb.lab.add_fault(
            Fault(
                match="/api/ix?", status=429, retry_after="Wed, 21 Oct 2015 07:28:00 GMT", times=1
            )
        )
        sync_json()
        assert requests_to(pdb, "/api/ix") == 2
        assert_cache_equals(day1_synced, datasets.day2)

    def test_429_asking_too_long_fails_at_once(
        self, day1_synced: Path, pdb: LabServer, datasets: Datasets
    ) -> None:
        pdb.lab.add_fault(Fault(match="/api/net?", status=429, retry_after="3600"))
        stderr = fails_unchanged(day1_synced, datasets, "net: rate limited", "3600s")
        assert "max_retry_after" in stderr
        assert requests_to(pdb, "/api/net") == 1

    def test_429_forever_gives_up_after_the_retries(
        self, day1_synced: Path, pdb: LabServer, datasets: Datasets, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("NORNIR_PEERING_RETRIES", "2")
        pdb.lab.add_fault(Fault(match="/api/poc?", status=429, retry_after="0"))
        fails_unchanged(day1_synced, datasets, "poc: rate limited", "3 times")
        assert requests_to(pdb, "/api/poc") == 3

    def test_500_once_is_retried(
        self, day1_synced: Path, pdb: LabServer, datasets: Datasets
    ) -> None:
        pdb.lab.add_fault(Fault(match="/api/netixlan?", status=500, times=1))
        sync_json()
        assert requests_to(pdb, "/api/netixlan") == 2
        assert_cache_equals(day1_synced, datasets.day2)

    def test_500_forever_fails_naming_the_type(
        self, day1_synced: Path, pdb: LabServer, datasets: Datasets
    ) -> None:
        pdb.lab.add_fault(Fault(match="/api/netixlan?", status=503))
        fails_unchanged(day1_synced, datasets, "netixlan: HTTP 503", "after 4 attempts")

    def test_other_http_errors_are_not_retried(
        self, day1_synced: Path, pdb: LabServer, datasets: Datasets
    ) -> None:
        pdb.lab.add_fault(Fault(match="/api/fac?", status=403))
        fails_unchanged(day1_synced, datasets, "fac: HTTP 403")
        assert requests_to(pdb, "/api/fac") == 1

    def test_timeout(
        self, day1_synced: Path, pdb: LabServer, datasets: Datasets, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("NORNIR_PEERING_TIMEOUT", "0.3")
        monkeypatch.setenv("NORNIR_PEERING_RETRIES", "1")
        pdb.lab.add_fault(Fault(match="/api/org?", delay=30))
        fails_unchanged(day1_synced, datasets, "org: timed out after 0.3s", "after 2 attempts")

    def test_connection_cut_short(
        self, day1_synced: Path, pdb: LabServer, datasets: Datasets
    ) -> None:
        pdb.lab.add_fault(Fault(match="/api/ixpfx?", truncate=40))
        fails_unchanged(day1_synced, datasets, "ixpfx: connection to", "broke off")

    def test_malformed_json(self, day1_synced: Path, pdb: LabServer, datasets: Datasets) -> None:
        pdb.lab.add_fault(Fault(match="/api/net?", malformed=200))
        fails_unchanged(day1_synced, datasets, "net: bad reply", "Malformed JSON")

    def test_not_a_peeringdb_reply(
        self, day1_synced: Path, pdb: LabServer, datasets: Datasets
    ) -> None:
        data = read_dataset(datasets.day2)
        data.rows["net"][0]["asn"] = "not-a-number"
        pdb.lab.load(data)
        fails_unchanged(day1_synced, datasets, "net: bad reply", "not-a-number", full=True)

    def test_unreachable_server(
        self, day1_synced: Path, datasets: Datasets, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        port = free_port()
        monkeypatch.setenv("PEERINGDB_URL", f"http://127.0.0.1:{port}/api")
        monkeypatch.setenv("NORNIR_PEERING_RETRIES", "0")
        fails_unchanged(day1_synced, datasets, "cannot reach", "after 1 attempt")


def sync_process(*args: str) -> subprocess.CompletedProcess[str]:
    """``peeringdb-sync`` in a process of its own, which must end within a minute however
    the server behaves."""
    return subprocess.run(
        [sys.executable, "-m", "nornir_peering", "peeringdb-sync", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def failure_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line that says why a sync (exit 1) failed, under its header."""
    assert result.returncode == 1, result.stderr
    header, line = result.stderr.splitlines()
    assert header == "error: PeeringDB sync failed, the cache is unchanged:"
    return line


def ends(call: Callable[[], object]) -> BaseException | None:
    """Run ``call`` in a thread that must end within a minute; what it raised."""
    raised: list[BaseException | None] = [None]

    def target() -> None:
        try:
            call()
        except BaseException as exc:
            raised[0] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "still running after a minute"
    return raised[0]


class TestSlowSender:
    """A server that sends a byte a second is never late for any read (``timeout``: 30 s)
    and never done: ``download_timeout`` ends the download whatever it sends."""

    @pytest.mark.parametrize("headers", [False, True], ids=["after-headers", "headers-too"])
    def test_a_trickling_reply_fails_at_download_timeout(
        self,
        day1_synced: Path,
        pdb: LabServer,
        datasets: Datasets,
        monkeypatch: pytest.MonkeyPatch,
        headers: bool,
    ) -> None:
        monkeypatch.setenv("NORNIR_PEERING_DOWNLOAD_TIMEOUT", "2")
        pdb.lab.add_fault(Fault(match="/api/net?", trickle=1, trickle_headers=headers))
        result = sync_process()
        line = failure_line(result)
        assert re.fullmatch(
            rf"  net: download from {re.escape(pdb.api_url)}/net\?depth=0&since=\d+ took "
            r"longer than download_timeout \(2s\); stopped",
            line,
        ), line
        assert requests_to(pdb, "/api/net") == 1  # not retried: the time is up
        assert_cache_equals(day1_synced, datasets.day1)
        assert not any((day1_synced.parent / ".peeringdb-sync").iterdir())
        [logged] = json.loads(run("runs", "--json", "--last", "1").stdout)
        assert (logged["command"], logged["exit_code"]) == ("peeringdb-sync", 1)
        assert "download_timeout (2s)" in logged["summary"]
        pdb.lab.clear_faults()
        sync_json()
        assert_cache_equals(day1_synced, datasets.day2)

    def test_a_failed_type_stops_a_trickling_one_at_once(
        self, day1_synced: Path, pdb: LabServer, datasets: Datasets
    ) -> None:
        """The first type trickles, with the default 900 s download_timeout, and the last
        one is refused (HTTP 403, not retried): the sync fails with the refusal at once."""
        pdb.lab.add_fault(Fault(match="/api/org?", trickle=1))
        pdb.lab.add_fault(Fault(match="/api/poc?", status=403))
        result = sync_process()
        line = failure_line(result)
        assert re.fullmatch(
            rf"  poc: HTTP 403 from {re.escape(pdb.api_url)}/poc\?depth=0&since=\d+: "
            "lab fault 403",
            line,
        ), line
        assert requests_to(pdb, "/api/org") == 1
        assert_cache_equals(day1_synced, datasets.day1)

    def test_over_https_too(self, tmp_path: Path, datasets: Datasets) -> None:
        """A TLS connection's blocked read is woken as a plain one is."""
        secrets = LabSecrets(tmp_path / "tls")
        secrets.ensure()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(secrets.redis / "server.pem", secrets.redis / "server.key")
        with LabServer(datasets.day1, tls=context) as server, pytest.MonkeyPatch.context() as env:
            env.setenv("SSL_CERT_FILE", str(secrets.ca))  # httpx trusts the lab CA
            settings = PeeringSettings(
                peeringdb_url=server.api_url, cache_url="", download_timeout=1, retries=0
            )
            fetcher = StreamingFetcher(settings, tmp_path)
            try:
                assert server.url.startswith("https://")
                assert fetcher.download("ix", None).size > 0
                for headers in (False, True):
                    fault = Fault(match="/api/net", trickle=1, trickle_headers=headers)
                    server.lab.add_fault(fault)
                    raised = ends(lambda: fetcher.download("net", None))
                    assert isinstance(raised, FetchError)
                    assert str(raised) == (
                        f"net: download from {server.api_url}/net?depth=0 took longer than "
                        "download_timeout (1s); stopped"
                    )
                    server.lab.clear_faults()
            finally:
                fetcher.close()


class TestInterruptions:
    def test_kill_at_any_moment_leaves_old_or_new_cache(
        self, day1_synced: Path, datasets: Datasets, tmp_path: Path, pdb: LabServer
    ) -> None:
        """kill -9 a real sync process at moments spread over its whole run: the cache
        is always exactly day1 or exactly day2, never a mix, and the next run completes."""
        state = day1_synced
        seen = set()
        for delay in (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.5):
            proc = subprocess.Popen(
                [sys.executable, "-m", "nornir_peering", "peeringdb-sync", "--full"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
            which = _which_dataset(state, datasets)
            seen.add(which)
            if which == "day2":  # the sync got through; start from day1 again
                pdb.lab.load(datasets.day1)
                sync_json("--full")
                pdb.lab.load(datasets.day2)
        assert "day1" in seen  # some kills landed before the commit
        sync_json()
        assert_cache_equals(state, datasets.day2)
        assert not any((state.parent / ".peeringdb-sync").iterdir())  # leftovers cleaned

    def test_killed_while_downloading(
        self, day1_synced: Path, pdb: LabServer, datasets: Datasets
    ) -> None:
        pdb.lab.add_fault(Fault(match="/api/netixlan?", delay=60, times=1))
        proc = subprocess.Popen(
            [sys.executable, "-m", "nornir_peering", "peeringdb-sync"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until(lambda: requests_to(pdb, "/api/netixlan") == 1)
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
        assert_cache_equals(day1_synced, datasets.day1)
        sync_json()
        assert_cache_equals(day1_synced, datasets.day2)


def _which_dataset(state: Path, datasets: Datasets) -> str:
    for name in ("day1", "day2"):
        try:
            assert_cache_equals(state, getattr(datasets, name))
            return name
        except AssertionError:
            continue
    raise AssertionError("the cache is neither day1 nor day2: a partial sync was committed")


class TestLocking:
    def test_second_writer_gives_up_after_wait(self, day1_synced: Path) -> None:
        with writer_lock(day1_synced, wait=0):
            result = run("peeringdb-sync", "--wait", "0.3")
        assert result.exit_code == 75
        assert "another writer" in result.stderr and "--wait" in result.stderr

    def test_second_writer_waits_for_the_first(self, day1_synced: Path, datasets: Datasets) -> None:
        released = threading.Event()
        holding = threading.Event()

        def hold() -> None:
            with writer_lock(day1_synced, wait=0):
                holding.set()
                released.wait(10)

        holder = threading.Thread(target=hold)
        holder.start()
        holding.wait(10)
        timer = threading.Timer(0.5, released.set)
        timer.start()
        try:
            result = run("peeringdb-sync", "--wait", "20")
        finally:
            released.set()
            holder.join()
        assert result.exit_code == 0, result.stderr
        assert_cache_equals(day1_synced, datasets.day2)

    def test_concurrent_sync_does_not_overwrite_a_newer_one(
        self, day1_synced: Path, pdb: LabServer, datasets: Datasets
    ) -> None:
        """A slow sync that started first must not apply its older download over
        the result of a sync that finished while it was downloading."""
        settings = load_settings().peering
        pdb.lab.add_fault(Fault(match="/api/net?", delay=2, times=1))
        outcome: list[BaseException | None] = []

        def slow_sync() -> None:
            try:
                sync_peeringdb(settings)
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=slow_sync)
        thread.start()
        wait_until(lambda: requests_to(pdb, "/api/net") == 1)
        pdb.lab.load(datasets.day3)
        sync_json()  # the fast sync gets day3
        thread.join(30)
        assert isinstance(outcome[0], StateBusy)
        assert_cache_equals(day1_synced, datasets.day3)


class TestBadInput:
    @pytest.mark.parametrize(
        ("config", "message"),
        [
            (
                "user_defined:\n  peering:\n    timout: 3\n",
                "config.yaml: user_defined.peering.timout: unknown setting",
            ),
            (
                "user_defined:\n  peering:\n    timeout: soon\n",
                "config.yaml: user_defined.peering.timeout: Input should be a valid number",
            ),
            (
                "user_defined:\n  peering:\n    peeringdb_url: ftp://example.net\n",
                "config.yaml: user_defined.peering.peeringdb_url: "
                "'ftp://example.net' is not an http(s) URL",
            ),
            (
                "user_defined:\n  peering: [1, 2]\n",
                "config.yaml: user_defined.peering: must be a mapping",
            ),
            ("runnner:\n  plugin: threaded\n", "config.yaml: runnner: unknown section"),
            ("user_defined:\n  peering:\n    timeout: 3\n   lookback: 5\n", "config.yaml: line 4"),
            ("- a\n- b\n", "config.yaml: must be a mapping"),
        ],
    )
    def test_bad_config_file(self, env: Path, tmp_path: Path, config: str, message: str) -> None:
        (tmp_path / "config.yaml").write_text(config)
        result = run("peeringdb-sync")
        assert result.exit_code == 2
        assert message in result.stderr
        assert not env.exists()

    def test_bad_environment_value(self, env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("NORNIR_PEERING_CONCURRENCY", "0")
        result = run("peeringdb-sync")
        assert result.exit_code == 2
        assert (
            "environment NORNIR_PEERING_CONCURRENCY: Input should be greater than or equal to 1"
            in result.stderr
        )

    def test_missing_config_file(self, env: Path) -> None:
        result = run("peeringdb-sync", "--config", "nowhere.yaml")
        assert result.exit_code == 2
        assert "nowhere.yaml: config file not found" in result.stderr

    def test_json_failure_report(self, day1_synced: Path, pdb: LabServer) -> None:
        pdb.lab.add_fault(Fault(match="/api/net?", status=500))
        result = run("peeringdb-sync", "--json")
        assert result.exit_code == 1
        report = json.loads(result.stdout)
        assert report["ok"] is False and "net: HTTP 500" in report["error"]

    def test_state_file_that_is_not_a_database(self, env: Path) -> None:
        env.parent.mkdir(parents=True)
        env.write_text("this is not duckdb")
        result = run("peeringdb-sync")
        assert result.exit_code == 1
        assert "cannot open the state file" in result.stderr
        assert env.read_text() == "this is not duckdb"
