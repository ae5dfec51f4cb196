"""The operator's intent, as written in ``inventory/``: models and their rules.

Routers are Nornir SimpleInventory hosts (``hosts.yaml``, ``groups.yaml``,
``defaults.yaml``) whose ``data`` has a known shape; everything about peering
lives in ``peering.yaml``. Unknown keys are errors, never ignored: a typo in
``import_polcy`` must not silently drop a policy.
"""

from __future__ import annotations

import datetime as dt
import re
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, IPvAnyAddress, field_validator, model_validator

from nornir_peering.secrets import SecretRef

ASN = Annotated[int, Field(ge=1, le=4_294_967_295)]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"  # a word every platform takes bare
NAME_MAX = 63
Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=NAME_MAX)]
# a secret: its text (listed by inventory --problems) or {env: NAME} / {file: PATH}
Secret = SecretRef | Annotated[str, Field(min_length=1, max_length=80)]
Relationship = Literal["peer", "route-server", "transit", "customer", "pni", "internal"]


class Strict(BaseModel):
    """A model that refuses unknown keys and cannot be changed once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# -- routers (the ``data`` of hosts, groups and defaults) --------------------------


class RouterData(Strict):
    """``data:`` of a router (or of a group or the defaults it inherits from)."""

    local_asn: ASN | None = None  #: the router's ASN (default: the local AS's)
    router_id: IPv4Address | None = None  #: the BGP router id, for templates
    #: the template under ``templates/`` (none: ``configure-routers`` skips the router)
    template: str | None = None
    poll: bool | None = None  #: false: ``poll-bgp-sessions`` leaves it alone (default: polled)
    #: ``merge`` (default): only nornir-peering's objects change; ``replace``: the template
    #: renders the whole configuration; only on the router itself, never in a group or the
    #: defaults (see :mod:`nornir_peering.deploy`)
    deploy: Literal["merge", "replace"] | None = None
    #: names of the objects nornir-peering owns start with it (default ``NP_``); it ends in
    #: ``_`` or ``-``, so that a prefix ``R`` cannot make the operator's ``RR-CLIENTS`` ours
    owned_prefix: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9]{0,14}[_-]$")
    #: no longer here, an error: a router-wide update-source broke single-hop eBGP
    #: sessions; it is a BGP group's or a direct session's in ``peering.yaml``
    update_source: Any = None
    #: the most entries one IRR list may have on this router (default: the platform's,
    #: the ``prefix_list_limits`` setting); a longer one fails the router at render
    prefix_list_limit: int | None = Field(default=None, ge=1)
    #: the most one run may spend on this router, in seconds (default: the
    #: ``router_timeout`` setting)
    router_timeout: float | None = Field(default=None, gt=0)
    vars: dict[str, Any] = Field(default_factory=dict)  #: free-form, for templates

    @field_validator("update_source")
    @classmethod
    def _moved(cls, value: Any) -> None:
        if value is not None:
            raise ValueError(
                "update_source is no longer a router's: set it on the BGP group or the "
                "session in peering.yaml that needs it (iBGP, multihop), since a "
                "router-wide update-source keeps single-hop eBGP sessions from coming up"
            )


class ConnectionOptions(Strict):
    """One ``connection_options`` entry of a host, group or the defaults (Nornir's own)."""

    hostname: str | None = None  #: the address or name to connect to
    port: int | None = Field(None, ge=1, le=65535)  #: the port to connect to
    username: str | None = None  #: the login's user
    #: the login's password: text, or ``{env: NAME}`` / ``{file: PATH}``
    password: SecretRef | str | None = None
    platform: str | None = None  #: the NAPALM driver: ``bird``, ``frr``, ``junos``, ...
    #: the plugin's own arguments (NAPALM's ``timeout``, ``optional_args``)
    extras: dict[str, Any] | None = None


class InventoryEntry(Strict):
    """A host or a group of ``hosts.yaml`` / ``groups.yaml``."""

    hostname: str | None = None  #: the address or name to connect to
    port: int | None = Field(None, ge=1, le=65535)  #: the port to connect to
    username: str | None = None  #: the login's user
    #: the login's password: text, or ``{env: NAME}`` / ``{file: PATH}``
    password: SecretRef | str | None = None
    platform: str | None = None  #: the NAPALM driver: ``bird``, ``frr``, ``junos``, ...
    groups: list[str] = Field(default_factory=list)  #: groups of ``groups.yaml`` it belongs to
    data: RouterData = Field(default_factory=RouterData)  #: the router's data
    #: per connection plugin (``napalm``): what differs from the above
    connection_options: dict[str, ConnectionOptions] = Field(default_factory=dict)


class Defaults(Strict):
    """``defaults.yaml``: what every router inherits."""

    hostname: str | None = None  #: the address or name to connect to
    port: int | None = Field(None, ge=1, le=65535)  #: the port to connect to
    username: str | None = None  #: the login's user
    #: the login's password: text, or ``{env: NAME}`` / ``{file: PATH}``
    password: SecretRef | str | None = None
    platform: str | None = None  #: the NAPALM driver: ``bird``, ``frr``, ``junos``, ...
    data: RouterData = Field(default_factory=RouterData)  #: every router's data
    #: per connection plugin (``napalm``): what differs from the above
    connection_options: dict[str, ConnectionOptions] = Field(default_factory=dict)


# -- peering.yaml ------------------------------------------------------------------


class LocalAS(Strict):
    """Our own AS: ``local_as`` in ``peering.yaml``."""

    asn: ASN  #: our ASN
    name: str  #: our name
    as_set: str | None = None  #: our AS-SET (``grab-prefixes`` fetches ours too)
    #: percent added to a peer's PeeringDB prefix count to make its max-prefix limit
    max_prefix_headroom: Annotated[int, Field(ge=0, le=1000)] = 10
    #: what we announce: exports carry these (and their more-specifics up to /24 and /48)
    prefixes4: list[IPv4Network] = Field(default_factory=list)
    prefixes6: list[IPv6Network] = Field(default_factory=list)  #: the same for IPv6


COMMUNITY = re.compile(
    r"^(\d{1,5}:\d{1,5}"  # standard  64500:100
    r"|\d{1,10}:\d{1,10}:\d{1,10}"  # large     64500:1:100
    r"|(rt|ro|soo) \S+:\d+)$"  # extended  rt 64500:100
)


class Policy(Strict):
    """A routing policy, referenced by name; templates give it meaning."""

    description: str = ""  #: what it is for
    communities: list[Name] = Field(default_factory=list)  #: names from ``communities:``
    local_pref: int | None = Field(None, ge=0, le=4_294_967_295)  #: local preference to set
    med: int | None = Field(None, ge=0, le=4_294_967_295)  #: MED to set
    prepend: int = Field(0, ge=0, le=10)  #: times our ASN is prepended on export
    vars: dict[str, Any] = Field(default_factory=dict)  #: free-form, for templates


class Overrides(Strict):
    """What the operator may set on a session instead of PeeringDB's value."""

    max_prefix4: int | None = Field(None, ge=0)  #: IPv4 max-prefix, over PeeringDB's count
    max_prefix6: int | None = Field(None, ge=0)  #: IPv6 max-prefix, over PeeringDB's count
    as_set: str | None = None  #: the AS-SET, over PeeringDB's ``irr_as_set``
    #: the IRR server ``grab-prefixes`` asks for this AS (default: the ``irr_host`` setting)
    irr_host: str | None = Field(None, pattern=r"^[A-Za-z0-9_.\[\]][A-Za-z0-9_.:\[\]-]{0,252}$")
    #: its IRR sources (default: the ``irr_sources`` setting)
    irr_sources: list[Annotated[str, Field(pattern=r"^[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?$")]] = (
        Field(default_factory=list)
    )
    #: whether its lists are aggregated, ``bgpq4 -A`` (default: the ``irr_aggregate`` setting)
    irr_aggregate: bool | None = None
    import_policy: Name | None = None  #: a policy of ``policies:``
    export_policy: Name | None = None  #: a policy of ``policies:``
    #: the TCP MD5 key: text, or ``{env: NAME}`` / ``{file: PATH}``
    password: Secret | None = None
    enabled: bool = True  #: false: the session is rendered shut down
    description: str | None = None  #: over the peer's PeeringDB name

    @field_validator("irr_sources", mode="before")
    @classmethod
    def _sources_text(cls, value: Any) -> Any:
        return [s for s in re.split(r"[\s,]+", value) if s] if isinstance(value, str) else value

    @field_validator("irr_sources")
    @classmethod
    def _upper(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(s.upper() for s in value))


class WantedPeer(Overrides):
    """A peer wanted at an IX, by ASN; addresses come from PeeringDB unless pinned."""

    asn: ASN  #: the peer's ASN
    #: pinned addresses (default: those PeeringDB lists for the peer at the IX)
    ipv4: list[IPv4Address] = Field(default_factory=list)
    ipv6: list[IPv6Address] = Field(default_factory=list)  #: the same for IPv6
    #: whether the peer is a route server (default: PeeringDB says, the IX's ``rs_asn``)
    route_server: bool | None = None

    @field_validator("ipv4", "ipv6", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class IXConnection(Strict):
    """One of our routers on an IX LAN, with our addresses there."""

    router: str  #: a router of ``hosts.yaml``
    ipv4: IPv4Address | None = None  #: our IPv4 address on the LAN
    ipv6: IPv6Address | None = None  #: our IPv6 address on the LAN
    vrf: Name = "global"  #: ``global`` (the default table) or a VRF the operator made


class IX(Strict):
    """An IX we are at, by PeeringDB ``ix_id`` or ``ixlan_id``: our ports and the peers
    wanted there."""

    ix_id: int | None = Field(None, ge=1)  #: PeeringDB's IX id (or ``ixlan_id``)
    ixlan_id: int | None = Field(None, ge=1)  #: PeeringDB's IX LAN id (or ``ix_id``)
    import_policy: Name | None = None  #: its sessions' (a peer may say its own)
    export_policy: Name | None = None  #: its sessions' (a peer may say its own)
    connections: list[IXConnection]  #: our routers on the LAN
    peers: list[WantedPeer] = Field(default_factory=list)  #: the peers wanted there

    @model_validator(mode="after")
    def _one_id(self) -> IX:
        if (self.ix_id is None) == (self.ixlan_id is None):
            raise ValueError("give exactly one of ix_id and ixlan_id")
        return self


# an interface name, as the platforms write one (Loopback0, lo, ae0.100, Ethernet1/1)
Interface = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9/._:-]{0,63}$")]


class DirectSession(Overrides):
    """A session outside any IX: transit, customer, private interconnect."""

    router: str  #: a router of ``hosts.yaml``
    remote_asn: ASN  #: the peer's ASN
    remote_address: IPvAnyAddress  #: the peer's address
    local_address: IPvAnyAddress | None = None  #: ours
    #: the interface the session is sourced from (IOS-XR, EOS, FRR: update-source), for a
    #: session that is not single-hop eBGP (iBGP, multihop); default: the group's
    update_source: Interface | None = None
    #: a transit session that asks for the default route (default: the group's); every
    #: other import rejects it, with every prefix shorter than /8 or /16
    accept_default: bool | None = None
    name: str | None = None  #: the peer's name (default: PeeringDB's)
    relationship: Relationship | None = None  #: default: the group's
    vrf: Name = "global"  #: ``global`` (the default table) or a VRF the operator made


class BGPGroup(Strict):
    """Direct sessions that share a relationship and policies."""

    #: ``peer``, ``route-server``, ``transit``, ``customer``, ``pni`` or ``internal``
    relationship: Relationship
    import_policy: Name | None = None  #: its sessions' import policy
    export_policy: Name | None = None  #: its sessions' export policy
    password: Secret | None = None  #: its sessions' TCP MD5 key, unless a session has its own
    update_source: Interface | None = None  #: its sessions', unless a session has its own
    accept_default: bool = False  #: transit only: its sessions take the default route
    sessions: list[DirectSession] = Field(default_factory=list)  #: its sessions


class IgnoredASN(Strict):
    """An ASN left out of IX peer discovery, until a date or for good."""

    asn: ASN  #: the ASN
    until: dt.date | None = None  #: left out until this date (none: for good)
    reason: str = ""  #: why


class PeeringIntent(Strict):
    """The whole of ``peering.yaml``."""

    local_as: LocalAS  #: our own AS
    #: name → value: ``64500:100``, ``64500:1:100`` or ``rt 64500:100``
    communities: dict[Name, str] = Field(default_factory=dict)
    policies: dict[Name, Policy] = Field(default_factory=dict)  #: routing policies, by name
    ixes: dict[Name, IX] = Field(default_factory=dict)  #: the IXes we are at, by slug
    #: direct sessions (transit, customers, PNIs), by group name
    bgp_groups: dict[Name, BGPGroup] = Field(default_factory=dict)
    #: ASNs ``check-ix-sessions`` leaves out
    ignore_asns: list[IgnoredASN] = Field(default_factory=list)

    @field_validator("communities")
    @classmethod
    def _community_values(cls, value: dict[str, str]) -> dict[str, str]:
        for name, community in value.items():
            if not COMMUNITY.match(community) or not _fits(community):
                raise ValueError(
                    f"{name}: {community!r} is not a BGP community "
                    "(64500:100, 64500:1:100 or 'rt 64500:100', within their field sizes)"
                )
        return value


def _fits(community: str) -> bool:
    """Whether each part fits its field: 16:16 bits (standard), 32:32:32 (large), and for
    an extended community 16:32, 32:16 or an IPv4 address:16 (RFC 1997, 8092, 4360).

    >>> _fits("64500:100"), _fits("70000:1"), _fits("rt 4200000000:1"), _fits("rt 4200000000:70000")
    (True, False, True, False)
    """
    if " " in community:
        admin, _, number = community.split()[1].rpartition(":")
        if not admin.isdigit():
            return int(number) <= 0xFFFF  # an IPv4 address
        return (
            int(number) <= (0xFFFFFFFF if int(admin) <= 0xFFFF else 0xFFFF)
            and int(admin) <= 0xFFFFFFFF
        )
    parts = [int(p) for p in community.split(":")]
    return all(p <= (0xFFFF if len(parts) == 2 else 0xFFFFFFFF) for p in parts)
