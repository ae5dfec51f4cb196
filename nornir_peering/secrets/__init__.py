"""Secrets (BGP session passwords, router logins): where they come from, and keeping
them off every screen, log and stored record.

- :mod:`~nornir_peering.secrets.refs`: ``{env: NAME}`` and ``{file: PATH}`` references
  in the intent files, resolved at run time (:func:`reveal`);
- :mod:`~nornir_peering.secrets.mask`: :func:`mask`, for any text shown, logged or stored.
"""

from __future__ import annotations

from nornir_peering.secrets.mask import (
    MASK,
    fingerprint,
    hidden,
    mask,
    mask_data,
    mask_logs,
    remember,
)
from nornir_peering.secrets.refs import SecretError, SecretRef, describe, is_reference, reveal

__all__ = [
    "MASK",
    "SecretError",
    "SecretRef",
    "describe",
    "fingerprint",
    "hidden",
    "is_reference",
    "mask",
    "mask_data",
    "mask_logs",
    "remember",
    "reveal",
]
