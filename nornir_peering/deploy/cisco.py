"""Merge candidates for IOS-XR, EOS and FRR: the rendered stanzas, plus what
must go for the router to hold exactly them, and nothing else touched.

The ownership rule (see :mod:`nornir_peering.deploy`): an object is ours when
its name starts with the owned prefix (``NP_``): route-maps / route-policies,
prefix lists / sets, community and AS-path lists, BGP peer groups /
neighbor-groups; a BGP neighbor is ours when it is a member of one of our
groups. Everything else on the router is never touched, and a template that
renders anything else is refused.

A candidate is three parts, in this order:

1. negations of lines our objects have on the router but not in the
   rendered configuration (a line that the rendered one overwrites, such as a
   new description or a new inbound route-map, is not negated first, so a
   router that applies commands one by one never runs without it);
2. the rendered configuration, with every section left explicitly;
3. removal of our objects the rendered configuration no longer has:
   neighbors, then groups, then policies and lists.

Each platform's words for this are data (:data:`DIALECTS`), written from the
vendors' documentation and, for FRR, checked on FRR 8.4 itself.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from nornir_peering.deploy.errors import OwnershipError
from nornir_peering.deploy.frrstate import predict
from nornir_peering.deploy.keep import StaleObject, disabled_by_us, still_used
from nornir_peering.deploy.lines import (
    FRR_OVERWRITES,
    OVERWRITES,
    ROUTER_BGP,
    negate,
    supersede_key,
)
from nornir_peering.deploy.tree import Node, Path, at, dump, parse


@dataclass(frozen=True)
class ObjectRule:
    """A top-level object kind: its first line, and how it is removed."""

    kind: str
    pattern: re.Pattern[str]  # groups: name (and whatever ``removal`` uses)
    removal: str  # a format string over the pattern's groups
    atomic: bool = False  # redefining it replaces it whole (IOS-XR RPL): no line negations
    # removed and sent again whole when it changed, not sent when it did not (EOS, whose
    # configuration session applies everything at commit: see EOS below)
    reset: bool = False


@dataclass(frozen=True)
class Dialect:
    """A platform's words for our objects, its BGP groups and neighbors, and their removal."""

    name: str
    objects: tuple[ObjectRule, ...]
    neighbors: Literal["blocks", "lines"]  # IOS-XR neighbor blocks, or EOS/FRR neighbor lines
    group_definition: re.Pattern[str]  # group: its name
    group_membership: re.Pattern[str]  # address, group
    group_removal: str  # format string over name
    indent: str = " "
    # where and how the platform undoes a line, when not "no <line>" in its section
    negation: Callable[[Path, str], tuple[Path, str]] = lambda path, line: (path, negate(line))
    overwrites: tuple[re.Pattern[str], ...] = OVERWRITES
    # what may be written below a line of ours: (the line, what its children may be);
    # a line no rule names has no children (FRR's vtysh would run an unknown one in
    # the section above: a line nested by mistake could change the operator's objects)
    children: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = ()
    # send only the lines that change (FRR: a command takes effect as it is entered, and
    # entering thousands of prefix-list entries again takes FRR minutes)
    changes_only: bool = False


ROUTE_MAP_ENTRY = re.compile(r"^route-map \S+ (?:permit|deny) \d+$")
ROUTE_MAP_CLAUSE = re.compile(r"^(?:match|set|on-match|continue|call|description|sub-route-map) ")


def _rule(
    kind: str, pattern: str, removal: str, atomic: bool = False, reset: bool = False
) -> ObjectRule:
    return ObjectRule(kind, re.compile(pattern), removal, atomic, reset)


