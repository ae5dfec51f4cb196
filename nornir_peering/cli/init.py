"""``init``: a new project for one AS, from PeeringDB."""

from __future__ import annotations

from pathlib import Path

import click
from pydantic import ValidationError

from nornir_peering.cli.options import asn_list
from nornir_peering.errors import PeeringError
from nornir_peering.peeringdb.schema import TAGS
from nornir_peering.peeringdb.sync import sync_peeringdb
from nornir_peering.project.files import ProjectFiles
from nornir_peering.project.scaffold import init_project
from nornir_peering.report import SyncProgress, err, out, sync_table
from nornir_peering.settings import PeeringSettings


def _asn(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """One AS number (64500 or AS64500), or a usage error."""
    found = asn_list(ctx, param, (value,))
    if len(found) != 1:
        raise click.BadParameter(f"{value!r}: one AS number, the project's own", ctx, param)
    return found[0]


def _url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A URL the setting of the option's name takes (an http(s) URL), or a usage error."""
    if value is None or param.name is None:
        return value
    try:
        PeeringSettings.model_validate({param.name: value})
    except ValidationError as exc:
        message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        raise click.BadParameter(message, ctx, param) from None
    return value


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--asn", required=True, callback=_asn, help="Our AS number (64500 or AS64500).")
@click.option(
    "--peeringdb-url",
    default=None,
    callback=_url,
    metavar="URL",
    help="Another PeeringDB's API, written into config.yaml "
    "(default: the real one; PEERINGDB_URL still wins when set).",
)
@click.option(
    "--cache-url",
    default=None,
    callback=_url,
    metavar="URL",
    help="Its cache files for the first download (default with --peeringdb-url: none, "
    "everything from the API).",
)
@click.option("--no-sync", is_flag=True, help="Leave the first PeeringDB sync for later.")
def init(
    directory: Path, asn: int, peeringdb_url: str | None, cache_url: str | None, no_sync: bool
) -> None:
    """Start a project in DIRECTORY for AS --asn: config.yaml, inventory/ with its IX
    ports from PeeringDB, the example templates; then the first PeeringDB sync.

    A file that exists is never overwritten: it is named and left alone.
    """
    made = init_project(directory, asn, peeringdb_url=peeringdb_url, cache_url=cache_url)
    network, files = made.network, made.files
    ports = sum(1 for port in network.ports if port.ipv4 or port.ipv6)
    out().print(
        f"AS{asn} {_printable(network.name)}: {ports} port{'s' * (ports != 1)} "
        f"at {len(made.ixes)} IX LAN{'s' * (len(made.ixes) != 1)} in PeeringDB",
        markup=False,
    )
    if made.skipped_ports:
        err().print(f"left out {made.skipped_ports} port(s) PeeringDB gives no address for")
    _report_files(files)
    if not no_sync:
        progress = SyncProgress(TAGS)
        try:
            with progress.shown():
                report = sync_peeringdb(made.settings().peering, progress=progress)
        except PeeringError as exc:
            raise PeeringError(
                f"the project is written, the first sync failed: {exc}; "
                "run nornir-peering peeringdb-sync there"
            ) from None
        out().print(sync_table(report))
    _next_steps(directory, made.routers, synced=not no_sync)


def _report_files(files: ProjectFiles) -> None:
    if files.created:
        out().print(f"created in {files.directory}: {_listed(files.created)}", markup=False)
    if files.kept:
        err().print(
            f"left alone, as they exist: {_listed(files.kept)}", markup=False, highlight=False
        )


def _listed(names: list[str]) -> str:
    """Names, a folder's many files as one entry: ``templates/ (5 files)``."""
    shown: dict[str, int] = {}
    for name in names:
        top, _, rest = name.partition("/")
        key = f"{top}/" if rest and top == "templates" else name
        shown[key] = shown.get(key, 0) + 1
    return ", ".join(
        f"{key} ({count} files)" if key.endswith("/") else key for key, count in shown.items()
    )


def _next_steps(directory: Path, routers: list[str], synced: bool) -> None:
    steps = [] if synced else ["nornir-peering peeringdb-sync"]
    steps += [
        "nornir-peering inventory",
        "nornir-peering check-ix-sessions --emit-yaml",
        "nornir-peering configure-routers",
    ]
    fill = f"fill in {', '.join(routers)}" if routers else "add your routers"
    out().print(f"next, in {directory}: {fill} in inventory/hosts.yaml, then", markup=False)
    for step in steps:
        out().print(f"  {step}", markup=False)


def _printable(text: str) -> str:
    """A stranger's name as one line of plain characters, for the terminal."""
    return "".join(c if c.isprintable() else " " for c in text)
