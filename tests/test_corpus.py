"""The deploy planner over real running configurations written by others.

Every configuration of ``tests/data/running/<platform>/`` (other projects' files, fetched
from package registries by ``materialise.py``, and the operator patterns written here,
``operator-*.conf``) goes through four intent changes: the first deploy of a set of
sessions (IX peers in both families, a route server, a transit, a customer with an IRR
list, one session in a VRF the router has), then from there a peer removed, a policy
renamed, and every session removed. Each candidate is applied with the platform's
semantics (:mod:`tests.platform_model`), and the result must hold:

- nothing outside the ownership rule changed: the operator's lines are as they were;
- every name of ours that anything on the router refers to still exists;
- a second run, planned against the result, changes nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from nornir_peering.deploy import MergePlan, cisco, junos, plan_merge
from nornir_peering.deploy.tree import parse
from nornir_peering.templating import environment, render_template
from tests.platform_model import apply

REPO = Path(__file__).parent.parent
CORPUS = Path(__file__).parent / "data" / "running"
PLATFORMS = ("junos", "iosxr", "eos", "frr")
PREFIX = "NP_"
SCENARIOS = ("peer removed", "policy renamed", "every session removed")


def corpus(platform: str) -> list[Path]:
    return sorted((CORPUS / platform).glob("*.conf"))


def test_the_corpus_is_there() -> None:
    """At least ten configurations written by others per platform (materialise.py, run by
    ./run's set-up, brings them), and the operator patterns."""
    for platform in PLATFORMS:
        files = corpus(platform)
        others = [f for f in files if not f.name.startswith("operator-")]
        assert len(others) >= 10, (
            f"{platform}: {len(others)} files in {CORPUS / platform}; run "
            "python tests/data/running/materialise.py"
        )
        assert any(f.name.startswith("operator-") for f in files), platform


# -- the intent: sessions the example templates render -----------------------------------


def local_asn(platform: str, text: str) -> int:
    """The router's AS as its configuration says (64500 when it has no BGP)."""
    pattern = r"^\s*autonomous-system (\d+)" if platform == "junos" else r"^router bgp (\d+)\s*$"
    found = re.search(pattern, text, re.M)
    return int(found[1]) if found else 64500


def existing_vrf(platform: str, text: str, asn: int) -> str | None:
    """A VRF the router has, where one of our sessions can go."""
    if platform == "junos":
        root = junos.parse(text).child("routing-instances")
        names = [s.words[0] for s in (root.children or [])] if root is not None else []
        names = [n for n in names if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", n)]
        return names[0] if names else None
    if platform == "frr":
        found = re.search(rf"^router bgp {asn} vrf ([A-Za-z0-9][\w.-]*)$", text, re.M)
        return found[1] if found else None
    tree = parse(text)
    for node in tree.children:
        if node.text == f"router bgp {asn}":
            for child in node.children:
                vrf = re.fullmatch(r"vrf ([A-Za-z0-9][\w.-]*)", child.text)
                if (
                    vrf
                    and vrf[1].lower() not in ("default", "master")
                    and cisco.missing_vrf(cisco.DIALECTS[platform], tree, vrf[1]) is None
                ):
                    return vrf[1]
    return None


def session(
    text: str, kind: str, asn: int, family: int, relationship: str, **extra: Any
) -> dict[str, Any]:
    """One session as the inventory gives templates, at an address the corpus does not use."""
    candidates = (
        [f"185.1.{n}.{n + 10}" for n in range(90, 200)]
        if family == 4
        else [f"2001:7f8:{n:x}::{n + 10:x}" for n in range(90, 200)]
    )
    address = next(
        a
        for a in candidates
        if not re.search(rf"(?<![\w.:]){re.escape(a)}(?![\w.:])", text) and a not in USED
    )
    USED.add(address)
    base: dict[str, Any] = {
        "kind": kind,
        "ix": "corpus-ix" if kind == "ix" else None,
        "ix_id": 1 if kind == "ix" else None,
        "ixlan_id": 1 if kind == "ix" else None,
        "ix_name": "Corpus IX" if kind == "ix" else None,
        "group": None if kind == "ix" else relationship,
        "relationship": relationship,
        "local_asn": 0,
        "local_address": None,
        "update_source": None,
        "accept_default": False,
        "vrf": "global",
        "remote_asn": asn,
        "remote_address": address,
        "family": family,
        "name": f"Peer AS{asn}",
        "description": None,
        "as_set": None,
        "as_sets": [],
        "irr_host": None,
        "irr_sources": [],
        "irr_aggregate": None,
        "max_prefix4": 100,
        "max_prefix6": 50,
        "max_prefix": 100 if family == 4 else 50,
        "import_policy": "ix-in" if kind == "ix" else f"{relationship}-in",
        "export_policy": "ix-out",
        "password": None,
        "enabled": True,
        "is_route_server": relationship == "route-server",
        "address_source": "peeringdb",
        "prefix_list": None,
        "state": None,
    }
    return {**base, **extra}


USED: set[str] = set()


def sessions_for(platform: str, running: str, asn: int) -> list[dict[str, Any]]:
    """The sessions of the first deploy, at addresses the operator's lines do not use (an
    operator pattern may hold one of ours already)."""
    USED.clear()
    text = "\n".join(" ".join(key) for key in foreign(platform, running))
    irr = {"prefixes": ["12.10.0.0/16", "12.11.0.0/22"], "asns": [65001]}
    irr6 = {"prefixes": ["2a0f:1001::/32"], "asns": [65001]}
    customer = {"prefixes": ["12.20.0.0/20"], "asns": [65200]}
    found = [
        session(text, "ix", 65001, 4, "peer", prefix_list=irr),
        session(text, "ix", 65001, 6, "peer", prefix_list=irr6),
        session(text, "ix", 65002, 4, "peer"),
        session(text, "ix", 65010, 4, "route-server", import_policy="rs-in"),
        session(text, "direct", 65100, 4, "transit", max_prefix4=None, max_prefix=None),
        session(text, "direct", 4200000001, 4, "customer", prefix_list=customer),
    ]
    vrf = existing_vrf(platform, running, asn)
    if vrf is not None:
        found.append(session(text, "ix", 65003, 4, "peer", vrf=vrf))
    return found


def render(platform: str, asn: int, sessions: list[dict[str, Any]], ix_in: str) -> str:
    policies = {
        ix_in: {"communities": ["from-ix"], "local_pref": 200},
        "rs-in": {"local_pref": 190},
        "transit-in": {"local_pref": 100},
        "customer-in": {"local_pref": 300},
        "ix-out": {},
    }
    context = {
        "router": {
            "name": "r1",
            "hostname": "r1",
            "platform": platform,
            "local_asn": asn,
            "router_id": None,
            "deploy": "merge",
            "owned_prefix": PREFIX,
            "vars": {},
        },
        "local_as": {
            "asn": asn,
            "name": "Corpus",
            "as_set": None,
            "max_prefix_headroom": 10,
            "prefixes4": ["11.0.0.0/22"],
            "prefixes6": ["2a0f:11::/44"],
        },
        "sessions": [{**s, "local_asn": asn} for s in sessions],
        "connections": [],
        "policies": {
            name: {
                "description": "",
                "communities": [],
                "med": None,
                "prepend": 0,
                "vars": {},
                "local_pref": None,
                **value,
            }
            for name, value in policies.items()
        },
        "communities": {"from-ix": "64512:100"},
    }
    return render_template(environment(REPO / "templates"), f"{platform}/peering.j2", context)


# -- what a configuration holds -----------------------------------------------------------


def foreign(platform: str, text: str) -> Counter[tuple[str, ...]]:
    """The operator's lines (Cisco-style) or leaf statements (Junos), with their paths."""
    if platform == "junos":
        root = junos.parse(text)
        ours = {id(s) for _, s in junos.owned_objects(root, PREFIX, strict=False)}
        found: Counter[tuple[str, ...]] = Counter()

        def walk(statement: junos.Statement, path: tuple[str, ...]) -> None:
            for child in statement.children or []:
                if id(child) in ours:
                    continue
                here = (*path, " ".join([*child.tags, child.text]))
                if child.children:
                    walk(child, here)
                elif child.children is None:
                    found[here] += 1

        walk(root, ())
        return found
    held = cisco.holdings(parse(text), cisco.DIALECTS[platform], PREFIX)
    return Counter((*path, line) for path, line in held.foreign)


def names_and_references(platform: str, text: str) -> tuple[set[str], set[str]]:
    """Our objects' names on the router, and every name of ours that a line refers to."""
    if platform == "junos":
        root = junos.parse(text)
        defined = {s.words[1] for _, s in junos.owned_objects(root, PREFIX, strict=False)}
        words = re.findall(rf"(?<![\w-]){PREFIX}[\w.-]+", text)
        return defined, set(words)
    held = cisco.holdings(parse(text), cisco.DIALECTS[platform], PREFIX)
    defined = {key[2].split()[-1] for key in held.owned if key[0] != "neighbor"}
    return defined, set(re.findall(rf"(?<![\w-]){PREFIX}[\w.-]+", text))


def deploy(platform: str, running: str, rendered: str) -> tuple[str, MergePlan]:
    """The configuration once the planner's candidate for ``rendered`` is applied, checked:
    the operator's lines unchanged, every name of ours referred to defined."""
    plan = plan_merge(platform, rendered, running, PREFIX)
    after = apply(platform, running, plan.config)
    assert foreign(platform, after) == foreign(platform, running)
    defined, referenced = names_and_references(platform, after)
    assert referenced <= defined, sorted(referenced - defined)
    return after, plan


CASES = [
    pytest.param(platform, path, id=f"{platform}/{path.name}")
    for platform in PLATFORMS
    for path in corpus(platform)
]


@pytest.mark.parametrize(("platform", "path"), CASES)
def test_the_planner_on_a_real_configuration(platform: str, path: Path) -> None:
    running = path.read_text()
    asn = local_asn(platform, running)
    wanted = sessions_for(platform, running, asn)
    first, plan = deploy(platform, running, render(platform, asn, wanted, "ix-in"))
    again, _ = deploy(platform, first, render(platform, asn, wanted, "ix-in"))
    assert normal(platform, again) == normal(platform, first)  # a second run changes nothing
    held, must_keep = expected(running)
    for address in held:  # shut down or deactivated by hand, and left so
        assert any(address in note for note in plan.held), (address, plan.held)
        assert disabled(platform, first, address), address
    for scenario in SCENARIOS:
        sessions, ix_in = wanted, "ix-in"
        if scenario == "peer removed":
            sessions = [s for s in wanted if s["remote_asn"] != 65002]
        elif scenario == "policy renamed":
            ix_in = "ix-in-v2"
        else:
            sessions = []
        rendered = render(platform, asn, sessions, ix_in)
        after, plan = deploy(platform, first, rendered)
        settled, _ = deploy(platform, after, rendered)
        assert normal(platform, settled) == normal(platform, after), scenario
        # of ours, the router holds what was rendered, and what something still uses
        defined, _ = names_and_references(platform, after)
        wanted_names, _ = names_and_references(platform, rendered)
        kept = {k.split(" (")[0].split()[-1] for k in plan.kept}
        assert defined == wanted_names | kept, (scenario, plan.kept)
        if scenario == "every session removed":
            assert set(must_keep) <= kept, sorted(set(must_keep) - kept)


def expected(running: str) -> tuple[list[str], list[str]]:
    """What an operator pattern says of itself: the addresses of our neighbors shut down by
    hand (``held:``), and our objects its own lines keep in use (``kept:``)."""
    held = re.search(r"^[!#]+ held: (.+)$", running, re.M)
    kept = re.search(r"^[!#]+ kept: (.+)$", running, re.M)
    return (held[1].split() if held else []), (kept[1].split() if kept else [])


def disabled(platform: str, text: str, address: str) -> bool:
    """Whether the neighbor at ``address`` is shut down or deactivated in ``text``."""
    if platform == "junos":

        def found(statement: junos.Statement) -> bool:
            for child in statement.children or []:
                if child.words == ["neighbor", address]:
                    return "inactive:" in child.tags or child.child("shutdown") is not None
                if found(child):
                    return True
            return False

        return found(junos.parse(text))
    if platform == "iosxr":
        block = re.search(rf"^ +neighbor {re.escape(address)}\n((?: {{2,}}.*\n)*)", text, re.M)
        return bool(block and re.search(r"^ +shutdown$", block[1], re.M))
    return re.search(rf"neighbor {re.escape(address)} shutdown", text) is not None


def normal(platform: str, text: str) -> Any:
    """A configuration as a comparable value: its lines with their paths."""
    if platform == "junos":
        root = junos.parse(text)
        found: Counter[tuple[str, ...]] = Counter()

        def walk(statement: junos.Statement, path: tuple[str, ...]) -> None:
            for child in statement.children or []:
                here = (*path, " ".join([*child.tags, child.text]))
                found[here] += 1
                walk(child, here)

        walk(root, ())
        return found
    return Counter((*path, node.text) for path, node in parse(text).walk())
