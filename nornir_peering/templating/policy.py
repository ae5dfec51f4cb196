"""The routing policy of the example templates, worked out once for every platform.

``{% set plan = sessions | bgp_plan %}`` gives a template the objects a
router needs and their names (all nornir-peering's: see
:mod:`nornir_peering.deploy`), so each platform's template only writes syntax:

- ``groups``: one BGP group per IX (or BGP group of ``peering.yaml``), family and
  VRF, keyed by ``(vrf, name)`` (``vrf`` None for the default table): a group of the
  same name in two tables is one definition where groups are global (IOS-XR, EOS)
  and one per instance where they are not (Junos, FRR);
- ``tables``: the default table, then each VRF by name, each with its ``vrf`` (None
  for the default table), ``families``, ``groups`` (by name) and ``sessions``. A
  session's ``vrf`` of ``""`` or ``"global"`` is the default table; any other must
  be a safe name (what ``peering.yaml`` accepts), or the router fails;
- ``imports``: for every eBGP session, reject bogons, prefixes longer than /24
  (IPv4) or /48 (IPv6), prefixes shorter than /8 or /16 (the default route
  among them, unless the session is a transit one that asks for it:
  ``accept_default``) and our own prefixes; with an IRR prefix list, reject
  what it does not cover (an empty one: everything), and with the AS-path list
  of the peer's AS-SET (``as_paths``), routes whose origin AS is not in it;
  strip our own communities; then apply the
  session's import policy. Routes from a customer that its IRR list filtered
  are tagged with the large community ``LOCAL_AS:0:1`` (``customer_tag``);
- ``exports``: our own prefixes (``local_as.prefixes4/6`` and their
  more-specifics up to /24 and /48) and the routes tagged ``customer_tag`` that
  are also in one of our customers' IRR lists (``customer_prefixes``, from the
  context's ``customer_lists``: every customer, on whatever router it is, since
  its routes reach the others over iBGP; a tag alone could come from any session
  the operator runs outside nornir-peering);
  to customers and iBGP sessions, every route; never an AS-path prepend
  towards iBGP. Nothing else, so routes
  learned from peers or transit never reach peers or transit;
- ``sessions``: the sessions, each with ``group_name``, ``import_name``,
  ``export_name`` and ``vrf_name`` (None for the default table).

A customer without an IRR prefix list is accepted, not re-announced: until
``grab-prefixes`` fills its list, nothing vouches for what it sends.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

from nornir_peering.inventory.intent import NAME_MAX, NAME_PATTERN
from nornir_peering.templating.filters import (
    BOGONS,
    MIN_LENGTH,
    as_path_list,
    community_type,
    community_value,
    irr_filtered,
    owned_name,
    prefix_list,
    prefix_ranges,
    safe_string,
)

FULL_TABLE = frozenset({"customer", "internal"})  # they get every route
DEFAULT_TABLE = frozenset({"", "global"})  # a session's vrf that means the default table
# what peering.yaml accepts as a VRF (intent.Name): a word that every platform takes bare,
# so that it reaches a configuration unchanged
VRF_NAME = re.compile(NAME_PATTERN)
# the default table's own name on some platforms (EOS, FRR, IOS-XR: default; Junos: master)
RESERVED_VRFS = frozenset({"default", "master"})


def vrf_name(session: Mapping[str, Any]) -> str | None:
    """The session's VRF, or None for the default table (``vrf`` ``""`` or ``"global"``).

    A name that could leave its place in a configuration, or that names the default
    table on some platform, fails the router.

    >>> vrf_name({"vrf": "global"}), vrf_name({"vrf": ""}), vrf_name({"vrf": "peering"})
    (None, None, 'peering')
    """
    vrf = session.get("vrf")
    if vrf is None or vrf in DEFAULT_TABLE:
        return None
    who = f"AS{session.get('remote_asn')} {session.get('remote_address', '')}".strip()
    if not isinstance(vrf, str) or len(vrf) > NAME_MAX or not VRF_NAME.match(vrf):
        raise ValueError(
            f"{who}: VRF {safe_string(vrf)!r} is not a safe name (letters, digits, "
            "'_', '.', '-', at most 63, starting with a letter or digit)"
        )
    if vrf.lower() in RESERVED_VRFS:
        raise ValueError(
            f"{who}: VRF {vrf!r} names the default table on some platforms; "
            "write 'global' (the default) for the default table"
        )
    return vrf


@pass_context
def bgp_plan(context: Context, sessions: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The example templates' plan: groups, import and export policies, IRR lists and
    their names, and ``tables``: the default table, then each VRF, with its groups and
    sessions (see the module's documentation for the policy it implements)."""
    router = context.get("router") or {}
    local_as = context["local_as"]
    policies = context.get("policies") or {}
    communities = context.get("communities") or {}
    # every customer's IRR list, on whatever router (the inventory's); without it, the
    # lists of this router's own customer sessions
    customer_lists = context.get("customer_lists")
    prefix = router.get("owned_prefix")

    names: dict[tuple[Any, ...], str] = {}

    def name(*parts: Any) -> str:
        """An owned name, worked out once per distinct set of parts."""
        found = names.get(parts)
        if found is None:
            found = names[parts] = owned_name("_".join(str(p) for p in parts if p), prefix)
        return found

    asns = sorted({int(local_as["asn"]), int(router.get("local_asn") or local_as["asn"])})
    plan: dict[str, Any] = {
        "families": [],
        "groups": {},
        "tables": [],
        "vrf_families": [],  # the families of the sessions in VRFs
        "imports": {},
        "exports": {},
        "irr": {},
        "as_paths": {},
        "sessions": [],
        "own": {4: list(local_as.get("prefixes4") or []), 6: list(local_as.get("prefixes6") or [])},
        "bogons": BOGONS,
        # our ASNs, whose communities no one else may send us: large ones for any ASN,
        # standard ones only for a 16-bit ASN (a 32-bit one cannot be in a standard community)
        "strip_asns": asns,
        "strip_asns_standard": [asn for asn in asns if asn <= 0xFFFF],
        "customer_tag": f"{int(local_as['asn'])}:0:1",
        "min_length": MIN_LENGTH,
        "accept_default": {4: False, 6: False},  # some import of the family takes it
        "customer_prefixes": {4: [], 6: []},  # the customers' IRR entries, merged below
        "names": {
            "bogons": {4: name("BOGONS_V4"), 6: name("BOGONS_V6")},
            "too_specific": {4: name("TOO_SPECIFIC_V4"), 6: name("TOO_SPECIFIC_V6")},
            # shorter than MIN_LENGTH: the default route too, or all but the default
            "too_short": {4: name("TOO_SHORT_V4"), 6: name("TOO_SHORT_V6")},
            "short": {4: name("SHORT_V4"), 6: name("SHORT_V6")},
            "customer_prefixes": {
                4: name("CUSTOMER_PREFIXES_V4"),
                6: name("CUSTOMER_PREFIXES_V6"),
            },
            "own": {4: name("OWN_V4"), 6: name("OWN_V6")},
            "own_any": {4: name("OWN_ANY_V4"), 6: name("OWN_ANY_V6")},
            "own_communities": name("OWN_COMMUNITIES"),
            "own_large_communities": name("OWN_LARGE_COMMUNITIES"),
            "customer_routes": name("CUSTOMER_ROUTES"),
        },
    }
    tables: dict[str | None, dict[str, Any]] = {None: _table(None)}
    for session in sessions:
        family = int(session["family"])
        v = f"V{family}"
        if family not in plan["families"]:
            plan["families"].append(family)
        vrf = vrf_name(session)
        table = tables.get(vrf)
        if table is None:
            table = tables[vrf] = _table(vrf)
        if family not in table["families"]:
            table["families"].append(family)
        if vrf is not None and family not in plan["vrf_families"]:
            plan["vrf_families"].append(family)
        relationship = session["relationship"]
        group = name(session["ix"] or session["group"], v)
        entry_group = table["groups"].get(group)
        if entry_group is None:
            entry_group = table["groups"][group] = {
                "name": group,
                "family": family,
                "vrf": vrf,
                "sessions": [],
            }
            plan["groups"][(vrf, group)] = entry_group
        filtered = irr_filtered(session)
        origins = as_path_list(session) if filtered else []
        path_name = name("ASPATH", f"AS{session['remote_asn']}") if origins else None
        if path_name and path_name not in plan["as_paths"]:
            plan["as_paths"][path_name] = {
                "name": path_name,
                "asn": session["remote_asn"],
                "asns": sorted(int(asn) for asn in origins),
            }
        irr_name = name("IRR", f"AS{session['remote_asn']}", v) if filtered else None
        if irr_name and irr_name not in plan["irr"]:
            plan["irr"][irr_name] = {
                "name": irr_name,
                "family": family,
                "asn": session["remote_asn"],
                "prefixes": prefix_ranges(prefix_list(session)),
                "as_path": path_name,
            }
        tag = relationship == "customer" and filtered
        if tag and customer_lists is None:
            plan["customer_prefixes"][family].extend(prefix_list(session))
        accept_default = bool(session.get("accept_default"))
        plan["accept_default"][family] |= accept_default
        import_name = name(
            "IMPORT",
            session["import_policy"],
            v,
            f"AS{session['remote_asn']}" if filtered else "",
            "CUSTOMER" if tag else "",
            "IBGP" if relationship == "internal" else "",
            "DEFAULT" if accept_default else "",
        )
        if import_name not in plan["imports"]:
            plan["imports"][import_name] = {
                "name": import_name,
                "family": family,
                "ibgp": relationship == "internal",
                "accept_default": accept_default,
                "irr": irr_name,
                "as_path": path_name,
                "tag_customer": tag,
                **_actions(session["import_policy"], policies, communities),
                "prepend": 0,  # an import never prepends (IOS-XR allows it for eBGP only)
            }
        full = relationship in FULL_TABLE
        ibgp = relationship == "internal"
        export_name = name(
            "EXPORT", session["export_policy"], v, "IBGP" if ibgp else "FULL" if full else ""
        )
        if export_name not in plan["exports"]:
            plan["exports"][export_name] = {
                "name": export_name,
                "family": family,
                "full": full,
                **_actions(session["export_policy"], policies, communities),
            }
            if ibgp:  # a prepend is for eBGP (IOS-XR refuses it towards iBGP)
                plan["exports"][export_name]["prepend"] = 0
        entry = {
            **session,
            "group_name": group,
            "import_name": import_name,
            "export_name": export_name,
            "vrf_name": vrf,
        }
        entry_group["sessions"].append(entry)
        table["sessions"].append(entry)
        plan["sessions"].append(entry)
    for listed in customer_lists or []:
        family = int(listed["family"])
        plan["customer_prefixes"][family].extend(
            prefix_list({"family": family, "prefix_list": listed})
        )
    for family, entries in plan["customer_prefixes"].items():
        plan["customer_prefixes"][family] = prefix_ranges(entries)
    plan["families"].sort()
    plan["vrf_families"].sort()
    for table in tables.values():
        table["families"].sort()
    # the default table first (always there, if empty), then the VRFs by name
    plan["tables"] = [tables[None], *(tables[v] for v in sorted(v for v in tables if v))]
    return plan


def _table(vrf: str | None) -> dict[str, Any]:
    """A routing table's part of the plan: the default table (``vrf`` None) or a VRF."""
    return {"vrf": vrf, "families": [], "groups": {}, "sessions": []}


def _actions(
    policy: str | None, policies: Mapping[str, Any], table: Mapping[str, str]
) -> dict[str, Any]:
    """What a policy sets: local preference, MED, prepends, communities by type."""
    found = policies.get(policy) or {} if policy else {}
    values = list(dict.fromkeys(table[n] for n in found.get("communities", [])))
    by_type: dict[str, list[str]] = {"standard": [], "large": [], "rt": [], "soo": []}
    for value in values:
        by_type[community_type(value)].append(community_value(value))
    return {
        "policy": policy,
        "local_pref": found.get("local_pref"),
        "med": found.get("med"),
        "prepend": int(found.get("prepend") or 0),
        "communities": by_type,
    }