# IOS-XR: RPL objects are replaced whole when redefined (Cisco, "Attached Policy
# Modification"); neighbors are blocks that ``use neighbor-group``.
IOSXR = Dialect(
    "iosxr",
    objects=(
        _rule("route-policy", r"^route-policy (?P<name>\S+)$", "no route-policy {name}", True),
        _rule("prefix-set", r"^prefix-set (?P<name>\S+)$", "no prefix-set {name}", True),
        _rule("as-path-set", r"^as-path-set (?P<name>\S+)$", "no as-path-set {name}", True),
        _rule("community-set", r"^community-set (?P<name>\S+)$", "no community-set {name}", True),
        _rule(
            "large-community-set",
            r"^large-community-set (?P<name>\S+)$",
            "no large-community-set {name}",
            True,
        ),
        _rule(
            "extcommunity-set",
            r"^extcommunity-set (?P<type>\S+) (?P<name>\S+)$",
            "no extcommunity-set {type} {name}",
            True,
        ),
    ),
    neighbors="blocks",
    group_definition=re.compile(r"^neighbor-group (?P<group>\S+)$"),
    group_membership=re.compile(r"^use neighbor-group (?P<group>\S+)$"),
    group_removal="no neighbor-group {name}",
    children=(
        (
            re.compile(r"^(?:neighbor-group \S+|neighbor \S+)$"),
            re.compile(
                r"^(?:remote-as|use neighbor-group|description|password|update-source"
                r"|enforce-first-as|shutdown|ebgp-multihop|timers|local-as|bfd|ttl-security"
                r"|address-family (?:ipv4|ipv6) unicast)(?: |$)"
            ),
        ),
        (
            re.compile(r"^address-family (?:ipv4|ipv6) unicast$"),
            re.compile(
                r"^(?:route-policy \S+ (?:in|out)|send-community-ebgp|send-extended-community-ebgp"
                r"|maximum-prefix|soft-reconfiguration|remove-private-AS|next-hop-self"
                r"|allowas-in|as-override|default-originate)(?: |$)"
            ),
        ),
    ),
)

# Arista EOS 4.23 and later: ``peer group`` (two words), prefix lists as blocks. A
# configuration session applies at commit, all at once: an object of ours that changed
# is removed and sent again whole, in the same session, so that no run depends on how EOS
# treats a line entered again (a second match in a route-map entry, a sequence number
# taken, an as-path line twice), nor on a negation of one of its lines.
EOS = Dialect(
    "eos",
    objects=(
        _rule(
            "route-map",
            r"^route-map (?P<name>\S+) (?:permit|deny) \d+$",
            "no route-map {name}",
            reset=True,
        ),
        _rule(
            "prefix-list",
            r"^(?P<family>ip|ipv6) prefix-list (?P<name>\S+)(?: .*)?$",
            "no {family} prefix-list {name}",
            reset=True,
        ),
        _rule(
            "community-list",
            r"^ip (?P<type>community-list|large-community-list|extcommunity-list)"
            r"(?P<regexp>(?: regexp)?) (?P<name>\S+) (?:permit|deny) .*$",
            "no ip {type}{regexp} {name}",
            reset=True,
        ),
        _rule(
            "as-path-list",
            r"^ip as-path access-list (?P<name>\S+) .*$",
            "no ip as-path access-list {name}",
            reset=True,
        ),
    ),
    neighbors="lines",
    group_definition=re.compile(r"^neighbor (?P<group>\S+) peer group$"),
    group_membership=re.compile(r"^neighbor (?P<address>\S+) peer group (?P<group>\S+)$"),
    group_removal="no neighbor {name} peer group",
    indent="   ",
    negation=lambda path, line: _eos_negation(path, line),
    children=(
        (ROUTE_MAP_ENTRY, ROUTE_MAP_CLAUSE),
        (re.compile(r"^(?:ip|ipv6) prefix-list \S+$"), re.compile(r"^seq \d+ (?:permit|deny) ")),
    ),
)

