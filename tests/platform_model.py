"""How each platform applies a merge candidate, as the property tests model it.

A model, not the router: it encodes the semantics the planner relies on, each from the
vendor's documentation (cited in nornir_peering/deploy and the README), so that the
property tests can apply a candidate to a real-world running configuration and check
what the result holds:

- **Junos** (NAPALM's merge is PyEZ's ``load replace``): a statement tagged ``replace:``
  replaces the one with the same identifier, ``delete:`` removes it, an untagged container
  merges into the one of the same name, an untagged leaf is added (Juniper, "Loading
  Configuration Files").
- **FRR**: the driver's own model of FRR 8.4, checked on the daemon
  (:func:`nornir_peering.deploy.frrstate.predict`).
- **EOS and IOS-XR**: commands applied in order, as a configuration session or a
  commit applies them: ``no X`` removes the lines ``X`` and ``X ...`` of its section
  (``no neighbor A`` every line of neighbor A, in every address family of its table;
  ``no ip prefix-list NAME seq N`` an entry of a prefix-list block; ``no neighbor G peer
  group`` the group's lines); a line with an overwrite key (a description, a route-map in
  one direction) replaces the line of the same key; IOS-XR routing policy objects are
  replaced whole when redefined (Cisco, "Attached Policy Modification").
"""

from __future__ import annotations

import re

from nornir_peering.deploy import cisco, junos
from nornir_peering.deploy.frrstate import predict
from nornir_peering.deploy.lines import OVERWRITES, ROUTER_BGP, supersede_key
from nornir_peering.deploy.tree import Node, parse


def apply(platform: str, running: str, candidate: str) -> str:
    """The running configuration once ``candidate`` is merged into it, as text."""
    if platform == "junos":
        root = junos.parse(running)
        _junos_merge(root, junos.parse(candidate).children or [])
        return junos.dump(root.children or [])
    if platform == "frr":
        return show(predict(parse(running), parse(candidate)), platform)
    tree = parse(running)
    _cisco_apply(tree, parse(candidate).children, None, platform)
    return show(tree, platform)


def show(tree: Node, platform: str) -> str:
    """A tree as the platform shows it: indented, IOS-XR's policy objects as written."""
    indent = cisco.DIALECTS[platform].indent
    out: list[str] = []

    def emit(node: Node, depth: int) -> None:
        if depth == 0 and _atomic(node.text, platform) and node.source:
            out.extend(node.source)
            return
        out.append(f"{indent * depth}{node.text}")
        for child in node.children:
            emit(child, depth + 1)

    for node in tree.children:
        emit(node, 0)
    return "\n".join(out) + "\n"


def _atomic(text: str, platform: str) -> bool:
    return platform.startswith("iosxr") and any(
        rule.atomic and rule.pattern.match(text) for rule in cisco.IOSXR.objects
    )


# -- Junos ----------------------------------------------------------------------------------


def _junos_merge(target: junos.Statement, statements: list[junos.Statement]) -> None:
    assert target.children is not None
    for statement in statements:
        tags = _kept_tags(statement)
        twin = next((c for c in target.children if _identity(c) == _identity(statement)), None)
        if "delete:" in statement.tags:
            if twin is not None:
                target.children.remove(twin)
            continue
        if "replace:" in statement.tags or twin is None or statement.children is None:
            copy = _copy(statement, tags)
            if twin is not None:
                target.children[target.children.index(twin)] = copy
            else:
                target.children.append(copy)
            continue
        twin.tags = [*twin.tags, *(t for t in tags if t not in twin.tags)]
        _junos_merge(twin, statement.children)


def _identity(statement: junos.Statement) -> list[str]:
    """What names a statement among its siblings: its keyword and name (``community
    NP_X``, whatever its members; ``delete: community NP_X;`` removes it)."""
    return statement.words[:2]


def _copy(statement: junos.Statement, tags: list[str]) -> junos.Statement:
    """The statement as it lands in the configuration: load's own tags dropped."""
    children = None
    if statement.children is not None:
        children = [_copy(c, _kept_tags(c)) for c in statement.children]
    return junos.Statement(list(statement.words), children, tags)


def _kept_tags(statement: junos.Statement) -> list[str]:
    return [t for t in statement.tags if t not in ("replace:", "delete:")]


# -- EOS and IOS-XR -------------------------------------------------------------------------

_EOS_ENTRY = re.compile(r"^(?P<list>(?:ip|ipv6) prefix-list \S+) seq (?P<seq>\d+)$")
_GROUP = re.compile(r"^neighbor (?P<group>\S+) (?:peer group|peer-group)$")


def _cisco_apply(context: Node, commands: list[Node], table: Node | None, platform: str) -> None:
    for command in commands:
        text = command.text
        if text.startswith("no "):
            _cisco_remove(context, text[3:], table)
            continue
        if not context.text and _atomic(text, platform):  # replaced whole
            old = context.child(text)
            new = command.copy()
            if old is None:
                context.children.append(new)
            else:
                context.children[context.children.index(old)] = new
            continue
        target = context.child(text)
        if target is None:
            key = supersede_key(text, OVERWRITES)
            target = next(
                (c for c in context.children if key and supersede_key(c.text, OVERWRITES) == key),
                None,
            )
            if target is not None:
                target.text = text
            else:
                target = Node(text)
                context.children.append(target)
        is_table = ROUTER_BGP.match(text) or (table is not None and text.startswith("vrf "))
        _cisco_apply(target, command.children, target if is_table else table, platform)


def _cisco_remove(context: Node, what: str, table: Node | None) -> None:
    entry = _EOS_ENTRY.match(what)
    if entry and not context.text:
        block = context.child(entry["list"])
        if block is not None:
            block.children = [
                c for c in block.children if c.text.split()[:2] != ["seq", entry["seq"]]
            ]
        return
    group = _GROUP.match(what)
    if group and re.fullmatch(r"[0-9a-fA-F:.]+", group["group"]):
        group = None  # EOS "no neighbor A peer group": A leaves its group, and stays
    words = what.split()
    if table is not None and (group or (words[0] == "neighbor" and len(words) == 2)):
        who = group["group"] if group else words[1]
        _remove_neighbor(table, who)
        return
    context.children = [
        c for c in context.children if c.text != what and not c.text.startswith(what + " ")
    ]


def _remove_neighbor(table: Node, who: str) -> None:
    """Every line and block of neighbor (or group) ``who`` in a table, its address
    families included; a VRF inside the table keeps its own."""

    def of(text: str) -> bool:
        words = text.removeprefix("no ").split()
        return len(words) >= 2 and words[0] in ("neighbor", "neighbor-group") and words[1] == who

    table.children = [c for c in table.children if not of(c.text)]
    for section in table.children:
        if section.text.startswith("address-family "):
            section.children = [c for c in section.children if not of(c.text)]
