"""``lab``: the local PeeringDB server and its generated data."""

from __future__ import annotations

from pathlib import Path

import click
import httpx

from nornir_peering.cli.options import settings_options
from nornir_peering.lab import DEFAULT_PORT
from nornir_peering.lab.control import Lab
from nornir_peering.lab.datagen import evolve, generate, read_dataset, write_dataset
from nornir_peering.lab.irrserver import IrrServer
from nornir_peering.lab.pdbserver import LabServer
from nornir_peering.lab.topology import add_lab
from nornir_peering.project.scaffold import write_lab_project
from nornir_peering.report import err, out, print_json, print_rows
from nornir_peering.settings import Settings


@click.group()
def lab() -> None:
    """The local lab: generated PeeringDB data and a server for it."""


@lab.command("generate")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--scale",
    type=click.FloatRange(min=0.0001, max=10),
    default=0.01,
    show_default=True,
    help="Object counts relative to production PeeringDB.",
)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--evolve-from",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Write a later version of this dataset instead.",
)
@click.option(
    "--fraction",
    type=click.FloatRange(min=0, max=1),
    default=0.01,
    show_default=True,
    help="With --evolve-from: share of objects changed.",
)
@click.option(
    "--lab/--no-lab",
    default=True,
    show_default=True,
    help="Add the lab's own AS, IXes and peers (lab/topology.py).",
)
def generate_cmd(
    directory: Path, scale: float, seed: int, evolve_from: Path | None, fraction: float, lab: bool
) -> None:
    """Write a generated PeeringDB dataset to DIRECTORY."""
    if evolve_from is not None:
        data = evolve(read_dataset(evolve_from), seed=seed, fraction=fraction)
    else:
        data = generate(scale=scale, seed=seed)
        if lab:
            data = add_lab(data)
    write_dataset(data, directory)
    total = sum(len(rows) for rows in data.rows.values())
    out().print(f"wrote {total} objects to {directory}")


# the lab's servers listen on loopback only (they refuse any other address)
loopback_host = click.option(
    "--host", default="127.0.0.1", show_default=True, help="A loopback address."
)


@lab.command("peeringdb")
@click.option(
    "--dataset", type=click.Path(file_okay=False, exists=True, path_type=Path), required=True
)
@loopback_host
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True)
@click.option("--api-key", default=None, help="The key that unlocks private contacts.")
def peeringdb_server(dataset: Path, host: str, port: int, api_key: str | None) -> None:
    """Serve DATASET as a PeeringDB API on loopback, until interrupted."""
    try:
        server = LabServer(dataset, host=host, port=port, api_key=api_key)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--host") from None
    out().print(f"PeeringDB lab serving {dataset} at {server.api_url}", highlight=False)
    server.serve_forever()


@lab.command("irr")
@click.option(
    "--rpsl",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    required=True,
    help="A folder of RPSL files (<source>.db, SOURCES) as `lab up` writes them.",
)
@loopback_host
@click.option("--port", type=click.IntRange(0, 65535), default=8591, show_default=True)
@click.option(
    "--delay",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Seconds each answer is held back, to stand in for a distant IRR.",
)
def irr_server(rpsl: Path, host: str, port: int, delay: float) -> None:
    """Serve RPSL as an IRR whois server (the IRRd queries bgpq4 and bgpq3 send) on loopback."""
    try:
        server = IrrServer(rpsl, host=host, port=port, delay=delay)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--host") from None
    out().print(f"IRR lab serving {rpsl} at {server.address}", highlight=False)
    server.serve_forever()


lab_port = click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port of the lab PeeringDB on 127.0.0.1 (the lab IRR: the next one).",
)


lab_port_from_config = click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Port of the lab PeeringDB on 127.0.0.1 (the lab IRR: the next one). Default: the "
    "port of peeringdb_url when it is on 127.0.0.1 (as 'lab init' writes it), else 8590.",
)


def _lab(settings: Settings, port: int | None) -> Lab:
    return Lab(settings.peering.state.parent / "lab", port=port or configured_port(settings))


def configured_port(settings: Settings) -> int:
    """The lab's port as the project's config names it: its PeeringDB URL's, when that
    is on 127.0.0.1, else 8590.

    >>> from nornir_peering.settings import PeeringSettings
    >>> lab = PeeringSettings(peeringdb_url="http://127.0.0.1:9100/api")
    >>> configured_port(Settings(peering=lab, config_file=None))
    9100
    >>> real = PeeringSettings(peeringdb_url="https://www.peeringdb.com/api")
    >>> configured_port(Settings(peering=real, config_file=None))
    8590
    """
    url = httpx.URL(settings.peering.peeringdb_url)
    return url.port if url.host == "127.0.0.1" and url.port else DEFAULT_PORT


