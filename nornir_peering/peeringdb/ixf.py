"""The IXes' own member lists: their IX-F exports (Euro-IX JSON schema), where PeeringDB
gives an IX LAN an ``ixf_ixp_member_list_url``.

Fetched like PeeringDB itself (:class:`~.fetch.StreamingFetcher`: the same timeouts,
retries and size limits), never with PeeringDB's credentials, one LAN per worker,
``concurrency`` at a time. What an export says is a stranger's text: members are kept
only with a valid ASN, and addresses only when they are addresses inside the LAN's
PeeringDB prefixes (an export can describe several IXes).
"""

from __future__ import annotations

import json
import socket
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import duckdb

from nornir_peering.peeringdb.fetch import FetchError, StreamingFetcher
from nornir_peering.settings import PeeringSettings
from nornir_peering.store.ixf import Export

MAX_ASN = 4_294_967_295
MAX_BYTES = 64 << 20  # of one export: the largest IXes' are a few MB
LIVE_STATES = frozenset({"active", "connected"})  # IX-F connection states of a live port


def export_urls(db: duckdb.DuckDBPyConnection, ixlans: Iterable[int]) -> dict[int, str]:
    """The IX-F export URL PeeringDB gives each of ``ixlans`` that has one."""
    rows = db.execute(
        "SELECT id, ixf_ixp_member_list_url FROM pdb_ixlan WHERE status = 'ok' "
        "AND id IN (SELECT unnest(?::BIGINT[])) AND coalesce(ixf_ixp_member_list_url, '') <> ''",
        [sorted(set(ixlans))],
    ).fetchall()
    return {ixlan: url for ixlan, url in rows}


def lan_prefixes(
    db: duckdb.DuckDBPyConnection, ixlans: Iterable[int]
) -> dict[int, list[IPv4Network | IPv6Network]]:
    """PeeringDB's prefixes of each of ``ixlans``."""
    found: dict[int, list[IPv4Network | IPv6Network]] = {}
    for ixlan, prefix in db.execute(
        "SELECT ixlan_id, prefix FROM pdb_ixpfx WHERE status = 'ok' "
        "AND ixlan_id IN (SELECT unnest(?::BIGINT[]))",
        [sorted(set(ixlans))],
    ).fetchall():
        found.setdefault(ixlan, []).append(ip_network(prefix, strict=False))
    return found


def fetch_exports(
    settings: PeeringSettings,
    urls: dict[int, str],
    prefixes: dict[int, list[IPv4Network | IPv6Network]],
) -> list[Export]:
    """Fetch and read the export of each IX LAN of ``urls``; a failure is that LAN's
    :attr:`Export.error`, and the others go on. A relative URL (the lab's) is read
    against ``peeringdb_url``."""
    if not urls:
        return []
    anonymous = settings.model_copy(update={"api_key": None})
    with tempfile.TemporaryDirectory(prefix="nornir-peering-ixf-") as tmp:
        fetcher = StreamingFetcher(anonymous, Path(tmp))
        try:
            with ThreadPoolExecutor(max_workers=settings.concurrency) as pool:
                futures = [
                    pool.submit(
                        _fetch, fetcher, ixlan, url, settings.peeringdb_url, prefixes.get(ixlan, [])
                    )
                    for ixlan, url in sorted(urls.items())
                ]
                return [future.result() for future in futures]
        finally:
            fetcher.close()


def _fetch(
    fetcher: StreamingFetcher,
    ixlan: int,
    url: str,
    base: str,
    prefixes: list[IPv4Network | IPv6Network],
) -> Export:
    absolute = urljoin(base.rstrip("/") + "/", url)
    now = datetime.now(tz=UTC).replace(tzinfo=None)
    refused = refuse_url(url, absolute)
    if refused:
        return Export(ixlan, absolute, now, error=refused)
    path = fetcher.workdir / f"ixf-{ixlan}.json"
    try:
        fetcher.fetch_url("ixf", absolute, path, MAX_BYTES)
        with path.open("rb") as body:
            data = json.load(body)
        members = parse_export(data, prefixes)
    except FetchError as exc:
        return Export(ixlan, absolute, now, error=str(exc).removeprefix("ixf: "))
    except Exception as exc:  # a stranger's JSON: whatever it does, it fails only its LAN
        return Export(ixlan, absolute, now, error=f"not an IX-F export: {exc}"[:300])
    if not members:
        error = "no member address inside the LAN's PeeringDB prefixes"
        return Export(ixlan, absolute, now, error=error)
    return Export(ixlan, absolute, now, members=tuple(members))