# FRR 8.4: checked on the daemon (vtysh): lists are one line per entry, and
# ``no bgp community-list`` needs the list's type.
FRR = Dialect(
    "frr",
    objects=(
        _rule("route-map", r"^route-map (?P<name>\S+) (?:permit|deny) \d+$", "no route-map {name}"),
        _rule(
            "prefix-list",
            r"^(?P<family>ip|ipv6) prefix-list (?P<name>\S+) .*$",
            "no {family} prefix-list {name}",
        ),
        _rule(
            "community-list",
            r"^bgp (?P<list>community-list|large-community-list) (?P<type>standard|expanded) "
            r"(?P<name>\S+) .*$",
            "no bgp {list} {type} {name}",
        ),
        _rule(
            "as-path-list",
            r"^bgp as-path access-list (?P<name>\S+) .*$",
            "no bgp as-path access-list {name}",
        ),
    ),
    neighbors="lines",
    group_definition=re.compile(r"^neighbor (?P<group>\S+) peer-group$"),
    group_membership=re.compile(r"^neighbor (?P<address>\S+) peer-group (?P<group>\S+)$"),
    group_removal="no neighbor {name} peer-group",
    overwrites=FRR_OVERWRITES,
    children=((ROUTE_MAP_ENTRY, ROUTE_MAP_CLAUSE),),
    changes_only=True,
)


def _eos_negation(path: Path, line: str) -> tuple[Path, str]:
    """EOS's own forms for a neighbor's line: it leaves its peer group with ``no neighbor
    A peer group`` (Batfish's EOS grammar and captures); an option that takes one value is
    undone by its name alone (``no neighbor A maximum-routes``), whatever its value was."""
    member = re.match(r"^(neighbor \S+ peer group) \S+$", line)
    if member:
        return path, f"no {member.group(1)}"
    option = _EOS_OPTION.match(line)
    if option:
        return path, f"no {option.group(1)}"
    return path, negate(line)


_EOS_OPTION = re.compile(
    r"^(neighbor \S+ (?:maximum-routes|idle-restart-timer|description|password|update-source"
    r"|ebgp-multihop|local-as|timers))(?: |$)"
)


DIALECTS = {"iosxr": IOSXR, "iosxr_netconf": IOSXR, "eos": EOS, "frr": FRR}
VRF = re.compile(r"^vrf (?P<vrf>\S+)$")
# a neighbor or group shut down: what an engineer does by hand in an emergency (IOS-XR: the
# line in the neighbor's block; FRR and EOS: a neighbor line, with a message or a reason)
SHUTDOWN = re.compile(r"^(?:neighbor \S+ )?shutdown(?: .*)?$")
ADDRESS_FAMILY = re.compile(r"^address-family \S+")
NEIGHBOR_LINE = re.compile(r"^(?:no )?neighbor (?P<who>\S+)(?: .*)?$")
NEIGHBOR_BLOCK = re.compile(r"^neighbor (?P<who>\S+)$")


# -- what a configuration holds ------------------------------------------------------------

Key = tuple[str, str, str]  # (kind, vrf, name): ("neighbor", "global", "192.0.2.1")


@dataclass
class Owned:
    """One of our objects in a configuration: its lines, and where its removal goes."""

    key: Key
    removal: tuple[Path, str]
    atomic: bool = False
    reset: bool = False
    entries: list[tuple[Path, Node]] = field(default_factory=list)


@dataclass
class Holdings:
    """A configuration sorted: our objects, the lines that are not ours, its BGP AS."""

    owned: dict[Key, Owned] = field(default_factory=dict)
    foreign: list[tuple[Path, str]] = field(default_factory=list)  # lines that are not ours
    foreign_neighbors: dict[tuple[str, str], str] = field(default_factory=dict)  # (vrf, addr) → why
    bgp_asn: str | None = None


