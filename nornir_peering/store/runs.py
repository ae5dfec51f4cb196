"""The run log: what every run of a runbook did, kept in the state file.

``runs``: one row per run (the command as typed, the options given, start and end in
UTC, exit code, a one-line summary, pid and user). ``run_items``: what the run did to
each router (or, for ``grab-prefixes``, each AS): status, whether it committed, the
router's diff (committed or not: a scheduled dry run's diff is the drift) and a note.
A run and its items are written in one transaction, after the run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from nornir_peering.secrets import mask, mask_data
from nornir_peering.store.connection import transaction


@dataclass(frozen=True)
class RunItem:
    """What one run did to one router or AS."""

    item: str
    status: str
    committed: bool = False
    diff: str = ""
    note: str = ""


@dataclass(frozen=True)
class Run:
    """One run of a runbook, as recorded."""

    command: str
    options: dict[str, Any]
    started_at: datetime
    finished_at: datetime
    exit_code: int
    summary: str
    pid: int
    user_name: str
    id: int = 0
    items: list[RunItem] = field(default_factory=list)

    def as_dict(self, *, diffs: bool = True) -> dict[str, Any]:
        """The run as ``runs --json`` prints it (``diffs=False``: items without diffs)."""
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["finished_at"] = self.finished_at.isoformat()
        data["seconds"] = round((self.finished_at - self.started_at).total_seconds(), 3)
        if not diffs:
            for item in data["items"]:
                item.pop("diff")
        return data


_RUN_COLUMNS = "command, options, started_at, finished_at, exit_code, summary, pid, user_name"


def record(db: duckdb.DuckDBPyConnection, run: Run) -> int:
    """Store ``run`` and its items in one transaction; return its id. Diffs, notes and
    the summary are stored masked (:func:`~nornir_peering.secrets.mask`): the state file
    never holds a secret."""
    with transaction(db):
        [(run_id,)] = db.execute(
            f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [
                run.command,
                json.dumps(mask_data(run.options), sort_keys=True, default=str),
                run.started_at,
                run.finished_at,
                run.exit_code,
                mask(run.summary),
                run.pid,
                run.user_name,
            ],
        ).fetchall()
        if run.items:
            db.executemany(
                "INSERT INTO run_items VALUES (?, ?, ?, ?, ?, ?)",
                [
                    [run_id, i.item, i.status, i.committed, mask(i.diff), mask(i.note)]
                    for i in run.items
                ],
            )
    return int(run_id)


def recent(
    db: duckdb.DuckDBPyConnection,
    *,
    last: int = 20,
    command: Sequence[str] = (),
    failed: bool = False,
) -> list[Run]:
    """The ``last`` runs, newest first, with their items but no diffs; only those of
    ``command`` (names as typed) and, with ``failed``, only those that exited non-zero."""
    where, params = ["true"], []
    if command:
        where.append("command IN (SELECT unnest(?))")
        params.append(list(command))
    if failed:
        where.append("exit_code <> 0")
    rows = db.execute(
        f"SELECT id, {_RUN_COLUMNS} FROM runs WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
        [*params, last],
    ).fetchall()
    runs = [_run(row) for row in rows]
    if runs:
        items = db.execute(
            "SELECT run_id, item, status, committed, '', note FROM run_items "
            "WHERE run_id IN (SELECT unnest(?)) ORDER BY run_id, item",
            [[r.id for r in runs]],
        ).fetchall()
        by_run: dict[int, list[RunItem]] = {}
        for run_id, *item in items:
            by_run.setdefault(run_id, []).append(RunItem(*item))
        for run in runs:
            run.items.extend(by_run.get(run.id, []))
    return runs


def one(db: duckdb.DuckDBPyConnection, run_id: int) -> Run | None:
    """Run ``run_id`` with its items and their diffs; None if there is none."""
    rows = db.execute(f"SELECT id, {_RUN_COLUMNS} FROM runs WHERE id = ?", [run_id]).fetchall()
    if not rows:
        return None
    run = _run(rows[0])
    items = db.execute(
        "SELECT item, status, committed, diff, note FROM run_items WHERE run_id = ? ORDER BY item",
        [run_id],
    ).fetchall()
    run.items.extend(RunItem(*item) for item in items)
    return run


def _run(row: tuple[Any, ...]) -> Run:
    run_id, command, options, started, finished, code, summary, pid, user = row
    return Run(command, json.loads(options), started, finished, code, summary, pid, user, run_id)
