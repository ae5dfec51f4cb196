"""Merge candidates for Junos: our stanzas with ``replace:``, the stale ones with ``delete:``.

NAPALM's Junos driver loads a merge candidate with PyEZ's default action,
``load replace`` (``napalm/junos/junos.py``, ``_load_candidate``: no
``merge=True``): statements tagged ``replace:`` replace the router's statement
of the same name, the rest merges, and ``delete:`` removes a statement
(Juniper, "Loading Configuration Files"). So a candidate is the rendered
configuration with ``replace:`` above each of our objects, and ``delete:``
above each object of ours the router has and the rendered configuration
no longer does. Ours (see :mod:`nornir_peering.deploy`): BGP groups and
policy-options objects whose names start with the owned prefix, at
``protocols bgp`` and ``routing-instances <name> protocols bgp``.

>>> plan = plan_merge("protocols { bgp { group NP_IX { type external; } } }", "", "NP_")
>>> print(plan.config, end="")
protocols {
    bgp {
        replace:
        group NP_IX {
            type external;
        }
    }
}
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from nornir_peering.deploy.cisco import MergePlan
from nornir_peering.deploy.errors import OwnershipError
from nornir_peering.deploy.keep import StaleObject, disabled_by_us, still_used

TAGS = frozenset({"replace:", "delete:", "inactive:", "active:", "protect:", "unprotect:"})
POLICY_OBJECTS = frozenset(
    {
        "policy-statement",
        "prefix-list",
        "community",
        "as-path",
        "as-path-group",
        "route-filter-list",
    }
)
_TOKEN = re.compile(
    r'(?P<string>"(?:[^"\\]|\\.)*")'
    r"|(?P<comment>/\*.*?\*/|#[^\n]*)"  # Junos ends lines with "## SECRET-DATA"
    r"|(?P<punct>[{};])"
    r'|(?P<word>[^\s{};"]+)'
    r"|(?P<space>\s+)",
    re.S,
)


@dataclass
class Statement:
    """A Junos statement: its words, its tags (``replace:``...), and its children if a container."""

    words: list[str]
    children: list[Statement] | None = None  # None: a leaf (``...;``)
    tags: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The statement's words, one space between each."""
        return " ".join(self.words)

    def child(self, first: str) -> Statement | None:
        """The first child whose first word is ``first``."""
        return next((c for c in self.children or [] if c.words[:1] == [first]), None)

    def child_named(self, words: list[str]) -> Statement | None:
        """The first child whose words are ``words``."""
        return next((c for c in self.children or [] if c.words == words), None)


def parse(text: str) -> Statement:
    """The statement tree of a Junos configuration in text (curly-brace) format."""
    root = Statement([], [])
    stack = [root]
    words: list[str] = []
    for match in _TOKEN.finditer(text):
        kind, value = match.lastgroup, match.group()
        if kind in ("space", "comment"):
            continue
        if kind in ("string", "word"):
            words.append(value)
        elif value in ";{":
            tags = []
            while words and words[0] in TAGS:
                tags.append(words.pop(0))
            if not words:  # a lone tag, or an empty statement
                if value == "{":
                    raise OwnershipError("Junos configuration: '{' without a statement")
                words = tags
                continue
            statement = Statement(words, [] if value == "{" else None, tags)
            assert stack[-1].children is not None
            stack[-1].children.append(statement)
            if value == "{":
                stack.append(statement)
            words = []
        else:  # "}"
            if len(stack) == 1:
                raise OwnershipError("Junos configuration: '}' without its '{'")
            if words:
                raise OwnershipError(
                    f"Junos configuration: '{' '.join(words)}' is not ended with ';' or '{{'"
                )
            stack.pop()
    if len(stack) != 1:
        raise OwnershipError(f"Junos configuration: '{stack[-1].text} {{' is never closed")
    return root


def dump(statements: list[Statement], depth: int = 0) -> str:
    """``statements`` in Junos text format, four spaces a level, each tag on a line above."""
    out: list[str] = []
    pad = "    " * depth
    for statement in statements:
        out.extend(f"{pad}{tag}" for tag in statement.tags)
        if statement.children is None:
            out.append(f"{pad}{statement.text};")
        else:
            out.append(f"{pad}{statement.text} {{")
            body = dump(statement.children, depth + 1)
            if body:
                out.append(body.rstrip("\n"))
            out.append(f"{pad}}}")
    return "\n".join(out) + ("\n" if out else "")