@lab.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@lab_port
def init(directory: Path, port: int) -> None:
    """Write the lab's own project to DIRECTORY: config.yaml, inventory/, templates/.

    Its config.yaml points at the lab on --port; `lab up` there starts it on that port.
    A file that exists is never overwritten: it is named and left alone.
    """
    files = write_lab_project(directory, port)
    if files.created:
        out().print(f"wrote {len(files.created)} files to {directory}", highlight=False)
    if files.kept:
        err().print(f"left alone, as they exist: {', '.join(files.kept)}", highlight=False)
    out().print(
        f"next, in {directory}: nornir-peering lab up, nornir-peering peeringdb-sync, "
        "nornir-peering configure-routers (the MD5 peer's password: LAB_AS65005_PASSWORD)",
        highlight=False,
    )


@lab.command("up")
@settings_options
@lab_port_from_config
def up(settings: Settings, port: int | None) -> None:
    """Start the lab in the background: the PeeringDB, IRR and Redis servers, the BIRD and
    FRR routers in a network namespace.

    What it needs is checked first (LAB_AS65005_PASSWORD, the programs, the ports
    free), and a start that fails part-way stops what it had started."""
    lab_ = _lab(settings, port)
    lab_.up()
    out().print(
        f"lab up in {lab_.directory}: PeeringDB at {lab_.api_url}, "
        f"IRR at 127.0.0.1:{lab_.irr_port}, "
        f"{len(lab_.bird.routers)} BIRD routers, {len(lab_.frr.routers)} FRR router",
        highlight=False,
    )


@lab.command("down")
@settings_options
@lab_port_from_config
def down(settings: Settings, port: int | None) -> None:
    """Stop everything the lab started."""
    lab_ = _lab(settings, port)
    lab_.down()
    out().print(f"lab down in {lab_.directory}", highlight=False)


@lab.command("status")
@settings_options
@lab_port_from_config
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--until-established",
    type=click.FloatRange(min=0),
    default=None,
    metavar="SECONDS",
    help="First wait until every session is Established.",
)
def status(
    settings: Settings, port: int | None, as_json: bool, until_established: float | None
) -> None:
    """Show what runs in the lab, and the state of every BGP session there."""
    lab_ = _lab(settings, port)
    if until_established is not None and not lab_.wait_established(until_established):
        err().print(
            f"not every session is Established after {until_established:g}s", highlight=False
        )
    report = lab_.status()
    if as_json:
        print_json(report)
        return
    server = report["peeringdb"]
    irr, redis = report["irr"], report["redis"]
    out().print(
        f"PeeringDB {server['url']}: {'running' if server['running'] else 'stopped'}\n"
        f"IRR whois {irr['address']}: {'running' if irr['running'] else 'stopped'}\n"
        f"Redis {redis['address']}: {'running' if redis['running'] else 'stopped'}",
        highlight=False,
    )
    print_rows(
        ("router", "AS", "address", "running", "sessions"),
        [
            (
                r["router"],
                r["asn"],
                r["address"],
                "yes" if r["running"] else "no",
                ", ".join(f"{peer} {state}" for peer, state in r["sessions"].items()),
            )
            for r in report["routers"]
        ],
    )


@lab.command("load")
@settings_options
@click.argument("dataset", type=click.Path(file_okay=False, exists=True, path_type=Path))
@lab_port_from_config
def load(settings: Settings, dataset: Path, port: int | None) -> None:
    """Make the running lab PeeringDB serve DATASET (a later day, say)."""
    _lab(settings, port).load(dataset)
    out().print(f"the lab PeeringDB now serves {dataset}", highlight=False)


@lab.command("stop")
@settings_options
@click.argument("router")
@lab_port_from_config
def stop(settings: Settings, router: str, port: int | None) -> None:
    """Stop one lab router (a peer going away, say); `lab up` starts it again."""
    lab_ = _lab(settings, port)
    if router not in lab_.routers():
        raise click.BadParameter(f"no lab router {router!r} (see lab status)", param_hint="ROUTER")
    lab_.stop(router)
    out().print(f"stopped {router}", highlight=False)
