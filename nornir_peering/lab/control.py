"""``lab up | down | status``: the whole local lab as background processes.

The lab lives in one folder (``state/lab`` beside the state file): a
generated PeeringDB dataset with the lab's IXes (``peeringdb/``), the
PeeringDB server serving it on 127.0.0.1 (``peeringdb.pid``, ``peeringdb.log``),
the IRR whois server on the next port, serving the lab's RPSL (``irr/``,
``irr.pid``, ``irr.log``), a Redis server on the port after it for the background
jobs, reached over TLS as an ACL user (``redis/``: its configuration, the lab CA's and
its own certificates, the user's password; ``redis.pid``, ``redis.log``), with the
lab's job key (``job.key``; :mod:`nornir_peering.lab.tls`),
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

from nornir_peering.errors import PeeringError
from nornir_peering.lab.bird import BirdLab
from nornir_peering.lab.datagen import generate, write_dataset
from nornir_peering.lab.frr import FrrLab
from nornir_peering.lab.netns import Namespace
from nornir_peering.lab.rpsl import lab_irr, write_rpsl
from nornir_peering.lab.tls import LabSecrets
from nornir_peering.lab.topology import add_lab
from nornir_peering.lab.wait import wait_for, wait_for_port
from nornir_peering.pids import alive, read_pid, terminate


class Lab:
    """The whole local lab in ``directory``: the PeeringDB server on ``port``, the IRR
    server on ``port + 1``, Redis on ``port + 2``, the routers."""

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
    def irr_data(self) -> Path:
        """The folder of the RPSL files ``up`` writes and the IRR server serves."""
        return self.directory / "irr"

    @property
    def irr_port(self) -> int:
        """The lab IRR's whois port on 127.0.0.1: the one after the PeeringDB server's."""
        return self.port + 1

    @property
    def redis_port(self) -> int:
        """The lab Redis's port on 127.0.0.1: two after the PeeringDB server's."""
        return self.port + 2

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
        if self._pid("peeringdb") is None:
            self._spawn("peeringdb", ["--dataset", str(self.dataset), "--port", str(self.port)])
            if not wait_for(f"{self.api_url}/ix?limit=1", 60):
                raise RuntimeError(
                    f"the lab PeeringDB did not answer on {self.api_url}; "
                    f"see {self.directory / 'peeringdb.log'}"
                )
        if not (self.irr_data / "SOURCES").exists():
            write_rpsl(lab_irr(), self.irr_data)
        if self._pid("irr") is None:
            self._spawn("irr", ["--rpsl", str(self.irr_data), "--port", str(self.irr_port)])
            if not wait_for_port("127.0.0.1", self.irr_port, 60):
                raise RuntimeError(
                    f"the lab IRR did not answer on 127.0.0.1:{self.irr_port}; "
                    f"see {self.directory / 'irr.log'}"
                )
        if self._pid("redis") is None:
            secrets = LabSecrets(self.directory)
            secrets.ensure()
            self._start("redis", ["redis-server", str(secrets.redis_conf(self.redis_port))])
            if not wait_for_port("127.0.0.1", self.redis_port, 60):
                raise RuntimeError(
                    f"the lab Redis did not answer on 127.0.0.1:{self.redis_port}; "
                    f"see {self.directory / 'redis.log'}"
                )
        self.bird.up()
        self.frr.up()

    def down(self) -> None:
        """Stop the PeeringDB, IRR and Redis servers and every router; the lab folder
        stays."""
        for service in ("peeringdb", "irr", "redis"):
            pid = self._pid(service)
            if pid is not None:
                terminate([pid])
            (self.directory / f"{service}.pid").unlink(missing_ok=True)
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
        url = f"http://127.0.0.1:{self.port}/_lab/dataset"
        try:
            reply = httpx.post(url, json={"path": str(dataset.resolve())}, timeout=120)
            reply.raise_for_status()
        except httpx.HTTPError as exc:
            raise PeeringError(
                f"the lab PeeringDB at 127.0.0.1:{self.port} did not load {dataset}: {exc} "
                "(is the lab up, on this --port?)"
            ) from None

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
        """Whether the PeeringDB and IRR servers run, and each router's state and sessions."""
        return {
            "peeringdb": {"url": self.api_url, "running": self._pid("peeringdb") is not None},
            "irr": {
                "address": f"127.0.0.1:{self.irr_port}",
                "running": self._pid("irr") is not None,
            },
            "redis": {
                "address": f"127.0.0.1:{self.redis_port}",
                "running": self._pid("redis") is not None,
            },
            "routers": self._routers(),
        }

    def _routers(self) -> list[dict[str, Any]]:
        return [*self.bird.status(), *self.frr.status()]

    def _pid(self, service: str) -> int | None:
        pid = read_pid(self.directory / f"{service}.pid")
        return pid if pid is not None and alive(pid) else None

    def _spawn(self, service: str, options: list[str]) -> None:
        """``nornir-peering lab SERVICE OPTIONS`` in the background, logging to SERVICE.log."""
        self._start(service, [sys.executable, "-m", "nornir_peering", "lab", service, *options])

    def _start(self, service: str, argv: list[str]) -> None:
        """``argv`` in the background as the lab's SERVICE, logging to SERVICE.log."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / f"{service}.log").open("ab") as log:
            process = subprocess.Popen(
                argv,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        (self.directory / f"{service}.pid").write_text(f"{process.pid}\n")
