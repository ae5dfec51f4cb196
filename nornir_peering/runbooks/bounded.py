"""Each router's task within its time, none started once the run is stopping, and each
one's end written to the run's journal as it comes.

A router (or an SSH path, a proxy) that sends a byte now and then never trips a socket
timeout, NAPALM's included: :func:`bounded` gives each router's task a wall-clock limit
(``router_timeout``, overridable in the router's data), after which the router fails and
the run goes on. Nornir's runners cannot stop a thread, so the task runs in a thread of
its own, left behind when its time is up (a daemon thread: it does not keep the command
from exiting) and told so: it stops at the next step it would take (connect, load,
commit: :func:`~nornir_peering.interrupt.check_time`), and waits for the router's lock
no longer than its time. A BIRD call under way fails at once (its connection is shut
down); a vendor driver's is left to end by its own timeout, since closing those from
another thread is not safe (Junos queues the close behind the call, IOS-XR spins, EOS
loses its session's abort).

For example, every router polled, none longer than its limit::

    nr.run(task=bounded, work=get_bgp_state, name="poll")

:func:`run_bounded` is that as the runbooks run it, journaled, with Ctrl-C and SIGTERM
letting the routers under way end.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from nornir.core import Nornir
from nornir.core.inventory import Host
from nornir.core.task import AggregatedResult, MultiResult, Result, Task

from nornir_peering.errors import PeeringError
from nornir_peering.interrupt import STOPPING, Budget, budget, finishing
from nornir_peering.inventory.plugin import TOOLKIT_DATA
from nornir_peering.store import journal
from nornir_peering.store.runs import RunItem

DEFAULT_LIMIT = 600.0  # seconds, where the inventory says nothing (another plugin's)


class RouterTimeout(PeeringError):
    """A router's task ran past its time limit."""


class NotStarted(PeeringError):
    """The run was stopping: the router's task never started."""


def bounded(task: Task, *, work: Callable[..., Result], **kwargs: Any) -> Result:
    """``work(task, **kwargs)`` within the router's time limit (:func:`limit`); past it,
    the router fails with :class:`RouterTimeout` and its connections are closed. Once
    the run is stopping (:data:`~nornir_peering.interrupt.STOPPING`), nothing starts:
    :class:`NotStarted`."""
    if STOPPING.is_set():
        raise NotStarted("not started: the run was interrupted")
    seconds = limit(task.host)
    done: dict[str, Any] = {}
    given: list[Budget] = []
    ready = threading.Event()

    def run() -> None:
        with budget(seconds) as mine:
            given.append(mine)
            ready.set()
            try:
                done["result"] = work(task, **kwargs)
            except BaseException as exc:  # handed to Nornir's thread, which reports it
                done["error"] = exc

    thread = threading.Thread(target=run, name=f"{task.host.name}: {task.name}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        ready.wait()
        given[0].left_behind.set()
        _abandon(task.host)
        raise RouterTimeout(
            f"no end within {seconds:g} s (router_timeout): the router, or the way to it, "
            "answers too slowly; its task goes no further, but a commit it had sent may "
            "still land (the next run's diff shows what is still to do)"
        )
    if "error" in done:
        raise done["error"]
    result: Result = done["result"]
    return result


def limit(host: Host) -> float:
    """Seconds one run may spend on ``host``: its data's ``router_timeout``, else the
    setting's (which PeeringInventory records)."""
    own = host.get("router_timeout")
    if own:
        return float(own)
    toolkit = host.defaults.data.get(TOOLKIT_DATA) or {}
    return float(toolkit.get("router_timeout") or DEFAULT_LIMIT)


def _abandon(host: Host) -> None:
    """Take the host's connections off it (nothing else closes them under the task left
    behind) and shut down, in a thread of their own, those whose driver may be closed
    from another thread (BIRD's: the call under way fails at once)."""
    for name in list(host.connections):
        connection = host.connections.pop(name, None)
        device = getattr(connection, "connection", None)
        if getattr(device, "closes_from_any_thread", False):
            threading.Thread(target=_quietly_close, args=(device,), daemon=True).start()


def _quietly_close(device: Any) -> None:
    with contextlib.suppress(Exception):  # the task left behind reports nothing anyway
        device.close()


def run_bounded(
    nr: Nornir,
    name: str,
    work: Callable[..., Result],
    describe: Callable[[str, Result], RunItem],
    **kwargs: Any,
) -> AggregatedResult:
    """``work`` on every router of ``nr`` (failed ones too), each :func:`bounded`, as the
    task ``name``, journaled (:func:`journaled`); a first Ctrl-C or SIGTERM meanwhile
    lets the routers under way end (:func:`~nornir_peering.interrupt.finishing`). The
    routers' connections are closed after."""
    try:
        with finishing():
            return journaled(nr, name, describe).run(
                task=bounded, work=work, name=name, on_failed=True, **kwargs
            )
    finally:
        nr.close_connections(on_failed=True)


def journaled(nr: Nornir, name: str, describe: Callable[[str, Result], RunItem]) -> Nornir:
    """``nr`` writing each router's start and end of the task ``name`` to the running
    command's journal (:mod:`nornir_peering.store.journal`), its end as ``describe``
    says; ``nr`` itself when no journal is kept (an engineer's own script)."""
    kept = journal.current()
    if kept is None:
        return nr
    return nr.with_processors([_Journaling(kept, name, sorted(nr.inventory.hosts), describe)])


class _Journaling:
    """A Nornir processor writing the journal as routers start and end."""

    def __init__(
        self,
        kept: journal.Journal,
        name: str,
        routers: list[str],
        describe: Callable[[str, Result], RunItem],
    ) -> None:
        self.kept = kept
        self.name = name
        self.routers = routers
        self.describe = describe

    def task_started(self, task: Task) -> None:
        """The routers the task is to run on."""
        if task.name == self.name:
            self.kept.planned(self.routers)

    def task_completed(self, task: Task, result: AggregatedResult) -> None:
        """Nothing: routers are journaled one by one."""

    def task_instance_started(self, task: Task, host: Host) -> None:
        """The router's task has started."""
        if task.name == self.name and not STOPPING.is_set():
            self.kept.started(host.name)

    def task_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        """The router's task has ended, as ``describe`` says."""
        if task.name == self.name:
            self.kept.ended(self.describe(host.name, result[0]))

    def subtask_instance_started(self, task: Task, host: Host) -> None:
        """Nothing: subtasks are part of their router's task."""

    def subtask_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        """Nothing: subtasks are part of their router's task."""
