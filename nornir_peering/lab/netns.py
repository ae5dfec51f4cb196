"""The lab's network namespace: its routers live there, on addresses of its loopback.

Loopback outside gives IPv6 only ``::1``; a namespace of the lab's own can
hold every address the lab topology uses (IPv4 in 127.0.0.0/8, the IX LANs'
ULA IPv6), and keeps every BGP packet inside it. The namespace is created
unprivileged where the kernel allows user namespaces (``unshare --user --net
--map-root-user``, as Debian 12's default kernel does) and as root otherwise;
a ``sleep`` process holds it open (``netns.pid``), and daemons are started in
it with ``nsenter``. Their control and vty sockets are files, so the drivers,
``birdc`` and ``vtysh`` reach them from outside as before.

For example::

    space = Namespace(Path("state/lab"))
    space.ensure(["fd00:7f8:1::1"])       # created if need be, the address on its loopback
    subprocess.run(space.command(["bird", "-c", "bird.conf"]), check=True)
    space.stop()
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterable
from ipaddress import ip_address
from pathlib import Path

from nornir_peering.errors import ExitCode, PeeringError
from nornir_peering.pids import alive, read_pid, terminate

# how to create the namespace, most preferred first: (mode, unshare's options)
_UNSHARE = (("user", ("--user", "--net", "--map-root-user")), ("root", ("--net",)))
_ENTER = {"user": ("--user", "--net", "--preserve-credentials"), "root": ("--net",)}


class NamespaceError(PeeringError):
    """The lab's network namespace cannot be created or entered: the machine lacks
    something, which the message names; nothing was started."""

    exit_code = ExitCode.USAGE


class Namespace:
    """The network namespace the lab's routers share, held by a process whose pid is in
    ``directory/netns.pid``."""

    # (program, Debian package) it needs
    programs = (("unshare", "util-linux"), ("nsenter", "util-linux"), ("ip", "iproute2"))

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def pid_file(self) -> Path:
        """Where the pid of the process holding the namespace is kept."""
        return self.directory / "netns.pid"

    @property
    def pid(self) -> int | None:
        """The pid of the process holding the namespace, if it runs."""
        pid = read_pid(self.pid_file)
        return pid if pid is not None and alive(pid) else None

    def ensure(self, addresses: Iterable[str]) -> bool:
        """The namespace, created if it does not exist, with its loopback up and holding
        the IPv6 ``addresses`` (IPv4 needs none: loopback holds all of 127.0.0.0/8).
        Returns whether it was created now."""
        created = self.pid is None
        if created:
            self._create()
        commands = ["link set lo up"] + [
            f"addr replace {address}/128 dev lo nodad"
            for address in sorted(set(addresses))
            if ip_address(address).version == 6
        ]
        done = subprocess.run(
            self.command(["ip", "-batch", "-"]),
            input="\n".join(commands) + "\n",
            capture_output=True,
            text=True,
            timeout=30,
        )
        if done.returncode != 0:
            raise NamespaceError(f"cannot set up the lab's loopback: {done.stderr.strip()}")
        return created

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` as a command that runs inside the namespace."""
        pid = self.pid
        if pid is None:
            raise NamespaceError(f"the lab's network namespace is not running ({self.pid_file})")
        mode = (self.directory / "netns.mode").read_text().strip()
        return ["nsenter", f"--target={pid}", *_ENTER[mode], "--", *argv]

    def stop(self) -> None:
        """End the namespace's holder; the namespace goes with its last process."""
        pid = self.pid
        if pid is not None:
            terminate([pid])
        self.pid_file.unlink(missing_ok=True)

    def _create(self) -> None:
        if shutil.which("unshare") is None or shutil.which("nsenter") is None:
            raise NamespaceError("unshare and nsenter are missing (Debian package util-linux)")
        if shutil.which("ip") is None:
            raise NamespaceError("ip is missing (Debian package iproute2)")
        self.directory.mkdir(parents=True, exist_ok=True)
        refusals = []
        for mode, options in _UNSHARE:
            if mode == "root" and os.geteuid() != 0:
                continue
            holder = subprocess.Popen(
                ["unshare", *options, "sleep", "infinity"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            refusal = _wait_until_inside(holder)
            if refusal is None:
                (self.directory / "netns.mode").write_text(f"{mode}\n")
                self.pid_file.write_text(f"{holder.pid}\n")
                return
            refusals.append(f"unshare {' '.join(options)}: {refusal}")
        raise NamespaceError(
            "cannot create the lab's network namespace ("
            + "; ".join(refusals)
            + "): allow unprivileged user namespaces (sysctl user.max_user_namespaces > 0, "
            "and kernel.unprivileged_userns_clone=1 where the kernel has it), or run as root"
        )


def _wait_until_inside(holder: subprocess.Popen[bytes], timeout: float = 10.0) -> str | None:
    """Wait until ``holder`` runs in a network namespace other than ours; None once it
    does, else why not (what unshare said when it exited)."""
    ours = os.readlink("/proc/self/ns/net")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if holder.poll() is not None:
            said = holder.stderr.read().decode(errors="replace").strip() if holder.stderr else ""
            return said or f"exited with {holder.returncode}"
        try:
            # unshare has made the namespace and its uid map once it has become sleep
            inside = os.readlink(f"/proc/{holder.pid}/ns/net") != ours
            ready = inside and Path(f"/proc/{holder.pid}/comm").read_text().strip() == "sleep"
        except OSError:
            ready = False
        if ready:
            if holder.stderr:
                holder.stderr.close()
            return None
        time.sleep(0.01)
    holder.kill()
    holder.wait()
    return f"no new namespace after {timeout:.0f} s"
