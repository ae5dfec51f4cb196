"""The lab IXes' IX-F member exports (Euro-IX JSON schema, version 1.0), built from the
PeeringDB dataset the lab serves, plus what :data:`~.topology.IXF_ONLY` and
:data:`~.topology.IXF_DIFFERENT` say the IX provisioned differently.

The shape is the schema's (github.com/euro-ix/json-schemas): ``ixp_list`` with the
IX and its VLAN, ``member_list`` with each member's ``asnum``, ``name`` and
``connection_list``, whose ``vlan_list`` holds the ``ipv4``/``ipv6`` addresses, with
``routeserver``.
"""

from __future__ import annotations

from typing import Any

from nornir_peering.lab import topology
from nornir_peering.lab.datagen import Dataset

VLAN = 1


def export(data: Dataset, ixlan_id: int) -> dict[str, Any] | None:
    """The IX-F export of the IX LAN ``ixlan_id``, or None if the dataset has no such LAN."""
    ixlan = next((r for r in data.rows["ixlan"] if r["id"] == ixlan_id), None)
    if ixlan is None:
        return None
    ix = next(r for r in data.rows["ix"] if r["id"] == ixlan["ix_id"])
    names = {row["asn"]: row["name"] for row in data.rows["net"] if row["status"] == "ok"}
    changed = {(i, asn, old): new for i, asn, old, new in topology.IXF_DIFFERENT}
    members: dict[int, dict[str, Any]] = {}
    for port in data.rows["netixlan"]:
        if port["ixlan_id"] != ixlan_id or port["status"] != "ok":
            continue
        ipv4 = changed.get((ix["id"], port["asn"], port["ipaddr4"]), port["ipaddr4"])
        _member(members, port["asn"], names.get(port["asn"], f"AS{port['asn']}"))[
            "connection_list"
        ].append(_connection(ixlan_id, ipv4, port["ipaddr6"], bool(port["is_rs_peer"])))
    for ix_id, asn, name, ipv4, ipv6 in topology.IXF_ONLY:
        if ix_id == ix["id"]:
            _member(members, asn, name)["connection_list"].append(
                _connection(ixlan_id, ipv4, ipv6, True)
            )
    return {
        "version": "1.0",
        "timestamp": "2026-11-01T00:00:00Z",
        "ixp_list": [
            {
                "ixp_id": ixlan_id,
                "ixf_id": ix["id"],
                "shortname": ix["name"],
                "vlan": [{"id": VLAN}],
            }
        ],
        "member_list": [members[asn] for asn in sorted(members)],
    }


def _member(members: dict[int, dict[str, Any]], asn: int, name: str) -> dict[str, Any]:
    return members.setdefault(
        asn,
        {"asnum": asn, "member_type": "peering", "name": name, "connection_list": []},
    )


def _connection(ixlan_id: int, ipv4: str | None, ipv6: str | None, rs: bool) -> dict[str, Any]:
    vlan: dict[str, Any] = {"vlan_id": VLAN}
    if ipv4:
        vlan["ipv4"] = {"address": ipv4, "routeserver": rs}
    if ipv6:
        vlan["ipv6"] = {"address": ipv6, "routeserver": rs}
    return {
        "ixp_id": ixlan_id,
        "state": "active",
        "if_list": [{"if_speed": 10000}],
        "vlan_list": [vlan],
    }
