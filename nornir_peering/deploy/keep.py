"""Which of our objects no longer wanted must stay on the router, on every platform.

An object of ours that the rendered configuration no longer has is removed, unless
something that stays still names it: a line of the operator's (their neighbor using our
route-map, their policy calling ours), or another object that stays for that reason (a
kept route-map keeps the prefix list it matches, which keeps nothing further). Removing
either would make the router refuse the commit (Junos: "referenced but not defined";
IOS-XR: a policy that uses a missing set) or, worse, accept it with a route-map matching a
list that no longer exists (EOS). So what stays is a closure: everything a foreign line
names, then everything a kept object names, until nothing changes.

>>> stale = [StaleObject("a", "NP_A", "route-map NP_A", ("match ip address prefix-list NP_B",)),
...          StaleObject("b", "NP_B", "ip prefix-list NP_B", ()),
...          StaleObject("c", "NP_C", "ip prefix-list NP_C", ())]
>>> kept = still_used(stale, ["neighbor 192.0.2.1 route-map NP_A in"])
>>> kept["a"], kept["b"], "c" in kept
("the router's own 'neighbor 192.0.2.1 route-map NP_A in' uses it", 'route-map NP_A, kept, \
uses it', False)
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

# how a session the intent disables is described on the router (``describe``): a
# neighbor of ours shut down with it is nornir-peering's doing, undone when the intent
# enables it again; shut down without it, an engineer's, held
DISABLED_MARK = "disabled by nornir-peering"


def disabled_by_us(description: str | None) -> bool:
    """Whether a neighbor's description says nornir-peering shut it down.

    >>> disabled_by_us('"Peer One - disabled by nornir-peering"'), disabled_by_us("Peer One")
    (True, False)
    """
    return description is not None and description.strip('"; ').endswith(DISABLED_MARK)


@dataclass(frozen=True)
class StaleObject:
    """An object of ours on the router that the rendered configuration no longer has."""

    key: Hashable
    name: str  # what other lines call it by
    label: str  # how a note names it
    lines: tuple[str, ...]  # its own lines: what it names in turn


def still_used(stale: Sequence[StaleObject], foreign: Iterable[str]) -> dict[Hashable, str]:
    """The stale objects that must stay, each with why: named by a ``foreign`` line (one
    that stays on the router and is not ours), or by an object that stays."""
    users = "\n".join(foreign)
    kept: dict[Hashable, str] = {}
    for obj in stale:
        line = naming_line(users, obj.name)
        if line is not None:
            kept[obj.key] = f"the router's own '{line}' uses it"
    frontier = [obj for obj in stale if obj.key in kept]
    while frontier:
        found = []
        for user in frontier:
            text = "\n".join(user.lines)
            for obj in stale:
                if obj.key not in kept and naming_line(text, obj.name) is not None:
                    kept[obj.key] = f"{user.label}, kept, uses it"
                    found.append(obj)
        frontier = found
    return kept


def naming_line(text: str, name: str) -> str | None:
    """The first line of ``text`` that names ``name`` as a whole word, or None.

    >>> naming_line("import [ NP_IN NP_IN2 ];\\nexport NP_OUT;", "NP_IN2")
    'import [ NP_IN NP_IN2 ];'
    >>> naming_line("match ip address prefix-list NP_IN2", "NP_IN") is None
    True
    """
    found = re.search(rf"(?<![\w.:-]){re.escape(name)}(?![\w.:-])", text)
    if found is None:
        return None
    start = text.rfind("\n", 0, found.start()) + 1
    end = text.find("\n", found.end())
    return text[start : end if end >= 0 else len(text)].strip()
