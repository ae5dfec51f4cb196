"""Merge candidates: what nornir-peering owns on a router, what it removes, and
that nothing else is ever touched. Running configurations are written as
each platform shows them; FRR's rules are checked against the real daemon in
test_frr_driver.py and test_configure.py."""

from __future__ import annotations

import re

import pytest

from nornir_peering.deploy import (
    DeployRefused,
    OwnershipError,
    check_rendered,
    commit_confirm_refusal,
    junos,
    needs_running,
    plan_merge,
)
from nornir_peering.deploy.exposure import unstripped
from nornir_peering.deploy.frrstate import predict
from nornir_peering.deploy.tree import parse

FRR_RUNNING = """\
frr version 8.4.4
frr defaults traditional
hostname edge3
!
ip prefix-list OPERATOR-NETS seq 5 permit 11.0.2.0/24
ip prefix-list NP_OWN_V4 seq 5 permit 11.0.0.0/22 le 24
ip prefix-list NP_OLD_V4 seq 5 permit 12.0.0.0/8
!
bgp community-list expanded NP_OLD_COMMUNITIES seq 5 permit ^64500:
!
route-map OPERATOR-TO-COLLECTOR permit 10
 match ip address prefix-list OPERATOR-NETS
exit
!
route-map NP_IN permit 10
 set local-preference 200
 set metric 10
exit
!
route-map NP_IN permit 20
exit
!
route-map NP_GONE permit 10
exit
!
router bgp 64500
 bgp router-id 127.0.1.3
 no bgp default ipv4-unicast
 neighbor NP_IX peer-group
 neighbor NP_OLDIX peer-group
 neighbor 127.0.9.3 remote-as 64500
 neighbor 127.0.9.3 description route collector
 neighbor 127.0.1.11 remote-as 65001
 neighbor 127.0.1.11 peer-group NP_IX
 neighbor 127.0.1.11 description Peer One
 neighbor 127.0.1.11 shutdown
 neighbor 127.0.1.14 remote-as 65003
 neighbor 127.0.1.14 peer-group NP_IX
 neighbor 127.0.2.99 remote-as 65099
 neighbor 127.0.2.99 peer-group NP_OLDIX
 !
 address-family ipv4 unicast
  network 11.0.2.0/24
  neighbor 127.0.9.3 activate
  neighbor 127.0.9.3 route-map OPERATOR-TO-COLLECTOR out
  neighbor 127.0.1.11 activate
  neighbor 127.0.1.11 route-map NP_IN in
  neighbor 127.0.1.11 maximum-prefix 22 90 restart 30
  neighbor 127.0.1.14 activate
 exit-address-family
exit
!
end
"""

FRR_RENDERED = """\
ip prefix-list NP_OWN_V4 seq 5 permit 11.0.0.0/22 le 24
route-map NP_IN permit 10
 set local-preference 250
route-map NP_OUT permit 10
 match ip address prefix-list NP_OWN_V4
router bgp 64500
 neighbor NP_IX peer-group
 neighbor 127.0.1.11 remote-as 65001
 neighbor 127.0.1.11 peer-group NP_IX
 neighbor 127.0.1.11 description Peer One Networks
 address-family ipv4 unicast
  neighbor 127.0.1.11 activate
  neighbor 127.0.1.11 route-map NP_IN in
  neighbor 127.0.1.11 route-map NP_OUT out
 exit-address-family
"""


def commands(config: str) -> list[str]:
    """The commands of a candidate without the words that leave sections."""
    return [line.strip() for line in config.splitlines() if line.strip() != "exit"]


def test_frr_candidate_negates_sends_the_changes_and_removes() -> None:
    """FRR gets exactly what changes: the stale lines of ours negated, the new lines (an
    overwritten one, such as the local preference, is simply sent anew), then the
    objects of ours no longer wanted: neighbors, then groups, then policies and lists."""
    plan = plan_merge("frr", FRR_RENDERED, FRR_RUNNING, "NP_", force=True)
    assert commands(plan.config) == [
        "route-map NP_IN permit 10",
        "no set metric 10",
        "no route-map NP_IN permit 20",
        "router bgp 64500",
        "no neighbor 127.0.1.11 shutdown",
        "address-family ipv4 unicast",
        "no neighbor 127.0.1.11 maximum-prefix 22 90 restart 30",
        "route-map NP_IN permit 10",
        "set local-preference 250",
        "route-map NP_OUT permit 10",
        "match ip address prefix-list NP_OWN_V4",
        "router bgp 64500",
        "neighbor 127.0.1.11 description Peer One Networks",
        "address-family ipv4 unicast",
        "neighbor 127.0.1.11 route-map NP_OUT out",
        "router bgp 64500",
        "no neighbor 127.0.1.14",
        "no neighbor 127.0.2.99",
        "no neighbor NP_OLDIX peer-group",
        "no bgp community-list expanded NP_OLD_COMMUNITIES",
        "no ip prefix-list NP_OLD_V4",
        "no route-map NP_GONE",
    ]
    assert plan.removed == (
        "neighbor 127.0.1.14",
        "neighbor 127.0.2.99",
        "group NP_OLDIX",
        "bgp community-list expanded NP_OLD_COMMUNITIES",
        "ip prefix-list NP_OLD_V4",
        "route-map NP_GONE",
    )
    # never a word about what is not ours
    sent = commands(plan.config)
    for foreign in ("127.0.9.3", "OPERATOR", "network", "router-id", "hostname", "default"):
        assert not any(foreign in c for c in sent), foreign


def test_frr_peer_that_changes_group_is_sent_again_whole() -> None:
    """On FRR, leaving a peer group deletes the peer: every line of it is sent again."""
    running = (
        "router bgp 64500\n neighbor NP_A peer-group\n neighbor NP_B peer-group\n"
        " neighbor 127.0.1.11 remote-as 65001\n neighbor 127.0.1.11 peer-group NP_A\n"
        " neighbor 127.0.1.11 description Peer One\n address-family ipv4 unicast\n"
        "  neighbor 127.0.1.11 activate\n exit-address-family\nexit\n"
    )
    rendered = running.replace(
        "peer-group NP_A\n neighbor 127.0.1.11 desc", "peer-group NP_B\n neighbor 127.0.1.11 desc"
    )
    sent = commands(plan_merge("frr", rendered, running, "NP_").config)
    assert sent == [
        "router bgp 64500",
        "no neighbor 127.0.1.11 peer-group NP_A",
        "router bgp 64500",
        "neighbor 127.0.1.11 remote-as 65001",
        "neighbor 127.0.1.11 peer-group NP_B",
        "neighbor 127.0.1.11 description Peer One",
        "address-family ipv4 unicast",
        "neighbor 127.0.1.11 activate",
    ]


def test_a_route_map_entry_never_goes_without_its_match() -> None:
    """A permit entry without a match matches every route: the new match goes in first
    (FRR overwrites one of the same kind in place), the old one goes after."""
    running = "route-map NP_OUT permit 10\n match community NP_C\nexit\n"
    rendered = "route-map NP_OUT permit 10\n match ip address prefix-list NP_OWN_V4\n"
    assert commands(plan_merge("frr", rendered, running, "NP_").config) == [
        "route-map NP_OUT permit 10",
        "match ip address prefix-list NP_OWN_V4",
        "route-map NP_OUT permit 10",
        "no match community NP_C",
    ]
    same_kind = running.replace("match community NP_C", "match ip address prefix-list NP_OLD")
    assert commands(plan_merge("frr", rendered, same_kind, "NP_").config) == [
        "route-map NP_OUT permit 10",
        "match ip address prefix-list NP_OWN_V4",
    ]


