"""The public Nornir tasks: what an engineer's own ``nr.run(task=...)`` uses, and
what the runbooks (and so the CLI) run, one router per thread.

    from nornir import InitNornir
    from nornir.core.filter import F
    from nornir_utils.plugins.functions import print_result
    from nornir_peering.tasks import deploy_config, get_bgp_state

    nr = InitNornir(config_file="/srv/peering/config.yaml")   # inventory: PeeringInventory
    edges = nr.filter(F(groups__contains="edge"))
    print_result(edges.run(task=deploy_config, dry_run=True))   # every router's diff
    edges.run(task=deploy_config, dry_run=False)                # commit
    print_result(edges.run(task=get_bgp_state))

The hosts come from the ``PeeringInventory`` plugin, which records where the
templates are; a template, an ownership or a password error fails that host
before it is contacted, and the others carry on.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from pathlib import Path
from typing import Any

from jinja2.sandbox import SandboxedEnvironment
from nornir.core.exceptions import NornirSubTaskError
from nornir.core.task import Result, Task
from nornir_napalm.plugins.tasks import napalm_configure

from nornir_peering.deploy import (
    DeployRefused,
    commit_confirm_refusal,
    needs_running,
    plan_merge,
    rpl,
)
from nornir_peering.deploy.commit import (
    DEPLOY_OPTIONAL_ARGS,
    NO_EMPTY_COMMIT,
    SAVES_RUNNING,
    UNSAVED_COMMAND,
    unsaved_refusal,
)
from nornir_peering.deploy.exposure import unstripped
from nornir_peering.deploy.guard import RemovalGuard
from nornir_peering.deploy.replace import check_base, removed_stanzas
from nornir_peering.errors import PeeringError
from nornir_peering.interrupt import TimeUp, check_time, time_left
from nornir_peering.inventory.plugin import TOOLKIT_DATA
from nornir_peering.neighbors import match, neighbors
from nornir_peering.rendering import check_rpl, deploy_mode, owned_prefix, render_router
from nornir_peering.secrets import mask
from nornir_peering.secrets.logins import reveal_login
from nornir_peering.store import router_lock
from nornir_peering.templating import environment

__all__ = ["deploy_config", "deploy_rendered", "get_bgp_state", "render_config"]


def render_config(task: Task) -> Result:
    """The host's configuration, rendered from its template; nothing is contacted.

    ``Result.result`` is the text (``None`` for a router without a template). A
    template error fails the host with the template's name and line; so do a
    BIRD configuration ``bird -p`` rejects, and in merge mode (the default) a
    line nornir-peering does not own.

    For example::

        print_result(nr.run(task=render_config))
    """
    rendered = render_router(_templates(task), task.host)
    return Result(task.host, result=rendered.config if rendered.template else None)


def deploy_config(
    task: Task,
    *,
    dry_run: bool | None = None,
    commit_check: bool = True,
    revert_in: int | None = None,
    guard: RemovalGuard | None = None,
    allow_replace: bool = False,
    force: bool = False,
) -> Result:
    """Render, load, diff, and commit unless ``task.is_dry_run(dry_run)``.

    The candidate changes only what nornir-peering owns on the router (a merge,
    with the removals worked out from its running configuration), or the whole
    configuration when the router's own data (never a group's) says ``deploy: replace``:
    then a commit needs ``allow_replace`` too, and the guard refuses one that removes
    interfaces or top-level stanzas. A neighbor or group of ours that someone shut down
    or deactivated on the router, and the template does not, stays so (the result's note
    says which) unless ``force``.
    ``Result.diff`` is the router's own diff and ``Result.changed`` whether its
    configuration changes (would change, in a dry run), so ``print_result``
    shows every router's diff; ``Result.committed`` says whether it was
    committed. ``commit_check=False`` commits an empty diff too. ``revert_in``
    commits with an automatic revert and confirms once the router still answers
    (refused before anything is loaded where the platform cannot revert). With a
    ``guard``, the diff is taken first and a commit that would remove too many of the
    router's BGP sessions fails the router, with that diff, and nothing committed.

    For example::

        print_result(nr.run(task=deploy_config, dry_run=True))
    """
    host = task.host
    rendered = render_router(_templates(task), host)  # fails here, before any device
    if rendered.template is None:
        return Result(host, result="skipped: no template", committed=False, skipped=True)
    data = _toolkit_data(task)
    # one run at a time loads configuration onto a router; a dry run too, since it
    # loads a candidate (a configuration session, a lock on Junos)
    wait = time_left(float(data["lock_wait"]))  # within the router's time limit
    with router_lock(Path(str(data["state"])), host.name, min(float(data["lock_wait"]), wait)):
        check_time("loaded")  # the run went on without this router while it waited
        return deploy_rendered(
            task,
            rendered.config,
            dry_run=dry_run,
            commit_check=commit_check,
            revert_in=revert_in,
            guard=guard,
            allow_replace=allow_replace,
            force=force,
        )


def deploy_rendered(
    task: Task,
    config: str,
    *,
    dry_run: bool | None = None,
    commit_check: bool = True,
    revert_in: int | None = None,
    guard: RemovalGuard | None = None,
    allow_replace: bool = False,
    force: bool = False,
) -> Result:
    """:func:`deploy_config` for a configuration rendered elsewhere (a background job's):
    the same merge plan, diff, guard and commit, without the templates. One run at a
    time on the router is the caller's to keep (deploy_config holds a lock beside the
    state file; a worker, one in Redis). The guard counts ``host["sessions"]``.
    """
    host = task.host
    dry = task.is_dry_run(dry_run)
    if revert_in and not dry:
        refusal = commit_confirm_refusal(str(host.platform), revert_in)
        if refusal:
            raise DeployRefused(refusal)
    replace = deploy_mode(host) == "replace"
    if replace:
        check_base(str(host.platform), config)
        if not dry and not allow_replace:
            raise DeployRefused(
                "deploy: replace: the commit would replace the router's whole configuration; "
                "give --replace to do that (nothing was loaded)"
            )
    device = _connection(task, deploy=True)
    try:
        return _deploy(task, device, config, dry, commit_check, revert_in, guard, replace, force)
    finally:
        if str(host.platform) in DEPLOY_OPTIONAL_ARGS and "napalm" in host.connections:
            host.close_connection("napalm")  # it holds the router's lock until it closes


def get_bgp_state(task: Task) -> Result:
    """The host's BGP sessions as the router reports them, matched to ``host["sessions"]``.

    ``Result.result`` is a list of :class:`~nornir_peering.neighbors.SessionState`:
    each session the inventory wants (``not configured`` when the router lacks it),
    then each one the router has that the inventory does not know. Nothing is stored
    (the ``poll-bgp-sessions`` runbook stores them).

    For example::

        print_result(nr.run(task=get_bgp_state))
    """
    device = _connection(task)
    check_time("polled")
    found = neighbors(device)
    return Result(task.host, result=match(task.host.name, task.host["sessions"], found))


def _deploy(
    task: Task,
    device: Any,
    rendered: str,
    dry: bool,
    commit_check: bool,
    revert_in: int | None,
    guard: RemovalGuard | None,
    replace: bool,
    force: bool,
) -> Result:
    """deploy_config once the router is ours: plan the candidate, guard, load, commit."""
    host = task.host
    platform = str(host.platform)
    running = (
        str(device.get_config(retrieve="running")["running"])
        if replace or needs_running(platform)
        else ""
    )
    check_time("loaded")
    candidate, notes, held_back = rendered, [], []
    if replace:
        notes.append("deploy: replace: the whole configuration is replaced")
        held_back.append(RemovalGuard.stanza_refusal(removed_stanzas(platform, running, rendered)))
    else:
        plan = plan_merge(platform, rendered, running, owned_prefix(host), force=force)
        candidate = plan.config
        notes.append(plan.notes)
        notes.append(_exposure(platform, running, host))
        if platform in rpl.PLATFORMS:  # the operator's policy shares the router's budget
            theirs = rpl.count(running, skip_prefix=owned_prefix(host))
            ours = rpl.count(rendered)
            total = rpl.Usage(theirs.lines + ours.lines, theirs.policies + ours.policies)
            where = "the router's routing policy with ours"
            check_rpl(host, total, where, rpl.router_maximum(running))
    if platform in SAVES_RUNNING:
        diffs = device.cli([UNSAVED_COMMAND])[UNSAVED_COMMAND]
        held_back.append(unsaved_refusal(str(diffs)))
    refused = None if dry or force else next((r for r in held_back if r), None)
    if dry:
        diff, committed = _preview(task, candidate, replace), False
        notes += [f"a commit would be refused: {r}" for r in held_back if r]
        if replace:
            notes.append("a commit needs --replace")
    else:
        try:
            diff, refused, committed = _commit(
                device,
                candidate,
                replace,
                commit_check or platform in NO_EMPTY_COMMIT,
                revert_in,
                guard,
                len(host["sessions"]),
                refused,
            )
        except CommitFailed as exc:  # the diff it was to commit goes to the run log too
            why = "; ".join(n for n in (_driver_note(device), str(exc.__cause__)) if n)
            return Result(
                host,
                result="commit failed",
                diff=mask(exc.diff),
                changed=False,
                failed=True,
                committed=False,
                exception=PeeringError(mask(why)),
            )
    notes.insert(0, _driver_note(device))
    diff = mask(diff)  # from here on the diff is shown, stored, sent back: no secret in it
    note = "; ".join(n for n in notes if n)
    if refused:
        return Result(
            host,
            result="refused",
            diff=diff,
            changed=False,
            failed=True,
            committed=False,
            note=refused,
        )
    if committed and revert_in:
        if not _answers(device):
            return Result(
                host,
                result="committed, not confirmed",
                diff=diff,
                changed=True,
                failed=True,
                committed=True,
                note=f"no answer after the commit: left unconfirmed, the router reverts in "
                f"{revert_in}s",
            )
        # the driver's own confirm, whatever a global dry run says (the commit did not
        # follow it) and whether or not the driver sees the commit pending (NAPALM's Junos
        # driver reads it from the last commit's comment; a miss would leave it to revert)
        device.confirm_commit()
    result = "committed" if committed else ("dry run" if dry else "nothing to commit")
    return Result(
        host, result=result, diff=diff, changed=bool(diff), committed=committed, note=note
    )


def _exposure(platform: str, running: str, host: Any) -> str:
    """A note naming the operator's eBGP neighbors whose import keeps our customer tag."""
    asn = int(host["local_as"]["asn"])
    exposed = unstripped(platform, running, owned_prefix(host), asn)
    if not exposed:
        return ""
    return (
        f"eBGP neighbors outside nornir-peering whose import keeps our communities (a route "
        f"they pass on tagged {asn}:0:1 inside a customer's IRR list would be exported to "
        f"peers and transits; strip {asn}:*:* on their import): {', '.join(exposed)}"
    )


