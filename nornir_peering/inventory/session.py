"""One BGP session as the inventory gives it to templates and tasks: the items of
``host["sessions"]``, plain dicts with the keys of :class:`Session`.

Part of the template interface (docs/reference/templates.md): keys are
added, never renamed or removed, without a note in the changelog.
"""

from __future__ import annotations

import math
import re
from ipaddress import ip_address
from typing import Literal, TypedDict

from nornir_peering.irr import PrefixEntry


class PolledState(TypedDict):
    """A session's state at the last ``poll-bgp-sessions``."""

    state: str  #: BGP state (``Established``, ``Active``, ...) or ``not configured``
    received_prefixes: int | None  #: prefixes the peer sent
    accepted_prefixes: int | None  #: of those, what the import policy accepted
    advertised_prefixes: int | None  #: prefixes we send the peer
    last_established: str | None  #: ISO 8601; None if never seen up
    polled_at: str  #: ISO 8601
    stale: bool  #: the router could not be polled since


# the sessions whose routes are filtered on the peer's IRR lists; a transit sends the
# whole table and an iBGP neighbour our own, neither is vouched for by its AS-SET
IRR_FILTERED: frozenset[str] = frozenset({"peer", "route-server", "customer", "pni"})


def irr_filterable(session: Session) -> bool:
    """Whether ``session``'s routes are filtered on its peer's IRR lists: a peer, customer,
    PNI, or a route server with an AS-SET (one without originates nothing itself, so
    ``AS<asn>``'s routes would be an empty list that rejects every route it relays).

    >>> irr_filterable({"relationship": "route-server", "as_sets": []})
    False
    """
    if session["relationship"] not in IRR_FILTERED:
        return False
    return session["relationship"] != "route-server" or bool(session["as_sets"])


class IRRLists(TypedDict):
    """What the IRR says a peer may announce: its entries of the session's family (bgpq4's
    shape) and the ASNs behind it."""

    #: the entries, bgpq4's shape: ``prefix``, ``exact``, ``greater_equal``, ``less_equal``
    prefixes: list[PrefixEntry]
    asns: list[int]  #: the AS-path list: the ASNs the peer's AS-SETs expand to


class Session(TypedDict):
    """One BGP session the operator wants on a router.

    An IX session (``kind`` ``ix``) comes from a wanted peer and each address
    PeeringDB lists for it at the IX (pinned addresses win); a direct one from a
    BGP group. ``name``, ``description`` and ``as_set`` are written by strangers:
    a template puts them in a config only through ``quote``/``describe``, and
    uses ``as_sets`` (the valid AS-SET names) instead of ``as_set``.
    """

    kind: Literal["ix", "direct"]  #: an IX session or a direct one (from a BGP group)
    ix: str | None  #: the IX's slug in peering.yaml
    ix_id: int | None  #: the IX's PeeringDB id
    ixlan_id: int | None  #: the IX LAN's PeeringDB id
    ix_name: str | None  #: PeeringDB's name of the IX (untrusted)
    group: str | None  #: the BGP group of a direct session
    #: ``peer``, ``route-server``, ``transit``, ``customer``, ``pni`` or ``internal``
    relationship: str
    local_asn: int  #: our ASN on this session
    local_address: str | None  #: our address
    #: the interface a direct session is sourced from (None: its address)
    update_source: str | None
    accept_default: bool  #: a transit session that takes the default route
    vrf: str  #: ``global`` for the default table (the inventory's default), or a VRF
    remote_asn: int  #: the peer's ASN
    remote_address: str  #: the peer's address
    family: Literal[4, 6]  #: the address family
    #: the peer's name: the intent's, else PeeringDB's, else ``AS<n>`` (untrusted)
    name: str
    description: str | None  #: the intent's (untrusted once it reaches a template)
    as_set: str | None  #: PeeringDB's ``irr_as_set`` as written (untrusted)
    as_sets: list[str]  #: the valid AS-SETs in ``as_set``
    irr_host: str | None  #: the operator's IRR server for this peer (None: the setting's)
    irr_sources: list[str]  #: and its sources (empty: the setting's)
    irr_aggregate: bool | None  #: and whether its lists are aggregated (None: the setting)
    #: PeeringDB's ``info_prefixes4`` plus the headroom, unless overridden
    max_prefix4: int | None
    max_prefix6: int | None  #: the same for IPv6
    max_prefix: int | None  #: this session's family's limit
    import_policy: str | None  #: from the peer, the IX or the group
    export_policy: str | None  #: from the peer, the IX or the group
    #: the TCP MD5 key, from the peer, the session or its BGP group: its text, or a
    #: reference (``{"env": NAME}``, ``{"file": ABSOLUTE_PATH}``) that render reveals
    #: (:mod:`nornir_peering.secrets`); shown everywhere masked
    password: str | dict[str, str] | None
    enabled: bool  #: False: the template shuts the session down
    is_route_server: bool  #: the peer is one of the IX's route servers
    #: where the remote address comes from: ``peeringdb``, ``pinned`` or ``intent``
    address_source: Literal["peeringdb", "pinned", "intent"]
    #: the stored IRR lists of the session's family (:class:`IRRLists`); None until
    #: fetched, and for transit and iBGP sessions (not ``IRR_FILTERED``)
    prefix_list: IRRLists | None
    #: the last polled state (:class:`PolledState`); None until the first poll
    state: PolledState | None


class Connection(TypedDict):
    """One of the router's IX ports: the items of ``host["connections"]``."""

    ix: str  #: the IX's slug in peering.yaml
    ix_id: int  #: the IX's PeeringDB id
    ixlan_id: int  #: the IX LAN's PeeringDB id
    ix_name: str  #: PeeringDB's name of the IX (untrusted)
    ipv4: str | None  #: our IPv4 address there
    ipv6: str | None  #: our IPv6 address there
    vrf: str  #: ``global`` or a VRF


# One AS-SET or ASN, as IRR tools accept them: AS-FOO, RIPE::AS-FOO, AS64500:AS-FOO, AS64500.
AS_SET = re.compile(r"^(?:[A-Z0-9-]+::)?(?:AS\d+:)*(?:AS-[A-Z0-9_:-]+|AS\d+)$", re.IGNORECASE)


def as_sets(text: str | None) -> list[str]:
    """The AS-SETs in a PeeringDB ``irr_as_set``; anything else is dropped.

    >>> as_sets("RIPE::AS-FOO, AS-BAR\\n}; evil")
    ['RIPE::AS-FOO', 'AS-BAR']
    """
    return [token for token in re.split(r"[\s,]+", text or "") if AS_SET.match(token)]


def with_headroom(count: int | None, headroom: int) -> int | None:
    """A prefix count plus ``headroom`` percent, rounded up: a max-prefix limit.

    >>> with_headroom(100, 10), with_headroom(None, 10), with_headroom(0, 10)
    (110, None, 0)
    """
    return None if count is None else math.ceil(count * (100 + headroom) / 100)


def canonical(address: str) -> str:
    """An address as ``ipaddress`` writes it, so that the same address compares equal.

    >>> canonical("2001:DB8:0::1"), canonical("2001:db8::0.0.0.1")
    ('2001:db8::1', '2001:db8::1')
    """
    return str(ip_address(address))