def test_what_the_operators_lines_use_is_kept() -> None:
    """An object of ours that the router's own configuration uses is not removed (FRR
    would deny everything on that session, or delete the group's other members)."""
    running = (
        "route-map NP_OLD_OUT permit 10\nexit\n"
        "router bgp 64500\n neighbor NP_IX peer-group\n neighbor swp1 interface peer-group NP_IX\n"
        " neighbor 192.0.2.1 remote-as 65100\n address-family ipv4 unicast\n"
        "  neighbor 192.0.2.1 route-map NP_OLD_OUT out\n exit-address-family\nexit\n"
    )
    plan = plan_merge("frr", "route-map NP_NEW permit 10\n", running, "NP_")
    assert plan.removed == ()
    assert plan.kept == (
        "group NP_IX (the router's own 'neighbor swp1 interface peer-group NP_IX' uses it)",
        "route-map NP_OLD_OUT (the router's own 'neighbor 192.0.2.1 route-map NP_OLD_OUT out' "
        "uses it)",
    )
    assert not any(c.startswith("no ") for c in commands(plan.config))


def test_lists_of_one_name_in_two_families_are_two_objects() -> None:
    running = (
        "ip prefix-list NP_X seq 5 permit 11.0.0.0/22\n"
        "ipv6 prefix-list NP_X seq 5 permit 3001::/16\n"
    )
    plan = plan_merge("frr", "route-map NP_NEW permit 10\n", running, "NP_")
    assert plan.removed == ("ip prefix-list NP_X", "ipv6 prefix-list NP_X")


def test_a_neighbor_moves_to_its_new_policy_before_the_old_one_goes() -> None:
    """On FRR each command takes effect at once: the rendered objects come before removals."""
    sent = commands(plan_merge("frr", FRR_RENDERED, FRR_RUNNING, "NP_").config)
    assert sent.index("neighbor 127.0.1.11 route-map NP_OUT out") < sent.index(
        "no route-map NP_GONE"
    )


def test_nothing_to_remove_when_the_router_holds_exactly_the_rendered_objects() -> None:
    plan = plan_merge("frr", FRR_RENDERED, FRR_RENDERED, "NP_")
    assert plan.removed == ()
    assert not any(c.startswith("no ") for c in commands(plan.config))


@pytest.mark.parametrize(
    ("rendered", "complaint"),
    [
        (
            "router bgp 64500\n bgp router-id 1.2.3.4\n",
            "'bgp router-id 1.2.3.4' under 'router bgp 64500'",
        ),
        ("route-map OPERATOR-TO-COLLECTOR permit 10\n", "'route-map OPERATOR-TO-COLLECTOR"),
        ("ip route 0.0.0.0/0 blackhole\n", "'ip route 0.0.0.0/0 blackhole'"),
        # a neighbor in no group of ours
        ("router bgp 64500\n neighbor 192.0.2.1 remote-as 65001\n", "'neighbor 192.0.2.1"),
        ("router bgp 64500\n address-family ipv4 unicast\n  network 11.0.0.0/24\n", "'network"),
        ("route-map NP_X permit 10\n no set metric 5\n", "'no set metric 5' below"),
        # nested by mistake: vtysh would run it at the top level, on the operator's list
        (
            "route-map NP_X permit 10\n ip prefix-list OPERATOR-NETS seq 5 deny any\n",
            "'ip prefix-list OPERATOR-NETS seq 5 deny any' below 'route-map NP_X permit 10'",
        ),
        ("router bgp 64500\n neighbor NP_IX peer-group\n  ip route 0.0.0.0/0 Null0\n", "below"),
    ],
)
def test_a_template_that_renders_what_is_not_ours_is_refused(rendered: str, complaint: str) -> None:
    with pytest.raises(OwnershipError) as error:
        check_rendered("frr", rendered, "NP_")
    assert complaint in str(error.value)


def test_a_neighbor_the_operator_configured_is_never_taken_over() -> None:
    rendered = (
        "router bgp 64500\n neighbor NP_IX peer-group\n neighbor 127.0.9.3 remote-as 64500\n"
        " neighbor 127.0.9.3 peer-group NP_IX\n"
    )
    with pytest.raises(OwnershipError, match=r"neighbor 127\.0\.9\.3 .* in no group"):
        plan_merge("frr", rendered, FRR_RUNNING, "NP_")


def test_another_bgp_instance_is_refused() -> None:
    with pytest.raises(OwnershipError, match="router bgp 64501, the router runs router bgp 64500"):
        plan_merge("frr", "router bgp 64501\n neighbor NP_IX peer-group\n", FRR_RUNNING, "NP_")


def test_a_router_with_its_own_prefix_owns_other_names() -> None:
    """owned_prefix: PEERING_ makes the NP_ objects the operator's, and PEERING_ ones ours."""
    plan = plan_merge("frr", "route-map PEERING_IN permit 10\n", FRR_RUNNING, "PEERING_")
    assert plan.removed == ()
    with pytest.raises(OwnershipError):
        check_rendered("frr", FRR_RENDERED, "PEERING_")


EOS_RUNNING = """\
! Command: show running-config
ip prefix-list NP_OWN_V4
   seq 10 permit 11.0.0.0/22 le 24
   seq 20 permit 11.4.0.0/22 le 24
!
ip prefix-list CUSTOMERS
   seq 10 permit 10.0.0.0/8
!
route-map NP_IN permit 10
   set local-preference 200
!
route-map TRANSIT-OUT permit 10
!
router bgp 64500
   router-id 10.0.0.1
   neighbor NP_IX peer group
   neighbor TRANSIT peer group
   neighbor 127.0.1.11 peer group NP_IX
   neighbor 127.0.1.11 remote-as 65001
   neighbor 127.0.1.11 maximum-routes 12000
   neighbor 127.0.1.12 peer group NP_IX
   neighbor 127.0.1.12 remote-as 65002
   neighbor 192.0.2.1 peer group TRANSIT
   neighbor 192.0.2.1 remote-as 65100
   !
   address-family ipv4
      neighbor 127.0.1.11 activate
      neighbor 127.0.1.12 activate
      neighbor 192.0.2.1 activate
   !
   vrf CUST
      neighbor NP_VRF peer group
      neighbor 10.9.0.1 peer group NP_VRF
      neighbor 10.9.0.1 remote-as 65300
!
end
"""

EOS_RENDERED = """\
ip prefix-list NP_OWN_V4
   seq 10 permit 11.0.0.0/22 le 24
!
route-map NP_IN permit 10
   set local-preference 200
!
router bgp 64500
   neighbor NP_IX peer group
   neighbor 127.0.1.11 peer group NP_IX
   neighbor 127.0.1.11 remote-as 65001
   neighbor 127.0.1.11 maximum-routes 22
   address-family ipv4
      neighbor 127.0.1.11 activate
!
"""


