"""``lab up | down | status``: the whole local lab as background processes.

The lab lives in one folder (``state/lab`` beside the state file): a
generated PeeringDB dataset with the lab's IXes (``peeringdb/``), the
PeeringDB server serving it on 127.0.0.1 (``peeringdb.pid``, ``peeringdb.log``),
the BIRD routers (``bird/<router>/``) and the FRR router (``frr/<router>/``)
in a network namespace of the lab's own (``netns.pid``,
:mod:`nornir_peering.lab.netns`). The server binds to 127.0.0.1; the routers
to addresses inside the namespace, where every BGP packet stays.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from nornir_peering.lab.bird import BirdLab
from nornir_peering.lab.datagen import generate, write_dataset
from nornir_peering.lab.frr import FrrLab
from nornir_peering.lab.netns import Namespace
from nornir_peering.lab.topology import add_lab
from nornir_peering.lab.wait import wait_for
from nornir_peering.pids import alive, read_pid, terminate


class Lab:
    """The whole local lab in ``directory``: the PeeringDB server on ``port``, the routers."""

    def __init__(self, directory: Path, port: int = 8590, scale: float = 0.02) -> None:
        self.directory = directory
        self.port = port
        self.scale = scale
        self.namespace = Namespace(directory)
        self.bird = BirdLab(directory / "bird", namespace=self.namespace)
        self.frr = FrrLab(directory / "frr", namespace=self.namespace)

    @property
    def dataset(self) -> Path:
        """The folder of the PeeringDB dataset ``up`` generates and serves."""
        return self.directory / "peeringdb"

    @property
    def api_url(self) -> str:
        """The lab PeeringDB's API, on 127.0.0.1."""
        return f"http://127.0.0.1:{self.port}/api"

    def up(self) -> None:
        """Generate the dataset once, then start whatever is not running."""
        # the namespace first: where it cannot be made, nothing is started
        restart = self.namespace.ensure([*self.bird.addresses(), *self.frr.addresses()])
        if restart:  # routers still running from a namespace that has gone: start them again
            self.bird.stop(*self.bird.names)
            self.frr.stop(*self.frr.names)
        if not (self.dataset / "meta.json").exists():
            write_dataset(add_lab(generate(scale=self.scale, seed=1)), self.dataset)
        if self._server_pid() is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            with (self.directory / "peeringdb.log").open("ab") as log:
                process = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "nornir_peering",
                        "lab",
                        "peeringdb",
                        "--dataset",
                        str(self.dataset),
                        "--port",
                        str(self.port),
                    ],
                    stdout=log,
                    stderr=log,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            (self.directory / "peeringdb.pid").write_text(f"{process.pid}\n")
            if not wait_for(f"{self.api_url}/ix?limit=1", 60):
                raise RuntimeError(
                    f"the lab PeeringDB did not answer on {self.api_url}; "
                    f"see {self.directory / 'peeringdb.log'}"
                )
        self.bird.up()
        self.frr.up()

    def down(self) -> None:
        """Stop the PeeringDB server and every router; the lab folder stays."""
        pid = self._server_pid()
        if pid is not None:
            terminate([pid])
            (self.directory / "peeringdb.pid").unlink(missing_ok=True)
        self.bird.down()
        self.frr.down()
        self.namespace.stop()

    def routers(self) -> list[str]:
        """The names of every lab router, the BIRD ones first."""
        return [*self.bird.routers, *self.frr.routers]

    def stop(self, router: str) -> None:
        """Stop one lab router (a peer going away); ``up`` starts it again."""
        if router in self.frr.routers:
            self.frr.stop(router)
        else:
            self.bird.stop(router)

    def load(self, dataset: Path) -> None:
        """Make the running PeeringDB server serve ``dataset`` instead."""
        reply = httpx.post(
            f"http://127.0.0.1:{self.port}/_lab/dataset",
            json={"path": str(dataset.resolve())},
            timeout=120,
        )
        reply.raise_for_status()

    def wait_established(self, seconds: float) -> bool:
        """Poll until every BGP session of every lab router is Established."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            sessions = [state for row in self._routers() for state in row["sessions"].values()]
            if sessions and all(state == "Established" for state in sessions):
                return True
            time.sleep(0.2)
        return False

    def status(self) -> dict[str, Any]:
        """Whether the PeeringDB server runs, and each router's state and sessions."""
        return {
            "peeringdb": {"url": self.api_url, "running": self._server_pid() is not None},
            "routers": self._routers(),
        }

    def _routers(self) -> list[dict[str, Any]]:
        return [*self.bird.status(), *self.frr.status()]

    def _server_pid(self) -> int | None:
        pid = read_pid(self.directory / "peeringdb.pid")
        return pid if pid is not None and alive(pid) else None
