"""``grab-prefixes`` (also ``grab_prefixes``, Peering Manager's cron line), and ``prefixes``,
which shows what it stored or asks the IRR now."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from nornir_peering.cli.jobs import enqueued, tasks_options
from nornir_peering.cli.options import asn_list, settings_options
from nornir_peering.cli.runlog import Finished, finish, recorded
from nornir_peering.cli.selection import selection_options_router
from nornir_peering.inventory import Selection
from nornir_peering.irr import IRRObject, PrefixEntry
from nornir_peering.jobs.batch import Background
from nornir_peering.report import err, out, print_json, print_rows
from nornir_peering.runbooks.lookup import ListAnswer, live_lists, parse_query, stored_lists
from nornir_peering.runbooks.prefixes import PrefixReport, grab_prefixes
from nornir_peering.settings import Settings
from nornir_peering.store.runs import RunItem

FAMILY = {4: "IPv4", 6: "IPv6", 0: "AS path"}


@click.command("grab-prefixes")
@settings_options
@recorded
@selection_options_router
@click.option(
    "--asn",
    "asns",
    multiple=True,
    callback=asn_list,
    metavar="ASN,ASN",
    help="Only these peer ASes (comma-separated, repeatable).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="A family with more than N prefixes is not stored (skipped), as Peering Manager's.",
)
@click.option(
    "--force", is_flag=True, help="Store lists that would become empty or shrink past max_shrink."
)
@tasks_options
@click.option("--json", "as_json", is_flag=True, help="Print every list's outcome as JSON.")
def grab(
    settings: Settings,
    selection: Selection,
    background: Background | None,
    asns: tuple[int, ...],
    limit: int | None,
    force: bool,
    as_json: bool,
) -> None:
    """Collect the IRR prefix lists of every peer AS of the selected routers (and ours)
    with bgpq4 or bgpq3, and store them for the templates.

    A failed query keeps the list stored before; so does a list that would become
    empty or shrink by more than max_shrink percent, unless --force. An IRR server
    whose runs time out irr_give_up_after times in a row is given up: its remaining
    runs fail at once. Exit code 1 if any AS failed or was held back; 2 if bgpq4
    cannot be found.
    """
    report = grab_prefixes(
        settings, selection, asns=asns, limit=limit, force=force, background=background
    )
    finish(grab_finished(report, as_json))


def grab_finished(report: PrefixReport, as_json: bool) -> Finished:
    """Print a prefix collection's outcome; what the run log keeps of it."""
    if report.batch is not None:
        return enqueued(report.batch, as_json)
    if as_json:
        print_json(report.as_dict())
    else:
        _print(report)
    counts: dict[str, int] = {}
    for change in report.changes:
        counts[change.status] = counts.get(change.status, 0) + 1
    given_up = sum(report.given_up.values())
    return Finished(
        f"{len({c.asn for c in report.changes})} ASes, "
        + (", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no list")
        + (f"; {given_up} bgpq run(s) not made, their IRR server given up" if given_up else ""),
        [
            RunItem(
                f"AS{c.asn} {FAMILY.get(c.family, str(c.family))}",
                c.status + (" (forced)" if c.forced else ""),
                note=f"+{c.added} -{c.removed}" + (f": {c.message}" if c.message else ""),
            )
            for c in report.changes
        ],
        1 if report.failed else 0,
    )


def _print(report: PrefixReport) -> None:
    print_rows(
        ("AS", "list", "objects", "status", "entries", "added", "removed", "note"),
        [
            (
                f"AS{c.asn}",
                FAMILY.get(c.family, str(c.family)),
                " ".join(c.objects),
                c.status + (" (forced)" if c.forced else ""),
                c.count if c.count is not None else "",
                c.added,
                c.removed,
                c.message,
            )
            for c in report.changes
        ],
        title="IRR lists",
    )
    for problem in report.problems:
        err().print(problem, highlight=False, markup=False)
    if report.failed:
        err().print(
            "failed or held back: " + ", ".join(f"AS{asn}" for asn in report.failed),
            highlight=False,
        )


