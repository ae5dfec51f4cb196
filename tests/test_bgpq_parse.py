"""What bgpq.py does without a bgpq binary: the command lines it builds, how it reads
bgpq's output (from stand-in scripts that print what bgpq4 or bgpq3 might), how it
finds the program and its version, its settings, and the breaker that gives up on a
silent IRR server. tests/test_bgpq.py runs the real bgpq4 and bgpq3."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from nornir_peering.errors import ConfigError
from nornir_peering.irr import IRRObject
from nornir_peering.irr.bgpq import (
    BgpqConfig,
    Breaker,
    Program,
    command,
    fetch,
    fetch_all,
    find_program,
    parse_sources,
)
from nornir_peering.settings import PeeringSettings


def script(folder: Path, name: str, body: str) -> str:
    """An executable shell script ``name`` in ``folder``: a stand-in for bgpq."""
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return str(path)


# -- bgpq's output ----------------------------------------------------------------------


def test_a_program_that_fails() -> None:
    result = fetch(65001, IRRObject("AS-FOO"), 4, BgpqConfig(program="false"))
    assert result.error == "false exited with status 1"
    assert result.program == "false"


@pytest.mark.parametrize(
    ("stdout", "reason"),
    [
        ("", "not JSON"),
        ("no json here", "not JSON"),
        ('{"NN": []}', "no list 'AS65001'"),
        ('{"AS65001": {}}', "no list 'AS65001'"),
        ('{"AS65001": ["10.0.0.0/8"]}', "not a prefix entry"),
        ('{"AS65001": [{"prefix": "10.0.0.1/8", "exact": true}]}', "has host bits set"),
        ('{"AS65001": [{"prefix": "2001:db8::/32", "exact": true}]}', "IPv6 prefix in an IPv4"),
        ('{"AS65001": [{"prefix": "10.0.0.0/8"}]}', "no exact flag"),
        ('{"AS65001": [{"prefix": "10.0.0.0/8", "exact": false, "less-equal": 33}]}', "bad len"),
        ('{"AS65001": [{"prefix": "10.0.0.0/8", "exact": false, "less-equal": 7}]}', "bad len"),
        (
            '{"AS65001": [{"prefix": "10.0.0.0/8", "exact": false, '
            '"greater-equal": 24, "less-equal": 16}]}',
            "greater-equal 24 above less-equal 16",
        ),
    ],
)
def test_unparsable_output_fails(tmp_path: Path, stdout: str, reason: str) -> None:
    program = script(tmp_path, "bgpq4", f"printf '%s' '{stdout}'")
    result = fetch(65001, IRRObject("AS-FOO"), 4, BgpqConfig(program=program))
    assert result.error is not None
    assert result.error.startswith("unparsable output from bgpq4: ")
    assert reason in result.error
    assert result.prefixes == ()


@pytest.mark.parametrize(
    ("stdout", "reason"),
    [
        ('{"AS65001": [1, "2"]}', "not a list of AS numbers"),
        ('{"AS65001": [0]}', "not a list of AS numbers"),
        ('{"AS65001": [4294967296]}', "not a list of AS numbers"),
        ('{"AS65001": [true]}', "not a list of AS numbers"),
    ],
)
def test_unparsable_asn_lists_fail(tmp_path: Path, stdout: str, reason: str) -> None:
    program = script(tmp_path, "bgpq4", f"printf '%s' '{stdout}'")
    result = fetch(65001, IRRObject("AS-FOO"), 0, BgpqConfig(program=program))
    assert result.error is not None and reason in result.error
    assert result.asns == ()


def test_a_serious_message_fails_a_run_that_exits_0(tmp_path: Path) -> None:
    body = 'echo "ERROR:Error expanding AS-FOO: F Internal error" >&2; echo \'{"AS65001": []}\''
    program = script(tmp_path, "bgpq4", body)
    result = fetch(65001, IRRObject("AS-FOO"), 4, BgpqConfig(program=program))
    assert result.error == "bgpq4: ERROR:Error expanding AS-FOO: F Internal error"


# -- the program ------------------------------------------------------------------------


def test_a_missing_program_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^bgpq9 not found: .*Debian package bgpq4.*bgpq") as exc:
        fetch(65001, IRRObject("AS-FOO"), 4, BgpqConfig(program="bgpq9"))
    assert exc.value.exit_code == 2
    with pytest.raises(ConfigError, match="not found"):
        fetch_all([(65001, IRRObject("AS-FOO"), 4)], BgpqConfig(program=str(tmp_path / "x")))


def test_a_file_that_cannot_run_is_a_config_error(tmp_path: Path) -> None:
    plain = tmp_path / "bgpq4"
    plain.write_text("#!/bin/sh\n")
    plain.chmod(stat.S_IRUSR | stat.S_IWUSR)
    with pytest.raises(ConfigError, match="not found"):
        find_program(str(plain))
    with pytest.raises(ConfigError, match="not found"):
        find_program(str(tmp_path))
    broken = tmp_path / "broken"
    broken.write_bytes(b"\x7fELF junk")
    broken.chmod(0o755)
    with pytest.raises(ConfigError, match="cannot run"):
        find_program(str(broken))


def test_the_version_is_asked_once_per_path(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    program = script(tmp_path, "mybgpq", f'echo "$@" >> {calls}; echo "bgpq3 version: 9.9"')
    first = find_program(program)
    second = find_program(program)
    assert first == second == Program(program, "bgpq3", "9.9")
    assert calls.read_text() == "-v\n"
    (tmp_path / "other").mkdir()
    other = script(tmp_path / "other", "mybgpq", 'echo "version: 2.0"')
    assert find_program(other) == Program(other, "bgpq4", "2.0")


# -- the command ------------------------------------------------------------------------

BGPQ4 = Program("/usr/bin/bgpq4", "bgpq4", "1.9")
BGPQ3 = Program("/usr/bin/bgpq3", "bgpq3", "0.1.36.1")
COMMANDS = [
    (BGPQ4, IRRObject("AS-FOO"), 4, (), True, "-h H -j -l NN -p -4 -A AS-FOO"),
    (BGPQ4, IRRObject("AS-FOO"), 6, (), False, "-h H -j -l NN -p -6 AS-FOO"),
    (BGPQ4, IRRObject("AS-FOO"), 0, (), True, "-h H -j -l NN -p -t AS-FOO"),
    (BGPQ4, IRRObject("AS-FOO", "RIPE"), 4, (), False, "-h H -j -l NN -p -4 RIPE::AS-FOO"),
    (
        BGPQ4,
        IRRObject("AS-FOO", "RIPE"),
        4,
        ("RADB", "RIPE"),
        False,
        "-h H -j -l NN -p -S RADB,RIPE -4 RIPE::AS-FOO",
    ),
    (
        BGPQ4,
        IRRObject("AS65002", "RIPE"),
        4,
        ("RADB",),
        False,
        "-h H -j -l NN -p -S RIPE -4 AS65002",
    ),
    (BGPQ4, IRRObject("AS65001:AS-FOO"), 6, (), False, "-h H -j -l NN -p -6 AS65001:AS-FOO"),
    (BGPQ3, IRRObject("AS-FOO"), 4, (), True, "-h H -j -l NN -p -3 -4 -A AS-FOO"),
    (BGPQ3, IRRObject("AS-FOO"), 0, ("RADB",), True, "-h H -j -l NN -p -3 -S RADB -t AS-FOO"),
    (
        BGPQ3,
        IRRObject("AS-FOO", "RIPE"),
        6,
        ("RADB",),
        False,
        "-h H -j -l NN -p -3 -S RIPE -6 AS-FOO",
    ),
]


@pytest.mark.parametrize(("program", "obj", "family", "sources", "aggregate", "argv"), COMMANDS)
def test_command(
    program: Program,
    obj: IRRObject,
    family: int,
    sources: tuple[str, ...],
    aggregate: bool,
    argv: str,
) -> None:
    built = command(program, obj, family, host="H", sources=sources, aggregate=aggregate)
    assert built == [program.path, *argv.split()]


@pytest.mark.parametrize(
    ("obj", "family", "host", "name"),
    [
        (IRRObject("-h"), 4, "H", "NN"),
        (IRRObject("AS-FOO BAR"), 4, "H", "NN"),
        (IRRObject("as-foo"), 4, "H", "NN"),
        (IRRObject("AS-FOO", "RIPE;"), 4, "H", "NN"),
        (IRRObject("AS-FOO", "-S"), 4, "H", "NN"),
        (IRRObject("AS-FOO"), 5, "H", "NN"),
        (IRRObject("AS-FOO"), 4, "-d", "NN"),
        (IRRObject("AS-FOO"), 4, "H H", "NN"),
        (IRRObject("AS-FOO"), 4, "H", "-x"),
    ],
)
def test_command_refuses_what_could_be_read_as_something_else(
    obj: IRRObject, family: int, host: str, name: str
) -> None:
    with pytest.raises(ValueError):
        command(BGPQ4, obj, family, host=host, name=name)


# -- settings and the breaker -----------------------------------------------------------


def test_sources_and_settings() -> None:
    assert parse_sources(" ripe , RADB RIPE") == ("RIPE", "RADB")
    with pytest.raises(ConfigError, match="irr_sources"):
        parse_sources("RIPE;RADB")
    settings = PeeringSettings.model_validate(
        {
            "irr_host": "whois.radb.net",
            "irr_sources": "RIPE,ARIN",
            "bgpq": "bgpq3",
            "irr_timeout": 5,
            "irr_workers": 3,
            "irr_aggregate": False,
            "irr_give_up_after": 0,
        }
    )
    assert BgpqConfig.from_settings(settings) == BgpqConfig(
        "bgpq3", "whois.radb.net", ("RIPE", "ARIN"), 5.0, False, 3, 0
    )
    assert BgpqConfig.from_settings(PeeringSettings()).give_up_after == 3


@pytest.mark.parametrize(
    ("ended", "given_up"),
    [
        ("TTT", True),
        ("TT", False),
        ("TTaT", False),
        ("TTaTTT", True),
        ("TTTa", False),  # an answer from a run under way takes the server back
    ],
)
def test_the_breaker_counts_timeouts_in_a_row(ended: str, given_up: bool) -> None:
    """T: a run timed out; a: one the server answered."""
    breaker = Breaker(3)
    for run in ended:
        breaker.ran("rr:43", timed_out=run == "T")
        breaker.ran("other:43", timed_out=True)  # another server's count is its own
    assert (breaker.given_up("rr:43") is not None) == given_up
    assert Breaker(0).given_up("rr:43") is None
