"""A NAPALM driver for FRRouting, found by Nornir's NAPALM plugin as platform ``frr``.

It drives FRR with its own tools, on this machine or over SSH
(``optional_args``: ``vtysh``, ``vty_socket``, ``config_dir``,
``frr_reload``, ``transport: ssh``, ``ssh_port``, ``ssh_key``,
``ssh_options``, ``write_memory``, ``rollback_file``, ``apply_timeout``):

- ``load_merge_candidate``: configuration commands, applied on top of the
  running configuration (``no`` lines included); ``compare_config`` shows
  the running configuration against what it becomes, worked out with
  FRR's rules (:mod:`nornir_peering.deploy.frrstate`), and is empty when nothing changes;
- ``load_replace_candidate``: a whole configuration; ``compare_config`` and
  the commit are FRR's own ``frr-reload.py`` (``--test`` / ``--reload``);
- ``commit_config``: keeps the running configuration in ``rollback_file``
  (readable by its owner only), applies the candidate (``vtysh -f``, within
  ``apply_timeout``, 600 s), and when FRR refuses any line puts the previous
  configuration back with ``frr-reload.py``, checks that FRR holds it again,
  and raises ``CommitError``; then ``write memory`` (unless ``write_memory:
  false``). When FRR does not finish in time nothing is put back (it may
  still be applying): the error says where the previous configuration is.
  FRR has no commit that reverts by itself: ``revert_in`` is refused;
- ``rollback``: back to the configuration of before the last commit;
- getters: ``get_facts``, ``get_bgp_neighbors``, ``get_bgp_neighbors_detail``
  from ``show bgp vrf all neighbors json``, in NAPALM's shapes. FRR counts
  the prefixes it accepted (``acceptedPrefixCounter``); what a peer sent
  before the import policy is only kept with ``soft-reconfiguration
  inbound``, so received prefixes are the accepted ones.
"""

from __future__ import annotations

import json
import re
from typing import Any

from napalm.base import NetworkDriver, models
from napalm.base.exceptions import (
    CommitConfirmException,
    CommitError,
    ConnectionException,
    MergeConfigException,
    ReplaceConfigException,
)
from typing_extensions import override

from nornir_peering.deploy import frrstate
from nornir_peering.drivers.transport import (
    Files,
    LocalFiles,
    SshFiles,
    read_candidate,
    ssh_command,
)
from nornir_peering.drivers.vtysh import FrrTools, VtyshError, VtyshTimeout

DEFAULT_ROLLBACK_FILE = "/etc/frr/nornir-peering.previous"
_HEADER = re.compile(r"^(Building configuration\.\.\.|Current configuration:)\s*$")