def test_eos_candidate() -> None:
    plan = plan_merge("eos", EOS_RENDERED, EOS_RUNNING, "NP_")
    sent = commands(plan.config)
    # a list that changed is removed and sent again whole, in the session that commits both
    assert sent[0] == "no ip prefix-list NP_OWN_V4"
    assert sent.index("ip prefix-list NP_OWN_V4") > 0
    assert "no neighbor 127.0.1.11 maximum-routes 12000" not in sent  # overwritten by 22
    # every section is left explicitly: NAPALM's EOS driver drops the indentation
    assert [line.strip() for line in plan.config.splitlines()[-7:]] == [
        "router bgp 64500",
        "vrf CUST",
        "no neighbor 10.9.0.1",
        "no neighbor NP_VRF peer group",
        "exit",
        "no neighbor 127.0.1.12",
        "exit",
    ]
    assert plan.removed == (
        "neighbor 10.9.0.1 (vrf CUST)",
        "neighbor 127.0.1.12",
        "group NP_VRF (vrf CUST)",
    )
    assert not any("192.0.2.1" in c or "TRANSIT" in c or "CUSTOMERS" in c for c in sent)


def test_eos_changes_objects_by_removing_them_first() -> None:
    """EOS refuses to re-enter an existing prefix-list number, an additive community
    clause adds to the old one, and whether a second match replaces the first is not
    documented: an object that changed goes first, whole, and comes back whole, in the
    session that commits both. A neighbor leaves its old peer group with EOS's own form,
    and an option is undone by its name alone."""
    running = (
        "ip prefix-list NP_OWN_V4\n   seq 10 permit 11.0.0.0/22 le 24\n!\n"
        "route-map NP_IN permit 10\n   set community 64500:100 additive\n"
        "   set local-preference 200\n!\n"
        "router bgp 64500\n   neighbor NP_A peer group\n   neighbor NP_B peer group\n"
        "   neighbor 127.0.1.11 peer group NP_A\n   neighbor 127.0.1.11 remote-as 65001\n"
    )
    rendered = (
        "ip prefix-list NP_OWN_V4\n   seq 10 permit 11.4.0.0/22 le 24\n!\n"
        "route-map NP_IN permit 10\n   set community 64500:110 additive\n"
        "   set local-preference 250\n!\n"
        "router bgp 64500\n   neighbor NP_A peer group\n   neighbor NP_B peer group\n"
        "   neighbor 127.0.1.11 peer group NP_B\n   neighbor 127.0.1.11 remote-as 65001\n"
    )
    running += "   neighbor 127.0.1.11 maximum-routes 100 warning-limit 90 percent\n"
    sent = commands(plan_merge("eos", rendered, running, "NP_").config)
    negations = sent[: sent.index("ip prefix-list NP_OWN_V4")]
    assert negations == [
        "no ip prefix-list NP_OWN_V4",
        "no route-map NP_IN",
        "router bgp 64500",
        "no neighbor 127.0.1.11 peer group",
        "no neighbor 127.0.1.11 maximum-routes",
    ]
    assert sent[sent.index("route-map NP_IN permit 10") + 1 :][:2] == [
        "set community 64500:110 additive",
        "set local-preference 250",
    ]


def test_frr_overwrites_entries_and_community_clauses_in_place() -> None:
    """On FRR, where each command takes effect at once, nothing is negated that the
    new line replaces: a list entry by its number, a route-map's community clause."""
    running = (
        "ip prefix-list NP_OWN_V4 seq 5 permit 11.0.0.0/22 le 24\n"
        "route-map NP_IN permit 10\n set community 64500:100 additive\nexit\n"
    )
    rendered = (
        "ip prefix-list NP_OWN_V4 seq 5 permit 11.4.0.0/22 le 24\n"
        "route-map NP_IN permit 10\n set community 64500:110 additive\n"
    )
    assert not any(
        c.startswith("no ") for c in commands(plan_merge("frr", rendered, running, "NP_").config)
    )


IOSXR_RUNNING = """\
!! IOS XR Configuration 7.5.2
prefix-set NP_OWN_V4
  11.0.0.0/22 le 24
end-set
!
prefix-set NP_IRR_AS65009_V4
  12.9.0.0/16 le 24
end-set
!
route-policy NP_IMPORT_IX_IN_V4
  if destination in NP_OWN_V4 then
    drop
  endif
  set local-preference 200
  done
end-policy
!
route-policy OPERATOR-IBGP
  pass
end-policy
!
router bgp 64500
 bgp router-id 10.0.0.1
 address-family ipv4 unicast
  network 11.0.0.0/22
 !
 neighbor-group NP_LAB_IX_V4
  address-family ipv4 unicast
  !
 !
 neighbor-group RR-CLIENTS
  remote-as 64500
 !
 neighbor 127.0.1.11
  remote-as 65001
  use neighbor-group NP_LAB_IX_V4
  description Peer One
  shutdown
  address-family ipv4 unicast
   route-policy NP_IMPORT_IX_IN_V4 in
   maximum-prefix 22 90 restart 30
  !
 !
 neighbor 127.0.1.14
  remote-as 65003
  use neighbor-group NP_LAB_IX_V4
 !
 neighbor 10.0.0.2
  use neighbor-group RR-CLIENTS
 !
!
"""

IOSXR_RENDERED = """\
prefix-set NP_OWN_V4
  11.0.0.0/22 le 24
end-set
!
route-policy NP_IMPORT_IX_IN_V4
  if destination in NP_OWN_V4 then
    drop
  endif
  set local-preference 250
  done
end-policy
!
router bgp 64500
 address-family ipv4 unicast
 !
 neighbor-group NP_LAB_IX_V4
  address-family ipv4 unicast
  !
 !
 neighbor 127.0.1.11
  remote-as 65001
  use neighbor-group NP_LAB_IX_V4
  description Peer One Networks
  address-family ipv4 unicast
   route-policy NP_IMPORT_IX_IN_V4 in
   maximum-prefix 30 90 restart 30
  !
 !
!
"""


def test_iosxr_candidate() -> None:
    plan = plan_merge("iosxr", IOSXR_RENDERED, IOSXR_RUNNING, "NP_", force=True)
    sent = commands(plan.config)
    assert sent[:3] == ["router bgp 64500", "neighbor 127.0.1.11", "no shutdown"]
    assert "no maximum-prefix 22 90 restart 30" not in sent  # overwritten by 30
    assert "no set local-preference 200" not in sent  # a route-policy is replaced whole
    # the policy goes out exactly as rendered, end-policy included
    assert (
        "route-policy NP_IMPORT_IX_IN_V4\n  if destination in NP_OWN_V4 then\n    drop\n"
        "  endif\n  set local-preference 250\n  done\nend-policy\n"
    ) in plan.config
    # an empty address family under router bgp is a section, left explicitly too
    assert " address-family ipv4 unicast\n  exit\n neighbor-group NP_LAB_IX_V4\n" in plan.config
    assert sent[-2:] == ["no neighbor 127.0.1.14", "no prefix-set NP_IRR_AS65009_V4"]
    assert plan.removed == ("neighbor 127.0.1.14", "prefix-set NP_IRR_AS65009_V4")
    for foreign in ("10.0.0.2", "RR-CLIENTS", "OPERATOR-IBGP", "network", "router-id"):
        assert not any(foreign in c for c in sent), foreign


