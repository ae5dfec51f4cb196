"""The suite's two tiers, how a test gets its tier, and the guard that keeps it honest.

- **unit**: runs wherever Python and the package's dependencies do, without root. It
  starts no daemon (BIRD, FRR, Redis, sshd, the lab's background servers), runs none
  of the lab's programs (bgpq4, bgpq3, birdc, vtysh, ...) and makes no network
  namespace. A server the test runs in its own process, as a thread on an ephemeral
  port of loopback (the lab PeeringDB :class:`~nornir_peering.lab.pdbserver.LabServer`,
  the lab IRR :class:`~nornir_peering.lab.irrserver.IrrServer`, a silent listener), is
  fine: it starts in milliseconds, and no other process or xdist worker can take its
  port. Short-lived helper processes (``python`` running the CLI or an example, ``sh``,
  ``systemd-analyze``) are fine too.
- **lab**: everything else (``./run tests`` runs both tiers, ``./run tests --fast``
  the unit tier alone: ``pytest -m unit``).

A test is ``lab`` when it, its class or its module is marked ``pytest.mark.lab``
(a module whose every test is lab says ``pytestmark = pytest.mark.lab``), or when it
uses, directly or through other fixtures, a fixture decorated with
:func:`tests.helpers.lab_fixture`
(the lab as a project, sshd, ...); every other test is marked ``unit``.

The guard: while a ``unit`` test sets up or runs, an audit hook (:func:`sys.addaudithook`)
refuses to start any of the lab's programs or ``nornir-peering lab``, and the test fails
with a line naming the program, even where the code under test catches the error (a
thread an earlier test left running, or an earlier test's object collected now, is not
the unit test's doing, and is let be).
"""

from __future__ import annotations

import itertools
import os
import shlex
import sys
import threading
from collections.abc import Generator, Iterable, Sequence
from typing import Any

import pytest

from tests.helpers import LAB_FIXTURES

# the programs a unit test must not start: daemons, the lab's tools, namespaces, root
LAB_PROGRAMS = frozenset(
    {
        "bird", "birdc", "birdcl", "bgpd", "zebra", "staticd", "mgmtd", "watchfrr", "vtysh",
        "bgpq3", "bgpq4", "redis-server", "redis-cli", "sshd", "ssh", "scp",
        "unshare", "nsenter", "ip", "sudo", "su", "runuser",
    }
)  # fmt: skip
SHELLS = frozenset({"sh", "bash", "dash"})
SYSTEM_DIRECTORIES = ("/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/", "/opt/", "/snap/")

_guarded: list[str] = []  # the unit test being set up or run, if any
_earlier: set[threading.Thread] = set()  # threads of earlier tests still running: not its
_refused: list[str] = []  # what it tried to start


def is_lab(item: pytest.Item) -> bool:
    """Whether ``item`` is marked ``lab`` or uses a :func:`~tests.helpers.lab_fixture`."""
    if item.get_closest_marker("lab") is not None:
        return True
    info = getattr(item, "_fixtureinfo", None)  # doctests have no fixtures of ours
    if info is None:
        return False
    for name in item.fixturenames:
        # the definition the item gets is the last; one that requests its own name
        # (an override that extends) uses the one before it too
        for fixturedef in reversed(info.name2fixturedefs.get(name, ())):
            if fixturedef.func in LAB_FIXTURES:
                return True
            if name not in fixturedef.argnames:
                break
    return False


def lab_program(argv: Sequence[str]) -> str | None:
    """The lab program ``argv`` would start, if any: the program itself, every command of
    a shell's ``-c`` script, or ``nornir-peering lab`` however it is run. A stand-in of
    the test's own (``tmp_path/bgpq4``, a script) is not a lab program."""
    if not argv:
        return None
    words = [argv[0]]
    if os.path.basename(argv[0]) in SHELLS and "-c" in argv[:-1]:
        words += _words(argv[argv.index("-c") + 1])
    for word in words:
        name = os.path.basename(word)
        if name in LAB_PROGRAMS and _installed(word):
            return name
    for first, second in itertools.pairwise(argv):
        if first.endswith(("nornir_peering", "nornir-peering")) and second == "lab":
            return f"{os.path.basename(first)} lab"
    return None


def _installed(program: str) -> bool:
    """Whether ``program`` names the system's own: found on PATH, or in its directories."""
    return os.sep not in program or os.path.realpath(program).startswith(SYSTEM_DIRECTORIES)


def _words(script: str) -> list[str]:
    try:
        return shlex.split(script)
    except ValueError:
        return script.split()


def _argv(event: str, args: tuple[Any, ...]) -> Sequence[str] | None:
    """The command line an audit event starts a process with, if it does."""
    if event == "subprocess.Popen":
        executable, command = args[0], args[1]
        if isinstance(command, str | bytes | os.PathLike):
            command = [command]
        argv = [os.fsdecode(part) for part in command]
        if executable is not None and argv:
            argv[0] = os.fsdecode(executable)
        if len(argv) == 1 and " " in argv[0]:  # shell=True hands the whole line over
            return ["sh", "-c", argv[0]]
        return argv
    if event in ("os.exec", "os.posix_spawn"):
        return [os.fsdecode(args[0]), *(os.fsdecode(part) for part in args[1][1:])]
    if event == "os.spawn":
        return [os.fsdecode(args[1]), *(os.fsdecode(part) for part in args[2][1:])]
    if event == "os.system":
        return ["sh", "-c", os.fsdecode(args[0])]
    return None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _guarded or not event.startswith(("subprocess.", "os.")):
        return
    if threading.current_thread() in _earlier:
        return
    argv = _argv(event, args)
    program = lab_program(argv) if argv else None
    if program is not None and not _finalizing():
        message = (
            f"{_guarded[0]} is a unit test but starts {program} "
            f"({shlex.join(argv or ())}): mark it lab (see tests/tiers.py)"
        )
        _refused.append(message)
        raise LabProgramRefused(message)


def _finalizing() -> bool:
    """Whether an object is being collected: an earlier test's, whose ``__del__`` may run a
    program (NAPALM's drivers ask ``is_alive()`` there, FRR's with vtysh)."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False


class LabProgramRefused(RuntimeError):
    """A unit test tried to start one of the lab's programs."""


def pytest_configure() -> None:
    sys.addaudithook(_audit)  # for good: an audit hook cannot be removed


def pytest_collection_modifyitems(items: Iterable[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.lab if is_lab(item) else pytest.mark.unit)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    # the threads running before the test's own fixtures start: earlier tests'
    _earlier.clear()
    _earlier.update(set(threading.enumerate()) - {threading.main_thread()})
    return (yield from _guarding(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    return (yield from _guarding(item))


def _guarding(item: pytest.Item) -> Generator[None, None, None]:
    """Run one phase of ``item`` under the guard if it is a unit test; fail it if it tried
    to start a lab program, whatever became of the error it got."""
    if item.get_closest_marker("unit") is None:
        return (yield)
    _guarded.append(item.nodeid)
    try:
        return (yield)
    finally:
        _end_guard()


def _end_guard() -> None:
    _guarded.clear()
    if _refused:
        message = _refused[0]
        _refused.clear()
        raise pytest.fail.Exception(message, pytrace=False) from None
