"""``lab``: the local PeeringDB server and its generated data."""

from __future__ import annotations

from pathlib import Path

import click

from nornir_peering.lab.datagen import evolve, generate, read_dataset, write_dataset
from nornir_peering.lab.pdbserver import LabServer
from nornir_peering.lab.topology import add_lab
from nornir_peering.report import out


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


@lab.command("peeringdb")
@click.option(
    "--dataset", type=click.Path(file_okay=False, exists=True, path_type=Path), required=True
)
@click.option("--host", default="127.0.0.1", show_default=True, help="A loopback address.")
@click.option("--port", type=click.IntRange(0, 65535), default=8590, show_default=True)
@click.option("--api-key", default=None, help="The key that unlocks private contacts.")
def peeringdb_server(dataset: Path, host: str, port: int, api_key: str | None) -> None:
    """Serve DATASET as a PeeringDB API on loopback, until interrupted."""
    try:
        server = LabServer(dataset, host=host, port=port, api_key=api_key)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--host") from None
    out().print(f"PeeringDB lab serving {dataset} at {server.api_url}", highlight=False)
    server.serve_forever()