def _preview(task: Task, candidate: str, replace: bool) -> str:
    """The router's diff for ``candidate``: nornir_napalm's napalm_configure as a dry run
    (load, compare, discard); a failure leaves nothing loaded on the router."""
    try:
        done = task.run(
            task=napalm_configure,
            configuration=candidate,
            replace=replace,
            dry_run=True,
            severity_level=logging.DEBUG,  # the diff is shown once, by deploy_config's result
        )
    except NornirSubTaskError as exc:
        task.host.get_connection("napalm", task.nornir.config).discard_config()
        raise exc.result[0].exception or exc from None
    return str(done[0].diff)


def _commit(
    device: Any,
    candidate: str,
    replace: bool,
    commit_check: bool,
    revert_in: int | None,
    guard: RemovalGuard | None,
    sessions: int,
    refused: str | None,
) -> tuple[str, str | None, bool]:
    """Load, compare, and commit unless the diff is empty (and ``commit_check``), the
    commit was ``refused`` already (for what the router holds) or the guard refuses it
    (``sessions``: the router's once committed): ``(diff, refusal, committed)``. A failure
    or a refusal discards the candidate.

    This is nornir_napalm's napalm_configure with a decision between compare_config and
    commit_config: napalm_configure commits as soon as it has compared, so neither the
    guard nor ``--no-commit-check`` (which commits an empty diff) fits inside it, and
    loading a second candidate just to look at it would lock the router twice.
    """
    load = device.load_replace_candidate if replace else device.load_merge_candidate
    try:
        load(config=candidate)
        diff = str(device.compare_config())
        refusal = refused or (guard.refusal(diff, sessions) if guard is not None else None)
        if refusal or (commit_check and not diff):
            device.discard_config()
            return diff, refusal, False
    except BaseException:
        device.discard_config()
        raise
    try:
        check_time("committed")
        device.commit_config(**({"revert_in": revert_in} if revert_in else {}))
    except BaseException as exc:
        device.discard_config()
        if isinstance(exc, Exception) and not isinstance(exc, TimeUp):
            raise CommitFailed(diff) from exc  # the router's refusal, with what it refused
        raise
    return diff, None, True


