"""What FRR's running configuration becomes when commands are applied to it.

FRR 8.4 has no candidate configuration for ``bgpd``: commands take effect
as they are entered. So the driver's ``compare_config`` for a merge works
out the result itself, with FRR's own rules, checked on FRR 8.4 (vtysh):

- a command already in the configuration changes nothing; one that
  overwrites a line with the same key (a new description, a new inbound
  route-map, a prefix-list entry with the same number) replaces it;
- ``no X`` removes the lines ``X`` and ``X ...`` where it is given;
- ``no neighbor A``, ``no neighbor A remote-as ...`` and ``no neighbor A
  peer-group ...`` delete the whole peer, in every address family;
  ``no neighbor G peer-group`` deletes the group and its members;
- ``no ip prefix-list NAME seq N ...`` deletes entry N, whatever follows.

>>> before = parse("router bgp 64500\\n neighbor 192.0.2.1 remote-as 65001\\n")
>>> after = predict(before, parse("router bgp 64500\\n no neighbor 192.0.2.1\\n"))
>>> after.lines()
{('router bgp 64500',)}
"""

from __future__ import annotations

import difflib
import re

from nornir_peering.deploy.lines import FRR_OVERWRITES, ROUTER_BGP, supersede_key
from nornir_peering.deploy.tree import Node, dump, parse

__all__ = ["diff", "parse", "predict"]

_PEER_DELETION = re.compile(
    r"^neighbor (?P<who>\S+)(?: (?P<what>remote-as|peer-group)(?P<arg> \S+)?)?$"
)
_ENTRY = re.compile(r"^(?P<entry>(?:ip|ipv6) prefix-list \S+ seq \d+)(?: |$)")


def predict(running: Node, commands: Node) -> Node:
    """The configuration ``running`` becomes once ``commands`` are applied."""
    result = running.copy()
    _apply(result, commands.children, None)
    return result


def _apply(context: Node, commands: list[Node], bgp: Node | None) -> None:
    for command in commands:
        if command.text.startswith("no "):
            _remove(context, command.text[3:], bgp)
            continue
        target = context.child(command.text)
        if target is None and context.child(f"no {command.text}") is not None:
            context.children.remove(context.child(f"no {command.text}"))  # type: ignore[arg-type]
            continue
        if target is None:
            key = supersede_key(command.text, FRR_OVERWRITES)
            target = next(
                (
                    c
                    for c in context.children
                    if key is not None and supersede_key(c.text, FRR_OVERWRITES) == key
                ),
                None,
            )
            if target is not None:
                target.text = command.text
            else:
                target = Node(command.text)
                _insert(context, target, section=bool(command.children))
        _apply(target, command.children, target if ROUTER_BGP.match(target.text) else bgp)


def _insert(context: Node, node: Node, *, section: bool) -> None:
    """Where FRR shows it: a plain line before the section's subsections
    (``address-family``), a subsection at the end."""
    if not section:
        for index, child in enumerate(context.children):
            if child.children:
                context.children.insert(index, node)
                return
    context.children.append(node)


def _remove(context: Node, what: str, bgp: Node | None) -> None:
    peer = _PEER_DELETION.match(what)
    if bgp is not None and peer is not None:
        who = peer.group("who")
        if peer.group("what") == "peer-group" and not peer.group("arg"):
            members = {
                line.text.split()[1]
                for line in bgp.children
                if line.text.startswith("neighbor ") and line.text.endswith(f" peer-group {who}")
            }
            _remove_peers(bgp, {who, *members})
            return
        _remove_peers(bgp, {who})
        return
    entry = _ENTRY.match(what)
    if entry:
        prefix = entry.group("entry")
        context.children = [
            c for c in context.children if c.text != prefix and not c.text.startswith(prefix + " ")
        ]
        return
    context.children = [
        c for c in context.children if c.text != what and not c.text.startswith(what + " ")
    ]


def _remove_peers(bgp: Node, names: set[str]) -> None:
    def of_peer(text: str) -> bool:
        words = text.removeprefix("no ").split()
        return len(words) >= 2 and words[0] == "neighbor" and words[1] in names

    bgp.children = [c for c in bgp.children if not of_peer(c.text)]
    for section in bgp.children:
        section.children = [c for c in section.children if not of_peer(c.text)]


def diff(before: Node, after: Node, name: str = "running-config") -> str:
    """A unified diff of two configurations; empty when they hold the same lines."""
    if before.lines() == after.lines():
        return ""
    return "".join(
        difflib.unified_diff(
            _plain(before).splitlines(keepends=True),
            _plain(after).splitlines(keepends=True),
            fromfile=f"a/{name}",
            tofile=f"b/{name}",
        )
    )


def _plain(tree: Node) -> str:
    """The configuration as FRR shows it: indented, without the words that leave sections."""
    return dump(tree.children, exit_word=None)
