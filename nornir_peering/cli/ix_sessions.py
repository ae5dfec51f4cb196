"""``check-ix-sessions`` (also ``check_for_ix_peering_sessions``, Peering Manager's cron line)."""

from __future__ import annotations

from typing import Any

import click
import yaml

from nornir_peering.cli.options import asn_list, settings_options
from nornir_peering.cli.runlog import note, recorded
from nornir_peering.cli.selection import selection_options
from nornir_peering.inventory import Selection
from nornir_peering.inventory.discovery import POLICIES
from nornir_peering.report import err, out, print_json, print_rows
from nornir_peering.runbooks.ix_sessions import Filters, IXReport, check_ix_sessions
from nornir_peering.settings import Settings
from nornir_peering.templating.filters import safe_string


@click.command("check-ix-sessions")
@settings_options
@recorded
@selection_options
@click.option(
    "--policy",
    type=click.Choice([p.lower() for p in POLICIES], case_sensitive=False),
    help="Only peers with this PeeringDB general policy.",
)
@click.option("--family", type=click.Choice(["4", "6"]), help="Only this address family.")
@click.option(
    "--asn", "asns", multiple=True, callback=asn_list, metavar="ASN,ASN", help="Only these ASes."
)
@click.option(
    "--no-ixf",
    is_flag=True,
    help="Do not fetch the IXes' IX-F member exports; use the ones stored before.",
)
@click.option("--json", "as_json", is_flag=True, help="Every section as JSON.")
@click.option(
    "--emit-yaml",
    is_flag=True,
    help="The missing peers as peering.yaml entries, to paste under each IX's peers:.",
)
def check(
    settings: Settings,
    selection: Selection,
    policy: str | None,
    family: str | None,
    asns: tuple[int, ...],
    no_ixf: bool,
    as_json: bool,
    emit_yaml: bool,
) -> None:
    """The peers still missing at every IX the selected routers are on (--ix: only
    these IXes), ranked: open policy first, then more prefixes, more IXes shared with
    us, and peers not reachable through the route servers; and, in their own sections,
    peers we reach over one family only, wanted peers not at the IX, pinned addresses
    PeeringDB no longer lists, and sessions down for more than a day. Members the IX's
    own IX-F export lists are included (source ixf), and addresses it disagrees on are
    reported. Exit code 1 if an IX-F export could not be fetched (the answer is still
    given, from PeeringDB and the last good export)."""
    filters = Filters(policy, int(family) if family else None, asns)
    report = check_ix_sessions(
        settings, selection, ixes=selection.ixes, filters=filters, fetch_ixf=not no_ixf
    )
    note(
        f"{len(report.missing)} missing, {len(report.never_established)} never established"
        + (f", {len(report.ixf_failed)} IX-F exports failed" if report.ixf_failed else "")
    )
    if as_json:
        print_json(report.as_dict())
    elif emit_yaml:
        out().print(
            peers_yaml(report.missing, report.peered), highlight=False, markup=False, end=""
        )
    else:
        _print(report)
    for export in report.ixf_failed:
        err().print(
            f"{export['ix']}: IX-F export {export['url']} failed: {export['error']}",
            highlight=False,
            markup=False,
        )
    if report.ixf_failed:
        raise click.exceptions.Exit(1)


