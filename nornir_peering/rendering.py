"""A router's configuration: its template's context, rendering, and the checks
made before anything is contacted (BIRD's ``bird -p``, the ownership rule).

Nothing here contacts a router: a template error or a BIRD syntax error
fails that router before any device is touched.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from jinja2.sandbox import SandboxedEnvironment
from nornir.core.inventory import Host

from nornir_peering.deploy import OWNED_PREFIX, DeployRefused, check_rendered, rpl
from nornir_peering.deploy.replace import check_base
from nornir_peering.errors import PeeringError
from nornir_peering.inventory.plugin import TOOLKIT_DATA
from nornir_peering.secrets import mask, reveal
from nornir_peering.settings import PREFIX_LIST_LIMITS
from nornir_peering.templating import render_template
from nornir_peering.templating.filters import prefix_list


class ConfigRejected(PeeringError):
    """The rendered configuration is not valid for the platform."""


@dataclass(frozen=True)
class Rendered:
    """A router's rendered configuration."""

    host: str
    template: str | None  # None: the router has no template and is skipped
    config: str = ""


class RouterContext(TypedDict):
    """``router`` in a template: the router being rendered."""

    name: str  #: its name in ``hosts.yaml``
    hostname: str | None  #: the address or name NAPALM connects to
    platform: str | None  #: ``bird``, ``frr``, ``junos``, ``iosxr``, ``eos``, ...
    local_asn: int  #: its ``local_asn``, else the local AS's
    router_id: str | None  #: its ``router_id``
    deploy: str  #: ``merge`` (only nornir-peering's objects change) or ``replace``
    owned_prefix: str  #: the prefix of the objects nornir-peering owns (``NP_``)
    vars: dict[str, Any]  #: the router's free-form ``vars``


class TemplateContext(TypedDict):
    """What a template receives: plain data from the inventory, never database handles.

    Part of the template interface: keys are added, never renamed or removed, without a
    note in the changelog.
    """

    router: RouterContext  #: the router being rendered
    #: ``local_as`` of ``peering.yaml``: ``asn``, ``name``, ``as_set``,
    #: ``max_prefix_headroom``, ``prefixes4``, ``prefixes6``
    local_as: dict[str, Any]
    #: the router's sessions (:class:`~nornir_peering.inventory.session.Session`), sorted;
    #: each ``password`` as text (a reference is revealed for this router before its
    #: template runs)
    sessions: list[Any]
    #: the router's IX ports (:class:`~nornir_peering.inventory.session.Connection`)
    connections: list[Any]
    #: name → ``description``, ``communities`` (names), ``local_pref``, ``med``,
    #: ``prepend``, ``vars``
    policies: dict[str, Any]
    #: name → value (``64500:100``, ``64500:0:300``, ``rt 64500:1``)
    communities: dict[str, str]
    #: every customer's stored IRR list, whatever router it is on: ``asn``, ``family``,
    #: ``prefixes``, ``asns`` (a customer's routes reach the other routers over iBGP, and
    #: every router's exports take them inside these)
    customer_lists: list[dict[str, Any]]


def context(host: Host) -> TemplateContext:
    """What a template receives: plain data from the inventory, nothing else."""
    return {
        "router": {
            "name": host.name,
            "hostname": host.hostname,
            "platform": host.platform,
            "local_asn": host.get("local_asn") or host["local_as"]["asn"],
            "router_id": host.get("router_id"),
            "deploy": deploy_mode(host),
            "owned_prefix": owned_prefix(host),
            "vars": dict(host.get("vars") or {}),
        },
        "local_as": host["local_as"],
        "sessions": revealed(host["sessions"]),
        "connections": host["connections"],
        "policies": host["policies"],
        "communities": host["communities"],
        "customer_lists": list(host.get("customer_lists") or []),
    }


def revealed(sessions: list[Any]) -> list[Any]:
    """``sessions`` with each password as text: a reference (``{env: NAME}``,
    ``{file: PATH}``) is resolved now, for this router only; one that gives no text
    fails the router, naming the session and the reference."""
    shown = []
    for session in sessions:
        password = session.get("password")
        if password is not None and not isinstance(password, str):
            who = f"AS{session['remote_asn']} {session['remote_address']}'s password"
            session = {**session, "password": reveal(password, who)}
        shown.append(session)
    return shown


def deploy_mode(host: Host) -> str:
    """``merge`` (only nornir-peering's objects change) or ``replace`` (the whole
    configuration): the router's own data only, never a group's or the defaults' (one line
    there would switch every router of the group to replacing its whole configuration)."""
    return str(host.data.get("deploy") or "merge")


def owned_prefix(host: Host) -> str:
    """The prefix of the names of the objects nornir-peering owns on the router (``NP_``)."""
    return str(host.get("owned_prefix") or OWNED_PREFIX)


