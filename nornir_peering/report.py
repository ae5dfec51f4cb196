"""Everything the commands print: tables, progress, JSON.

Runbooks return result objects; this module alone turns them into text.
Tables go to stdout, progress and errors to stderr, so ``--json`` output and
cron mail stay clean.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from nornir_peering.peeringdb import SyncReport

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def error(message: str) -> None:
    stderr.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)


def sync_table(report: SyncReport) -> Table:
    """Per type: mode, created, updated, deleted, total, seconds."""
    table = Table(title=f"PeeringDB sync from {report.source}", title_justify="left")
    table.add_column("type")
    table.add_column("mode")
    for name in ("created", "updated", "deleted", "total", "seconds"):
        table.add_column(name, justify="right")
    sums = {"created": 0, "updated": 0, "deleted": 0, "total": 0}
    for row in report.types:
        table.add_row(
            row.tag,
            row.mode,
            str(row.created),
            str(row.updated),
            str(row.deleted),
            str(row.total),
            f"{row.seconds:.2f}",
        )
        for key in sums:
            sums[key] += getattr(row, key)
    table.add_section()
    table.add_row("all", "", *(str(sums[k]) for k in sums), f"{report.seconds:.2f}")
    return table


def print_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str = "") -> None:
    table = Table(title=title or None, title_justify="left")
    for name in columns:
        table.add_column(name)
    for row in rows:
        table.add_row(*("" if value is None else str(value) for value in row))
    stdout.print(table)


class SyncProgress:
    """A line per object type while a sync runs, on a terminal only."""

    def __init__(self, tags: Sequence[str]) -> None:
        self._progress = Progress(
            SpinnerColumn(finished_text="[green]✓"),
            TextColumn("{task.fields[tag]:<11}"),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=stderr,
            transient=True,
        )
        self._tasks: dict[str, TaskID] = {
            tag: self._progress.add_task("queued", tag=tag, total=1) for tag in tags
        }

    def __call__(self, tag: str, stage: str, detail: str) -> None:
        task = self._tasks.get(tag)
        if task is None:
            return
        finished = stage in ("done", "failed")
        text = f"[red]{detail}" if stage == "failed" else f"{stage} {detail}".strip()
        self._progress.update(task, description=text, completed=1 if finished else 0)

    @contextmanager
    def shown(self) -> Iterator[SyncProgress]:
        if not stderr.is_terminal:
            yield self
            return
        with self._progress:
            yield self
