"""The guard on commits: a commit that would tear down many of a router's BGP sessions
is refused (an unattended run after a bad sync must not be how an outage happens), and so
is a whole-configuration replace that would remove interfaces or top-level stanzas.

Sessions are counted in the router's own diff, whatever the platform: a removed or
added line that declares a BGP neighbor (BIRD's ``protocol bgp NAME {``; ``neighbor
ADDRESS remote-as ...`` on FRR and EOS; ``neighbor ADDRESS`` opening a block on
IOS-XR; ``neighbor ADDRESS {`` on Junos). A neighbor both removed and added (a new
ASN, a block written again) is not a removal. The sessions before the commit are the
router's sessions after it, less the added, plus the removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NEIGHBOR = re.compile(
    r"^(?P<sign>[+-])\s*(?:protocol bgp (?P<name>[^\s{]+)(?:\s+from \S+)?\s*\{"
    r"|neighbor (?P<address>[^\s{;]+);?(?:\s+remote-as\b.*|\s*\{.*|\s*)$)"
)


@dataclass(frozen=True)
class RemovalGuard:
    """At most ``max_sessions`` sessions, and at most ``max_share`` percent of a router's
    sessions, removed by one commit.

    >>> RemovalGuard(10, 30).refusal("-protocol bgp a {\\n-protocol bgp b {", 1)
    'the commit would remove 2 of 3 BGP sessions (67%, more than max_removed_share 30%); \
refused, --force commits it'
    """

    max_sessions: int = 10
    max_share: int = 30  # percent

    def refusal(self, diff: str, sessions_after: int) -> str | None:
        """Why a commit with ``diff`` is refused, or None; ``sessions_after``: the router's
        sessions once committed."""
        removed, added = count_sessions(diff)
        if not removed:
            return None
        before = max(sessions_after - added + removed, removed)
        share = 100 * removed / before
        limits = []
        if removed > self.max_sessions:
            limits.append(f"more than max_removed_sessions {self.max_sessions}")
        if share > self.max_share:
            limits.append(f"{share:.0f}%, more than max_removed_share {self.max_share}%")
        if not limits:
            return None
        return (
            f"the commit would remove {removed} of {before} BGP sessions "
            f"({'; '.join(limits)}); refused, --force commits it"
        )

    @staticmethod
    def stanza_refusal(removed: list[str]) -> str | None:
        """Why a replace that removes ``removed`` (interfaces, top-level stanzas) is refused.

        >>> RemovalGuard.stanza_refusal(["interface Ethernet1", "management api http-commands"])
        "the replace would remove 2 stanzas of the router's configuration ('interface \
Ethernet1', 'management api http-commands'); refused, --force commits it"
        """
        if not removed:
            return None
        shown = ", ".join(repr(s) for s in removed[:5]) + (", ..." if len(removed) > 5 else "")
        return (
            f"the replace would remove {len(removed)} stanza{'s' if len(removed) > 1 else ''} "
            f"of the router's configuration ({shown}); refused, --force commits it"
        )


def count_sessions(diff: str) -> tuple[int, int]:
    """The BGP sessions a diff removes and adds.

    >>> count_sessions("- neighbor 192.0.2.1 remote-as 65001\\n+ neighbor 192.0.2.2 remote-as 65002"
    ...                "\\n-    neighbor 192.0.2.3 {\\n- neighbor 192.0.2.1 description x")
    (2, 1)
    >>> count_sessions("- neighbor 192.0.2.1 remote-as 1\\n+ neighbor 192.0.2.1 remote-as 2")
    (0, 0)
    """
    seen: dict[str, set[str]] = {"-": set(), "+": set()}
    for line in diff.splitlines():
        found = _NEIGHBOR.match(line)
        if found:
            seen[found["sign"]].add(found["name"] or found["address"])
    removed, added = seen["-"] - seen["+"], seen["+"] - seen["-"]
    return len(removed), len(added)
