"""The inventory: routers and BGP sessions from ``inventory/`` and the PeeringDB
cache, as a Nornir inventory plugin (:class:`PeeringInventory`)."""

from __future__ import annotations

from nornir_peering.inventory.checks import Problem
from nornir_peering.inventory.plugin import LoadedInventory, PeeringInventory
from nornir_peering.inventory.selection import Selection, select

__all__ = [
    "LoadedInventory",
    "PeeringInventory",
    "Problem",
    "Selection",
    "select",
]