class CommitFailed(Exception):
    """The router did not take a commit whose ``diff`` was worked out (its cause says
    why)."""

    def __init__(self, diff: str) -> None:
        super().__init__("the commit failed")
        self.diff = diff


def _driver_note(device: Any) -> str:
    """What the driver found of a commit cut off on the router, and did about it (the
    BIRD driver's :attr:`~nornir_peering.drivers.bird.BirdDriver.interrupted_commit`)."""
    return str(getattr(device, "interrupted_commit", None) or "")


def _connection(task: Task, *, deploy: bool = False) -> Any:
    """The host's NAPALM connection, its login password revealed first if a reference; for
    a deploy, opened with the platform's options in
    :data:`~nornir_peering.deploy.commit.DEPLOY_OPTIONAL_ARGS` (Junos, IOS-XR: the
    configuration lock held from open to close)."""
    host = task.host
    reveal_login(host)
    extra = DEPLOY_OPTIONAL_ARGS.get(str(host.platform)) if deploy else None
    if extra:
        if "napalm" in host.connections:  # opened by another task, without the lock
            host.close_connection("napalm")
        extras = dict(host.get_connection_parameters("napalm").extras or {})
        extras["optional_args"] = {**(extras.get("optional_args") or {}), **extra}
        host.open_connection("napalm", task.nornir.config, extras=extras)
    device = host.get_connection("napalm", task.nornir.config)
    try:
        check_time("connected")  # its run left it behind while it connected: let go
    except TimeUp:
        with contextlib.suppress(Exception):
            host.close_connection("napalm")
        raise
    return device


def _answers(device: Any) -> bool:
    """Whether the router still answers after a commit, before it is confirmed."""
    try:
        return bool(device.is_alive().get("is_alive")) and bool(device.get_facts())
    except Exception:
        return False


def _templates(task: Task) -> SandboxedEnvironment:
    """The sandboxed environment of the templates folder PeeringInventory recorded."""
    return _environment(str(_toolkit_data(task)["templates"]))


def _toolkit_data(task: Task) -> dict[str, Any]:
    """What PeeringInventory recorded for the tasks: templates, state file, lock wait."""
    data = task.host.get(TOOLKIT_DATA)
    if not isinstance(data, dict) or not data.get("templates"):
        raise DeployRefused(
            f"{task.host.name}: no nornir-peering data: load the inventory with the "
            "PeeringInventory plugin"
        )
    return data


@functools.lru_cache(maxsize=8)
def _environment(templates: str) -> SandboxedEnvironment:
    """One environment per templates folder (Jinja2 reloads a template that changed)."""
    return environment(Path(templates))
