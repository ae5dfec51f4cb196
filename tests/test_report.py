"""What the reports show: data as text, never as rich markup."""

from __future__ import annotations

import io

from rich.console import Console

from nornir_peering.report import SyncProgress


def test_a_sync_error_is_shown_as_it_was_said() -> None:
    """An error quoting a server's reply (here with rich's closing-tag syntax) is shown
    as text; as markup it would raise, or lose part of the message."""
    progress = SyncProgress(["net", "ix"])
    progress("net", "failed", "HTTP 500: [/bold] <html>")
    progress("ix", "fetching", "[red]page 2")
    console = Console(file=io.StringIO(), width=120)
    console.print(progress._progress.get_renderable())  # the lines a terminal shows
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "HTTP 500: [/bold] <html>" in shown
    assert "fetching [red]page 2" in shown
