"""Everything the commands print: tables, progress, JSON.

Runbooks return result objects; this module alone turns them into text.
Tables go to stdout, progress and errors to stderr, so ``--json`` output and
cron mail stay clean. Every console writes through :func:`~nornir_peering.secrets.mask`
and JSON is masked value by value, so no secret reaches a terminal, a mail or a log
(``render --show-secrets`` is the one way to print them).
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, TextIO, cast

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from nornir_peering.irr import PrefixEntry
from nornir_peering.secrets import mask, mask_data
from nornir_peering.store.runs import Run

if TYPE_CHECKING:
    from pathlib import Path

    from nornir.core.inventory import Inventory

    from nornir_peering.doctor import Diagnosis
    from nornir_peering.inventory.checks import Problem
    from nornir_peering.peeringdb.sync import SyncReport
    from nornir_peering.runbooks.configure import ConfigureReport
    from nornir_peering.runbooks.poll import PollReport
    from nornir_peering.runbooks.render import RenderReport
    from nornir_peering.store.health import BackupReport, CheckReport, RebuildReport


def _console(*, stderr: bool) -> Console:
    """A console on the current stdout/stderr. Off a terminal (cron mail, a
    file, a pipe) lines are not wrapped at 80 columns: ``COLUMNS`` or 200."""
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else int(os.environ.get("COLUMNS", "200"))
    masked = cast(TextIO, _Masked(stream))  # a text stream Rich writes to like any other
    return Console(file=masked, width=width, highlight=False, soft_wrap=True)


class _Masked(io.TextIOBase):
    """A text stream that masks secrets in everything written to it."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(mask(text))

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()


def out() -> Console:
    """A console on stdout, for tables and results."""
    return _console(stderr=False)


def err() -> Console:
    """A console on stderr, for progress and errors."""
    return _console(stderr=True)


def print_json(data: Any) -> None:
    """``data`` as indented JSON on stdout; what JSON has no type for is written as text.
    Secrets are masked value by value (a masked diff stays valid JSON)."""
    # through JSON first, so that what is written as text (default=str) is masked too;
    # masked value by value, never as JSON text, where escapes hide a quoted secret
    plain = json.loads(json.dumps(data, default=str))
    sys.stdout.write(json.dumps(mask_data(plain), indent=2, ensure_ascii=False) + "\n")


def error(message: str) -> None:
    """``error: message`` on stderr, ``message`` as plain text."""
    err().print(Text.assemble(("error:", "bold red"), " ", message))


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
    """A table of ``rows`` on stdout, every value as plain text."""
    table = Table(title=title or None, title_justify="left")
    for name in columns:
        table.add_column(name)
    for row in rows:
        table.add_row(*(_cell(value) for value in row))
    out().print(table)


def _cell(value: Any) -> Text:
    """Data as plain text: a PeeringDB name like ``[red]`` is not rich markup."""
    return Text("" if value is None else str(value))


class SyncProgress:
    """A line per object type while a sync runs, on a terminal only."""

    def __init__(self, tags: Sequence[str]) -> None:
        self._progress = Progress(
            SpinnerColumn(finished_text="[green]✓"),
            TextColumn("{task.fields[tag]:<11}"),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err(),
            transient=True,
        )
        self._tasks: dict[str, TaskID] = {
            tag: self._progress.add_task("queued", tag=tag, total=1) for tag in tags
        }

    def __call__(self, tag: str, stage: str, detail: str) -> None:
        """Show the stage a type has reached; the sync calls it as its ``progress``."""
        task = self._tasks.get(tag)
        if task is None:
            return
        finished = stage in ("done", "failed")
        # the detail may quote a server's error: text, never markup
        text = (
            f"[red]{escape(detail)}" if stage == "failed" else escape(f"{stage} {detail}".strip())
        )
        self._progress.update(task, description=text, completed=1 if finished else 0)

    @contextmanager
    def shown(self) -> Iterator[SyncProgress]:
        """Show the lines while in the ``with`` block; off a terminal, nothing is shown."""
        if not sys.stderr.isatty():
            yield self
            return
        with self._progress:
            yield self


def _json_session(session: Mapping[str, Any]) -> Mapping[str, Any]:
    """A session for ``--json``: its IRR entries in bgpq4's JSON shape, not as arrays."""
    lists = session.get("prefix_list")
    if not lists:
        return session
    entries = [e.as_json() if isinstance(e, PrefixEntry) else e for e in lists["prefixes"]]
    return {**session, "prefix_list": {**lists, "prefixes": entries}}


