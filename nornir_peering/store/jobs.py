"""The batches of background jobs whose results this state stored.

Redis keeps each batch's record, sealed; whether its results were stored is kept here
too, since a copy of an older record put back into Redis (one not yet collected) would
otherwise have ``jobs collect`` store results again that are older than what the state
holds.
"""

from __future__ import annotations

from pathlib import Path

from nornir_peering.store.connection import open_state


def collected_batches(state: Path, wait: float) -> set[str]:
    """The ids of the batches whose results were stored in ``state``."""
    with open_state(state, wait=wait) as db:
        return {str(row[0]) for row in db.execute("SELECT batch FROM collected_batches").fetchall()}


def mark_collected(state: Path, wait: float, batch: str, kind: str) -> None:
    """Record that the results of ``batch`` are stored in ``state``."""
    with open_state(state, write=True, wait=wait) as db:
        db.execute(
            "INSERT OR IGNORE INTO collected_batches VALUES (?, ?, now() AT TIME ZONE 'UTC')",
            [batch, kind],
        )
