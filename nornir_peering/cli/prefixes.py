"""``grab-prefixes`` (also ``grab_prefixes``, Peering Manager's cron line)."""

from __future__ import annotations

import click

from nornir_peering.cli.options import settings_options
from nornir_peering.cli.selection import selection_options_router
from nornir_peering.inventory import Selection
from nornir_peering.report import err, print_json, print_rows
from nornir_peering.runbooks.prefixes import PrefixReport, grab_prefixes
from nornir_peering.settings import Settings

FAMILY = {4: "IPv4", 6: "IPv6", 0: "AS path"}


def _asns(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[int, ...]:
    found = []
    for value in values:
        for word in value.split(","):
            text = word.strip().upper().removeprefix("AS")
            if not text.isdigit() or not 0 < int(text) < 2**32:
                raise click.BadParameter(f"{word.strip()!r} is not an AS number", ctx, param)
            found.append(int(text))
    return tuple(found)


@click.command("grab-prefixes")
@settings_options
@selection_options_router
@click.option(
    "--asn",
    "asns",
    multiple=True,
    callback=_asns,
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
@click.option("--json", "as_json", is_flag=True, help="Print every list's outcome as JSON.")
def grab(
    settings: Settings,
    selection: Selection,
    asns: tuple[int, ...],
    limit: int | None,
    force: bool,
    as_json: bool,
) -> None:
    """Collect the IRR prefix lists of every peer AS of the selected routers (and ours)
    with bgpq4 or bgpq3, and store them for the templates.

    A failed query keeps the list stored before; so does a list that would become
    empty or shrink by more than max_shrink percent, unless --force. Exit code 1
    if any AS failed or was held back; 2 if bgpq4 cannot be found.
    """
    report = grab_prefixes(settings, selection, asns=asns, limit=limit, force=force)
    if as_json:
        print_json(report.as_dict())
    else:
        _print(report)
    if report.failed:
        raise click.exceptions.Exit(1)


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
