"""IOS-XR's routing policy budget: every route-policy and set of a router together.

IOS-XR limits routing policy router-wide, not per list: ``rpl maximum lines`` ("Maximum
lines of configuration allowable for all policies and sets") and ``rpl maximum
policies``, 131,072 lines and 5,000 policies unless configured (Cisco's YANG models,
``Cisco-IOS-XR-policy-repository-cfg`` ``limits``, and ``-oper`` ``RPL-MAX-LIMITS-INFO``).
A line is every line the user enters, "including the beginning and ending statements"
(Cisco, "Routing Policy Language Line and Policy Limits"). A commit past either is
refused by the router, so nornir-peering counts first: its own policy at render, and
with the operator's at deploy, against the router's own ``rpl maximum`` when it sets one.

>>> used = count("prefix-set NP_A\\n  192.0.2.0/24\\nend-set\\n"
...              "route-policy X($a, $b)\\n  # why\\n  pass\\nend-policy\\n")
>>> used.lines, used.policies
(7, 1)
>>> count("route-policy NP_P\\n  pass\\nend-policy\\n", skip_prefix="NP_").lines
0
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PLATFORMS = frozenset({"iosxr", "iosxr_netconf"})
DEFAULT_POLICIES = 5_000  # rpl maximum policies, unless configured

# an object of the routing policy language, at the start of a line: a route-policy (with
# parameters or not), any kind of set (prefix-set, community-set, extcommunity-set rt, ...)
_START = re.compile(r"^(?:(?P<policy>route-policy)|policy-global|[a-z][a-z0-9-]*-set)(?: |$)")
_ENDS = frozenset({"end-policy", "end-set", "end-global"})
_MAXIMUM = re.compile(r"^rpl maximum (?P<what>lines|policies) (?P<value>\d+)\s*$", re.M)


@dataclass(frozen=True)
class Usage:
    """What a configuration holds of routing policy."""

    lines: int
    policies: int


def count(config: str, *, skip_prefix: str | None = None) -> Usage:
    """The lines and route-policies of IOS-XR routing policy in ``config``, without the
    objects whose names start with ``skip_prefix``."""
    lines = policies = 0
    inside, skip, length = False, False, 0
    for raw in config.splitlines():
        text = raw.strip()
        if not inside:
            found = _START.match(raw)
            if not found:
                continue
            words = text.split()
            name = (words[1] if found["policy"] else words[-1]) if len(words) > 1 else ""
            skip = bool(skip_prefix) and name.split("(")[0].startswith(str(skip_prefix))
            inside, length = text not in _ENDS, 1
            if not skip and found["policy"]:
                policies += 1
            if not inside and not skip:  # policy-global on one line
                lines += 1
            continue
        if text:
            length += 1
        if text in _ENDS:
            inside = False
            lines += 0 if skip else length
    return Usage(lines, policies)


def router_maximum(running: str) -> tuple[int | None, int | None]:
    """The router's own ``rpl maximum lines`` and ``rpl maximum policies``, where set.

    >>> router_maximum("rpl maximum lines 200000\\nhostname r1\\n")
    (200000, None)
    """
    found = {m["what"]: int(m["value"]) for m in _MAXIMUM.finditer(running)}
    return found.get("lines"), found.get("policies")
