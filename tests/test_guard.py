"""The guard on commits: sessions counted in each platform's own diff."""

from __future__ import annotations

import pytest

from nornir_peering.deploy.guard import RemovalGuard, count_sessions

# diffs as each platform's compare_config shows them (BIRD and FRR: unified diffs of
# the drivers; Junos: 'show | compare'; IOS-XR: 'show commit changes diff'; EOS:
# the configuration session's diff)
DIFFS = {
    "bird": (
        "--- peering.conf\n+++ peering.conf\n"
        "-protocol bgp ix_lab_ix_as65001_127_0_1_11 from ix_lab_ix {\n"
        "-  neighbor 127.0.1.11 port 10179 as 65001;\n-}\n"
        "+protocol bgp ix_lab_ix_as65002_127_0_1_12 {\n",
        (1, 1),
    ),
    "junos": (
        "[edit protocols bgp group NP_IX_LAB_IX_4]\n"
        "-    neighbor 192.0.2.1 {\n-        peer-as 65001;\n-    }\n"
        "-    neighbor 192.0.2.2;\n"
        "[edit protocols bgp group NP_IX_LAB_IX_6]\n+    neighbor 2001:db8::1 {\n",
        (2, 1),
    ),
    "iosxr": (
        "router bgp 65000\n-  neighbor 192.0.2.1\n-   remote-as 65001\n"
        "-   use neighbor-group NP_IX_4\n+  neighbor 192.0.2.3\n",
        (1, 1),
    ),
    "eos": (
        "   router bgp 65000\n-     neighbor 192.0.2.1 peer group NP_IX_4\n"
        "-     neighbor 192.0.2.1 remote-as 65001\n"
        "-     neighbor 192.0.2.1 description AS65001\n",
        (1, 0),
    ),
    "frr": (
        "- neighbor 192.0.2.1 remote-as 65001\n- neighbor 192.0.2.1 peer-group NP_IX_4\n"
        "- neighbor 2001:db8::9 remote-as 65009\n",
        (2, 0),
    ),
    "an asn change is no removal": (
        "- neighbor 192.0.2.1 remote-as 65001\n+ neighbor 192.0.2.1 remote-as 65011\n",
        (0, 0),
    ),
    "descriptions and policies only": (
        "- neighbor 192.0.2.1 description old\n+ neighbor 192.0.2.1 description new\n"
        "-route-map NP_IMPORT permit 10\n",
        (0, 0),
    ),
}


@pytest.mark.parametrize(("diff", "expected"), DIFFS.values(), ids=DIFFS.keys())
def test_sessions_in_a_diff(diff: str, expected: tuple[int, int]) -> None:
    assert count_sessions(diff) == expected


def _removing(count: int) -> str:
    return "".join(f"- neighbor 192.0.2.{i} remote-as 65001\n" for i in range(count))


@pytest.mark.parametrize(
    ("removed", "after", "refused"),
    [
        (0, 100, False),
        (10, 90, False),  # 10 of 100: at the count limit, 10%
        (11, 189, True),  # 11 of 200: past the count
        (3, 7, False),  # 3 of 10: 30%, at the share limit
        (4, 6, True),  # 4 of 10: 40%
        (1, 0, True),  # the last session
    ],
)
def test_limits(removed: int, after: int, refused: bool) -> None:
    assert (RemovalGuard(10, 30).refusal(_removing(removed), after) is not None) is refused


def test_a_refusal_names_both_limits() -> None:
    assert RemovalGuard(10, 30).refusal(_removing(12), 4) == (
        "the commit would remove 12 of 16 BGP sessions (more than max_removed_sessions 10; "
        "75%, more than max_removed_share 30%); refused, --force commits it"
    )