def refuse_url(url: str, absolute: str) -> str | None:
    """Why an export URL PeeringDB gives is not fetched, or None: it must be http(s), and
    an absolute one must not lead to a loopback, private or link-local address (an IX's
    record must not make us ask our own network); a relative one is the lab's, on the
    PeeringDB server itself."""
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"not an http(s) URL: {url[:200]!r}"
    if not urlsplit(url).scheme and url.startswith("/"):
        return None
    try:
        found = {str(info[4][0]) for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except OSError as exc:
        return f"cannot resolve {parts.hostname}: {exc}"
    for address in found:
        if not ip_address(address.split("%")[0]).is_global:
            return f"{parts.hostname} is {address}, not a public address; not fetched"
    return None


def parse_export(data: Any, prefixes: list[IPv4Network | IPv6Network]) -> list[dict[str, Any]]:
    """The member connections of an IX-F export whose addresses are inside ``prefixes``:
    ``asn``, ``name``, ``ipaddr4``, ``ipaddr6``, ``is_rs_peer`` (``routeserver`` is
    true), ``operational`` (the connection's ``state`` is active or connected, or not
    given). ValueError if ``data`` is not an export at all.

    >>> parse_export({"member_list": [{"asnum": 65001, "name": "One", "connection_list": [
    ...     {"vlan_list": [{"ipv4": {"address": "192.0.2.1", "routeserver": True},
    ...                     "ipv6": {"address": "2001:DB8::1"}}]}]}]},
    ...     [ip_network("192.0.2.0/24"), ip_network("2001:db8::/64")])
    [{'asn': 65001, 'name': 'One', 'ipaddr4': '192.0.2.1', 'ipaddr6': '2001:db8::1', \
'is_rs_peer': True, 'operational': True}]
    """
    if not isinstance(data, dict) or not isinstance(data.get("member_list"), list):
        raise ValueError("no member_list")
    found = []
    for member in data["member_list"]:
        if not isinstance(member, dict):
            continue
        asn = member.get("asnum")
        if type(asn) is not int or not 0 < asn <= MAX_ASN:
            continue
        name = str(member.get("name") or f"AS{asn}")[:255]
        connections = member.get("connection_list")
        for connection in connections if isinstance(connections, list) else []:
            if not isinstance(connection, dict):
                continue
            state = connection.get("state")
            live = not isinstance(state, str) or state.lower() in LIVE_STATES
            vlans = connection.get("vlan_list")
            for vlan in vlans if isinstance(vlans, list) else []:
                if not isinstance(vlan, dict):
                    continue
                ipv4, rs4 = _address(vlan.get("ipv4"), 4, prefixes)
                ipv6, rs6 = _address(vlan.get("ipv6"), 6, prefixes)
                if ipv4 or ipv6:
                    found.append(
                        {
                            "asn": asn,
                            "name": name,
                            "ipaddr4": ipv4,
                            "ipaddr6": ipv6,
                            "is_rs_peer": rs4 or rs6,
                            "operational": live,
                        }
                    )
    return found


def _address(
    entry: Any, version: int, prefixes: list[IPv4Network | IPv6Network]
) -> tuple[str | None, bool]:
    """The canonical address of an export's ``ipv4``/``ipv6`` entry if it is one inside
    ``prefixes``, and whether it is on the route servers."""
    if not isinstance(entry, dict) or not isinstance(entry.get("address"), str):
        return None, False
    try:
        address = ip_address(entry["address"].strip())
    except ValueError:
        return None, False
    if address.version != version or not any(
        address.version == net.version and address in net for net in prefixes
    ):
        return None, False
    return str(address), entry.get("routeserver") is True