def inventory_report(
    inventory: Inventory,
    problems: Sequence[Problem],
    *,
    sessions: bool,
    problems_only: bool,
    as_json: bool,
) -> None:
    """Hosts with session counts; with ``sessions``, every session; problems last."""
    hosts = [inventory.hosts[name] for name in sorted(inventory.hosts)]
    if as_json:
        print_json(
            {
                "hosts": [
                    {
                        "name": h.name,
                        "hostname": h.hostname,
                        "platform": h.platform,
                        "groups": [g.name for g in h.groups],
                        "template": h.get("template"),
                        "poll": h.get("poll", True),
                        "local_asn": h.get("local_asn"),
                        "connections": h["connections"],
                        "sessions": [_json_session(s) for s in h["sessions"]],
                    }
                    for h in hosts
                ],
                "problems": [asdict(p) for p in problems],
            }
        )
        return
    if not problems_only:
        table = Table(title="Routers", title_justify="left")
        for name in (
            "router",
            "address",
            "platform",
            "groups",
            "IX v4",
            "IX v6",
            "direct v4",
            "direct v6",
            "template",
        ):
            table.add_column(name, justify="right" if " v" in name else "left")
        for host in hosts:
            count = Counter((s["kind"], s["family"]) for s in host["sessions"])
            table.add_row(
                _cell(host.name),
                _cell(host.hostname),
                _cell(host.platform),
                _cell(", ".join(g.name for g in host.groups)),
                *(_cell(count[(k, f)]) for k in ("ix", "direct") for f in (4, 6)),
                _cell(host.get("template") or "(none: not configured)"),
            )
        out().print(table)
    if sessions and not problems_only:
        print_rows(
            (
                "router",
                "kind",
                "at",
                "AS",
                "name",
                "remote",
                "local",
                "max-prefix",
                "import",
                "export",
                "enabled",
                "from",
            ),
            [
                (
                    h.name,
                    s["kind"],
                    s["ix"] or s["group"],
                    s["remote_asn"],
                    s["name"],
                    s["remote_address"],
                    s["local_address"],
                    s["max_prefix"],
                    s["import_policy"],
                    s["export_policy"],
                    "yes" if s["enabled"] else "no",
                    s["address_source"],
                )
                for h in hosts
                for s in h["sessions"]
            ],
            title="Sessions",
        )
    if problems_only or problems:
        if problems_only:
            print_rows(
                ("kind", "IX", "AS", "problem"),
                [(p.kind, p.ix, p.asn, p.message) for p in problems],
                title=f"Problems ({len(problems)})",
            )
        else:
            out().print(
                f"{len(problems)} problem(s) between intent and PeeringDB: see --problems",
                markup=False,
            )


def render_report(report: RenderReport, output: Path | None, *, show_secrets: bool = False) -> None:
    """Configs to stdout, their secrets masked unless ``show_secrets``, or to files (the
    real configuration, readable by the owner only); failures to stderr."""
    if output is not None:
        output.mkdir(mode=0o700, parents=True, exist_ok=True)
    for item in report.rendered:
        if item.template is None:
            err().print(Text(f"{item.host}: skipped, no template"))
        elif output is not None:
            _write_private(output / f"{item.host}.conf", item.config)
            err().print(Text(f"{item.host}: {output / (item.host + '.conf')} ({item.template})"))
        else:
            out().print(Text(f"### {item.host} ({item.template})", style="bold"))
            sys.stdout.write(item.config if show_secrets else mask(item.config))
    for host, message in report.failed.items():
        err().print(Text.assemble((f"{host}: failed: ", "bold red"), message))


def _write_private(path: Path, text: str) -> None:
    """``text`` into ``path``, which only its owner can read (it holds secrets), from the
    moment it exists: an existing file is made private before it is written."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        os.fchmod(file.fileno(), 0o600)
        file.write(text)


def configure_report(report: ConfigureReport) -> None:
    """Each router's diff, then the fleet summary."""
    console = out()
    for router in report.routers:
        print_diff(console, router.router, router.diff)
    table = Table(
        title="configure-routers" + ("" if report.commit else " (dry run: nothing committed)"),
        title_justify="left",
    )
    for name in ("router", "status", "committed", "+lines", "-lines", "note"):
        table.add_column(name, justify="right" if "lines" in name else "left")
    for router in report.routers:
        table.add_row(
            _cell(router.router),
            _cell(router.status),
            _cell("yes" if router.committed else "no"),
            _cell(router.added),
            _cell(router.removed),
            _cell(router.note),
        )
    console.print(table)
    if report.failed:
        err().print(Text.assemble(("failed: ", "bold red"), ", ".join(report.failed)))


def print_diff(console: Console, name: str, diff: str) -> None:
    """A router's diff under its name, added lines green and removed ones red."""
    if not diff:
        return
    console.print(Text(f"--- {name}", style="bold"))
    for line in diff.splitlines():
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
        console.print(Text(line, style=style))


def runs_report(runs: Sequence[Run]) -> None:
    """The run log, a line per run, newest first."""
    print_rows(
        ("id", "started (UTC)", "seconds", "command", "exit", "summary"),
        [
            (
                run.id,
                run.started_at.isoformat(sep=" ", timespec="seconds"),
                f"{(run.finished_at - run.started_at).total_seconds():.1f}",
                command_line(run),
                run.exit_code,
                run.summary,
            )
            for run in runs
        ],
        title="Runs",
    )