def test_iosxr_line_after_end_policy_is_not_part_of_the_policy() -> None:
    """Indented or not, a line after end-policy is a line of its own, and not ours."""
    rendered = "route-policy NP_X\n  pass\nend-policy\n  hostname evil\n"
    with pytest.raises(OwnershipError, match="'hostname evil'"):
        check_rendered("iosxr", rendered, "NP_")


def test_iosxr_neighbor_without_our_group_is_refused() -> None:
    with pytest.raises(OwnershipError, match=r"neighbor 192\.0\.2\.9"):
        check_rendered("iosxr", "router bgp 64500\n neighbor 192.0.2.9\n  remote-as 1\n", "NP_")


JUNOS_RUNNING = """\
## Last commit: 2026-11-20 09:00:00 UTC by admin
version 22.4R1;
system { host-name core1; login { user admin { class super-user; } } }
policy-options {
    policy-statement NP_IMPORT_IX_IN_V4 { term accept { then accept; } }
    policy-statement NP_STALE { then reject; }
    /* the operator's */
    policy-statement IBGP-OUT { then accept; }
    community NP_GONE members 64500:1;
}
protocols {
    bgp {
        group IBGP { type internal; neighbor 10.0.0.2; }
        group NP_LAB_IX_V4 { type external; neighbor 127.0.1.11 { peer-as 65001; } }
        inactive: group NP_OLD_IX_V4 { neighbor 1.2.3.4 { description "a; b { c"; } }
    }
}
routing-instances { CUST { instance-type vrf; protocols { bgp { group NP_VRF { } } } } }
"""

JUNOS_RENDERED = """\
policy-options {
    policy-statement NP_IMPORT_IX_IN_V4 {
        term accept { then { local-preference 200; accept; } }
    }
}
protocols {
    bgp {
        replace:
        group NP_LAB_IX_V4 { type external; neighbor 127.0.1.12 { peer-as 65002; } }
    }
}
"""


def test_junos_candidate_replaces_ours_and_deletes_the_stale() -> None:
    plan = plan_merge("junos", JUNOS_RENDERED, JUNOS_RUNNING, "NP_")
    lines = [line.strip() for line in plan.config.splitlines()]
    for name in ("policy-statement NP_IMPORT_IX_IN_V4 {", "group NP_LAB_IX_V4 {"):
        assert lines[lines.index(name) - 1] == "replace:"
    for name in ("policy-statement NP_STALE;", "community NP_GONE;", "group NP_OLD_IX_V4;"):
        assert lines[lines.index(name) - 1] == "delete:"
    # the VRF's group is deleted in its routing instance
    assert lines[lines.index("routing-instances {") :] == [
        "routing-instances {",
        "CUST {",
        "protocols {",
        "bgp {",
        "delete:",
        "group NP_VRF;",
        "}",
        "}",
        "}",
        "}",
    ]
    assert lines.count("replace:") == 2 and lines.count("delete:") == 4
    for foreign in ("IBGP", "system", "host-name", "login", "instance-type"):
        assert foreign not in plan.config, foreign


@pytest.mark.parametrize(
    ("rendered", "complaint"),
    [
        ("system { host-name x; }", "'system'"),
        ("protocols { bgp { group IBGP { type internal; } } }", "'group IBGP'"),
        ("protocols { ospf { area 0.0.0.0; } }", "'ospf' under 'protocols'"),
        ("policy-options { policy-statement OTHER { then accept; } }", "'policy-statement OTHER'"),
        ("protocols { bgp { delete: group NP_X; } }", "delete:"),
        ("protocols { bgp { group NP_X { type external; }", "never closed"),
        ("protocols { bgp { } } }", "without its '{'"),
        # tags on what is not ours: every VRF, every protocol, all of BGP
        ("delete: routing-instances;", "'routing-instances', a container"),
        (
            "replace: protocols { bgp { group NP_X { type external; } } }",
            "'protocols', a container",
        ),
        ("protocols { delete: bgp { group NP_X { } } }", "'bgp' under 'protocols'"),
        ("routing-instances { delete: CUST; }", "'CUST' under 'routing-instances'"),
        ("protocols { bgp { group NP_X { type external } } }", "is not ended with"),
    ],
)
def test_junos_refusals(rendered: str, complaint: str) -> None:
    with pytest.raises(OwnershipError) as error:
        plan_merge("junos", rendered, JUNOS_RUNNING, "NP_")
    assert complaint in str(error.value)


def test_junos_secret_data_comments_hide_nothing() -> None:
    """Junos ends lines with ``## SECRET-DATA``; what follows is still read."""
    running = (
        'system { login { user a { authentication { encrypted-password "$6$x"; ## SECRET-DATA\n'
        "} } } }\npolicy-options { policy-statement NP_STALE { then reject; } }\n"
        "protocols { bgp { group NP_OLD { } group NP_OLD2 { } } }\n"
    )
    plan = plan_merge("junos", "protocols { bgp { group NP_NEW { } } }", running, "NP_")
    assert plan.removed == ("policy-statement NP_STALE", "group NP_OLD", "group NP_OLD2")


def test_bird_owns_its_whole_file() -> None:
    assert not needs_running("bird")
    assert plan_merge("bird", "protocol bgp x {}\n", "anything", "NP_").config == (
        "protocol bgp x {}\n"
    )


def test_an_unknown_platform_is_only_deployed_whole() -> None:
    with pytest.raises(DeployRefused, match="'deploy: replace'"):
        check_rendered("nxos", "router bgp 1\n", "NP_")


@pytest.mark.parametrize(
    ("platform", "seconds", "refused"),
    [
        ("iosxr", 120, "cannot commit with an automatic revert"),
        ("iosxr_netconf", 120, "cannot commit with an automatic revert"),
        ("frr", 60, "FRR has no commit with an automatic revert"),
        ("junos", 90, "give a multiple of 60"),
        ("junos", 120, None),
        ("eos", 45, None),
        ("bird", 45, None),
    ],
)
def test_commit_confirm_where_the_platform_can_revert(
    platform: str, seconds: int, refused: str | None
) -> None:
    refusal = commit_confirm_refusal(platform, seconds)
    if refused is None:
        assert refusal is None
    else:
        assert refusal is not None and refused in refusal


def test_tree_keeps_what_a_policy_needs_to_be_sent_again() -> None:
    tree = parse(IOSXR_RUNNING)
    policy = next(n for n in tree.children if n.text == "route-policy OPERATOR-IBGP")
    assert policy.source == ["route-policy OPERATOR-IBGP", "  pass", "end-policy"]


# -- a VRF of the operator's, with our sessions in it ----------------------------------------
# The operator owns the VRF (its definition, RD, route targets, its own neighbors and
# redistribution); a session of ours in it merges into it, and a stale one of ours goes.
# The rendered configurations are shaped as the example templates render a VRF session.

OPERATORS_VRF_LINES = re.compile(
    r"^rd |route-target|route-distinguisher|instance-type|\binterface\b|redistribute"
    r"|router-id|2001:db8:9::1|OPERATOR|ospf3"
)


def assert_operators_vrf_untouched(config: str) -> None:
    """No line of the candidate names what is the operator's in its VRF."""
    for line in config.splitlines():
        assert not OPERATORS_VRF_LINES.search(line.strip()), line