def holdings(tree: Node, dialect: Dialect, prefix: str) -> Holdings:
    """Sort a configuration into our objects and everything else."""
    found = Holdings()
    for node in tree.children:
        bgp = ROUTER_BGP.match(node.text)
        if bgp:
            found.bgp_asn = found.bgp_asn or bgp.group("asn")
            _bgp(node, (node.text,), bgp.group("vrf") or "global", dialect, prefix, found)
            continue
        for rule in dialect.objects:
            match = rule.pattern.match(node.text)
            if match:
                if match.group("name").startswith(prefix):
                    # keyed by what removes it: "ip prefix-list NP_X" is not "ipv6 prefix-list NP_X"
                    removal = rule.removal.format(**match.groupdict())
                    key = ("object", "", removal.removeprefix("no "))
                    owned = found.owned.setdefault(
                        key, Owned(key, ((), removal), rule.atomic, rule.reset)
                    )
                    owned.entries.append(((), node))
                else:
                    found.foreign.append(((), node.text))
                break
        else:
            found.foreign.append(((), node.text))
    return found


def _bgp(node: Node, path: Path, vrf: str, dialect: Dialect, prefix: str, found: Holdings) -> None:
    """The neighbors and groups of a ``router bgp`` (or ``vrf``) section."""
    if dialect.neighbors == "blocks":
        _bgp_blocks(node, path, vrf, dialect, prefix, found)
        return
    members = {
        m.group("address"): m.group("group")
        for c in node.children
        if (m := dialect.group_membership.match(c.text))
    }
    for child in node.children:
        vrf_block = VRF.match(child.text)
        if vrf_block:
            _bgp(child, (*path, child.text), vrf_block.group("vrf"), dialect, prefix, found)
        elif ADDRESS_FAMILY.match(child.text):
            for line in child.children:
                _neighbor_line(
                    line, (*path, child.text), path, vrf, members, dialect, prefix, found
                )
        else:
            _neighbor_line(child, path, path, vrf, members, dialect, prefix, found)


def _neighbor_line(
    node: Node,
    section: Path,
    bgp: Path,
    vrf: str,
    members: dict[str, str],
    dialect: Dialect,
    prefix: str,
    found: Holdings,
) -> None:
    """EOS and FRR: a ``neighbor X ...`` line belongs to group X or to neighbor X."""
    line = NEIGHBOR_LINE.match(node.text)
    who = line.group("who") if line else ""
    if who.startswith(prefix) and not _is_address(who):
        key: Key = ("group", vrf, who)
        removal = (bgp, dialect.group_removal.format(name=who))
    elif members.get(who, "").startswith(prefix):
        key, removal = ("neighbor", vrf, who), (bgp, f"no neighbor {who}")
    else:
        if _is_address(who):
            found.foreign_neighbors[(vrf, who)] = _outside(members.get(who))
        found.foreign.append((section, node.text))
        return
    found.owned.setdefault(key, Owned(key, removal)).entries.append((section, node))


def _bgp_blocks(
    node: Node, path: Path, vrf: str, dialect: Dialect, prefix: str, found: Holdings
) -> None:
    """IOS-XR: ``neighbor-group NAME`` and ``neighbor ADDRESS`` blocks, ``vrf NAME`` blocks."""
    for child in node.children:
        group = dialect.group_definition.match(child.text)
        neighbor = NEIGHBOR_BLOCK.match(child.text)
        vrf_block = VRF.match(child.text)
        if vrf_block:
            _bgp_blocks(child, (*path, child.text), vrf_block.group("vrf"), dialect, prefix, found)
        elif group and group.group("group").startswith(prefix):
            name = group.group("group")
            key: Key = ("group", vrf, name)
            removal = (path, dialect.group_removal.format(name=name))
            found.owned.setdefault(key, Owned(key, removal)).entries.append((path, child))
        elif neighbor:
            address = neighbor.group("who")
            uses = next(
                (
                    m.group("group")
                    for c in child.children
                    if (m := dialect.group_membership.match(c.text))
                ),
                None,
            )
            if uses and uses.startswith(prefix):
                key = ("neighbor", vrf, address)
                removal = (path, f"no neighbor {address}")
                found.owned.setdefault(key, Owned(key, removal)).entries.append((path, child))
            else:
                found.foreign_neighbors[(vrf, address)] = _outside(uses)
                found.foreign.append((path, child.text))
        elif ADDRESS_FAMILY.match(child.text):
            found.foreign.extend(((*path, child.text), c.text) for c in child.children)
        else:
            found.foreign.append((path, child.text))


