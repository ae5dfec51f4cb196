"""The PeeringDB cache: ``pdb_<tag>`` tables kept in step with the API."""

from __future__ import annotations

from nornir_peering.peeringdb.sync import SyncReport, TypeResult, flush_peeringdb, sync_peeringdb

__all__ = ["SyncReport", "TypeResult", "flush_peeringdb", "sync_peeringdb"]