IOSXR_VRF_RUNNING = """\
!! IOS XR Configuration 7.5.2
vrf peering
 address-family ipv6 unicast
  import route-target
   64500:10
  !
  export route-target
   64500:10
  !
 !
!
route-policy OPERATOR-PASS
  pass
end-policy
!
router bgp 64500
 bgp router-id 10.0.0.1
 address-family ipv6 unicast
 !
 address-family vpnv6 unicast
 !
 neighbor-group NP_LAB_IX_2_V6
  address-family ipv6 unicast
  !
 !
 vrf peering
  rd auto
  address-family ipv6 unicast
   redistribute connected
  !
  neighbor 2001:db8:9::1
   remote-as 65200
   address-family ipv6 unicast
    route-policy OPERATOR-PASS in
    route-policy OPERATOR-PASS out
   !
  !
  neighbor fd00:7f8:2::99
   remote-as 65099
   use neighbor-group NP_LAB_IX_2_V6
  !
 !
!
"""

IOSXR_VRF_RENDERED = """\
router bgp 64500
 address-family ipv6 unicast
 !
 address-family vpnv6 unicast
 !
 neighbor-group NP_LAB_IX_2_V6
  address-family ipv6 unicast
  !
 !
 vrf peering
  address-family ipv6 unicast
  !
  neighbor fd00:7f8:2::11
   remote-as 65001
   use neighbor-group NP_LAB_IX_2_V6
   address-family ipv6 unicast
    route-policy NP_IMPORT_V6 in
    route-policy NP_EXPORT_V6 out
   !
  !
 !
!
"""

EOS_VRF_RUNNING = """\
! Command: show running-config
vrf instance peering
!
ip routing vrf peering
ipv6 unicast-routing vrf peering
!
route-map OPERATOR-PASS permit 10
!
router bgp 64500
   router-id 10.0.0.1
   neighbor NP_LAB_IX_2_V6 peer group
   !
   vrf peering
      rd 64500:10
      route-target import vpn-ipv6 64500:10
      neighbor 2001:db8:9::1 remote-as 65200
      neighbor 2001:db8:9::1 route-map OPERATOR-PASS in
      neighbor fd00:7f8:2::99 peer group NP_LAB_IX_2_V6
      neighbor fd00:7f8:2::99 remote-as 65099
      redistribute connected
      !
      address-family ipv6
         neighbor 2001:db8:9::1 activate
         neighbor fd00:7f8:2::99 activate
!
end
"""

EOS_VRF_RENDERED = """\
router bgp 64500
   neighbor NP_LAB_IX_2_V6 peer group
   !
   vrf peering
      neighbor fd00:7f8:2::11 peer group NP_LAB_IX_2_V6
      neighbor fd00:7f8:2::11 remote-as 65001
      neighbor fd00:7f8:2::11 route-map NP_IMPORT_V6 in
      neighbor fd00:7f8:2::11 route-map NP_EXPORT_V6 out
      !
      address-family ipv6
         neighbor fd00:7f8:2::11 activate
!
"""

FRR_VRF_RUNNING = """\
frr version 8.4.4
frr defaults traditional
hostname edge3
!
vrf peering
exit-vrf
!
route-map OPERATOR-PASS permit 10
exit
!
router bgp 64500
 bgp router-id 127.0.1.3
 no bgp default ipv4-unicast
 neighbor 127.0.9.3 remote-as 64500
exit
!
router bgp 64500 vrf peering
 bgp router-id 127.0.1.3
 no bgp default ipv4-unicast
 neighbor NP_LAB_IX_2_V6 peer-group
 neighbor 2001:db8:9::1 remote-as 65200
 neighbor fd00:7f8:2::99 remote-as 65099
 neighbor fd00:7f8:2::99 peer-group NP_LAB_IX_2_V6
 !
 address-family ipv6 unicast
  redistribute connected
  neighbor 2001:db8:9::1 activate
  neighbor 2001:db8:9::1 route-map OPERATOR-PASS in
  neighbor 2001:db8:9::1 route-map OPERATOR-PASS out
  neighbor fd00:7f8:2::99 activate
 exit-address-family
exit
!
end
"""

FRR_VRF_RENDERED = """\
router bgp 64500
router bgp 64500 vrf peering
 neighbor NP_LAB_IX_2_V6 peer-group
 neighbor fd00:7f8:2::11 remote-as 65001
 neighbor fd00:7f8:2::11 peer-group NP_LAB_IX_2_V6
 address-family ipv6 unicast
  neighbor fd00:7f8:2::11 activate
  neighbor fd00:7f8:2::11 route-map NP_IMPORT_V6 in
  neighbor fd00:7f8:2::11 route-map NP_EXPORT_V6 out
 exit-address-family
"""

VRF_CASES = {
    "iosxr": (IOSXR_VRF_RENDERED, IOSXR_VRF_RUNNING, ("router bgp 64500", "vrf peering")),
    "eos": (EOS_VRF_RENDERED, EOS_VRF_RUNNING, ("router bgp 64500", "vrf peering")),
    "frr": (FRR_VRF_RENDERED, FRR_VRF_RUNNING, ("router bgp 64500 vrf peering",)),
}


@pytest.mark.parametrize("platform", sorted(VRF_CASES))
def test_a_vrf_session_merges_into_the_operators_vrf(platform: str) -> None:
    """Our neighbor goes into the operator's VRF, the stale one of ours in it goes, and
    nothing of the VRF's own (RD, route targets, redistribution, the operator's
    neighbor and policy) is sent, negated or removed."""
    rendered, running, vrf = VRF_CASES[platform]
    plan = plan_merge(platform, rendered, running, "NP_")
    sent = parse(plan.config).lines()
    ours = ("neighbor fd00:7f8:2::11", "neighbor fd00:7f8:2::11 activate")
    assert any(line[: len(vrf)] == vrf and line[-1] in ours for line in sent), sent
    # nowhere outside the VRF
    assert not any(line[: len(vrf)] != vrf and "fd00:7f8:2::11" in " ".join(line) for line in sent)
    assert (*vrf, "no neighbor fd00:7f8:2::99") in sent
    assert plan.removed == ("neighbor fd00:7f8:2::99 (vrf peering)",)
    assert not [line for line in sent if line[-1].startswith("no ") and "::99" not in line[-1]]
    assert_operators_vrf_untouched(plan.config)


def test_frr_vrf_merge_leaves_every_line_of_the_operators_vrf() -> None:
    """FRR applies commands as they come: what the router holds afterwards is the
    operator's VRF instance, whole, with our neighbor in place of the stale one."""
    plan = plan_merge("frr", FRR_VRF_RENDERED, FRR_VRF_RUNNING, "NP_")
    before = parse(FRR_VRF_RUNNING)
    after = predict(before, parse(plan.config))
    theirs = {line for line in before.lines() if not any("::99" in part for part in line)}
    assert theirs <= after.lines()
    vrf = "router bgp 64500 vrf peering"
    assert (vrf, "neighbor fd00:7f8:2::11 peer-group NP_LAB_IX_2_V6") in after.lines()
    assert (vrf, "address-family ipv6 unicast", "neighbor fd00:7f8:2::11 activate") in (
        after.lines()
    )
    assert not any("fd00:7f8:2::11" in " ".join(line) for line in after.lines() if line[0] != vrf)


