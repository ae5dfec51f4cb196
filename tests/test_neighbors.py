"""Neighbor matching and address canonicalisation: pure functions, over NAPALM getter
output in the shape napalm/base/models.py gives it."""

from __future__ import annotations

from typing import Any

import pytest

from nornir_peering.inventory.session import canonical
from nornir_peering.neighbors import NOT_CONFIGURED, SessionState, from_summary, match, neighbors


@pytest.mark.parametrize(
    ("sent", "received"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("::ffff:192.0.2.1", "::ffff:c000:201"),
        ("fd00:7f8:1::11", "fd00:7f8:1::11"),
    ],
)
def test_canonical(sent: str, received: str) -> None:
    assert canonical(sent) == received


@pytest.mark.parametrize("sent", ["192.0.2.256", "2001:db8::1::2", "", "edge1"])
def test_canonical_refuses_what_is_not_an_address(sent: str) -> None:
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 address"):
        canonical(sent)


def peer(up: bool, enabled: bool = True, **families: dict[str, int]) -> dict[str, Any]:
    return {
        "local_as": 64500,
        "remote_as": 65001,
        "remote_id": "192.0.2.1",
        "is_up": up,
        "is_enabled": enabled,
        "description": "",
        "uptime": 120 if up else -1,
        "address_family": families,
    }


COUNTS = {"received_prefixes": 12, "accepted_prefixes": 11, "sent_prefixes": 3}


@pytest.mark.parametrize(
    ("sent", "state"),
    [(peer(True), "Established"), (peer(False), "Idle"), (peer(False, False), "Shutdown")],
)
def test_summary_states(sent: dict[str, Any], state: str) -> None:
    [found] = from_summary({"global": {"router_id": "", "peers": {"192.0.2.1": sent}}})
    assert found["state"] == state


def test_summary_counts_are_the_sessions_family() -> None:
    sent = peer(True, ipv4={"received_prefixes": 1, "accepted_prefixes": 1, "sent_prefixes": 1})
    sent["address_family"]["ipv6"] = COUNTS
    [found] = from_summary({"blue": {"router_id": "", "peers": {"2001:DB8::1": sent}}})
    assert found == {
        "vrf": "blue",
        "remote_address": "2001:db8::1",
        "remote_asn": 65001,
        "state": "Established",
        "received": 12,
        "accepted": 11,
        "advertised": 3,
        "uptime": 120,
    }


class Device:
    """What ``neighbors`` calls on a NAPALM driver, answering with fixed getter output."""

    def __init__(self, summary: dict[str, Any], detail: dict[str, Any] | None) -> None:
        self.summary, self.detail = summary, detail

    def get_bgp_neighbors(self) -> dict[str, Any]:
        return self.summary

    def get_bgp_neighbors_detail(self) -> dict[str, Any]:
        if self.detail is None:
            raise NotImplementedError  # as NetworkDriver does for a driver without it
        return self.detail


SUMMARY = {"global": {"router_id": "", "peers": {"2001:db8::1": peer(True, ipv6=COUNTS)}}}
DETAIL = {
    "global": {
        65001: [
            {
                "remote_address": "2001:DB8::1",
                "up": True,
                "connection_state": "Established",
                "received_prefix_count": 20,
                "accepted_prefix_count": 18,
                "advertised_prefix_count": -1,
            }
        ]
    }
}


def test_neighbors_take_details_and_the_summarys_uptime() -> None:
    assert neighbors(Device(SUMMARY, DETAIL)) == [
        {
            "vrf": "global",
            "remote_address": "2001:db8::1",
            "remote_asn": 65001,
            "state": "Established",
            "received": 20,
            "accepted": 18,
            "advertised": -1,
            "uptime": 120,
        }
    ]


def test_neighbors_without_details_are_the_summary() -> None:
    assert neighbors(Device(SUMMARY, None)) == from_summary(SUMMARY)


def wanted(address: str, vrf: str = "global", max_prefix: int | None = 100) -> dict[str, Any]:
    return {"vrf": vrf, "remote_address": address, "remote_asn": 65001, "max_prefix": max_prefix}


def found(address: str, vrf: str = "global", **values: Any) -> dict[str, Any]:
    seen = {
        "vrf": vrf,
        "remote_address": address,
        "remote_asn": 65001,
        "state": "Established",
        "received": 95,
        "accepted": 95,
        "advertised": -1,
        "uptime": 60,
    }
    return {**seen, **values}


def test_match_pairs_by_vrf_and_canonical_address() -> None:
    sessions = match(
        "r1",
        [wanted("2001:DB8::1"), wanted("192.0.2.9"), wanted("192.0.2.1", vrf="blue")],
        [found("2001:db8::1"), found("192.0.2.1"), found("192.0.2.7", state="Active")],
    )
    assert [(s.vrf, s.remote_address, s.wanted, s.configured, s.state) for s in sessions] == [
        ("global", "2001:db8::1", True, True, "Established"),
        ("global", "192.0.2.9", True, False, NOT_CONFIGURED),
        ("blue", "192.0.2.1", True, False, NOT_CONFIGURED),  # not the global one
        ("global", "192.0.2.1", False, True, "Established"),  # on the router only
        ("global", "192.0.2.7", False, True, "Active"),
    ]
    first = sessions[0]
    assert (first.max_prefix, first.received_prefixes, first.advertised_prefixes) == (100, 95, None)
    assert first.uptime == 60 and first.near_limit


@pytest.mark.parametrize(
    ("state", "attention"),
    [
        (SessionState("r1", "global", "192.0.2.1", 65001, True, True, "Established"), ""),
        (
            SessionState("r1", "global", "192.0.2.1", 65001, True, True, "Established", stale=True),
            "router not reachable: last known state",
        ),
        (
            SessionState("r1", "global", "192.0.2.1", 65001, False, True, "Established"),
            "unknown: on the router, not in the inventory",
        ),
        (
            SessionState("r1", "global", "192.0.2.1", 65001, True, False, NOT_CONFIGURED),
            "not configured on the router",
        ),
        (
            SessionState("r1", "global", "192.0.2.1", 65001, True, True, "Active"),
            "not established (Active)",
        ),
        (
            SessionState(
                "r1", "global", "192.0.2.1", 65001, True, True, "Established", 90, max_prefix=100
            ),
            "90 prefixes, limit 100",
        ),
        (
            SessionState(
                "r1", "global", "192.0.2.1", 65001, True, True, "Established", 89, max_prefix=100
            ),
            "",
        ),
    ],
)
def test_attention(state: SessionState, attention: str) -> None:
    assert state.attention == attention
