"""``configure-routers``: render, load, diff and — only when asked — commit.

Per router, in parallel (Nornir's threaded runner), the task
:func:`~nornir_peering.tasks.deploy_config`: render the template
(a template error, a BIRD syntax error or a stanza nornir-peering does not
own fails the router before it is contacted), connect with NAPALM, load the
candidate, compare. The candidate is a merge of nornir-peering's own objects,
with the removal of those no longer wanted worked out from the router's
running configuration (:mod:`nornir_peering.deploy`); NAPALM's replace only
for a router whose own data says ``deploy: replace``, and then a commit needs
``replace=True`` too. A dry run discards the candidate. ``commit`` commits
routers whose diff is not empty (all of them with ``commit_check=False``);
``confirm=N`` commits with an automatic revert after N seconds and confirms
only once the router still answers, and is refused before anything is loaded
on a platform that cannot revert.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nornir.core import Nornir
from nornir.core.task import Result

from nornir_peering.deploy.guard import RemovalGuard
from nornir_peering.errors import StateBusy
from nornir_peering.inventory import Problem, Selection
from nornir_peering.jobs import payload
from nornir_peering.jobs.batch import Background, Batch, JobEnd
from nornir_peering.jobs.queue import submit
from nornir_peering.runbooks.bounded import NotStarted, run_bounded
from nornir_peering.runbooks.fleet import (
    failure,
    nornir_for,
    problems,
    settings_of,
    toolkit_data,
)
from nornir_peering.settings import Settings
from nornir_peering.store import router_lock
from nornir_peering.store.journal import NOT_STARTED
from nornir_peering.store.runs import RunItem
from nornir_peering.tasks import deploy_config, render_config


@dataclass
class RouterOutcome:
    """What ``configure-routers`` did on one router."""

    router: str
    status: str  # changed, unchanged, skipped, failed or not started (the run was stopped)
    diff: str = ""
    committed: bool = False
    note: str = ""
    busy: bool = False  # failed: another run was deploying to the router

    @property
    def added(self) -> int:
        """Lines the diff adds."""
        return sum(
            1
            for line in self.diff.splitlines()
            if line.startswith("+") and not line.startswith("+++")
        )

    @property
    def removed(self) -> int:
        """Lines the diff removes."""
        return sum(
            1
            for line in self.diff.splitlines()
            if line.startswith("-") and not line.startswith("---")
        )

    def as_dict(self) -> dict[str, Any]:
        """The outcome as ``--json`` prints it."""
        return {
            "router": self.router,
            "status": self.status,
            "committed": self.committed,
            "added": self.added,
            "removed": self.removed,
            "diff": self.diff,
            "note": self.note,
        }


@dataclass
class ConfigureReport:
    """Every router's outcome, and the drift found loading the inventory."""

    commit: bool
    routers: list[RouterOutcome] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    batch: Batch | None = None  # the jobs, when enqueued with --tasks --no-wait

    @property
    def failed(self) -> list[str]:
        """The routers that failed."""
        return [r.router for r in self.routers if r.status == "failed"]

    @property
    def summary(self) -> str:
        """One line: ``commit: 2 changed (2 committed), 1 unchanged``."""
        counts: dict[str, int] = {}
        for router in self.routers:
            counts[router.status] = counts.get(router.status, 0) + 1
        committed = sum(r.committed for r in self.routers)
        parts = [
            f"{counts[s]} {s}" + (f" ({committed} committed)" if s == "changed" else "")
            for s in ("changed", "unchanged", "skipped", "failed", NOT_STARTED)
            if counts.get(s)
        ]
        if self.batch is not None and not self.routers:
            return f"enqueued {len(self.batch.items)} jobs as batch {self.batch.id}"
        return ("commit: " if self.commit else "dry run: ") + (", ".join(parts) or "no router")

    @property
    def exit_code(self) -> int:
        """0; 1 if a router failed; 75 (the state file's busy code) if every router that
        failed did so because another run was deploying to it: try again later."""
        failed = [r for r in self.routers if r.status == "failed"]
        if not failed:
            return 0
        return StateBusy.exit_code if all(r.busy for r in failed) else 1


