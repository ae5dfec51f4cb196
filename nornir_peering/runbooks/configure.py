"""``configure-routers``: render, load, diff and — only when asked — commit.

Per router, in parallel (Nornir's threaded runner): render the template
(a template error, a BIRD syntax error or a stanza nornir-peering does not
own fails the router before it is contacted), connect with NAPALM, load the
candidate, compare. The candidate is a merge of nornir-peering's own objects,
with the removal of those no longer wanted worked out from the router's
running configuration (:mod:`nornir_peering.deploy`); NAPALM's replace only
for a router whose data says ``deploy: replace``. A dry run discards the
candidate. ``commit`` commits routers whose diff is not empty (all of them
with ``commit_check=False``); ``confirm=N`` commits with an automatic revert
after N seconds and confirms only once the router still answers, and is
refused before anything is loaded on a platform that cannot revert.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jinja2.sandbox import SandboxedEnvironment
from nornir.core.task import Result, Task

from nornir_peering.deploy import DeployRefused, commit_confirm_refusal, needs_running, plan_merge
from nornir_peering.inventory import Problem, Selection
from nornir_peering.runbooks.fleet import fleet
from nornir_peering.runbooks.render import deploy_mode, owned_prefix, render_host
from nornir_peering.settings import Settings
from nornir_peering.templating import environment


@dataclass
class RouterOutcome:
    router: str
    status: str  # changed, unchanged, skipped or failed
    diff: str = ""
    committed: bool = False
    note: str = ""

    @property
    def added(self) -> int:
        return sum(
            1
            for line in self.diff.splitlines()
            if line.startswith("+") and not line.startswith("+++")
        )

    @property
    def removed(self) -> int:
        return sum(
            1
            for line in self.diff.splitlines()
            if line.startswith("-") and not line.startswith("---")
        )

    def as_dict(self) -> dict[str, Any]:
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
    commit: bool
    routers: list[RouterOutcome] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        return [r.router for r in self.routers if r.status == "failed"]


def configure_routers(
    settings: Settings,
    selection: Selection,
    *,
    commit: bool = False,
    commit_check: bool = True,
    confirm: int | None = None,
) -> ConfigureReport:
    selected = fleet(settings, selection)
    env = environment(settings.peering.templates)
    try:
        results = selected.nornir.run(
            task=_configure,
            name="configure-routers",
            env=env,
            commit=commit,
            commit_check=commit_check,
            confirm=confirm,
            on_failed=True,
        )
    finally:
        selected.nornir.close_connections(on_failed=True)
    report = ConfigureReport(commit=commit, problems=selected.problems)
    for name in sorted(results):
        first = results[name][0]
        if isinstance(first.result, RouterOutcome):
            report.routers.append(first.result)
        else:  # the task raised: the message says what failed
            report.routers.append(RouterOutcome(name, "failed", note=_message(first.exception)))
    return report


def _configure(
    task: Task, env: SandboxedEnvironment, commit: bool, commit_check: bool, confirm: int | None
) -> Result:
    host = task.host
    rendered = render_host(env, host)  # raises before any device is contacted
    if rendered.template is None:
        return Result(host, result=RouterOutcome(host.name, "skipped", note="no template"))
    if confirm:
        refusal = commit_confirm_refusal(str(host.platform), confirm)
        if refusal:
            raise DeployRefused(refusal)
    device = host.get_connection("napalm", task.nornir.config)
    note = ""
    if deploy_mode(host) == "replace":
        device.load_replace_candidate(config=rendered.config)
    else:
        platform = str(host.platform)
        running = ""
        if needs_running(platform):
            running = device.get_config(retrieve="running")["running"]
        plan = plan_merge(platform, rendered.config, running, owned_prefix(host))
        if plan.kept:
            note = "kept, no longer wanted: " + "; ".join(plan.kept)
        device.load_merge_candidate(config=plan.config)
    try:
        diff = device.compare_config()
        status = "changed" if diff else "unchanged"
        if not commit or (not diff and commit_check):
            device.discard_config()
            return Result(host, result=RouterOutcome(host.name, status, diff, note=note))
        if confirm:
            device.commit_config(revert_in=confirm)
            if not _answers(device):
                return Result(
                    host,
                    failed=True,
                    result=RouterOutcome(
                        host.name,
                        "failed",
                        diff,
                        note=f"no answer after the commit: left unconfirmed, the router reverts "
                        f"in {confirm}s",
                    ),
                )
            device.confirm_commit()
        else:
            device.commit_config()
    except BaseException:
        device.discard_config()
        raise
    return Result(
        host, changed=bool(diff), result=RouterOutcome(host.name, status, diff, True, note)
    )


def _answers(device: Any) -> bool:
    """Whether the router still answers after a commit, before it is confirmed."""
    try:
        return bool(device.is_alive().get("is_alive")) and bool(device.get_facts())
    except Exception:
        return False


def _message(exc: BaseException | None) -> str:
    if exc is None:
        return "failed"
    return str(exc).strip() or type(exc).__name__
