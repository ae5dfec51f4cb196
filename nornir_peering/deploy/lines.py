"""Lines of Cisco-style configuration: which ones a later line overwrites, and how a
line is undone. Shared by the merge planner and FRR's state prediction."""

from __future__ import annotations

import re

ROUTER_BGP = re.compile(r"^router bgp (?P<asn>\d+(?:\.\d+)?)(?: vrf (?P<vrf>\S+))?$")

# Lines that a later line with the same key overwrites: setting them anew needs
# no negation first (and on a router that applies commands one by one, such as
# FRR, a session is never left without its route-map in between).
OVERWRITES = tuple(
    re.compile(pattern)
    for pattern in (
        r"^(?P<key>neighbor \S+ (?:remote-as|description|password|update-source|ebgp-multihop"
        r"|port|local-as|maximum-prefix|maximum-routes|maximum-accepted-routes"
        r"|timers(?: connect| delayopen)?|ttl maximum-hops))(?: |$)",
        r"^(?P<key>neighbor \S+ (?:route-map|prefix-list|filter-list)) \S+ (?P<dir>in|out)$",
        r"^(?P<key>(?:remote-as|description|password|update-source|ebgp-multihop|maximum-prefix"
        r"|timers(?: connect)?|local-as))(?: |$)",
        r"^(?P<key>route-policy) \S+ (?P<dir>in|out)$",
        r"^(?P<key>set (?:local-preference|metric|weight|origin|as-path prepend|ip next-hop"
        r"|ipv6 next-hop))(?: |$)",
    )
)
# FRR 8.4 also overwrites a route-map's community clause, and a list entry with
# the same sequence number (checked on the daemon). EOS does neither: an
# additive community clause adds to the old one, and an existing prefix-list
# entry cannot be re-entered ("Duplicate sequence number"); there the old line
# is negated first, inside the session that commits both at once.
FRR_OVERWRITES = (
    *OVERWRITES,
    *(
        re.compile(pattern)
        for pattern in (
            r"^(?P<key>set (?:community|large-community|extcommunity rt))(?: |$)",
            r"^(?P<key>match (?:ip address prefix-list|ipv6 address prefix-list|ip address"
            r"|ipv6 address|community|large-community|as-path))(?: |$)",
            r"^(?P<key>(?:ip|ipv6) prefix-list \S+ seq \d+)(?: |$)",
            r"^(?P<key>bgp (?:community-list|large-community-list|as-path access-list)"
            r"(?: standard| expanded)? \S+ seq \d+)(?: |$)",
        )
    ),
)


def supersede_key(line: str, overwrites: tuple[re.Pattern[str], ...] = OVERWRITES) -> str | None:
    """The key under which a later line overwrites ``line``, if there is one.

    >>> supersede_key("neighbor 192.0.2.1 route-map NP_IN in")
    'neighbor 192.0.2.1 route-map in'
    >>> supersede_key("neighbor 192.0.2.1 activate") is None
    True
    """
    for pattern in overwrites:
        found = pattern.match(line)
        if found:
            return " ".join(v for v in (found.group("key"), found.groupdict().get("dir")) if v)
    return None


def negate(line: str) -> str:
    """The command that undoes ``line``; a line that is itself a ``no`` form comes back.

    >>> negate("neighbor 192.0.2.1 shutdown"), negate("no neighbor 2001:db8::1 activate")
    ('no neighbor 192.0.2.1 shutdown', 'neighbor 2001:db8::1 activate')
    """
    return line[3:] if line.startswith("no ") else f"no {line}"
