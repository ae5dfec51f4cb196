"""``deploy: replace``: the template renders a router's whole configuration, and NAPALM's
``load_replace_candidate`` removes whatever it does not render (Junos ``load override``,
IOS-XR ``commit replace``, EOS ``rollback clean-config``, FRR ``frr-reload.py``).

A template written for merge (BGP and policy only) deployed that way would wipe the
router's interfaces and management, so a replace candidate is checked twice: it must hold
the platform's base stanzas (:func:`check_base`, before any router is contacted), and the
stanzas and interfaces it would remove from the router's running configuration are
counted (:func:`removed_stanzas`) for the guard on commits.

>>> removed_stanzas("eos", "hostname r1\\ninterface Ethernet1\\n   mtu 9000\\n", "hostname r1\\n")
['interface Ethernet1']
"""

from __future__ import annotations

from nornir_peering.deploy import junos
from nornir_peering.deploy.errors import DeployRefused
from nornir_peering.deploy.tree import parse

# What every whole configuration of the platform has: a candidate without them was
# not written for replace. The Cisco-style platforms need an "interface" line too.
BASE_STANZAS: dict[str, tuple[str, ...]] = {
    "junos": ("system", "interfaces"),
    "iosxr": ("hostname", "interface"),
    "iosxr_netconf": ("hostname", "interface"),
    "eos": ("hostname", "interface"),
    "frr": ("hostname",),
}


def check_base(platform: str, config: str) -> None:
    """Refuse a replace candidate that lacks the platform's base stanzas.

    >>> check_base("eos", "router bgp 64500\\n")
    Traceback (most recent call last):
    ...
    nornir_peering.deploy.errors.DeployRefused: deploy: replace: the candidate has no \
'hostname', 'interface' stanza, which every whole eos configuration has: it would be wiped \
from the router (a template written for merge renders only BGP and policy); nothing was loaded
    """
    wanted = BASE_STANZAS.get(platform)
    if wanted is None:
        raise DeployRefused(
            f"deploy: replace: nornir-peering does not know what a whole {platform} "
            f"configuration must hold ({', '.join(sorted(BASE_STANZAS))} only), so it cannot "
            "check the candidate; nothing was loaded"
        )
    have = _top_level_words(platform, config)
    missing = [stanza for stanza in wanted if stanza not in have]
    if missing:
        raise DeployRefused(
            f"deploy: replace: the candidate has no {', '.join(repr(m) for m in missing)} "
            f"stanza, which every whole {platform} configuration has: it would be wiped from "
            "the router (a template written for merge renders only BGP and policy); nothing "
            "was loaded"
        )


def removed_stanzas(platform: str, running: str, candidate: str) -> list[str]:
    """The top-level stanzas (blocks and Junos statements) and the interfaces of
    ``running`` that replacing it with ``candidate`` removes."""
    if platform == "junos":
        have, want = junos.parse(running), junos.parse(candidate)
        kept = {s.text for s in want.children or []}
        gone = [s.text for s in have.children or [] if s.text not in kept]
        have_ifs, want_ifs = have.child("interfaces"), want.child("interfaces")
        if have_ifs is not None and want_ifs is not None:
            kept_ifs = {s.text for s in want_ifs.children or []}
            gone += [
                f"interfaces {s.text}" for s in have_ifs.children or [] if s.text not in kept_ifs
            ]
        return gone
    kept_lines = {node.text for node in parse(candidate).children}
    return [
        node.text
        for node in parse(running).children
        if node.text not in kept_lines and (node.children or node.text.startswith("interface "))
    ]


def _top_level_words(platform: str, config: str) -> set[str]:
    if platform == "junos":
        return {s.words[0] for s in junos.parse(config).children or [] if s.words}
    return {node.text.split()[0] for node in parse(config).children}