def _outside(group: str | None) -> str:
    return f"in its group {group}" if group else "in no group"


def _is_address(text: str) -> bool:
    """An IPv4 or IPv6 address (a group name has neither dots nor colons in it here)."""
    return bool(re.fullmatch(r"[0-9a-fA-F:.]+", text)) and ("." in text or ":" in text)


# -- the candidate -------------------------------------------------------------------------


@dataclass(frozen=True)
class MergePlan:
    """A merge candidate; which of our objects it removes, which it keeps as still in use."""

    config: str  # what load_merge_candidate gets
    removed: tuple[str, ...]  # our objects on the router that this removes
    kept: tuple[str, ...] = ()  # ours, no longer wanted, but the router's own lines use them
    held: tuple[str, ...] = ()  # ours, shut down on the router by hand: left so (not --force)

    @property
    def notes(self) -> str:
        """What the run's note says of the plan: what it keeps and what it holds."""
        parts = []
        if self.kept:
            parts.append("kept, no longer wanted: " + "; ".join(self.kept))
        if self.held:
            parts.append(
                "left shut down as on the router (--force enables them): " + "; ".join(self.held)
            )
        return "; ".join(parts)


def check_rendered(rendered: str | Node, dialect: Dialect, prefix: str) -> Holdings:
    """What ``rendered`` (text, or its tree) holds; a line that is not ours is an
    :class:`OwnershipError`."""
    want = holdings(parse(rendered) if isinstance(rendered, str) else rendered, dialect, prefix)
    if want.foreign:
        path, line = want.foreign[0]
        where = " > ".join(path)
        raise OwnershipError(
            f"the template renders {line!r}{f' under {where!r}' if where else ''}, which is not "
            f"nornir-peering's: in merge mode a template renders only objects named {prefix}..., "
            f"and BGP neighbors in those groups ({len(want.foreign)} such line(s))"
        )
    for key, owned in want.owned.items():
        if not owned.atomic:
            for _path, entry in owned.entries:
                _check_children(entry, dialect)
        lines = [n for _, entry in owned.entries for n in (entry, *(d for _, d in entry.walk()))]
        # a neighbor may be shown with a "no" form (FRR: "no neighbor X activate")
        if key[0] != "neighbor" and any(n.text.startswith("no ") for n in lines):
            raise OwnershipError(
                f"the template renders a 'no' line in {key[0]} {key[2]}: in merge mode "
                "nornir-peering works out the removals itself"
            )
    return want


def _check_children(node: Node, dialect: Dialect) -> None:
    """Every line below ``node`` is one its kind of object can hold."""
    if not node.children:
        return
    allowed = next((child for parent, child in dialect.children if parent.match(node.text)), None)
    for child in node.children:
        if allowed is None or not allowed.match(child.text):
            raise OwnershipError(
                f"the template renders {child.text!r} below {node.text!r}, where "
                f"{dialect.name} takes no such line: a line nested by mistake is refused"
            )
        _check_children(child, dialect)