# -- ownership -----------------------------------------------------------------------------

Place = tuple[str, ...]  # the path of the container an object lives in


def owned_objects(
    root: Statement, prefix: str, *, strict: bool
) -> Iterator[tuple[Place, Statement]]:
    """Our objects (policy-options objects, BGP groups) with where they live.

    With ``strict``, anything else in the configuration is an :class:`OwnershipError`.
    """
    for top in root.children or []:
        if _enters(top, ["policy-options"], (), prefix, strict):
            yield from _owned_in(top, ("policy-options",), prefix, strict, POLICY_OBJECTS)
        elif _enters(top, ["protocols"], (), prefix, strict):
            yield from _bgp_groups(top, ("protocols",), prefix, strict)
        elif _enters(top, ["routing-instances"], (), prefix, strict):
            for instance in top.children or []:
                place = ("routing-instances", instance.text)
                if not _enters(instance, instance.words, ("routing-instances",), prefix, strict):
                    continue
                for part in instance.children or []:
                    if _enters(part, ["protocols"], place, prefix, strict):
                        yield from _bgp_groups(part, (*place, "protocols"), prefix, strict)
                    elif strict:
                        _refuse(part, place, prefix)
        elif strict:
            _refuse(top, (), prefix)


def _enters(
    statement: Statement, words: list[str], place: Place, prefix: str, strict: bool
) -> bool:
    """Whether ``statement`` is the container ``words`` leading to our objects; in a
    rendered configuration it may carry no tag (``delete: routing-instances;`` would
    delete every VRF, ``replace:`` above ``protocols`` every protocol)."""
    if statement.words != words or (statement.children is None and not statement.tags):
        return False
    if strict and (statement.tags or statement.children is None):
        where = f" under '{' '.join(place)}'" if place else ""
        raise OwnershipError(
            f"the template tags or ends '{statement.text}'{where}, a container nornir-peering "
            f"does not own: only its objects named {prefix}... may be tagged"
        )
    return statement.children is not None


def _bgp_groups(
    protocols: Statement, place: Place, prefix: str, strict: bool
) -> Iterator[tuple[Place, Statement]]:
    for part in protocols.children or []:
        if _enters(part, ["bgp"], place, prefix, strict):
            yield from _owned_in(part, (*place, "bgp"), prefix, strict, frozenset({"group"}))
        elif strict:
            _refuse(part, place, prefix)


def _owned_in(
    container: Statement, place: Place, prefix: str, strict: bool, kinds: frozenset[str]
) -> Iterator[tuple[Place, Statement]]:
    for statement in container.children or []:
        if (
            len(statement.words) >= 2
            and statement.words[0] in kinds
            and statement.words[1].startswith(prefix)
        ):
            yield place, statement
        elif strict:
            _refuse(statement, place, prefix)


def _refuse(statement: Statement, place: Place, prefix: str) -> None:
    where = f" under '{' '.join(place)}'" if place else ""
    raise OwnershipError(
        f"the template renders '{statement.text}'{where}, which is not nornir-peering's: in "
        f"merge mode a Junos template renders only BGP groups and policy-options objects "
        f"named {prefix}..."
    )


def _key(place: Place, statement: Statement) -> tuple[Place, str, str]:
    return place, statement.words[0], statement.words[1]