def run_report(run: Run) -> None:
    """One run: what ran, when, how it ended, each router's outcome and diff."""
    console = out()
    console.print(Text(f"run {run.id}: {command_line(run)}", style="bold"))
    console.print(
        Text(
            f"started {run.started_at.isoformat(sep=' ', timespec='seconds')} UTC, "
            f"{(run.finished_at - run.started_at).total_seconds():.1f} s, "
            f"exit code {run.exit_code}, pid {run.pid}, user {run.user_name}"
        )
    )
    console.print(Text(run.summary))
    for item in run.items:
        print_diff(console, item.item, item.diff)
    if run.items:
        print_rows(
            ("item", "status", "committed", "note"),
            [(i.item, i.status, "yes" if i.committed else "no", i.note) for i in run.items],
        )


def command_line(run: Run) -> str:
    """The run's command and the options it was given, as a command line would say them.

    >>> from datetime import datetime
    >>> t = datetime(2026, 1, 1)
    >>> command_line(Run("grab_prefixes", {"limit": 100, "force": True}, t, t, 0, "", 1, "u"))
    'grab_prefixes --force --limit 100'
    """
    words = [run.command]
    for name, value in sorted(run.options.items()):
        flag = "--" + name.replace("_", "-")
        if value is True:
            words.append(flag)
        elif isinstance(value, list):
            words.extend(f"{flag} {item}" for item in value)
        elif value is not False and value is not None:
            words.append(f"{flag} {value}")
    return " ".join(words)


def poll_report(report: PollReport) -> None:
    """A line per router, then the sessions that need attention."""
    console = out()
    for router in report.routers:
        if router.reachable:
            console.print(Text(f"{router.router}: {router.up}/{len(router.sessions)} sessions up"))
        else:
            console.print(
                Text.assemble(
                    (f"{router.router}: not reachable", "bold red"),
                    f" ({router.error}); its sessions are stale",
                )
            )
    rows = [
        (
            s.router,
            s.vrf,
            s.remote_address,
            s.remote_asn,
            s.state,
            s.received_prefixes,
            s.accepted_prefixes,
            s.max_prefix,
            s.attention,
        )
        for router in report.routers
        for s in router.sessions
        if s.attention
    ]
    print_rows(
        (
            "router",
            "vrf",
            "remote",
            "AS",
            "state",
            "received",
            "accepted",
            "max-prefix",
            "attention",
        ),
        rows,
        title=f"Needs attention ({len(rows)})",
    )
    if report.failed:
        err().print(Text.assemble(("failed: ", "bold red"), ", ".join(report.failed)))


def check_report(report: CheckReport) -> None:
    """``state check``: a line per table, then the verdict."""
    print_rows(
        ("table", "rows", "reads"),
        [(t.table, t.rows, "ok" if t.ok else t.error) for t in report.tables],
        title=f"State file {report.path}",
    )
    console = out()
    if report.log_pending:
        console.print(
            Text(
                f"changes wait in {report.path.name}.wal, not merged into the file: the next "
                "writer merges them once its disk has room"
            )
        )
    style = "bold green" if report.verdict == "ok" else "bold red"
    console.print(Text(report.summary, style=style))


_STATUS_STYLE = {"ok": "green", "failed": "bold red", "skipped": "yellow"}


def doctor_report(diagnosis: Diagnosis) -> None:
    """``doctor``: a line per check (a failure's second line: what to do), then the
    verdict."""
    table = Table(title="What a first run needs", title_justify="left")
    for name in ("check", "status", "detail"):
        table.add_column(name)
    for check in diagnosis.checks:
        detail = Text(check.detail)
        if check.advice:
            detail.append("\nwhat to do: ", style="bold")
            detail.append(check.advice)
        table.add_row(check.name, Text(check.status, style=_STATUS_STYLE[check.status]), detail)
    console = out()
    console.print(table)
    failed = diagnosis.failed
    if failed:
        names = ", ".join(check.name for check in failed)
        console.print(
            Text(f"{len(failed)} of {len(diagnosis.checks)} checks failed: {names}", "bold red")
        )
    else:
        console.print(Text(f"all {len(diagnosis.checks)} checks passed", "bold green"))


def rebuild_report(report: RebuildReport) -> None:
    """``state rebuild``: what became of each table, then one line."""
    print_rows(
        ("table", "kind", "outcome", "rows", "why"),
        [
            (
                t.table,
                "history" if t.kind == "kept" else f"from {t.kind}",
                t.outcome,
                t.rows,
                t.error,
            )
            for t in report.tables
        ],
        title=f"Rebuilt {report.path}",
    )
    out().print(Text(report.summary))


def backup_report(report: BackupReport) -> None:
    """``state backup``: one line."""
    out().print(Text(report.summary))