def render_router(env: SandboxedEnvironment, host: Host) -> Rendered:
    """The router's configuration, checked: BIRD's with ``bird -p``, and in merge mode,
    that it holds only objects nornir-peering owns. Nothing here contacts the router."""
    template = host.get("template")
    if not template:
        return Rendered(host.name, None)
    if host.platform not in rpl.PLATFORMS:
        check_list_lengths(host)
    config = render_template(env, str(template), dict(context(host)))
    if host.platform == "bird":
        check_bird(config)
    if host.platform in rpl.PLATFORMS:
        check_rpl(host, rpl.count(config), "the rendered routing policy")
    try:
        if deploy_mode(host) == "merge":
            check_rendered(str(host.platform), config, owned_prefix(host))
        else:
            check_base(str(host.platform), config)
    except DeployRefused as exc:
        raise DeployRefused(f"{template}: {exc}") from None
    return Rendered(host.name, str(template), config)


def prefix_list_limit(host: Host) -> int | None:
    """The most entries one IRR list may have on ``host`` (on IOS-XR: the most lines of
    routing policy it holds in all): its own ``prefix_list_limit``, else its platform's
    (the ``prefix_list_limits`` setting, :data:`PREFIX_LIST_LIMITS`)."""
    own = host.get("prefix_list_limit")
    if own:
        return int(own)
    toolkit = host.get(TOOLKIT_DATA) or {}
    limits = toolkit.get("prefix_list_limits") or PREFIX_LIST_LIMITS
    found = limits.get(host.platform or "")
    return int(found) if found else None


def check_list_lengths(host: Host) -> None:
    """Fail the router, before its template runs, if an IRR list of one of its sessions is
    longer than the platform holds: a truncated filter would drop a peer's routes."""
    limit = prefix_list_limit(host)
    if limit is None:
        return
    seen: set[tuple[int, int]] = set()
    for session in host.get("sessions") or []:
        key = (session["remote_asn"], session["family"])
        if key in seen or not session.get("prefix_list"):
            continue
        seen.add(key)
        count = len(prefix_list(session))
        if count > limit:
            raise ConfigRejected(
                f"AS{key[0]}'s IPv{key[1]} IRR list has {count} entries, more than the "
                f"{limit} one list may have on {host.platform} (prefix_list_limit in the "
                "router's data, prefix_list_limits in config.yaml); nothing was deployed"
            )


def check_bird(config: str) -> None:
    """Parse ``config`` with BIRD itself (``bird -p``), as an include of a minimal bird.conf.

    An error shows BIRD's message and the failing line in context.
    """
    with tempfile.TemporaryDirectory(prefix="nornir-peering-bird-") as tmp:
        include = Path(tmp) / "peering.conf"
        include.write_text(config)
        main = Path(tmp) / "bird.conf"
        main.write_text(f'router id 127.0.0.1;\nprotocol device {{}}\ninclude "{include}";\n')
        try:
            checked = subprocess.run(
                ["bird", "-p", "-c", str(main)], capture_output=True, text=True, timeout=60
            )
        except FileNotFoundError:
            raise ConfigRejected(
                "cannot check the BIRD configuration: bird is not installed (Debian package bird2)"
            ) from None
    if checked.returncode == 0:
        return
    message = (checked.stderr or checked.stdout).strip().splitlines()[-1:] or ["bird -p failed"]
    raise ConfigRejected(
        f"BIRD rejects the rendered configuration: {message[0]}{_context(config, message[0])}"
    )


def _context(config: str, message: str) -> str:
    """The lines around the one BIRD names (``peering.conf:12:3``)."""
    found = re.search(r"peering\.conf:(\d+)", message)
    if not found:
        return ""
    number = int(found.group(1))
    lines = config.splitlines()
    shown = [
        f"{'>' if n == number else ' '} {n:4} | {mask(lines[n - 1])}"
        for n in range(max(1, number - 2), min(len(lines), number + 2) + 1)
    ]
    return "\n" + "\n".join(shown)


def check_rpl(
    host: Host,
    usage: rpl.Usage,
    what: str,
    maximum: tuple[int | None, int | None] = (None, None),
) -> None:
    """Fail an IOS-XR router whose routing policy would hold more lines or route-policies
    than it takes (every route-policy and set together: ``usage``, counted in ``what``):
    the router's own ``rpl maximum`` (``maximum``) where it sets one, else its
    ``prefix_list_limit`` and 5,000 policies. The router would refuse the commit."""
    lines = maximum[0] or prefix_list_limit(host)
    policies = maximum[1] or rpl.DEFAULT_POLICIES
    where = (
        "the router's rpl maximum"
        if maximum != (None, None)
        else "rpl maximum; prefix_list_limit in the router's data, prefix_list_limits in "
        "config.yaml"
    )
    if lines is not None and usage.lines > lines:
        raise ConfigRejected(
            f"{what} has {usage.lines} lines, more than the {lines} lines of routing policy "
            f"{host.platform} holds in all ({where}); nothing was deployed"
        )
    if usage.policies > policies:
        raise ConfigRejected(
            f"{what} has {usage.policies} route-policies, more than the {policies} "
            f"{host.platform} holds ({where}); nothing was deployed"
        )
