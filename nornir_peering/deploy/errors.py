"""Why a router's deployment is refused before anything is loaded on it."""

from __future__ import annotations

from nornir_peering.errors import PeeringError


class DeployRefused(PeeringError):
    """The router cannot be deployed as asked; nothing was loaded on it."""


class OwnershipError(DeployRefused):
    """The rendered configuration, or the router's, breaks the ownership rule."""
