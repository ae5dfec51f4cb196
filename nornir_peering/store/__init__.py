"""The state file: one DuckDB database, one writer at a time.

``open_state(path, write=True)`` is the only way to write: it takes the
writer lock, opens the file and brings its schema up to date. Readers open
it read-only and wait while a writer applies its changes.
"""

from __future__ import annotations

from nornir_peering.store.connection import open_state, router_lock, transaction, writer_lock
from nornir_peering.store.migrations import SCHEMA_VERSION, schema_version

__all__ = [
    "SCHEMA_VERSION",
    "open_state",
    "router_lock",
    "schema_version",
    "transaction",
    "writer_lock",
]
