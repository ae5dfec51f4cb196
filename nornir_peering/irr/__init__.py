"""IRR prefix lists: what to ask (an AS's AS-SETs), asking bgpq4 or bgpq3, and the answers.

The types here are shared by the query side (:mod:`.query`, :mod:`.bgpq`) and
the stored lists (:mod:`nornir_peering.store.irr`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple


@dataclass(frozen=True)
class IRRObject:
    """One thing to expand in the IRR: an AS-SET or an ``AS<n>``, maybe in one source.

    >>> IRRObject("AS-FOO", "RIPE").text
    'RIPE::AS-FOO'
    """

    name: str  # "AS-FOO", "AS65001:AS-CUSTOMERS", "AS65001"; upper case
    source: str | None = None  # "RIPE" for RIPE::AS-FOO, AS-FOO@RIPE, RIPE:AS-FOO

    @property
    def text(self) -> str:
        """How bgpq4 takes it: ``SOURCE::NAME`` or ``NAME``."""
        return f"{self.source}::{self.name}" if self.source else self.name


class PrefixEntry(NamedTuple):
    """One entry of a prefix list, in bgpq4's JSON shape (a tuple: a million of them are
    built fast when the stored lists are read).

    ``exact``: only this prefix; otherwise more-specifics from ``greater_equal``
    to ``less_equal`` (bgpq4's ``greater-equal`` / ``less-equal``; None when
    bgpq4 leaves one out).
    """

    prefix: str
    exact: bool = True
    greater_equal: int | None = None
    less_equal: int | None = None

    def as_json(self) -> dict[str, object]:
        """The entry as bgpq4's JSON writes it (no bound bgpq4 left out).

        >>> PrefixEntry("12.1.0.0/23", False, 24, 24).as_json()
        {'prefix': '12.1.0.0/23', 'exact': False, 'greater-equal': 24, 'less-equal': 24}
        """
        found: dict[str, object] = {"prefix": self.prefix, "exact": self.exact}
        if self.greater_equal is not None:
            found["greater-equal"] = self.greater_equal
        if self.less_equal is not None:
            found["less-equal"] = self.less_equal
        return found


@dataclass(frozen=True)
class Fetched:
    """What one bgpq run answered for one AS, object and family, and how it was asked."""

    asn: int
    object: IRRObject
    family: int  # 4 or 6; 0 for the AS-path list (member ASNs)
    prefixes: tuple[PrefixEntry, ...] = ()
    asns: tuple[int, ...] = ()  # the member ASNs, for family 0
    program: str = ""  # "bgpq4 1.9"
    host: str = ""  # the IRR server, host[:port]
    sources: tuple[str, ...] = ()
    command: tuple[str, ...] = ()  # the argv run (no secrets: bgpq has none)
    fetched_at: datetime | None = None
    error: str | None = None  # None when the query succeeded
    notes: tuple[str, ...] = field(default=())  # bgpq's own warnings (its ERROR: lines)
    given_up: bool = False  # not run: its IRR server timed out too often in a row
