"""Deploying only what nornir-peering owns on a router.

The ownership rule: on Junos, IOS-XR, EOS and FRR, nornir-peering owns the
objects whose names start with the router's owned prefix (``NP_`` unless
its data says ``owned_prefix``): BGP groups (Junos groups, IOS-XR
neighbor-groups, EOS and FRR peer groups), route-maps and route-policies,
prefix lists and sets, community and AS-path lists; and the BGP neighbors in
those groups. A commit changes only those: it merges the rendered objects,
and removes the objects of ours that are no longer wanted, working out what
to remove from the router's running configuration. A template that renders
anything else is refused before the router is contacted. On BIRD it owns
the include file the driver manages.

A router whose data says ``deploy: replace`` gets NAPALM's replace instead:
its template renders the whole configuration, and whatever it does not
render is removed.
"""

from __future__ import annotations

from nornir_peering.deploy import cisco, junos
from nornir_peering.deploy.cisco import MergePlan
from nornir_peering.deploy.commit import commit_confirm_refusal
from nornir_peering.deploy.errors import DeployRefused, OwnershipError

__all__ = [
    "OWNED_PREFIX",
    "DeployRefused",
    "MergePlan",
    "OwnershipError",
    "check_rendered",
    "commit_confirm_refusal",
    "needs_running",
    "plan_merge",
]

OWNED_PREFIX = "NP_"
MANAGED_FILE = frozenset({"bird"})  # the driver owns one file: the candidate is all of it
MERGE_PLATFORMS = ("bird", "junos", *sorted(cisco.DIALECTS))


def needs_running(platform: str) -> bool:
    """Whether the merge candidate depends on the router's running configuration."""
    return platform not in MANAGED_FILE


def check_rendered(platform: str, rendered: str, prefix: str) -> None:
    """Refuse a rendered configuration that holds anything not ours, without a router."""
    if platform in MANAGED_FILE:
        return
    if platform == "junos":
        list(junos.owned_objects(junos.parse(rendered), prefix, strict=True))
    elif platform in cisco.DIALECTS:
        cisco.check_rendered(rendered, cisco.DIALECTS[platform], prefix)
    else:
        raise DeployRefused(
            f"platform {platform!r}: nornir-peering knows what it owns only on "
            f"{', '.join(MERGE_PLATFORMS)}; a template that renders the whole configuration "
            "can be deployed with 'deploy: replace' in the router's data"
        )


def plan_merge(
    platform: str, rendered: str, running: str, prefix: str, *, force: bool = False
) -> MergePlan:
    """The merge candidate for ``platform``: ours as rendered, the rest untouched; a
    neighbor of ours that was shut down on the router stays so, unless ``force``."""
    if platform in MANAGED_FILE:
        return MergePlan(rendered, ())
    if platform == "junos":
        return junos.plan_merge(rendered, running, prefix, force=force)
    check_rendered(platform, rendered, prefix)
    return cisco.plan_merge(cisco.DIALECTS[platform], rendered, running, prefix, force=force)