@pytest.mark.parametrize("platform", sorted(VRF_CASES))
def test_the_operators_neighbor_in_a_vrf_is_never_taken_over(platform: str) -> None:
    """2001:db8:9::1 is the operator's in VRF peering: ours there collides, ours at the
    same address in the default table does not."""
    rendered, running, _ = VRF_CASES[platform]
    taken = rendered.replace("fd00:7f8:2::11", "2001:db8:9::1")
    with pytest.raises(OwnershipError, match=r"neighbor 2001:db8:9::1 \(vrf peering\)"):
        plan_merge(platform, taken, running, "NP_")
    elsewhere = taken.replace("router bgp 64500 vrf peering", "router bgp 64500 vrf other")
    elsewhere = elsewhere.replace(" vrf peering\n", " vrf other\n")
    other = {  # the operator's VRF other, as each platform needs it
        "eos": "vrf instance other\n" + running,
        "iosxr": "vrf other\n!\n"
        + running.replace("router bgp 64500\n", "router bgp 64500\n vrf other\n  rd auto\n !\n"),
    }.get(platform, running)
    assert plan_merge(platform, elsewhere, other, "NP_").removed


# FRR's VRF is a kernel device, which its configuration need not show: not checked there
@pytest.mark.parametrize("platform", sorted(set(VRF_CASES) - {"frr"}))
def test_a_vrf_the_router_lacks_is_refused(platform: str) -> None:
    """A VRF is the operator's: sessions in one the router does not have (IOS-XR: or whose
    route distinguisher it lacks) are refused before anything is loaded, never created."""
    rendered, running, _ = VRF_CASES[platform]
    missing = {
        "junos": "the router has no routing instance peering",
        "eos": "the router has no 'vrf instance peering'",
        "iosxr": "the router has no route distinguisher under router bgp / vrf peering",
    }[platform]
    lacking = {
        "junos": running.replace("    peering {", "    elsewhere {"),
        "eos": running.replace("vrf instance peering", "vrf instance elsewhere"),
        "iosxr": running.replace("  rd auto\n", ""),
    }[platform]
    with pytest.raises(OwnershipError, match=re.escape(missing)):
        plan_merge(platform, rendered, lacking, "NP_")


JUNOS_VRF_RUNNING = """\
## Last commit: 2026-11-20 09:00:00 UTC by admin
version 22.4R1;
policy-options {
    policy-statement OPERATOR-PASS { then accept; }
}
routing-instances {
    peering {
        instance-type virtual-router;
        interface xe-0/0/1.100;
        route-distinguisher 64500:10;
        protocols {
            bgp {
                group OPERATOR-PEERS {
                    type external;
                    neighbor 2001:db8:9::1 { peer-as 65200; import OPERATOR-PASS; }
                }
                group NP_OLD_V6 { neighbor fd00:7f8:2::99 { peer-as 65099; } }
            }
            ospf3 { area 0.0.0.0 { interface xe-0/0/1.100; } }
        }
    }
}
"""

JUNOS_VRF_RENDERED = """\
protocols {
    bgp {
    }
}
routing-instances {
    peering {
        protocols {
            bgp {
                group NP_LAB_IX_2_V6 {
                    type external;
                    neighbor fd00:7f8:2::11 {
                        import [ NP_IMPORT_V6 ];
                        export NP_EXPORT_V6;
                        peer-as 65001;
                    }
                }
            }
        }
    }
}
"""


def test_junos_vrf_session_merges_into_the_operators_routing_instance() -> None:
    """Our group is replaced inside the operator's routing instance and the stale one
    deleted there; the instance's type, interfaces, RD, other protocols and the
    operator's group are never named."""
    plan = plan_merge("junos", JUNOS_VRF_RENDERED, JUNOS_VRF_RUNNING, "NP_")
    lines = [line.strip() for line in plan.config.splitlines()]
    start = lines.index("routing-instances {")
    assert lines[start : start + 6] == [
        "routing-instances {",
        "peering {",
        "protocols {",
        "bgp {",
        "replace:",
        "group NP_LAB_IX_2_V6 {",
    ]
    assert lines[lines.index("group NP_OLD_V6;") - 1] == "delete:"
    assert lines.index("group NP_OLD_V6;") > start  # in the instance, not the global bgp
    assert plan.removed == ("group NP_OLD_V6",)
    assert_operators_vrf_untouched(plan.config)
    # no tag on the instance or its protocols: only our groups are replaced or deleted
    assert lines.count("replace:") == 1 and lines.count("delete:") == 1


# -- what someone did by hand on the router, and what still uses our objects ------------------


@pytest.mark.parametrize(
    ("platform", "rendered", "running", "undo"),
    [
        ("frr", FRR_RENDERED, FRR_RUNNING, "no neighbor 127.0.1.11 shutdown"),
        ("iosxr", IOSXR_RENDERED, IOSXR_RUNNING, "no shutdown"),
        (
            "eos",
            EOS_RENDERED,
            EOS_RUNNING.replace(
                "   neighbor 127.0.1.11 maximum-routes 12000\n",
                "   neighbor 127.0.1.11 maximum-routes 12000\n   neighbor 127.0.1.11 shutdown\n",
            ),
            "no neighbor 127.0.1.11 shutdown",
        ),
    ],
)
def test_a_neighbor_shut_down_by_hand_stays_shut_down_unless_forced(
    platform: str, rendered: str, running: str, undo: str
) -> None:
    """An engineer's emergency shutdown of one of our neighbors is not undone by the next
    run: the plan leaves it and says so; --force undoes it."""
    held = plan_merge(platform, rendered, running, "NP_")
    assert undo not in commands(held.config)
    # sent again after ours: a change of group (EOS, FRR) would otherwise lose it
    assert undo.removeprefix("no ") in commands(held.config)
    assert held.held and "127.0.1.11" in held.held[0] and "shutdown" in held.held[0]
    assert "left shut down as on the router (--force enables them)" in held.notes
    forced = plan_merge(platform, rendered, running, "NP_", force=True)
    assert undo in commands(forced.config) and forced.held == ()


JUNOS_HELD = """protocols {
    bgp {
        group NP_LAB_IX_V4 {
            type external;
            inactive: neighbor 127.0.1.11 { peer-as 65001; }
            neighbor 127.0.1.12 { peer-as 65002; shutdown; }
            neighbor 127.0.1.13 { peer-as 65003; }
        }
        inactive: group NP_LAB_IX_V6 { type external; neighbor fd00::11 { peer-as 65001; } }
    }
}
"""
JUNOS_HELD_RENDERED = """protocols {
    bgp {
        group NP_LAB_IX_V4 {
            type external;
            neighbor 127.0.1.11 { peer-as 65001; description "Peer One"; }
            neighbor 127.0.1.12 { peer-as 65002; }
            neighbor 127.0.1.13 { peer-as 65003; }
        }
        group NP_LAB_IX_V6 { type external; neighbor fd00::11 { peer-as 65001; } }
    }
}
"""