class FrrDriver(NetworkDriver):  # type: ignore[misc]  # napalm's base class is untyped
    """NAPALM driver for FRRouting (8.4 and later), on this machine or over SSH."""

    platform = "frr"

    def __init__(
        self,
        hostname: str,
        username: str = "",
        password: str = "",
        timeout: int = 60,
        optional_args: dict[str, Any] | None = None,
    ) -> None:
        args = optional_args or {}
        self.hostname = hostname
        self.timeout = timeout
        transport = str(args.get("transport", "local"))
        if transport not in ("local", "ssh"):
            raise ValueError(f"transport must be local or ssh, not {transport!r}")
        ssh = ssh_command(
            hostname,
            username,
            args.get("ssh_port"),
            args.get("ssh_key"),
            list(args.get("ssh_options", [])),
            timeout,
        )
        self.tools = FrrTools(
            vtysh=str(args.get("vtysh", "vtysh")),
            vty_socket=args.get("vty_socket"),
            config_dir=args.get("config_dir"),
            frr_reload=str(args.get("frr_reload", "/usr/lib/frr/frr-reload.py")),
            ssh=tuple(ssh) if transport == "ssh" else (),
            timeout=timeout,
            apply_timeout=float(args.get("apply_timeout", 600)),
        )
        self._files: Files = SshFiles(ssh, timeout) if transport == "ssh" else LocalFiles()
        self.write_memory = bool(args.get("write_memory", True))
        self.rollback_file = str(args.get("rollback_file", DEFAULT_ROLLBACK_FILE))
        self.candidate: str | None = None
        self.replace = False

    # -- connection --------------------------------------------------------------

    @override
    def open(self) -> None:
        try:
            self.tools.show("show version")
        except VtyshError as exc:
            raise ConnectionException(f"{self.hostname}: cannot reach FRR: {exc}") from None

    @override
    def close(self) -> None:
        """Nothing stays open between calls."""

    @override
    def is_alive(self) -> models.AliveDict:
        try:
            self.tools.show("show version")
        except VtyshError:
            return {"is_alive": False}
        return {"is_alive": True}

    # -- configuration -----------------------------------------------------------

    @override
    def load_merge_candidate(self, filename: str | None = None, config: str | None = None) -> None:
        self.candidate = read_candidate(filename, config, MergeConfigException)
        self.replace = False

    @override
    def load_replace_candidate(
        self, filename: str | None = None, config: str | None = None
    ) -> None:
        self.candidate = read_candidate(filename, config, ReplaceConfigException)
        self.replace = True

    @override
    def compare_config(self) -> str:
        if self.candidate is None:
            return ""
        running = self._running()
        if self.replace:
            try:
                return _reload_diff(self.tools.reload(self.candidate, apply=False))
            except VtyshError as exc:
                raise ReplaceConfigException(str(exc)) from None
        after = frrstate.predict(frrstate.parse(running), frrstate.parse(self.candidate))
        return frrstate.diff(frrstate.parse(running), after)

    @override
    def discard_config(self) -> None:
        self.candidate = None
        self.replace = False

    @override
    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        if revert_in:
            raise NotImplementedError(
                "FRR has no commit that reverts by itself: revert_in is not supported"
            )
        if self.candidate is None:
            raise CommitError("no candidate configuration loaded")
        previous = self._running()
        # the rollback file holds the configuration of before the last commit that went in;
        # written first, so that it is there if this process dies while FRR applies
        older = self._files.read(self.rollback_file)
        self._files.write(self.rollback_file, previous, private=True)
        try:
            if self.replace:
                self.tools.reload(self.candidate, apply=True)
                refused = []
            else:
                refused = self.tools.apply(self.candidate)
        except VtyshTimeout as exc:
            raise CommitError(
                f"{exc}: nothing was put back, as FRR may still be applying it; the "
                f"configuration of before is in {self.rollback_file}"
            ) from None
        except VtyshError as exc:
            refused = [str(exc)]
        if refused:
            why = f"FRR refused the configuration ({len(refused)} line(s)): " + "; ".join(
                refused[:3]
            )
            self._restore(previous, why)
            if older is None:
                self._files.remove(self.rollback_file)
            else:
                self._files.write(self.rollback_file, older, private=True)
            raise CommitError(f"{why}; the previous configuration is back")
        self._save()
        self.discard_config()

    @override
    def has_pending_commit(self) -> bool:
        return False

    @override
    def confirm_commit(self) -> None:
        raise CommitConfirmException("FRR has no commit waiting for confirmation")

    @override
    def rollback(self) -> None:
        previous = self._files.read(self.rollback_file)
        if previous is None:
            raise CommitError(f"nothing to roll back to ({self.rollback_file} does not exist)")
        self._restore(previous)
        self._save()

    @override
    def get_config(
        self,
        retrieve: str = "all",
        full: bool = False,
        sanitized: bool = False,
        format: str = "text",
    ) -> models.ConfigDict:
        running = self._running() if retrieve in ("all", "running") else ""
        candidate = self.candidate or ""
        if sanitized:
            running, candidate = _sanitized(running), _sanitized(candidate)
        return {"running": running, "candidate": candidate, "startup": ""}

    # -- getters -------------------------------------------------------------------

    @override
    def get_facts(self) -> models.FactsDict:
        version = self.tools.show("show version").splitlines()[0]
        found = re.search(r"FRRouting (\S+)", version)
        hostname = next(
            (
                line.split()[1]
                for line in self._running().splitlines()
                if line.startswith("hostname ") and len(line.split()) == 2
            ),
            self.hostname,
        )
        return {
            "os_version": found.group(1) if found else version,
            "uptime": -1.0,  # FRR does not say how long it has been running
            "interface_list": [],
            "vendor": "FRRouting",
            "serial_number": "",
            "model": "FRRouting",
            "hostname": hostname,
            "fqdn": hostname,
        }

    @override
    def get_bgp_neighbors(self) -> dict[str, models.BGPStateNeighborsPerVRFDict]:
        result: dict[str, models.BGPStateNeighborsPerVRFDict] = {
            "global": {"router_id": "", "peers": {}}
        }
        for vrf, address, peer in self._neighbors():
            section = result.setdefault(vrf, {"router_id": "", "peers": {}})
            section["router_id"] = section["router_id"] or peer.get("localRouterId", "")
            up = peer.get("bgpState") == "Established"
            section["peers"][address] = {
                "local_as": int(peer.get("localAs", 0)),
                "remote_as": int(peer.get("remoteAs", 0)),
                "remote_id": peer.get("remoteRouterId", "0.0.0.0"),
                "is_up": up,
                "is_enabled": not peer.get("adminShutDown", False),
                "description": peer.get("nbrDesc", ""),
                "uptime": int(peer.get("bgpTimerUpMsec", 0)) // 1000 if up else -1,
                "address_family": {
                    family: {
                        "received_prefixes": counts["accepted"],
                        "accepted_prefixes": counts["accepted"],
                        "sent_prefixes": counts["sent"],
                    }
                    for family, counts in _families(peer).items()
                },
            }
        return result

    @override
    def get_bgp_neighbors_detail(
        self, neighbor_address: str = ""
    ) -> dict[str, dict[int, list[models.PeerDetailsDict]]]:
        result: dict[str, dict[int, list[models.PeerDetailsDict]]] = {}
        for vrf, address, peer in self._neighbors():
            if neighbor_address and address != neighbor_address:
                continue
            families = _families(peer)
            accepted = sum(c["accepted"] for c in families.values())
            sent = sum(c["sent"] for c in families.values())
            stats = peer.get("messageStats", {})
            remote_as = int(peer.get("remoteAs", 0))
            first: dict[str, Any] = next(iter(peer.get("addressFamilyInfo", {}).values()), {})
            hold = int(peer.get("bgpTimerHoldTimeMsecs", 0)) // 1000
            keepalive = int(peer.get("bgpTimerKeepAliveIntervalMsecs", 0)) // 1000
            result.setdefault(vrf, {}).setdefault(remote_as, []).append(
                {
                    "up": peer.get("bgpState") == "Established",
                    "local_as": int(peer.get("localAs", 0)),
                    "remote_as": remote_as,
                    "router_id": peer.get("remoteRouterId", "0.0.0.0"),
                    "local_address": _address(peer.get("hostLocal")),
                    "routing_table": vrf,
                    "local_address_configured": "updateSource" in peer,
                    "local_port": max(0, int(peer.get("portLocal", 0))),
                    "remote_address": address,
                    "remote_port": max(0, int(peer.get("portForeign", 0))),
                    "multihop": int(peer.get("externalBgpNbrMaxHopsAway", 1)) > 1,
                    "multipath": False,
                    "remove_private_as": False,
                    "import_policy": first.get("routeMapForIncomingAdvertisements", ""),
                    "export_policy": first.get("routeMapForOutgoingAdvertisements", ""),
                    "input_messages": int(stats.get("totalRecv", -1)),
                    "output_messages": int(stats.get("totalSent", -1)),
                    "input_updates": int(stats.get("updatesRecv", -1)),
                    "output_updates": int(stats.get("updatesSent", -1)),
                    "messages_queued_out": int(stats.get("depthOutq", -1)),
                    "connection_state": peer.get("bgpState", ""),
                    "previous_connection_state": "",
                    "last_event": peer.get("lastResetDueTo", ""),
                    "suppress_4byte_as": False,
                    "local_as_prepend": False,
                    "holdtime": hold,
                    "configured_holdtime": int(peer.get("bgpTimerConfiguredHoldTimeMsecs", 0))
                    // 1000,
                    "keepalive": keepalive,
                    "configured_keepalive": int(
                        peer.get("bgpTimerConfiguredKeepAliveIntervalMsecs", 0)
                    )
                    // 1000,
                    "active_prefix_count": accepted,
                    "received_prefix_count": accepted,
                    "accepted_prefix_count": accepted,
                    "suppressed_prefix_count": 0,
                    "advertised_prefix_count": sent,
                    "flap_count": int(peer.get("connectionsDropped", 0)),
                }
            )
        return result

    # -- helpers -------------------------------------------------------------------

    def _running(self) -> str:
        """The running configuration, without vtysh's header lines."""
        text = self.tools.show("show running-config")
        return "".join(line for line in text.splitlines(keepends=True) if not _HEADER.match(line))

    def _neighbors(self) -> list[tuple[str, str, dict[str, Any]]]:
        data = json.loads(self.tools.show("show bgp vrf all neighbors json") or "{}")
        found = []
        for vrf_name, peers in data.items():
            vrf = "global" if vrf_name == "default" else vrf_name
            for address, peer in peers.items():
                if isinstance(peer, dict) and "bgpState" in peer:
                    found.append((vrf, address, peer))
        return found

    def _restore(self, previous: str, why: str = "rollback") -> None:
        """Put ``previous`` back with frr-reload.py, and check that FRR holds it again."""
        try:
            self.tools.reload(previous, apply=True)
        except VtyshError as exc:
            raise CommitError(
                f"{why}; putting the previous configuration back failed too ({exc}); it is kept "
                f"in {self.rollback_file}"
            ) from None
        now = frrstate.parse(self._running()).lines()
        left = now ^ frrstate.parse(previous).lines()
        if left:
            raise CommitError(
                f"{why}; after putting the previous configuration back, {len(left)} line(s) "
                f"still differ (such as {' > '.join(sorted(left)[0])!r}); it is kept in "
                f"{self.rollback_file}"
            )

    def _save(self) -> None:
        if self.write_memory:
            try:
                self.tools.show("write memory")
            except VtyshError as exc:
                raise CommitError(f"committed, but 'write memory' failed: {exc}") from None


