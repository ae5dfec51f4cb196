"""Stopping a run: SIGTERM (what ``timeout``, ``systemctl stop`` and a unit's time limit
send) is taken as Ctrl-C is.

Also a router's task's time (:class:`Budget`): a task past its time limit is left behind
by its run, and stops at the next :func:`check_time` it reaches.

Either signal sets :data:`STOPPING`. While routers' tasks run (:func:`finishing`), that is all
the first signal does: no router's task starts from then on
(:mod:`nornir_peering.runbooks.bounded`), those under way end (each within its time
limit), and the run goes on to store and report what it did, then exits 130 (Ctrl-C) or
143 (SIGTERM) (:mod:`nornir_peering.cli.runlog` records it as interrupted). Anywhere else,
and at a second signal, :class:`Interrupted` is raised in the main thread at once.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import FrameType

from nornir_peering.errors import PeeringError

STOPPING = threading.Event()  # set once the run is asked to stop
_by: list[str] = []  # the signal that asked first
_listeners: list[Callable[[str], None]] = []
_finishing = 0  # how deep in finishing() the main thread is


class Interrupted(KeyboardInterrupt):
    """The run was asked to stop by ``signal_name``.

    >>> Interrupted("SIGTERM").exit_code
    143
    """

    def __init__(self, signal_name: str = "SIGINT") -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name

    @property
    def exit_code(self) -> int:
        """128 + the signal's number, as a shell reports a command it stopped."""
        return 128 + int(signal.Signals[self.signal_name])

    @property
    def by(self) -> str:
        """Who stopped it, in words."""
        return "Ctrl-C" if self.signal_name == "SIGINT" else self.signal_name


def interrupted(exc: KeyboardInterrupt) -> Interrupted:
    """``exc`` as an :class:`Interrupted` (a plain KeyboardInterrupt is Ctrl-C's)."""
    return exc if isinstance(exc, Interrupted) else Interrupted()


def stopped() -> Interrupted | None:
    """How the run was asked to stop, if it was."""
    if not STOPPING.is_set():
        return None
    return Interrupted(_by[0] if _by else "SIGINT")


def on_stop(listener: Callable[[str], None]) -> None:
    """Call ``listener`` (with :attr:`Interrupted.by`), in a thread of its own, when the
    run is first asked to stop."""
    _listeners.append(listener)


@contextmanager
def finishing() -> Iterator[None]:
    """While routers' tasks run: a first signal lets those under way end."""
    global _finishing
    _finishing += 1
    try:
        yield
    finally:
        _finishing -= 1


def handle_signals() -> None:
    """SIGTERM and SIGINT stop the run (see above)."""
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)


def _stop(signum: int, frame: FrameType | None) -> None:
    name = signal.Signals(signum).name
    first = not STOPPING.is_set()
    if first:
        _by.append(name)
        STOPPING.set()
        by = Interrupted(name).by
        for listener in _listeners:  # not here: the main thread may hold what they need
            threading.Thread(target=listener, args=(by,), daemon=True).start()
        if _finishing:
            return
    raise Interrupted(name)


class TimeUp(PeeringError):
    """The router's task ran past its time limit: it stops where it is."""


@dataclass
class Budget:
    """The time a router's task has (a ``time.monotonic()`` deadline), and whether its
    run has left it behind."""

    deadline: float
    left_behind: threading.Event = field(default_factory=threading.Event)


_budget: ContextVar[Budget | None] = ContextVar("budget", default=None)


@contextmanager
def budget(seconds: float) -> Iterator[Budget]:
    """The task run in this context (this thread) has ``seconds``."""
    given = Budget(time.monotonic() + seconds)
    token = _budget.set(given)
    try:
        yield given
    finally:
        _budget.reset(token)


def time_left(default: float) -> float:
    """Seconds the current router's task has left (``default`` outside one)."""
    given = _budget.get()
    return default if given is None else max(0.0, given.deadline - time.monotonic())


def check_time(what: str) -> None:
    """Raise :class:`TimeUp` if the current router's task was left behind: it must not
    go on to ``what``."""
    given = _budget.get()
    if given is not None and given.left_behind.is_set():
        raise TimeUp(f"not {what}: the run's time on this router was up")
