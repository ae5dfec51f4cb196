"""BIRD's control protocol and what it answers: replies recorded from BIRD 2.0.12
(tests/data/birdc) replayed over a real UNIX socket, one at a time."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from nornir_peering.drivers.birdc import (
    BirdControl,
    BirdError,
    Code,
    Reply,
    parse_protocols,
    parse_status,
    route_counts,
)

RECORDED = Path(__file__).parent / "data" / "birdc"
NOW = datetime(2026, 11, 25, 9, 32)
Replay = Callable[..., str]  # replies → the path of a socket that answers with them


class ReplayedBird:
    """A UNIX socket that greets as BIRD does and answers each command with the next
    of ``replies`` (bytes, sent as they are)."""

    def __init__(self, path: Path, replies: list[bytes], greeting: bytes) -> None:
        self.path, self.replies, self.greeting = str(path), list(replies), greeting
        self.commands: list[str] = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(1)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        with conn, conn.makefile("rwb") as stream:
            stream.write(self.greeting)
            stream.flush()
            while self.replies:
                line = stream.readline()
                if not line:
                    return
                self.commands.append(line.decode().rstrip("\n"))
                stream.write(self.replies.pop(0))
                stream.flush()

    def close(self) -> None:
        self.server.close()
        self.thread.join(5)


@pytest.fixture
def replay(tmp_path: Path) -> Iterator[Replay]:
    started: list[ReplayedBird] = []

    def start(*replies: bytes, greeting: bytes = b"0001 BIRD 2.0.12 ready.\n") -> str:
        bird = ReplayedBird(tmp_path / f"bird{len(started)}.ctl", list(replies), greeting)
        started.append(bird)
        return bird.path

    yield start
    for bird in started:
        bird.close()


def recorded(name: str) -> bytes:
    return (RECORDED / name).read_bytes()


def reply_of(replay: Replay, raw: bytes, command: str = "show protocols all") -> Reply:
    with BirdControl(replay(raw)) as bird:
        return bird.command(command)


def test_a_reply_is_read_to_its_last_line(replay: Replay) -> None:
    reply = reply_of(replay, recorded("show_status.txt"), "show status")
    assert reply.ok and reply.code == 13
    assert reply.lines[0] == (Code.VERSION, "BIRD 2.0.12")
    # a line without a code continues the previous one's
    assert (1011, "Hostname is vm") in reply.lines
    assert reply.text.endswith("Daemon is up and running")


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        (b"9001 syntax error, unexpected CF_SYM_UNDEFINED\n", 9001, "syntax error"),
        (
            b"0002-Reading configuration from /nonexistent\n8002 /nonexistent: No such file\n",
            8002,
            "No such file",
        ),
    ],
)
def test_error_codes(replay: Replay, raw: bytes, code: int, message: str) -> None:
    with (
        BirdControl(replay(raw)) as bird,
        pytest.raises(BirdError, match=f"(?s)configure check: .*{message}"),
    ):
        bird.checked("configure check")
    reply = reply_of(replay, raw, "configure check")
    assert (reply.ok, reply.code) == (False, code)


def test_a_reply_cut_short_is_an_error(replay: Replay) -> None:
    with (
        BirdControl(replay(b"1002-half a reply\n")) as bird,
        pytest.raises(BirdError, match="closed the connection"),
    ):
        bird.command("show protocols")


@pytest.mark.parametrize(
    ("greeting", "message"),
    [
        (b"0013 Daemon is up and running\n", "did not greet as BIRD does"),
        (b"220 smtp.example ESMTP\n", "closed the connection"),  # and hung up
    ],
)
def test_a_socket_that_does_not_greet_as_bird_is_refused(
    replay: Replay, greeting: bytes, message: str
) -> None:
    path = replay(greeting=greeting)
    with pytest.raises(BirdError, match=message):
        BirdControl(path).open()


def test_a_socket_that_never_greets_is_an_error_not_a_hang(replay: Replay) -> None:
    path = replay(b"0000 \n", greeting=b"")  # accepts, then says nothing
    with pytest.raises(BirdError, match=r"no greeting from BIRD at .*: timed out"):
        BirdControl(path, timeout=0.5).open()


def test_no_socket(tmp_path: Path) -> None:
    with pytest.raises(BirdError, match=r"cannot connect to BIRD at .*nothing\.ctl"):
        BirdControl(str(tmp_path / "nothing.ctl")).open()


def test_one_command_one_line(replay: Replay) -> None:
    with (
        BirdControl(replay(b"0000 \n")) as bird,
        pytest.raises(ValueError, match="one command, one line"),
    ):
        bird.command("show status\nconfigure")


def test_show_status(replay: Replay) -> None:
    status = parse_status(reply_of(replay, recorded("show_status.txt"), "show status"))
    assert status == {
        "version": "2.0.12",
        "router_id": "127.0.1.1",
        "hostname": "vm",
        "now": datetime(2026, 11, 25, 9, 31, 24, 546000),
        "started": datetime(2026, 11, 25, 9, 31, 15, 76000),
    }


def test_show_protocols_all(replay: Replay) -> None:
    up, down = parse_protocols(reply_of(replay, recorded("show_protocols_all.txt")), NOW)
    assert (up.name, up.proto, up.state, up.info) == (
        "ix_lab_ix_as65003_127_0_1_14",
        "BGP",
        "up",
        "Established",
    )
    assert up.since == datetime(2026, 11, 25, 9, 31, 17)
    assert up.attributes["Description"] == "Only Four Broadband"
    assert up.attributes["Neighbor AS"] == "65003"
    assert up.attributes["Source address"] == "127.0.1.1"
    assert up.attributes["Session"] == "external multihop AS4"
    assert "Local capabilities" not in up.attributes  # a heading, not an attribute
    channel = up.channels["ipv4"]
    assert (channel["Input filter"], channel["Output filter"]) == (
        "NP_IMPORT_IX_IN_V4",
        "NP_EXPORT_IX_OUT_V4",
    )
    assert route_counts(channel) == {"imported": 9, "filtered": 0, "exported": 1, "preferred": 9}
    assert (down.state, down.info) == ("start", "Active Socket: Connection refused")
    assert down.attributes["Last error"] == "Socket: Connection refused"
    assert route_counts(down.channels["ipv4"]) == dict.fromkeys(
        ("imported", "filtered", "exported", "preferred"), 0
    )


@pytest.mark.parametrize(
    ("since", "now", "expected"),
    [
        ("2026-11-24 23:59:50", NOW, datetime(2026, 11, 24, 23, 59, 50)),  # iso long
        ("09:31:17.123", NOW, datetime(2026, 11, 25, 9, 31, 17)),  # iso short: today
        # just after midnight, a time of day later than now was yesterday
        ("23:59:50.000", datetime(2026, 11, 25, 0, 0, 30), datetime(2026, 11, 24, 23, 59, 50)),
    ],
)
def test_since_in_both_of_birds_time_formats(
    replay: Replay, since: str, now: datetime, expected: datetime
) -> None:
    raw = f"1002-p1 BGP --- up {since} Established\n0000 \n".encode()
    [protocol] = parse_protocols(reply_of(replay, raw), now)
    assert (protocol.since, protocol.info) == (expected, "Established")


def test_routes_with_filtered_ones() -> None:
    channel = {"Routes": "2 imported, 1 filtered, 1 exported, 2 preferred"}
    assert route_counts(channel) == {"imported": 2, "filtered": 1, "exported": 1, "preferred": 2}