def _objects(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> list[IRRObject]:
    try:
        return [parse_query(value) for value in values]
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


@click.command("prefixes")
@settings_options
@click.argument("objects", nargs=-1, callback=_objects, metavar="[ASN|AS-SET]...")
@click.option(
    "--live",
    is_flag=True,
    help="Ask the IRR now (bgpq4, the configured irr_host) instead of the state; store nothing.",
)
@click.option("--json", "as_json", is_flag=True, help="One object per object and family.")
def prefixes(settings: Settings, objects: list[IRRObject], live: bool, as_json: bool) -> None:
    """The IRR lists stored for an AS (65001) or from an AS-SET (AS-FOO), with where they
    came from and their age; every stored list without arguments. Exit code 1 if an
    object has no list (a set the IRR lacks, an AS never fetched)."""
    if live and not objects:
        raise click.UsageError("--live needs the ASNs or AS-SETs to ask about")
    answers = live_lists(settings, objects) if live else stored_lists(settings, objects)
    if as_json:
        print_json([answer.as_dict() for answer in answers])
    else:
        _print_answers(answers, entries=bool(objects), live=live)
    if any(answer.error for answer in answers):
        raise click.exceptions.Exit(1)


def _print_answers(answers: list[ListAnswer], *, entries: bool, live: bool) -> None:
    now = datetime.now(tz=UTC).replace(tzinfo=None)
    rows: list[tuple[object, ...]]
    if live:
        columns: tuple[str, ...] = ("object", "list", "entries", "origin ASes", "error")
        rows = [
            (a.object, FAMILY[a.family], len(a.prefixes), len(a.asns), a.error or "")
            for a in answers
        ]
    else:
        columns = ("object", "AS", "list", "entries", "from", "IRR", "fetched", "changed", "note")
        rows = []
        for a in answers:
            s = a.stored
            if s is None:
                rows.append((a.object, "", FAMILY[a.family], "", "", "", "", "", a.error or ""))
                continue
            rows.append(
                (
                    a.object,
                    f"AS{s.asn}",
                    FAMILY[a.family],
                    s.count,
                    " ".join(s.objects),
                    s.host + (f" ({','.join(s.sources)})" if s.sources else ""),
                    age(now, s.fetched_at),
                    age(now, s.changed_at),
                    s.message or "",
                )
            )
    print_rows(columns, rows, title="IRR lists (asked now, not stored)" if live else "IRR lists")
    if not entries:
        return
    for a in answers:
        if a.error is None:
            who = f"AS{a.asn} " if a.asn is not None and a.object != f"AS{a.asn}" else ""
            out().print(
                f"{a.object} {who}{FAMILY[a.family]}: {len(a.prefixes)} entries",
                highlight=False,
                markup=False,
            )
            for entry in a.prefixes:
                out().print(f"  {entry_text(entry)}", highlight=False, markup=False)


def entry_text(entry: PrefixEntry) -> str:
    """An entry as an engineer reads it: ``12.1.0.0/23 ge 24 le 24``, or the prefix.

    >>> entry_text(PrefixEntry("12.1.0.0/23", False, 24, 24))
    '12.1.0.0/23 ge 24 le 24'
    """
    text = entry.prefix
    if not entry.exact:
        text += f" ge {entry.greater_equal}" if entry.greater_equal is not None else ""
        text += f" le {entry.less_equal}" if entry.less_equal is not None else ""
    return text


def age(now: datetime, then: datetime) -> str:
    """How long ago, roughly: ``42s ago``, ``5m ago``, ``3h ago``, ``2d ago``.

    >>> age(datetime(2026, 1, 2), datetime(2026, 1, 1, 21))
    '3h ago'
    """
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"
