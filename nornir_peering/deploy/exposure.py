"""The operator's eBGP neighbors that could hand us routes carrying our customer tag.

The example templates export a customer's route to peers and transits when it carries the
large community ``LOCAL_AS:0:1`` and lies in a customer's IRR list. Our own eBGP imports
strip every community of ours, but the operator's eBGP neighbors outside nornir-peering's
groups are the operator's: if their import keeps our communities, a stranger behind them
can tag a route in a customer's space and have it announced to every peer. This module
finds them in the router's running configuration, so that ``configure-routers`` reports
them; it changes nothing.

A neighbor's import is taken to strip the tag when its policy (or one it calls) deletes a
large-community list or set that holds the tag, or all large communities: EOS ``set
large-community large-community-list L delete`` or ``... none``; FRR ``set large-comm-list
L delete``; IOS-XR ``delete large-community in S`` or ``... all``; Junos ``community delete
C`` or ``community set C`` (which replaces every community). Anything else, no import
policy at all included, is reported.

>>> running = '''router bgp 64500
...  neighbor 192.0.2.1 remote-as 65100
...  neighbor 192.0.2.2 remote-as 65200
...  neighbor 192.0.2.2 route-map CLEAN in
...  neighbor 10.0.0.2 remote-as 64500
... route-map CLEAN permit 10
...  set large-comm-list OURS delete
... bgp large-community-list standard OURS seq 5 permit 64500:0:1
... '''
>>> unstripped("frr", running, "NP_", 64500)
['192.0.2.1 (AS65100)']
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from nornir_peering.deploy import junos
from nornir_peering.deploy.lines import ROUTER_BGP
from nornir_peering.deploy.tree import Node, parse

_ADDRESS = re.compile(r"^[0-9a-fA-F:.]+$")


def unstripped(platform: str, running: str, prefix: str, asn: int) -> list[str]:
    """The operator's eBGP neighbors (not in our groups) whose import keeps the customer
    tag ``asn:0:1``: ``ADDRESS (ASn)``, with ``, vrf NAME`` outside the default table."""
    tag = f"{asn}:0:1"
    if platform == "junos":
        return _junos(junos.parse(running), prefix, tag)
    if platform in ("eos", "frr"):
        return _neighbor_lines(parse(running), prefix, tag)
    if platform in ("iosxr", "iosxr_netconf"):
        return _iosxr(parse(running), prefix, tag)
    return []


def _label(address: str, remote: str, vrf: str | None) -> str:
    asn = remote if remote.isdigit() else remote or "?"
    return f"{address} (AS{asn}{f', vrf {vrf}' if vrf else ''})"


# -- tag matching ---------------------------------------------------------------------------


def _field_matches(pattern: str, value: str) -> bool:
    """One field of a large community pattern: ``*``, a range ``[a..b]``, a number, or a
    regular expression."""
    if pattern in ("*", value):
        return True
    ranged = re.fullmatch(r"\[(\d+)\.\.(\d+)\]", pattern)
    if ranged:
        return int(ranged[1]) <= int(value) <= int(ranged[2])
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        return False


def _holds_tag(entry: str, tag: str, regexp: bool) -> bool:
    """Whether a list entry (``64500:0:1``, ``64500:*:*``, a regular expression such as
    ``^64500:``) matches the tag."""
    entry = entry.strip("'\"")
    if regexp:
        pattern = entry.replace("_", r"(?:^|$|[ ,:])")
        try:
            return re.search(pattern, tag) is not None
        except re.error:
            return False
    fields = entry.split(":")
    values = tag.split(":")
    return len(fields) == 3 and all(map(_field_matches, fields, values))


# -- EOS and FRR: neighbor lines ------------------------------------------------------------

_EOS_LIST = re.compile(
    r"^ip large-community-list (?P<regexp>regexp )?(?P<name>\S+) permit (?P<v>.+)$"
)
_FRR_LIST = re.compile(
    r"^bgp large-community-list (?P<kind>standard|expanded) (?P<name>\S+)(?: seq \d+)? permit "
    r"(?P<v>.+)$"
)
_DELETE = re.compile(
    r"^set (?:large-community large-community-list|large-comm-list) (?P<list>\S+) delete$"
)
_CALL = re.compile(r"^(?:call|sub-route-map) (?P<map>\S+)$")


def _neighbor_lines(tree: Node, prefix: str, tag: str) -> list[str]:
    lists: dict[str, bool] = defaultdict(bool)  # a large-community list holds the tag
    maps: dict[str, list[str]] = defaultdict(list)  # a route-map's lines, every entry
    for node in tree.children:
        listed = _EOS_LIST.match(node.text) or _FRR_LIST.match(node.text)
        if listed:
            kinds = listed.groupdict()
            regexp = bool(kinds.get("regexp")) or kinds.get("kind") == "expanded"
            lists[listed["name"]] |= any(
                _holds_tag(v, tag, regexp) for v in listed["v"].split() if v != "any"
            )
        entry = re.match(r"^route-map (\S+) (?:permit|deny) \d+$", node.text)
        if entry:
            maps[entry[1]] += [child.text for child in node.children]

    def strips(name: str | None, seen: frozenset[str] = frozenset()) -> bool:
        if name is None or name in seen:
            return False
        for line in maps.get(name, []):
            deleted = _DELETE.match(line)
            called = _CALL.match(line)
            if line == "set large-community none" or (deleted and lists[deleted["list"]]):
                return True
            if called and strips(called["map"], seen | {name}):
                return True
        return False

    found = []
    for section, asn, vrf in _bgp_sections(tree):
        remote: dict[str, str] = {}
        group: dict[str, str] = {}
        imports: dict[str, str] = {}
        for line in _section_lines(section):
            words = line.split()
            if len(words) < 3 or words[0] != "neighbor":
                continue
            who, rest = words[1], words[2:]
            if rest[0] == "remote-as" and len(rest) == 2:
                remote[who] = rest[1]
            elif rest[:2] == ["peer", "group"] and len(rest) == 3:  # EOS
                group[who] = rest[2]
            elif rest[0] == "peer-group" and len(rest) == 2:  # FRR
                group[who] = rest[1]
            elif rest[0] == "route-map" and rest[-1] == "in":
                imports[who] = rest[1]
        for address in sorted(a for a in remote if _ADDRESS.match(a)):
            parent = group.get(address, "")
            if parent.startswith(prefix) or address.startswith(prefix):
                continue
            their_as = remote.get(address) or remote.get(parent, "")
            if their_as in (asn, "internal"):
                continue
            if not strips(imports.get(address) or imports.get(parent)):
                found.append(_label(address, their_as, vrf))
    return found


def _bgp_sections(tree: Node) -> Iterator[tuple[Node, str, str | None]]:
    """Every ``router bgp`` section and EOS ``vrf`` block: (section, its AS, its VRF)."""
    for node in tree.children:
        bgp = ROUTER_BGP.match(node.text)
        if bgp:
            yield node, bgp["asn"], bgp["vrf"]
            for child in node.children:
                vrf = re.match(r"^vrf (\S+)$", child.text)
                if vrf:
                    yield child, bgp["asn"], vrf[1]


def _section_lines(section: Node) -> Iterator[str]:
    for child in section.children:
        if child.text.startswith("address-family "):
            yield from (line.text for line in child.children)
        elif not child.text.startswith("vrf "):
            yield child.text


# -- IOS-XR: neighbor blocks and routing policy ----------------------------------------------


def _iosxr(tree: Node, prefix: str, tag: str) -> list[str]:
    sets: dict[str, bool] = {}
    policies: dict[str, list[str]] = {}
    for node in tree.children:
        named = re.match(r"^(large-community-set|route-policy) (\S+?)(?:\(.*\))?$", node.text)
        if not named:
            continue
        lines = [child.text for _, child in node.walk()]
        if named[1] == "large-community-set":
            entries = [e.strip().rstrip(",") for line in lines for e in line.split(",")]
            sets[named[2]] = any(
                _holds_tag(e.removeprefix("ios-regex ").strip(), tag, e.startswith("ios-regex"))
                for e in entries
                if e
            )
        else:
            policies[named[2]] = lines

    def strips(name: str | None, seen: frozenset[str] = frozenset()) -> bool:
        if name is None or name in seen:
            return False
        for line in policies.get(name, []):
            deleted = re.match(r"^delete large-community (?:in (\S+)|all)$", line)
            if deleted and (deleted[1] is None or sets.get(deleted[1], False)):
                return True
            applied = re.match(r"^apply (\S+?)(?:\(.*\))?$", line)
            if applied and strips(applied[1], seen | {name}):
                return True
        return False

    found = []
    for section, asn, vrf in _iosxr_sections(tree):
        blocks = {
            child.text.split()[1]: child
            for child in section.children
            if re.match(r"^(?:neighbor|neighbor-group) \S+$", child.text)
        }

        def setting(block: Node | None, key: str) -> str | None:
            if block is None:
                return None
            for _, line in block.walk():
                words = line.text.split()
                if key == "import" and words[:1] == ["route-policy"] and words[-1:] == ["in"]:
                    return words[1].split("(")[0]
                if words[:1] == [key] and len(words) == 2:
                    return words[1]
            return None

        for child in section.children:
            neighbor = re.match(r"^neighbor (\S+)$", child.text)
            if not neighbor:
                continue
            uses = next(
                (
                    line.text.split()[2]
                    for line in child.children
                    if line.text.startswith("use neighbor-group ")
                ),
                "",
            )
            if uses.startswith(prefix):
                continue
            group = blocks.get(uses)
            their_as = setting(child, "remote-as") or setting(group, "remote-as") or ""
            if their_as == asn:
                continue
            policy = setting(child, "import") or setting(group, "import")
            if not strips(policy):
                found.append(_label(neighbor[1], their_as, vrf))
    return found


def _iosxr_sections(tree: Node) -> Iterator[tuple[Node, str, str | None]]:
    for node in tree.children:
        bgp = ROUTER_BGP.match(node.text)
        if bgp:
            yield node, bgp["asn"], None
            for child in node.children:
                vrf = re.match(r"^vrf (\S+)$", child.text)
                if vrf:
                    yield child, bgp["asn"], vrf[1]


# -- Junos ----------------------------------------------------------------------------------


def _junos(root: junos.Statement, prefix: str, tag: str) -> list[str]:
    options = root.child("policy-options")
    communities: dict[str, bool] = {}
    policies: dict[str, list[str]] = {}
    for statement in (options.children or []) if options else []:
        if len(statement.words) < 2:
            continue
        kind, name = statement.words[0], statement.words[1].strip('"')
        if kind == "community":
            members = [
                w.strip('"[]')
                for s in (statement, *_statements(statement))
                for w in s.words
                if w.startswith(("large:", '"large:'))
            ]
            communities[name] = any(_junos_member(m.removeprefix("large:"), tag) for m in members)
        elif kind == "policy-statement":
            policies[name] = [s.text for s in _statements(statement)]

    def strips(chain: list[str]) -> bool:
        for name in chain:
            for line in policies.get(name, []):
                action = re.match(r"^community (delete|set) (\S+)$", line)
                if action and (action[1] == "set" or communities.get(action[2].strip('"'))):
                    return True
        return False

    found = []
    asn = _junos_asn(root)
    for vrf, bgp in _junos_bgp(root):
        top_import = _junos_import(bgp)
        for group in bgp.children or []:
            if group.words[:1] != ["group"] or group.words[1].startswith(prefix):
                continue
            group_type = group.child("type")
            group_as = _leaf(group, "peer-as")
            for neighbor in group.children or []:
                if neighbor.words[:1] != ["neighbor"] or "inactive:" in neighbor.tags:
                    continue
                their_as = _leaf(neighbor, "peer-as") or group_as or ""
                internal = group_type is not None and group_type.words[1:] == ["internal"]
                if internal or their_as == asn:
                    continue
                chain = _junos_import(neighbor) or _junos_import(group) or top_import
                if not strips(chain):
                    found.append(_label(neighbor.words[1], their_as, vrf))
    return found


def _junos_member(member: str, tag: str) -> bool:
    """A member after ``large:``: literal, ``*`` wildcards, or a regular expression."""
    if member.count(":") == 2 and not any(ch in member for ch in "^$()|+?\\"):
        return _holds_tag(member.replace(".*", "*"), tag, False)
    return _holds_tag(member, tag, True)


def _statements(statement: junos.Statement) -> Iterator[junos.Statement]:
    for child in statement.children or []:
        yield child
        yield from _statements(child)


def _leaf(statement: junos.Statement, name: str) -> str | None:
    found = statement.child(name)
    return found.words[1] if found is not None and len(found.words) > 1 else None


def _junos_import(statement: junos.Statement) -> list[str]:
    found = statement.child("import")
    if found is None:
        return []
    return [w.strip('"') for w in found.words[1:] if w not in ("[", "]")]


def _junos_asn(root: junos.Statement) -> str | None:
    options = root.child("routing-options")
    return _leaf(options, "autonomous-system") if options is not None else None


def _junos_bgp(root: junos.Statement) -> Iterator[tuple[str | None, junos.Statement]]:
    protocols = root.child("protocols")
    bgp = protocols.child("bgp") if protocols is not None else None
    if bgp is not None:
        yield None, bgp
    instances = root.child("routing-instances")
    for instance in (instances.children or []) if instances is not None else []:
        protocols = instance.child("protocols")
        bgp = protocols.child("bgp") if protocols is not None else None
        if bgp is not None:
            yield instance.text, bgp
