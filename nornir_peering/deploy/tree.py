"""Cisco-style configuration as a tree: the text IOS-XR, EOS and FRR show and take.

A line's children are the lines indented under it. Comments (``!``, ``#``),
blank lines and the words that only leave a section (``exit``,
``exit-address-family``, ``end``, ``end-policy``, ``end-set``) carry no
configuration and are dropped; each node keeps the lines it was read from,
so an object whose syntax needs them (an IOS-XR ``route-policy`` ending in
``end-policy``) can be written back exactly.

>>> tree = parse("router bgp 64500\\n neighbor 192.0.2.1 remote-as 65001\\n!\\n")
>>> [node.text for node in tree.children[0].children]
['neighbor 192.0.2.1 remote-as 65001']
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

SECTION_EXITS = frozenset(
    {"exit", "exit-address-family", "exit-vrf", "exit-vni", "end", "end-policy", "end-set"}
)

Path = tuple[str, ...]
CLOSING = frozenset({"end-policy", "end-set"})

# Lines that open a section even when nothing is configured in it (IOS-XR's
# ``address-family ipv4 unicast`` under ``router bgp``): they are left explicitly too.
SECTION = re.compile(r"^(?:address-family |vrf |neighbor-group |neighbor \S+$|router |route-map )")


@dataclass
class Node:
    """A configuration line with the lines indented under it."""

    text: str
    children: list[Node] = field(default_factory=list)
    source: list[str] = field(default_factory=list)  # the lines it was read from, exits included

    def child(self, text: str) -> Node | None:
        """The first child whose text is ``text``."""
        return next((node for node in self.children if node.text == text), None)

    def walk(self, path: Path = ()) -> Iterator[tuple[Path, Node]]:
        """Every descendant with the path of headers above it."""
        for node in self.children:
            yield path, node
            yield from node.walk((*path, node.text))

    def lines(self, path: Path = ()) -> set[Path]:
        """Every descendant as its full path: what a configuration holds, in no order."""
        return {(*above, node.text) for above, node in self.walk(path)}

    def copy(self) -> Node:
        """A deep copy: children and source lines are copied too."""
        return Node(self.text, [c.copy() for c in self.children], list(self.source))


def parse(text: str) -> Node:
    """The tree of ``text``; the root's text is empty."""
    root = Node("")
    stack: list[tuple[int, Node]] = [(-1, root)]
    for raw in text.splitlines():
        stripped = raw.strip()
        indent = len(raw) - len(raw.lstrip(" "))
        if not stripped or stripped.startswith(("!", "#")) or stripped in SECTION_EXITS:
            if stripped in SECTION_EXITS and stack[-1][1] is not root:
                _top_level(stack).source.append(raw)
                if stripped in CLOSING:  # an IOS-XR policy or set ends here, whatever follows
                    del stack[1:]
            continue
        while stack[-1][0] >= indent:
            stack.pop()
        node = Node(" ".join(stripped.split()), source=[raw])
        stack[-1][1].children.append(node)
        if stack[-1][1] is not root:
            _top_level(stack).source.append(raw)
        stack.append((indent, node))
    return root


def _top_level(stack: list[tuple[int, Node]]) -> Node:
    return stack[1][1]


def dump(nodes: Sequence[Node], *, indent: str = " ", exit_word: str | None = "exit") -> str:
    """``nodes`` as configuration commands: children indented, and every section
    left explicitly (``exit_word``), so that the text means the same to a parser
    that ignores indentation (NAPALM's EOS driver strips it). Without
    ``exit_word``, the configuration as a router shows it."""
    out: list[str] = []

    def emit(node: Node, depth: int) -> None:
        out.append(f"{indent * depth}{node.text}")
        for child in node.children:
            emit(child, depth + 1)
        if exit_word and (node.children or SECTION.match(node.text)):
            out.append(f"{indent * (depth + 1)}{exit_word}")

    for node in nodes:
        emit(node, 0)
    return "\n".join(out) + ("\n" if out else "")


def at(root: Node, path: Path, create: bool = True) -> Node | None:
    """The node at ``path`` below ``root``, made if missing and ``create``."""
    node = root
    for text in path:
        found = node.child(text)
        if found is None:
            if not create:
                return None
            found = Node(text)
            node.children.append(found)
        node = found
    return node
