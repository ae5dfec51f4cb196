"""``prefixes``: what the state holds for an AS or an AS-SET, or what the IRR says now.

The stored lists (:func:`stored_lists`) are the ones templates use, with their
provenance and age; the live ones (:func:`live_lists`) are an engineer's "what
would this give?", asked through the configured IRR server and never stored.
Either way each answer is one object and family, and a set or an AS the state
or the IRR does not have is an ``error``, never an empty list given as an answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nornir_peering.irr import IRRObject, PrefixEntry
from nornir_peering.irr.bgpq import BgpqConfig, Job, fetch_all
from nornir_peering.irr.query import JunkItem, parse_object
from nornir_peering.settings import Settings
from nornir_peering.store import open_state
from nornir_peering.store.irr import AS_PATH, StoredList, read_lists

PREFIX_FAMILIES = (4, 6)


@dataclass(frozen=True)
class ListAnswer:
    """One object's list in one family: stored (``stored`` set) or asked now."""

    object: str  # what was asked: "AS65001", "AS-FOO", "RIPE::AS-FOO"
    family: int  # 4 or 6
    asn: int | None = None  # the AS whose stored list it is
    prefixes: tuple[PrefixEntry, ...] = ()
    asns: tuple[int, ...] = ()  # the AS-path list: the ASNs behind the object
    error: str | None = None
    stored: StoredList | None = None

    def as_dict(self) -> dict[str, Any]:
        """The answer as ``--json`` prints it: bgpq4's own JSON shape for the entries."""
        found: dict[str, Any] = {
            "object": self.object,
            "family": self.family,
            "prefixes": [entry.as_json() for entry in self.prefixes],
            "asns": list(self.asns),
            "error": self.error,
        }
        if self.stored is not None:
            s = self.stored
            found.update(
                asn=s.asn,
                objects=list(s.objects),
                host=s.host,
                sources=list(s.sources),
                program=s.program,
                commands=list(s.commands),
                fetched_at=_iso(s.fetched_at),
                changed_at=_iso(s.changed_at),
                checked_at=_iso(s.checked_at),
                status=s.status,
                message=s.message,
            )
        return found


def parse_query(text: str) -> IRRObject:
    """``65001``, ``AS65001``, ``AS-FOO``, ``RIPE::AS-FOO`` as an object; ValueError for
    anything else.

    >>> parse_query("65001"), parse_query("ripe::as-foo").text
    (IRRObject(name='AS65001', source=None), 'RIPE::AS-FOO')
    """
    word = text.strip()
    if word.isdigit():
        word = f"AS{word}"
    try:
        obj, note = parse_object(word)
    except JunkItem as exc:
        raise ValueError(f"{text!r} is not an AS number or an AS-SET: {exc}") from None
    if note:
        raise ValueError(f"{text!r} is not an AS number or an AS-SET: {note}")
    return obj


def stored_lists(settings: Settings, objects: Sequence[IRRObject] = ()) -> list[ListAnswer]:
    """The stored lists of each object (an AS, or the ASes whose lists an AS-SET is part
    of; :func:`parse_query`); every stored list when there is none."""
    with open_state(settings.peering.state, wait=settings.peering.lock_wait) as db:
        stored = read_lists(db)
    if not objects:
        return [
            _from_stored(f"AS{asn}", lists, family)
            for asn, lists in stored.items()
            for family in PREFIX_FAMILIES
            if family in lists
        ]
    answers: list[ListAnswer] = []
    for obj in objects:
        if obj.name.startswith("AS") and obj.name[2:].isdigit() and obj.source is None:
            lists = stored.get(int(obj.name[2:]), {})
            for family in PREFIX_FAMILIES:
                if family in lists:
                    answers.append(_from_stored(obj.text, lists, family))
                else:
                    error = f"no IRR list stored for {obj.text} in IPv{family}: run grab-prefixes"
                    answers.append(ListAnswer(obj.text, family, error=error))
            continue
        holders = [lists for lists in stored.values() if _holds(lists, obj)]
        for family in PREFIX_FAMILIES:
            found = [_from_stored(obj.text, lists, family) for lists in holders if family in lists]
            answers += found or [
                ListAnswer(obj.text, family, error=f"no stored IRR list comes from {obj.text}")
            ]
    return answers


def live_lists(settings: Settings, objects: Sequence[IRRObject]) -> list[ListAnswer]:
    """Each object expanded now by bgpq through the configured IRR server, in both
    families and as an AS-path list; nothing is stored. An ASN is taken as the object
    ``AS<n>`` (its own route objects), not as the AS-SET PeeringDB names for it."""
    objects = list(dict.fromkeys(objects))
    jobs = [Job(0, obj, family) for obj in objects for family in (*PREFIX_FAMILIES, AS_PATH)]
    config = BgpqConfig.from_settings(settings.peering)
    fetched = {(f.object, f.family): f for f in fetch_all(jobs, config)}
    answers = []
    for obj in objects:
        path = fetched[obj, AS_PATH]
        for family in PREFIX_FAMILIES:
            found = fetched[obj, family]
            answers.append(
                ListAnswer(
                    obj.text,
                    family,
                    prefixes=found.prefixes,
                    asns=path.asns,
                    error=found.error or (path.error and f"AS-path list: {path.error}"),
                )
            )
    return answers


def _from_stored(text: str, lists: dict[int, StoredList], family: int) -> ListAnswer:
    stored, path = lists[family], lists.get(AS_PATH)
    return ListAnswer(
        text,
        family,
        asn=stored.asn,
        prefixes=stored.prefixes,
        asns=path.asns if path else (),
        stored=stored,
    )


def _holds(lists: dict[int, StoredList], obj: IRRObject) -> bool:
    """Whether the AS's stored lists were expanded from ``obj`` (any source, unless named)."""
    for stored in lists.values():
        for text in stored.objects:
            source, _, name = text.rpartition("::")
            if name == obj.name and (obj.source is None or source == obj.source):
                return True
    return False


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
