"""The command line as a shell sees it: completion, as the README documents it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

COMMAND = str(Path(sys.executable).parent / "nornir-peering")  # the console script


def completion(words: str, cword: int) -> list[str]:
    env = {
        **os.environ,
        "_NORNIR_PEERING_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(cword),
    }
    done = subprocess.run([COMMAND], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_bash_completion_script() -> None:
    env = {**os.environ, "_NORNIR_PEERING_COMPLETE": "bash_source"}
    script = subprocess.run([COMMAND], env=env, capture_output=True, text=True, timeout=60)
    assert script.returncode == 0, script.stderr
    assert "complete -o nosort -F _nornir_peering_completion nornir-peering" in script.stdout


@pytest.mark.parametrize(
    ("words", "cword", "expected"),
    [
        ("nornir-peering peeringdb-", 1, ["plain,peeringdb-sync"]),
        ("nornir-peering configure-routers --com", 2, ["plain,--commit"]),
        ("nornir-peering poll-bgp-sessions --js", 2, ["plain,--json"]),
    ],
)
def test_commands_and_options_complete(words: str, cword: int, expected: list[str]) -> None:
    assert completion(words, cword) == expected
