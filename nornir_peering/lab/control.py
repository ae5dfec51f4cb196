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

``up`` checks what it can before it starts anything (the lab peers' password variables,
the programs it needs, its ports free) and, when starting fails part-way, stops what
this attempt started (never what ran before it), so that the next attempt starts clean.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from nornir_peering.errors import PeeringError
from nornir_peering.lab import DEFAULT_PORT
from nornir_peering.lab.bird import BirdLab
from nornir_peering.lab.daemons import missing
from nornir_peering.lab.datagen import generate, write_dataset
from nornir_peering.lab.frr import FrrLab
from nornir_peering.lab.netns import Namespace
from nornir_peering.lab.rpsl import lab_irr, write_rpsl
from nornir_peering.lab.tls import LabSecrets
from nornir_peering.lab.topology import PASSWORD_VARIABLES, add_lab, peer_password
from nornir_peering.lab.wait import wait_for, wait_for_port
from nornir_peering.pids import alive, read_pid, terminate

# the lab's servers, in the order they start, and how messages name them
SERVICES = {"peeringdb": "PeeringDB server", "irr": "IRR server", "redis": "Redis server"}


class LabRefused(PeeringError):
    """``lab up`` cannot start the lab: the machine lacks something, or a port is taken,
    which the message names; nothing was started."""

    exit_code = 2


class LabFailed(PeeringError):
    """``lab up`` failed part-way; what it had started was stopped again."""


SOCKET_PATH_MAX = 107  # bytes of a Unix socket's path (sun_path, less its final NUL)


def _length(path: Path) -> int:
    return len(os.fsencode(path.absolute()))


class Lab:
    """The whole local lab in ``directory``: the PeeringDB server on ``port``, the IRR
    server on ``port + 1``, Redis on ``port + 2``, the routers."""

    def __init__(self, directory: Path, port: int = DEFAULT_PORT, scale: float = 0.02) -> None:
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

    @property
    def ports(self) -> dict[str, int]:
        """Each server's port on 127.0.0.1."""
        return {"peeringdb": self.port, "irr": self.irr_port, "redis": self.redis_port}

    def up(self) -> None:
        """Generate the dataset once, then start whatever is not running.

        First :meth:`check`; then, should a start fail, whatever this call started is
        stopped again and :class:`LabFailed` says what failed."""
        self.check()
        before = self.processes()
        try:
            self._start_all()
        except BaseException as exc:
            stopped = self._stop_new(before)
            if isinstance(exc, PeeringError) and not stopped:
                raise  # nothing had started: the error as it is
            if not isinstance(exc, Exception):  # Ctrl-C: stopped, as asked
                raise
            said = str(exc).strip().splitlines()
            what = said[0] if said else type(exc).__name__
            undone = ", ".join(stopped) or "nothing"
            raise LabFailed(
                f"lab up failed: {what}; stopped what it had started: {undone}"
            ) from exc

    def check(self) -> None:
        """What ``up`` needs before it starts anything: the password of each lab peer
        that has one and is not running (:class:`~nornir_peering.errors.ConfigError`), the
        programs, and the ports of the servers not running free (:class:`LabRefused`)."""
        for asn in sorted(PASSWORD_VARIABLES):
            if any(
                router.asn == asn and not self.bird.running(router.name)
                for router in self.bird.routers.values()
            ):
                peer_password(asn)
        lacking = missing(
            [
                *self.namespace.programs,
                *self.bird.programs,
                *self.frr.programs,
                ("redis-server", "redis-server"),
            ]
        )
        if lacking:
            raise LabRefused(f"lab up: missing {', '.join(lacking)}; nothing was started")
        longest = max((self.bird.socket(name) for name in self.bird.names), key=_length)
        if _length(longest) > SOCKET_PATH_MAX:
            raise LabRefused(
                f"lab up: {longest} is {_length(longest)} bytes, longer than a control "
                f"socket's path may be ({SOCKET_PATH_MAX}); run the lab from a folder with a "
                "shorter path (lab init DIR); nothing was started"
            )
        for service, port in self.ports.items():
            refused = None if self._pid(service) is not None else _port_refused(port)
            if refused:
                raise LabRefused(
                    f"lab up: port {port} on 127.0.0.1, for the lab's {SERVICES[service]}, "
                    f"{refused}; give another --port (the lab takes {self.port} to "
                    f"{self.redis_port}); nothing was started"
                )

    def processes(self) -> dict[str, int]:
        """The pid of everything of the lab that runs: its servers, routers, namespace."""
        found = {service: pid for service in SERVICES if (pid := self._pid(service)) is not None}
        found.update({f"bird {name}": pid for name, pid in self.bird.pids().items()})
        found.update({f"frr {name}": pid for name, pid in self.frr.pids().items()})
        if self.namespace.pid is not None:
            found["namespace"] = self.namespace.pid
        return found

    def _start_all(self) -> None:
        """The namespace, the dataset, the servers, the routers: each one not running."""
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

    def _stop_new(self, before: dict[str, int]) -> list[str]:
        """Stop what runs now and did not, as that process, in ``before``: the routers,
        then the namespace, then the servers. What was stopped, named for a message."""
        new = {name: pid for name, pid in self.processes().items() if before.get(name) != pid}
        routers = [name for name in new if name.startswith(("bird ", "frr "))]
        terminate(new[name] for name in routers)
        if "namespace" in new:
            self.namespace.stop()
        servers = [service for service in SERVICES if service in new]
        terminate(new[service] for service in servers)
        for service in servers:
            (self.directory / f"{service}.pid").unlink(missing_ok=True)
        named = [f"the {SERVICES[service]}" for service in servers]
        for kind, label in (("bird ", "BIRD router"), ("frr ", "FRR router")):
            count = sum(1 for name in routers if name.startswith(kind))
            if count:
                named.append(f"{count} {label}{'s' if count > 1 else ''}")
        if "namespace" in new:
            named.append("the network namespace")
        return named

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
        """The pid of the lab's ``service`` server, if it runs."""
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


def _port_refused(port: int) -> str | None:
    """Why a server could not listen on ``port`` of 127.0.0.1, None if it could (binding
    as servers do: a connection of before, waiting to close, does not count)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "is taken by another program"
            return f"cannot be listened on ({exc.strerror or exc})"
    return None