def plan_merge(
    dialect: Dialect, rendered: str, running: str, prefix: str, *, force: bool = False
) -> MergePlan:
    """The merge candidate that leaves the router holding exactly ``rendered`` of what is ours,
    but for a neighbor or group of ours that someone shut down on the router and the
    template does not: it stays shut down (an emergency's doing), and the plan says so,
    unless ``force``.

    >>> plan = plan_merge(FRR, "route-map NP_IN permit 10\\n set metric 5\\n", "", "NP_")
    >>> plan.config.splitlines()
    ['route-map NP_IN permit 10', ' set metric 5', ' exit']
    """
    want_tree = parse(rendered)
    want = check_rendered(want_tree, dialect, prefix)
    have_tree = parse(running)
    have = holdings(have_tree, dialect, prefix)
    if want.bgp_asn and have.bgp_asn and want.bgp_asn != have.bgp_asn:
        raise OwnershipError(
            f"the template renders router bgp {want.bgp_asn}, the router runs router bgp "
            f"{have.bgp_asn}"
        )
    for kind, vrf, name in want.owned:
        why = have.foreign_neighbors.get((vrf, name))
        if kind == "neighbor" and why is not None:
            raise OwnershipError(
                f"neighbor {name} (vrf {vrf}) is already on the router {why}, outside "
                f"nornir-peering's groups: it is not taken over; remove it from the router, or "
                f"put it in a group named {prefix}... by hand first"
            )
    for vrf in sorted({vrf for _, vrf, _ in want.owned} - {"", "global"}):
        missing = missing_vrf(dialect, have_tree, vrf)
        if missing:
            raise OwnershipError(
                f"VRF {vrf}: {missing}; a VRF is the operator's, and must be there before "
                "nornir-peering puts sessions in it"
            )
    negations: list[tuple[Path, str]] = []
    late: list[tuple[Path, str]] = []  # a match goes once its replacement is in
    held: list[str] = []
    kept_down: list[tuple[Path, str]] = []  # sent again after ours: a new group may drop them
    unchanged: set[int] = set()  # rendered objects of reset kinds the router has as they are
    for key, owned in have.owned.items():
        if key in want.owned and owned.reset:
            if _texts(owned) == _texts(want.owned[key]):
                unchanged |= {id(node) for _, node in want.owned[key].entries}
            else:
                negations.append(owned.removal)
            continue
        if key in want.owned and not owned.atomic:
            for path, command in _stale(owned, want.owned[key], dialect):
                if not force and SHUTDOWN.match(negate(command)) and not _ours_disabled(owned):
                    held.append(f"{_label(key)}: '{negate(command)}' on the router")
                    kept_down.append((path, negate(command)))
                    continue
                (late if command.startswith("no match ") else negations).append((path, command))
    stale = sorted(have.owned.keys() - want.owned.keys(), key=_removal_order)
    still = still_used(
        [
            StaleObject(key, key[2].split()[-1], _label(key), _texts(have.owned[key]))
            for key in stale
            if key[0] != "neighbor"  # nothing names a neighbor of ours: it goes
        ],
        _foreign_lines(have_tree, have),
    )
    gone = [key for key in stale if key not in still]
    kept = [f"{_label(key)} ({still[key]})" for key in stale if key in still]
    if dialect.changes_only:  # send what changes, once the negations have taken effect
        after = predict(have_tree, _tree(negations))
        rendered_part = dump(_missing(want_tree.children, after), indent=dialect.indent)
    else:
        rendered_part = _rendered(want_tree, dialect, unchanged)
    parts = [
        _commands(negations, dialect),
        rendered_part,
        _commands(kept_down, dialect),
        _commands(late + [have.owned[key].removal for key in gone], dialect),
    ]
    return MergePlan("".join(parts), tuple(_label(key) for key in gone), tuple(kept), tuple(held))


def missing_vrf(dialect: Dialect, tree: Node, vrf: str) -> str | None:
    """What the router lacks for a VRF that our sessions go in, or None. IOS-XR: the
    top-level ``vrf NAME`` and its route distinguisher under ``router bgp`` / ``vrf NAME``
    (a VRF's address family needs it); EOS: ``vrf instance NAME`` (``vrf definition``
    before 4.23). FRR's VRF is a kernel device its configuration need not show."""
    top = {node.text for node in tree.children}
    if dialect.name == "iosxr":
        if f"vrf {vrf}" not in top:
            return f"the router has no 'vrf {vrf}'"
        bgp_vrf = next(
            (
                child
                for node in tree.children
                if ROUTER_BGP.match(node.text)
                for child in node.children
                if child.text == f"vrf {vrf}"
            ),
            None,
        )
        if bgp_vrf is None or not any(c.text.startswith("rd ") for c in bgp_vrf.children):
            return f"the router has no route distinguisher under router bgp / vrf {vrf}"
    if dialect.name == "eos" and not {f"vrf instance {vrf}", f"vrf definition {vrf}"} & top:
        return f"the router has no 'vrf instance {vrf}'"
    return None