def _sanitized(config: str) -> str:
    """The configuration without its secrets (BGP passwords, FRR's own passwords)."""
    return re.sub(r"^(\s*(?:neighbor \S+ )?password) \S+", r"\1 <removed>", config, flags=re.M)


def _families(peer: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Per family (NAPALM's ``ipv4`` / ``ipv6``): accepted and sent prefixes."""
    families = {}
    for name, info in peer.get("addressFamilyInfo", {}).items():
        family = {"ipv4Unicast": "ipv4", "ipv6Unicast": "ipv6"}.get(name)
        if family:
            families[family] = {
                "accepted": int(info.get("acceptedPrefixCounter", 0)),
                "sent": int(info.get("sentPrefixCounter", 0)),
            }
    return families


def _address(value: Any) -> str:
    return "" if value in (None, "Unknown") else str(value)


def _reload_diff(report: str) -> str:
    """``frr-reload.py --test``'s lines to delete and to add, as a diff.

    A section a change happens in (``router bgp 64500``) is an unindented line
    followed by indented ones; a deletion is written ``no ...``.
    """
    lines = [line for line in report.splitlines() if not _LOG_LINE.match(line)]
    out: list[str] = []
    sign = ""
    for index, line in enumerate(lines):
        if line.startswith(("Lines To Delete", "Lines To Add")):
            sign = "-" if "Delete" in line else "+"
            continue
        if not sign or not line.strip() or set(line.strip()) == {"="}:
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if not line.startswith(" ") and following.startswith(" "):
            out.append(f" {line}")
            continue
        indent = line[: len(line) - len(line.lstrip())]
        text = line.lstrip()
        if sign == "-":
            text = text.removeprefix("no ")
        out.append(f"{sign}{indent}{text}")
    return "\n".join(out) + ("\n" if out else "")


_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
