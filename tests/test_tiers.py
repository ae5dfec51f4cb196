"""The tiers (tests/tiers.py): which command lines the guard takes for lab programs, and a
small suite of its own run by pytest, where a unit test that starts one fails."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.tiers import lab_program

pytest_plugins = ["pytester"]

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize(
    ("argv", "program"),
    [
        (["bird", "-p", "-c", "bird.conf"], "bird"),
        (["/usr/sbin/sshd", "-D", "-f", "sshd_config"], "sshd"),
        (["/usr/lib/frr/bgpd", "-d"], "bgpd"),
        (["unshare", "--user", "--net", "sleep", "infinity"], "unshare"),
        (["sh", "-c", "bgpq4 -h 127.0.0.1:43 AS-FOO | head"], "bgpq4"),
        ([sys.executable, "-m", "nornir_peering", "lab", "up"], "nornir_peering lab"),
        (["nornir-peering", "lab", "down"], "nornir-peering lab"),
        ([sys.executable, "-m", "nornir_peering", "inventory"], None),
        (["/tmp/pytest-of-root/test0/bgpq4", "-v"], None),  # a test's own stand-in
        ([sys.executable, "-c", "print('ip bird')"], None),
        (["false"], None),
        ([], None),
    ],
)
def test_lab_programs(argv: list[str], program: str | None) -> None:
    assert lab_program(argv) == program


SUITE = """
import gc
import subprocess

import pytest

from tests.helpers import lab_fixture


@pytest.fixture
@lab_fixture
def daemon():
    subprocess.run(["bgpq4", "-v"], check=False)


@pytest.fixture
def through(daemon):
    return daemon


def test_pure():
    assert subprocess.run(["true"]).returncode == 0


def test_starts_bgpq4_and_swallows_the_error():
    try:
        subprocess.run(["bgpq4", "-v"], check=False)
    except Exception:
        pass


def test_uses_the_daemon(through):
    pass


@pytest.mark.lab
def test_marked():
    pass


class Leftover:
    def __init__(self):
        self.cycle = self  # collected later, by the collector

    def __del__(self):
        subprocess.run(["bgpq4", "-v"], capture_output=True, check=False)


@pytest.mark.lab
def test_leaves_an_object_behind():
    Leftover()


def test_collects_it():
    gc.collect()
"""


def test_marks_and_the_guard(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makeconftest('pytest_plugins = ["tests.tiers"]\n')
    pytester.makepyfile(test_suite=SUITE)
    pytester.makeini("[pytest]\nstrict_markers = true\nmarkers =\n    unit\n    lab\n")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    unit = pytester.runpytest_subprocess("-m", "unit", "-p", "no:cacheprovider")
    unit.assert_outcomes(passed=2, failed=1, deselected=3)
    unit.stdout.fnmatch_lines(
        [
            "*test_starts_bgpq4_and_swallows_the_error is a unit test but starts bgpq4 "
            "(bgpq4 -v): mark it lab*"
        ]
    )
    # an object a lab test left behind runs bgpq4 when collected in a unit test: not its doing
    both = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "leaves or collects")
    both.assert_outcomes(passed=2, deselected=4)
    collected = pytester.runpytest_subprocess("-m", "lab", "--collect-only", "-q")
    collected.stdout.fnmatch_lines(
        ["*::test_uses_the_daemon", "*::test_marked", "*::test_leaves_an_object_behind", "3/6 *"]
    )