def configure_routers(
    target: Nornir | Settings,
    selection: Selection | None = None,
    *,
    commit: bool = False,
    commit_check: bool = True,
    confirm: int | None = None,
    force: bool = False,
    replace: bool = False,
    background: Background | None = None,
) -> ConfigureReport:
    """Run :func:`~nornir_peering.tasks.deploy_config` on every router of ``target`` (an
    engineer's Nornir object, or the settings and the command line's selection), in
    parallel; a dry run unless ``commit``. A commit that would remove more of a router's
    BGP sessions than ``max_removed_sessions`` or ``max_removed_share`` allow fails that
    router, and a neighbor shut down on the router by hand stays so, unless ``force``; a
    commit that replaces a router's whole configuration (``deploy: replace`` in its data)
    fails it unless ``replace``. With ``background``, each
    router is rendered here and deployed by an RQ worker
    (:func:`~nornir_peering.tasks.deploy_rendered`)."""
    nr = nornir_for(target, selection)
    guard = None
    if commit and not force:
        peering = (target if isinstance(target, Settings) else settings_of(nr)).peering
        guard = RemovalGuard(peering.max_removed_sessions, peering.max_removed_share)
    if background is not None:
        return _in_background(nr, background, commit, commit_check, confirm, guard, replace, force)
    results = run_bounded(
        nr,
        "configure-routers",
        deploy_config,
        _item,
        dry_run=not commit,
        commit_check=commit_check,
        revert_in=confirm,
        guard=guard,
        allow_replace=replace,
        force=force,
    )
    report = ConfigureReport(commit=commit, problems=problems(nr))
    report.routers = [outcome(name, results[name][0]) for name in sorted(results)]
    return report


def outcome(router: str, first: Result) -> RouterOutcome:
    """A router's outcome from the result of ``deploy_config`` or ``deploy_rendered``."""
    committed = bool(getattr(first, "committed", False))
    if isinstance(first.exception, NotStarted):
        return RouterOutcome(router, NOT_STARTED, note=str(first.exception))
    if first.failed:
        busy = isinstance(first.exception, StateBusy)
        return RouterOutcome(router, "failed", first.diff, committed, failure(first), busy)
    if getattr(first, "skipped", False):
        return RouterOutcome(router, "skipped", note="no template")
    status = "changed" if first.diff else "unchanged"
    return RouterOutcome(router, status, first.diff, committed, str(getattr(first, "note", "")))


def _item(router: str, first: Result) -> RunItem:
    """A router's outcome as the run's journal keeps it."""
    done = outcome(router, first)
    return RunItem(done.router, done.status, done.committed, done.diff, done.note)


def outcomes(ends: dict[str, JobEnd]) -> list[RouterOutcome]:
    """The routers' outcomes from their jobs' ends (a job that failed fails its router)."""
    found = []
    for router in sorted(ends):
        end = ends[router]
        if end.ok:
            found.append(RouterOutcome(**end.value))
        else:
            found.append(RouterOutcome(router, "failed", note=f"job {end.job_id}: {end.error}"))
    return found


def _in_background(
    nr: Nornir,
    background: Background,
    commit: bool,
    commit_check: bool,
    confirm: int | None,
    guard: RemovalGuard | None,
    replace: bool,
    force: bool,
) -> ConfigureReport:
    """Render here, deploy on the workers: one job per router with a configuration."""
    report = ConfigureReport(commit=commit, problems=problems(nr))
    rendered = nr.run(task=render_config, name="render", on_failed=True)
    data = toolkit_data(nr.inventory)
    jobs = {}
    for name in sorted(rendered):
        first = rendered[name][0]
        if first.failed:
            report.routers.append(RouterOutcome(name, "failed", note=failure(first)))
        elif first.result is None:
            report.routers.append(RouterOutcome(name, "skipped", note="no template"))
        else:
            jobs[name] = (
                "deploy",
                {
                    "router": payload.router(nr.inventory.hosts[name]),
                    "config": first.result,
                    "dry_run": not commit,
                    "commit_check": commit_check,
                    "revert_in": confirm,
                    "guard": [guard.max_sessions, guard.max_share] if guard else None,
                    "allow_replace": replace,
                    "force": force,
                    "lock_wait": float(data["lock_wait"]),
                    "timeout": background.timeout,
                },
            )
    with ExitStack() as locks:
        if background.wait:
            # this machine's runs keep off the routers while the workers deploy to them
            state, lock_wait = Path(str(data["state"])), float(data["lock_wait"])
            for name in list(jobs):
                try:
                    locks.enter_context(router_lock(state, name, lock_wait))
                except StateBusy as exc:
                    del jobs[name]
                    report.routers.append(RouterOutcome(name, "failed", note=str(exc), busy=True))
        submitted = submit(background, "configure", jobs, meta={"commit": commit})
    if submitted.ends is None:
        report.batch = submitted.batch
        return report
    report.routers.extend(outcomes(submitted.ends))
    submitted.collected()
    report.routers.sort(key=lambda r: r.router)
    return report