def _label(key: Key) -> str:
    kind, vrf, name = key
    text = name if kind == "object" else f"{kind} {name}"
    return text if vrf in ("", "global") else f"{text} (vrf {vrf})"


def _foreign_lines(tree: Node, have: Holdings) -> list[str]:
    """Every line of the configuration that is not in one of our objects."""
    ours = {id(node) for owned in have.owned.values() for _, node in owned.entries}
    lines: list[str] = []

    def walk(node: Node) -> None:
        for child in node.children:
            if id(child) not in ours:
                lines.append(child.text)
                walk(child)

    walk(tree)
    return lines


def _ours_disabled(owned: Owned) -> bool:
    """Whether a neighbor of ours was shut down by nornir-peering (its description says
    so: the intent disabled it), not by an engineer."""
    return any(
        disabled_by_us(found.group(1))
        for text in _texts(owned)
        if (found := re.match(r"^(?:neighbor \S+ )?description (.*)$", text))
    )


def _texts(owned: Owned) -> tuple[str, ...]:
    """Every line of one of our objects, nested ones included."""
    return tuple(
        line
        for _path, entry in owned.entries
        for line in (entry.text, *(node.text for _, node in entry.walk()))
    )


def _tree(commands: list[tuple[Path, str]]) -> Node:
    root = Node("")
    for path, command in commands:
        target = at(root, path)
        assert target is not None
        target.children.append(Node(command))
    return root


def _missing(wanted: list[Node], have: Node) -> list[Node]:
    """The part of ``wanted`` that ``have`` does not hold, with the sections it is in."""
    missing = []
    for node in wanted:
        twin = have.child(node.text)
        if twin is None:
            missing.append(node.copy())
        else:
            below = _missing(node.children, twin)
            if below:
                missing.append(Node(node.text, below, list(node.source)))
    return missing


def _removal_order(key: Key) -> tuple[int, Key]:
    """Neighbors before the groups they are in, before the policies they use."""
    return ({"neighbor": 0, "group": 1}.get(key[0], 2), key)


def _stale(have: Owned, want: Owned, dialect: Dialect) -> list[tuple[Path, str]]:
    """Negations of the lines ``have`` holds that ``want`` does not (nor overwrites)."""
    stale: list[tuple[Path, str]] = []

    def compare(path: Path, had: list[Node], wanted: list[Node]) -> None:
        keys = {supersede_key(node.text, dialect.overwrites) for node in wanted} - {None}
        for node in had:
            twin = next((w for w in wanted if w.text == node.text), None)
            if twin is not None:
                compare((*path, node.text), node.children, twin.children)
            elif supersede_key(node.text, dialect.overwrites) not in keys:
                stale.append(dialect.negation(path, node.text))

    wanted_at: dict[Path, list[Node]] = defaultdict(list)
    for path, node in want.entries:
        wanted_at[path].append(node)
    had_at: dict[Path, list[Node]] = defaultdict(list)
    for path, node in have.entries:
        had_at[path].append(node)
    for path, had in had_at.items():
        compare(path, had, wanted_at.get(path, []))
    return stale


def _commands(commands: list[tuple[Path, str]], dialect: Dialect) -> str:
    return dump(_tree(commands).children, indent=dialect.indent)


def _rendered(tree: Node, dialect: Dialect, unchanged: set[int]) -> str:
    """The rendered configuration again, each section left explicitly; objects that
    are replaced whole (IOS-XR RPL) exactly as written, with their ``end-...``; without
    the ``unchanged`` nodes."""
    out = []
    for node in tree.children:
        if id(node) in unchanged:
            continue
        atomic = any(r.atomic and r.pattern.match(node.text) for r in dialect.objects)
        out.append("\n".join(node.source) + "\n" if atomic else dump([node], indent=dialect.indent))
    return "".join(out)