def test_junos_keeps_what_was_deactivated_or_shut_down_by_hand() -> None:
    """A neighbor or group of ours deactivated (inactive:) or shut down on the router is
    replaced with the new configuration but stays inactive or shut down."""
    plan = plan_merge("junos", JUNOS_HELD_RENDERED, JUNOS_HELD, "NP_")
    bgp = junos.parse(plan.config).child("protocols").child("bgp")
    v4, v6 = bgp.children
    assert v6.tags == ["replace:", "inactive:"]
    one, two, three = v4.children[1:]
    assert one.tags == ["inactive:"] and one.child("description") is not None
    assert two.child("shutdown") is not None
    assert three.tags == [] and three.child("shutdown") is None
    assert len(plan.held) == 3
    forced = plan_merge("junos", JUNOS_HELD_RENDERED, JUNOS_HELD, "NP_", force=True)
    assert "inactive:" not in forced.config and "shutdown" not in forced.config


def test_junos_keeps_stale_objects_still_used_and_what_they_use() -> None:
    """An operator's group imports our policy, which the template no longer renders:
    deleting it would fail the commit ("referenced but not defined"). It is kept, and so
    is the community it uses; what nothing uses goes."""
    running = """policy-options {
    policy-statement NP_OLD_IMPORT { term a { from community NP_OLD_TAG; then accept; } }
    policy-statement NP_UNUSED { then reject; }
    community NP_OLD_TAG members 64500:7;
    community NP_OTHER members 64500:8;
}
protocols {
    bgp {
        group TRANSIT { type external; import [ NP_OLD_IMPORT TRANSIT-IN ]; neighbor 192.0.2.1; }
    }
}
"""
    plan = plan_merge("junos", JUNOS_RENDERED, running, "NP_")
    assert plan.removed == ("policy-statement NP_UNUSED", "community NP_OTHER")
    assert plan.kept == (
        "policy-statement NP_OLD_IMPORT (the router's own 'import [ NP_OLD_IMPORT TRANSIT-IN ]' "
        "uses it)",
        "community NP_OLD_TAG (policy-statement NP_OLD_IMPORT, kept, uses it)",
    )
    assert "NP_OLD_IMPORT" not in plan.config and "NP_OLD_TAG" not in plan.config


@pytest.mark.parametrize(
    ("platform", "running", "user"),
    [
        (
            "eos",
            "ip prefix-list NP_OLD_LIST\n   seq 10 permit 12.0.0.0/8\n!\n"
            "ip as-path access-list NP_OLD_PATH permit _65001$ any\n"
            "route-map NP_OLD permit 10\n   match ip address prefix-list NP_OLD_LIST\n!\n"
            "route-map NP_OLD permit 20\n   match as-path NP_OLD_PATH\n!\n"
            "route-map NP_UNUSED permit 10\n!\n"
            "router bgp 64500\n   neighbor 192.0.2.1 remote-as 65100\n"
            "   neighbor 192.0.2.1 route-map NP_OLD in\n",
            "neighbor 192.0.2.1 route-map NP_OLD in",
        ),
        (
            "iosxr",
            "prefix-set NP_OLD_LIST\n  12.0.0.0/8\nend-set\n!\n"
            "as-path-set NP_OLD_PATH\n  ios-regex '_65001$'\nend-set\n!\n"
            "route-policy NP_OLD\n  if destination in NP_OLD_LIST and as-path in NP_OLD_PATH "
            "then\n    pass\n  endif\nend-policy\n!\n"
            "route-policy NP_UNUSED\n  drop\nend-policy\n!\n"
            "route-policy TRANSIT-IN\n  apply NP_OLD\nend-policy\n!\n",
            "apply NP_OLD",
        ),
        (
            "frr",
            "ip prefix-list NP_OLD_LIST seq 5 permit 12.0.0.0/8\n"
            "bgp as-path access-list NP_OLD_PATH seq 5 permit _65001$\n"
            "route-map NP_OLD permit 10\n match ip address prefix-list NP_OLD_LIST\n"
            "route-map NP_OLD permit 20\n match as-path NP_OLD_PATH\n"
            "route-map NP_UNUSED permit 10\n"
            "route-map TRANSIT-IN permit 10\n call NP_OLD\n",
            "call NP_OLD",
        ),
    ],
)
def test_what_a_kept_object_uses_is_kept_too(platform: str, running: str, user: str) -> None:
    """The operator uses our route-map/route-policy, which the template no longer renders:
    it is kept, and so is every list it matches (removing them would fail the commit on
    IOS-XR, and on EOS leave the kept map matching a list that does not exist)."""
    plan = plan_merge(platform, "", running, "NP_")
    kept = {k.split(" (")[0]: k for k in plan.kept}
    policy = "route-policy NP_OLD" if platform == "iosxr" else "route-map NP_OLD"
    assert set(kept) == {
        policy,
        *{
            "eos": ["ip as-path access-list NP_OLD_PATH", "ip prefix-list NP_OLD_LIST"],
            "iosxr": ["as-path-set NP_OLD_PATH", "prefix-set NP_OLD_LIST"],
            "frr": ["bgp as-path access-list NP_OLD_PATH", "ip prefix-list NP_OLD_LIST"],
        }[platform],
    }
    assert kept[policy].endswith(f"(the router's own '{user}' uses it)")
    assert all(k.endswith(f"({policy}, kept, uses it)") for n, k in kept.items() if n != policy)
    removed = "route-policy NP_UNUSED" if platform == "iosxr" else "route-map NP_UNUSED"
    assert plan.removed == (removed,)
    for name in ("NP_OLD", "NP_OLD_LIST", "NP_OLD_PATH"):
        assert not re.search(rf"no .*\b{name}\b", plan.config), name


# -- the operator's eBGP neighbors that could pass on our customer tag ------------------------

