"""One network as PeeringDB knows it: its ``net`` object and its ports (``netixlan``).

Asked with the sync's own client (:class:`~nornir_peering.peeringdb.fetch.StreamingFetcher`:
its User-Agent, API key, timeouts, retries and size limits) and the API's filters, as
peeringdb-py asks for one object type: ``GET /api/net?asn=64500``, then
``GET /api/netixlan?net_id=ID``. Everything in a reply is a stranger's text: fields are
checked for their type here, and written into YAML by an emitter, never pasted.

For example::

    network = find_network(settings.peering, 64500)
    network.name, [port.ix_name for port in network.ports]
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any, TypeVar

import httpx

from nornir_peering.errors import ConfigError, PeeringError
from nornir_peering.peeringdb.fetch import FetchError, StreamingFetcher
from nornir_peering.settings import PeeringSettings

A = TypeVar("A", IPv4Address, IPv6Address)

# a network's object, or all its ports, is a few kilobytes; a larger reply is not one
MAX_REPLY = 8 << 20


@dataclass(frozen=True)
class Port:
    """One of the network's ports at an IX LAN, with its addresses there."""

    ix_id: int
    ixlan_id: int
    ix_name: str
    ipv4: IPv4Address | None
    ipv6: IPv6Address | None


@dataclass(frozen=True)
class Network:
    """A PeeringDB network: what ``local_as`` takes from it, and its ports."""

    asn: int
    name: str
    as_set: str
    prefixes4: int | None
    prefixes6: int | None
    ports: tuple[Port, ...]


def find_network(settings: PeeringSettings, asn: int) -> Network:
    """AS``asn``'s network and its ports, from the PeeringDB ``settings`` name.

    Raises :class:`~nornir_peering.errors.ConfigError` when PeeringDB has no such
    network, :class:`~nornir_peering.errors.PeeringError` when it cannot be asked."""
    with tempfile.TemporaryDirectory(prefix="nornir-peering-init-") as workdir:
        fetcher = StreamingFetcher(settings, Path(workdir))
        try:
            nets = _objects(fetcher, "net", {"asn": str(asn)})
            if not nets:
                raise ConfigError(
                    f"AS{asn}: PeeringDB at {fetcher.url} has no such network (nothing was written)"
                )
            net = nets[0]
            ports = _objects(fetcher, "netixlan", {"net_id": str(_int(net, "id"))})
        finally:
            fetcher.close()
    return Network(
        asn=asn,
        name=_text(net, "name") or f"AS{asn}",
        as_set=_text(net, "irr_as_set"),
        prefixes4=_count(net, "info_prefixes4"),
        prefixes6=_count(net, "info_prefixes6"),
        ports=tuple(sorted((_port(row) for row in ports), key=_port_order)),
    )


def _objects(fetcher: StreamingFetcher, tag: str, query: dict[str, str]) -> list[dict[str, Any]]:
    """The live objects of ``tag`` that ``query`` selects (PeeringDB lists only those)."""
    url = str(httpx.URL(f"{fetcher.url}/{tag}", params={**query, "depth": "0"}))
    path = fetcher.workdir / f"{tag}.json"
    try:
        fetcher.fetch_url(tag, url, path, MAX_REPLY)
    except FetchError as exc:
        raise PeeringError(f"PeeringDB: {exc} (nothing was written)") from None
    try:
        data = json.loads(path.read_bytes()).get("data")
    except (ValueError, AttributeError):
        data = None
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise PeeringError(f"PeeringDB: {url} did not answer with a list of {tag} objects")
    return [row for row in data if row.get("status", "ok") == "ok"]


def _port(row: dict[str, Any]) -> Port:
    return Port(
        ix_id=_int(row, "ix_id"),
        ixlan_id=_int(row, "ixlan_id"),
        ix_name=_text(row, "name"),
        ipv4=_address(row, "ipaddr4", IPv4Address),
        ipv6=_address(row, "ipaddr6", IPv6Address),
    )


def _port_order(port: Port) -> tuple[int, int, int, int]:
    return (
        port.ixlan_id,
        int(port.ipv4) if port.ipv4 else 1 << 32,
        int(port.ipv6) if port.ipv6 else 1 << 128,
        port.ix_id,
    )


def _int(row: dict[str, Any], key: str) -> int:
    value = row.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise PeeringError(f"PeeringDB: {key} is not an id (got {value!r:.40})")
    return value


def _count(row: dict[str, Any], key: str) -> int | None:
    value = row.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    return value.strip() if isinstance(value, str) else ""


def _address(row: dict[str, Any], key: str, kind: type[A]) -> A | None:
    """The address PeeringDB gives, or None (none given, or not one of ``kind``)."""
    value = row.get(key)
    if not isinstance(value, str) or not value:
        return None
    try:
        return kind(value)
    except ValueError:
        return None