def plan_merge(rendered: str, running: str, prefix: str, *, force: bool = False) -> MergePlan:
    """The rendered objects, each tagged ``replace:``, and ``delete:`` for the stale ones
    that nothing on the router still uses (:mod:`~nornir_peering.deploy.keep`). A group
    or neighbor of ours deactivated or shut down on the router stays so, unless ``force``."""
    want_root = parse(rendered)
    want = list(owned_objects(want_root, prefix, strict=True))
    for _place, statement in want:
        if "delete:" in statement.tags:
            raise OwnershipError(
                f"the template tags '{statement.text}' delete: in merge mode nornir-peering "
                "works out the removals itself"
            )
        statement.tags = ["replace:", *(t for t in statement.tags if t != "replace:")]
    wanted = {_key(place, s): s for place, s in want}
    have_root = parse(running)
    instances = have_root.child("routing-instances")
    have_instances = {s.text for s in (instances.children or [])} if instances else set()
    for vrf in sorted({place[1] for place, _ in want if place[0] == "routing-instances"}):
        if vrf not in have_instances:
            raise OwnershipError(
                f"VRF {vrf}: the router has no routing instance {vrf}; a VRF is the "
                "operator's, and must be there before nornir-peering puts sessions in it"
            )
    have = list(owned_objects(have_root, prefix, strict=False))
    held = [] if force else _hold(have, wanted)
    stale = [(place, s) for place, s in have if _key(place, s) not in wanted]
    ours = {id(s) for _place, s in have}
    still = still_used(
        [StaleObject(_key(place, s), _name(s), _label(s), tuple(_texts(s))) for place, s in stale],
        _foreign_texts(have_root, ours),
    )
    gone = [(place, s) for place, s in stale if _key(place, s) not in still]
    for place, statement in gone:
        container = _container(want_root, place)
        assert container.children is not None
        container.children.append(Statement(statement.words[:2], None, ["delete:"]))
    return MergePlan(
        dump(want_root.children or []),
        tuple(_label(s) for _place, s in gone),
        tuple(f"{_label(s)} ({still[_key(p, s)]})" for p, s in stale if _key(p, s) in still),
        tuple(held),
    )


def _hold(
    have: list[tuple[Place, Statement]], wanted: dict[tuple[Place, str, str], Statement]
) -> list[str]:
    """Keep in the candidate what someone did by hand to our groups and neighbors on the
    router (``deactivate``: the ``inactive:`` tag; ``shutdown``) where the template does
    not: an emergency's doing is not undone by the next run. What it kept, as notes."""
    held = []
    for place, statement in have:
        target = wanted.get(_key(place, statement))
        if target is None or statement.words[0] != "group":
            continue
        if "inactive:" in statement.tags and "inactive:" not in target.tags:
            target.tags.append("inactive:")
            held.append(f"{_label(statement)}: 'inactive:' on the router")
        held += _hold_disabled(statement, target, _label(statement))
        for neighbor in statement.children or []:
            if neighbor.words[:1] != ["neighbor"]:
                continue
            twin = target.child_named(neighbor.words)
            if twin is not None:
                label = f"{_label(statement)} {neighbor.text}"
                if "inactive:" in neighbor.tags and "inactive:" not in twin.tags:
                    twin.tags.append("inactive:")
                    held.append(f"{label}: 'inactive:' on the router")
                held += _hold_disabled(neighbor, twin, label)
    return held


def _hold_disabled(have: Statement, want: Statement, label: str) -> list[str]:
    """``shutdown;`` on the router's ``have`` and not in ``want``: added to ``want``, unless
    nornir-peering shut it down (its description says so) and the intent enables it."""
    if have.child_named(["shutdown"]) is None or want.child_named(["shutdown"]) is not None:
        return []
    description = have.child("description")
    if description is not None and disabled_by_us(" ".join(description.words[1:])):
        return []
    assert want.children is not None
    want.children.append(Statement(["shutdown"]))
    return [f"{label}: 'shutdown' on the router"]


def _name(statement: Statement) -> str:
    return statement.words[1].strip('"')


def _label(statement: Statement) -> str:
    return f"{statement.words[0]} {statement.words[1]}"


def _texts(statement: Statement) -> Iterator[str]:
    """The statement's own text and every statement below it."""
    yield statement.text
    for child in statement.children or []:
        yield from _texts(child)


def _foreign_texts(root: Statement, ours: set[int]) -> Iterator[str]:
    """Every statement of the configuration that is not in one of our objects."""
    for child in root.children or []:
        if id(child) not in ours:
            yield child.text
            yield from _foreign_texts(child, ours)


def _container(root: Statement, place: Place) -> Statement:
    """The container at ``place`` (``routing-instances NAME`` is one step), made if missing."""
    node = root
    for step in place:
        words = step.split()
        assert node.children is not None
        found = next((c for c in node.children if c.words == words), None)
        if found is None:
            found = Statement(words, [])
            node.children.append(found)
        node = found
    return node