def peers_yaml(rows: list[dict[str, Any]], peered: dict[str, set[int]] | None = None) -> str:
    """The missing peers of each IX (each ASN once, none the IX's ``peers:`` has already)
    as ``peering.yaml``'s ``peers:`` entries: addresses left to PeeringDB, except for a
    peer only the IX's IX-F export lists there, whose addresses are pinned from it; the
    peer's name (a stranger's text, made safe) and its rank's reasons in a comment.

    >>> print(peers_yaml([{"ix": "lab-ix", "asn": 65020, "name": "Open\\nX", "family": 4,
    ...                    "policy_general": "Open", "prefixes": 500, "source": "both",
    ...                    "address": "192.0.2.20"}]), end="")
    # lab-ix: under ixes.lab-ix.peers
    - asn: 65020  # Open X; Open; 500 IPv4 prefixes
    """
    peered = peered or {}
    by_ix: dict[str, dict[int, list[dict[str, Any]]]] = {}
    for row in rows:
        if row["asn"] not in peered.get(row["ix"], set()):
            by_ix.setdefault(row["ix"], {}).setdefault(row["asn"], []).append(row)
    lines: list[str] = []
    for ix, peers in by_ix.items():
        lines.append(f"# {safe_string(ix)}: under ixes.{safe_string(ix)}.peers")
        for asn, found in peers.items():
            first = found[0]
            entry: dict[str, Any] = {"asn": asn}
            note = (
                f"{safe_string(first.get('name'))}; {safe_string(first.get('policy_general'))}; "
                f"{first.get('prefixes') or 0} IPv{first['family']} prefixes"
            )
            if all(row["source"] == "ixf" for row in found):
                for family in (4, 6):
                    pinned = sorted({r["address"] for r in found if r["family"] == family})
                    if pinned:
                        entry[f"ipv{family}"] = pinned
                note += "; only the IX's IX-F export lists it: addresses pinned from there"
            text = yaml.safe_dump([entry], default_flow_style=False, sort_keys=False).rstrip("\n")
            head, _, rest = text.partition("\n")
            lines.append(f"{head}  # {note}")
            lines.extend(rest.splitlines() if rest else [])
    return "".join(f"{line}\n" for line in lines)


def _print(report: IXReport) -> None:
    print_rows(
        (
            "router",
            "IX",
            "AS",
            "name",
            "address",
            "policy",
            "RS",
            "prefixes",
            "IXes",
            "from",
            "note",
        ),
        [
            (
                r["router"],
                r["ix"],
                r["asn"],
                r["name"],
                r["address"],
                r["policy_general"],
                "yes" if r["is_rs_peer"] else "no",
                r["prefixes"],
                r["shared_ixes"],
                r["source"],
                "; ".join(_notes(r)),
            )
            for r in report.missing
        ],
        title=f"Missing sessions ({len(report.missing)})",
    )
    if report.one_family:
        print_rows(
            ("router", "IX", "AS", "name", "family", "their address", "our port"),
            [
                (
                    r["router"],
                    r["ix"],
                    r["asn"],
                    r["name"],
                    f"IPv{r['family']}",
                    r["address"],
                    "yes" if r["our_port"] else "no address of ours",
                )
                for r in report.one_family
            ],
            title="Peers we reach over one family only",
        )
    for title, rows in (
        ("Wanted peers PeeringDB does not place at the IX", report.not_at_ix),
        ("Pinned addresses PeeringDB does not list", report.gone_from_peeringdb),
    ):
        if rows:
            print_rows(
                ("IX", "AS", "problem"),
                [(r["ix"], r["asn"], r["message"]) for r in rows],
                title=title,
            )
    if report.ixf_disagreements:
        print_rows(
            ("IX", "AS", "family", "PeeringDB", "IX-F export"),
            [
                (
                    r["ix"],
                    r["asn"],
                    f"IPv{r['family']}",
                    " ".join(r["peeringdb"]),
                    " ".join(r["ixf"]),
                )
                for r in report.ixf_disagreements
            ],
            title="Addresses PeeringDB and the IX's IX-F export disagree on",
        )
    if report.never_established:
        print_rows(
            ("router", "IX", "AS", "address", "state", "last established", "down since"),
            [
                (
                    r["router"],
                    r["ix"],
                    r["asn"],
                    r["address"],
                    r["state"],
                    r["last_established"] or "never",
                    r["down_since"],
                )
                for r in report.never_established
            ],
            title="Sessions down for more than a day",
        )


def _notes(row: dict[str, Any]) -> list[str]:
    notes = []
    if not row["operational"]:
        notes.append("not operational")
    if row["never_via_route_servers"]:
        notes.append("never via route servers")
    return notes