EXPOSURE = {
    "eos": """\
ip large-community-list regexp OURS permit ^64500:
ip large-community-list OTHERS permit 65000:1:1
route-map STRIP permit 10
   set large-community large-community-list OURS delete
route-map WRONG permit 10
   set large-community large-community-list OTHERS delete
route-map VIA permit 10
   sub-route-map STRIP
router bgp 64500
   neighbor NP_IX peer group
   neighbor TRANSIT peer group
   neighbor TRANSIT remote-as 65100
   neighbor TRANSIT route-map STRIP in
   neighbor 192.0.2.1 peer group TRANSIT
   neighbor 192.0.2.2 remote-as 65200
   neighbor 192.0.2.3 remote-as 65300
   neighbor 192.0.2.3 route-map WRONG in
   neighbor 192.0.2.4 remote-as 65400
   neighbor 192.0.2.4 route-map VIA in
   neighbor 10.0.0.2 remote-as 64500
   neighbor 127.0.1.11 peer group NP_IX
   neighbor 127.0.1.11 remote-as 65001
   vrf CUST
      neighbor 10.9.0.1 remote-as 65300
""",
    "frr": """\
bgp large-community-list standard OURS seq 5 permit 64500:0:1
bgp large-community-list expanded OTHERS seq 5 permit ^65000:
route-map STRIP permit 10
 set large-comm-list OURS delete
route-map WRONG permit 10
 set large-comm-list OTHERS delete
route-map VIA permit 10
 call NONE
route-map NONE permit 10
 set large-community none
router bgp 64500
 neighbor TRANSIT peer-group
 neighbor TRANSIT remote-as external
 neighbor 192.0.2.1 peer-group TRANSIT
 neighbor 192.0.2.2 remote-as 65200
 neighbor 192.0.2.3 remote-as 65300
 neighbor 192.0.2.4 remote-as 65400
 neighbor 10.0.0.2 remote-as internal
 address-family ipv4 unicast
  neighbor TRANSIT route-map STRIP in
  neighbor 192.0.2.3 route-map WRONG in
  neighbor 192.0.2.4 route-map VIA in
 exit-address-family
router bgp 64500 vrf CUST
 neighbor 10.9.0.1 remote-as 65300
""",
    "iosxr": """\
large-community-set OURS
  64500:*:*
end-set
!
large-community-set OTHERS
  65000:[0..10]:1
end-set
!
route-policy STRIP
  delete large-community in OURS
  pass
end-policy
!
route-policy WRONG
  delete large-community in OTHERS
  pass
end-policy
!
route-policy VIA
  apply STRIP
end-policy
!
router bgp 64500
 neighbor-group TRANSIT
  remote-as 65100
  address-family ipv4 unicast
   route-policy STRIP in
  !
 !
 neighbor 192.0.2.1
  use neighbor-group TRANSIT
 !
 neighbor 192.0.2.2
  remote-as 65200
 !
 neighbor 192.0.2.3
  remote-as 65300
  address-family ipv4 unicast
   route-policy WRONG in
  !
 !
 neighbor 192.0.2.4
  remote-as 65400
  address-family ipv4 unicast
   route-policy VIA in
  !
 !
 neighbor 10.0.0.2
  remote-as 64500
 !
 vrf CUST
  neighbor 10.9.0.1
   remote-as 65300
  !
 !
!
""",
    "junos": """\
routing-options { autonomous-system 64500; }
policy-options {
    policy-statement STRIP { term a { then { community delete OURS; } } }
    policy-statement WRONG { term a { then { community delete OTHERS; } } }
    policy-statement RESET { then { community set CLEAN; accept; } }
    community OURS members large:64500:*:*;
    community OTHERS members [ "^65000:.*$" large:65000:.*:.* ];
    community CLEAN members 65000:1;
}
protocols {
    bgp {
        import STRIP;
        group TRANSIT { type external; neighbor 192.0.2.1 { peer-as 65100; } }
        group CUSTOMERS {
            type external;
            import WRONG;
            neighbor 192.0.2.2 { peer-as 65200; import [ WRONG RESET ]; }
            neighbor 192.0.2.3 { peer-as 65300; }
        }
        group IBGP { type internal; neighbor 10.0.0.2; }
        group NP_LAB_IX_V4 { type external; neighbor 127.0.1.11 { peer-as 65001; } }
    }
}
routing-instances {
    CUST { protocols { bgp { group C { neighbor 10.9.0.1 { peer-as 65300; } } } } }
}
""",
}


@pytest.mark.parametrize(
    ("platform", "exposed"),
    [
        ("eos", ["192.0.2.2 (AS65200)", "192.0.2.3 (AS65300)", "10.9.0.1 (AS65300, vrf CUST)"]),
        ("frr", ["192.0.2.2 (AS65200)", "192.0.2.3 (AS65300)", "10.9.0.1 (AS65300, vrf CUST)"]),
        ("iosxr", ["192.0.2.2 (AS65200)", "192.0.2.3 (AS65300)", "10.9.0.1 (AS65300, vrf CUST)"]),
        ("junos", ["192.0.2.3 (AS65300)", "10.9.0.1 (AS65300, vrf CUST)"]),
    ],
)
def test_the_operators_ebgp_neighbors_that_keep_our_communities(
    platform: str, exposed: list[str]
) -> None:
    """Reported: an eBGP neighbor of the operator's with no import, or one that deletes
    someone else's communities. Not reported: one whose import (or a policy it calls)
    deletes ours or replaces every community, iBGP neighbors, and our own neighbors."""
    assert unstripped(platform, EXPOSURE[platform], "NP_", 64500) == exposed


def test_eos_lists_without_sequence_numbers_are_replaced_or_left_alone() -> None:
    """Whether EOS adds a duplicate when an as-path or community-list line is entered
    again is not documented: such a list is left alone when unchanged, and removed then
    sent whole (in the same session) when it changed; prefix-lists go by sequence."""
    running = (
        "ip as-path access-list NP_ASPATH permit _65001$ any\n"
        "ip large-community-list NP_TAG permit 64500:0:1\n"
        "router bgp 64500\n"
    )
    same = plan_merge("eos", running, running, "NP_")
    assert "as-path" not in same.config and "large-community-list" not in same.config
    changed = running.replace("_65001$", "_65002$")
    plan = commands(plan_merge("eos", changed, running, "NP_").config)
    assert plan.index("no ip as-path access-list NP_ASPATH") < plan.index(
        "ip as-path access-list NP_ASPATH permit _65002$ any"
    )
    assert "ip large-community-list NP_TAG permit 64500:0:1" not in plan


@pytest.mark.parametrize(
    ("platform", "running", "rendered", "undo"),
    [
        (
            "frr",
            "router bgp 64500\n neighbor NP_IX peer-group\n neighbor 192.0.2.1 remote-as 65001\n"
            " neighbor 192.0.2.1 peer-group NP_IX\n"
            " neighbor 192.0.2.1 description Peer One - disabled by nornir-peering\n"
            " neighbor 192.0.2.1 shutdown\n",
            "router bgp 64500\n neighbor NP_IX peer-group\n neighbor 192.0.2.1 remote-as 65001\n"
            " neighbor 192.0.2.1 peer-group NP_IX\n neighbor 192.0.2.1 description Peer One\n",
            "no neighbor 192.0.2.1 shutdown",
        ),
        (
            "iosxr",
            "router bgp 64500\n neighbor-group NP_IX\n !\n neighbor 192.0.2.1\n"
            "  remote-as 65001\n  use neighbor-group NP_IX\n"
            "  description Peer One - disabled by nornir-peering\n  shutdown\n !\n!\n",
            "router bgp 64500\n neighbor-group NP_IX\n !\n neighbor 192.0.2.1\n"
            "  remote-as 65001\n  use neighbor-group NP_IX\n  description Peer One\n !\n!\n",
            "no shutdown",
        ),
    ],
)
def test_a_session_the_intent_enables_again_comes_back_up(
    platform: str, running: str, rendered: str, undo: str
) -> None:
    """nornir-peering's own shutdown of a session the intent disabled says so in its
    description; once the intent enables it again, the shutdown goes without --force."""
    plan = plan_merge(platform, rendered, running, "NP_")
    assert undo in commands(plan.config) and plan.held == ()


def test_junos_a_session_the_intent_enables_again_comes_back_up() -> None:
    running = (
        "protocols { bgp { group NP_IX { type external; neighbor 192.0.2.1 {\n"
        '    description "Peer One - disabled by nornir-peering"; peer-as 65001; shutdown; }\n'
        "} } }\n"
    )
    rendered = (
        "protocols { bgp { group NP_IX { type external; neighbor 192.0.2.1 {\n"
        '    description "Peer One"; peer-as 65001; } } } }\n'
    )
    plan = plan_merge("junos", rendered, running, "NP_")
    assert "shutdown" not in plan.config and plan.held == ()
