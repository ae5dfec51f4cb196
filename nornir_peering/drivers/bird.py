"""A NAPALM driver for BIRD 2, found by Nornir's NAPALM plugin as platform ``bird``.

It manages one file: the include that holds the rendered peering
configuration (``optional_args: {config_file: /etc/bird/peering.conf}``),
not the operator's whole ``bird.conf``, and talks to BIRD through its
control socket (``optional_args: {socket: /run/bird/bird.ctl}``), on this
machine or, with ``transport: ssh``, on the router over SSH
(:mod:`.transport`).

- ``load_replace_candidate`` / ``load_merge_candidate``: the candidate is
  the whole new content of the managed file (a file we own has nothing to
  merge with);
- ``compare_config``: the unified diff of the managed file;
- ``commit_config``: writes the candidate, lets BIRD check it (``configure
  check``), reconfigures, and puts the previous file back if anything fails;
  ``revert_in`` uses BIRD's own ``configure timeout``, so the revert happens
  even if this process dies; ``confirm_commit`` is ``configure confirm``;
- a commit cut off between writing the file and BIRD's answer (the process
  killed, the connection lost) would leave the file ahead of what BIRD runs, and
  every later diff empty: a marker (``<config_file>.committing``: who commits,
  since when) is written before the file and removed once BIRD has answered.
  While it is there, the diff is against the file of before (what a commit will
  start from), and :attr:`BirdDriver.interrupted_commit` says so; the next
  commit settles it once its owner is gone (its process ended, on this machine;
  ``settle_after`` seconds old, from another): the file of before goes back and
  BIRD reconfigures from it (after ``configure check``), so that the file is
  again what BIRD runs. A commit whose owner still runs is refused;
- ``rollback``: the file as it was before the last commit (``configure
  undo`` while a commit is pending);
- getters: ``get_facts``, ``get_bgp_neighbors``, ``get_bgp_neighbors_detail``
  in NAPALM's documented shapes, peers keyed by address, both families.

Counts: BIRD's *imported* routes are NAPALM's accepted prefixes, *imported +
filtered* its received prefixes (filtered ones are only counted with ``import
keep filtered``), *exported* its sent prefixes.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import socket
import time
import uuid
from datetime import UTC, datetime
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

from nornir_peering.drivers.birdc import (
    BirdControl,
    BirdError,
    Code,
    Protocol,
    parse_protocols,
    parse_status,
    route_counts,
)
from nornir_peering.drivers.transport import (
    Files,
    LocalFiles,
    SshFiles,
    SshTunnel,
    TransportError,
    read_candidate,
    ssh_command,
)
from nornir_peering.interrupt import check_time

DEFAULT_SOCKET = "/run/bird/bird.ctl"
DEFAULT_CONFIG_FILE = "/etc/bird/peering.conf"
SETTLE_AFTER = 900.0  # seconds after which another machine's commit marker is settled
_LIVE: set[str] = set()  # the markers of the commits under way in this process


def commits_under_way() -> int:
    """How many commits this process has under way (a task left behind by its run may
    still be in one)."""
    return len(_LIVE)


class BirdDriver(NetworkDriver):  # type: ignore[misc]  # napalm's base class is untyped
    """NAPALM driver for BIRD 2, on this machine or over SSH."""

    platform = "bird"
    closes_from_any_thread = True  # close() wakes a command waiting for BIRD (BirdControl)

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
        self.socket_path = str(args.get("socket", DEFAULT_SOCKET))
        self.config_file = str(args.get("config_file", DEFAULT_CONFIG_FILE))
        self.transport = str(args.get("transport", "local"))
        if self.transport not in ("local", "ssh"):
            raise ValueError(f"transport must be local or ssh, not {self.transport!r}")
        self._ssh = ssh_command(
            hostname,
            username,
            args.get("ssh_port"),
            args.get("ssh_key"),
            list(args.get("ssh_options", [])),
            timeout,
        )
        self._files: Files = (
            SshFiles(self._ssh, timeout) if self.transport == "ssh" else LocalFiles()
        )
        self._tunnel: SshTunnel | None = None
        self._bird = BirdControl(self.socket_path, timeout=timeout)
        self.settle_after = float(args.get("settle_after", SETTLE_AFTER))
        self.candidate: str | None = None
        # what the last load or commit found of a commit cut off, and did about it
        self.interrupted_commit: str | None = None

    @property
    def _previous(self) -> str:
        return self.config_file + ".previous"

    @property
    def _pending(self) -> str:
        return self.config_file + ".pending"

    @property
    def _committing(self) -> str:
        return self.config_file + ".committing"

    # -- connection --------------------------------------------------------------

    @override
    def open(self) -> None:
        try:
            if self.transport == "ssh":
                self._tunnel = SshTunnel(self._ssh, self.socket_path, self.timeout)
                self._bird = BirdControl(self._tunnel.start(), timeout=self.timeout)
            self._bird.open()
            self._settle_expired_commit()
        except (BirdError, TransportError) as exc:
            self.close()
            raise ConnectionException(f"{self.hostname}: {exc}") from None

    @override
    def close(self) -> None:
        self._bird.close()
        if self._tunnel is not None:
            self._tunnel.stop()
            self._tunnel = None

    @override
    def is_alive(self) -> models.AliveDict:
        try:
            return {"is_alive": self._bird.command("show status").ok}
        except BirdError:
            return {"is_alive": False}

    # -- configuration -----------------------------------------------------------

    @override
    def load_replace_candidate(
        self, filename: str | None = None, config: str | None = None
    ) -> None:
        self.candidate = read_candidate(filename, config, ReplaceConfigException)
        self.interrupted_commit = self._cut_off_note()

    @override
    def load_merge_candidate(self, filename: str | None = None, config: str | None = None) -> None:
        self.candidate = read_candidate(filename, config, MergeConfigException)
        self.interrupted_commit = self._cut_off_note()

    @override
    def compare_config(self) -> str:
        if self.candidate is None:
            return ""
        running = self._base()
        candidate = _ending(self.candidate)
        if running == candidate:
            return ""
        return "".join(
            difflib.unified_diff(
                running.splitlines(keepends=True),
                candidate.splitlines(keepends=True),
                fromfile=f"a/{self.config_file.lstrip('/')}",
                tofile=f"b/{self.config_file.lstrip('/')}",
            )
        )

    @override
    def discard_config(self) -> None:
        self.candidate = None

    @override
    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        if self.candidate is None:
            raise CommitError("no candidate configuration loaded")
        if self.has_pending_commit():
            raise CommitError("a commit is waiting for confirmation; confirm or roll it back")
        self._settle_cut_off_commit()
        check_time("committed")
        previous = self._files.read(self.config_file)
        self._files.write(self._previous, previous or "", private=True)
        # from here until BIRD has answered, the file may be ahead of what BIRD runs
        token = uuid.uuid4().hex
        marker = {
            "token": token,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": time.time(),
            "previous": previous is not None,
        }
        _LIVE.add(token)
        try:
            self._files.write(self._committing, json.dumps(marker))
            self._commit(marker, previous, revert_in, message)
        finally:
            _LIVE.discard(token)
        self.candidate = None

    def _commit(
        self, marker: dict[str, Any], previous: str | None, revert_in: int | None, message: str
    ) -> None:
        """Write the candidate and have BIRD take it; anything failing puts the file of
        before back (and reconfigures from it)."""
        assert self.candidate is not None
        self._files.write(self.config_file, _ending(self.candidate), private=True)
        try:
            self._still_ours(marker)
            check = self._bird.command("configure check")
            if not check.ok or check.code != Code.CONFIGURATION_OK:
                raise CommitError(f"BIRD refused the configuration: {_error(check.text)}")
            self._still_ours(marker)
            command = f"configure timeout {int(revert_in)}" if revert_in else "configure"
            done = self._bird.command(command)
            if not done.ok or done.code not in _TAKEN:
                raise CommitError(f"BIRD could not reconfigure: {_error(done.text)}")
        except Exception as exc:  # a lost connection, a BIRD that refused, anything
            if isinstance(exc, _Settled):
                raise CommitError(str(exc)) from None
            self._restore(previous)
            with contextlib.suppress(BirdError):
                if self._bird.command("configure").code in _TAKEN:
                    self._files.remove(self._committing)  # BIRD runs the file of before
            raise CommitError(str(exc) or type(exc).__name__) from None
        if revert_in:
            deadline = time.time() + int(revert_in)
            self._files.write(self._pending, json.dumps({"deadline": deadline, "message": message}))
        self._files.remove(self._committing)

    def _still_ours(self, marker: dict[str, Any]) -> None:
        """Raise if another run settled this commit's marker meanwhile."""
        found = _marker(self._files.read(self._committing))
        if found is None or found.get("token") != marker["token"]:
            raise _Settled(
                "another run settled this commit meanwhile (it took this commit for one cut "
                f"off, after settle_after: {self.settle_after:g} s): nothing was committed"
            )

    @override
    def has_pending_commit(self) -> bool:
        self._settle_expired_commit()
        return self._files.read(self._pending) is not None

    @override
    def confirm_commit(self) -> None:
        if not self.has_pending_commit():
            raise CommitConfirmException("no commit is waiting for confirmation")
        reply = self._bird.command("configure confirm")
        if reply.code == Code.NOTHING_TO_DO:  # BIRD's timer fired first: it runs the old one
            self._restore(self._files.read(self._previous))
            self._files.remove(self._pending)
            raise CommitConfirmException(
                "BIRD had reverted the commit already (its timer fired first): BIRD and the "
                "file are back to the configuration of before"
            )
        if not reply.ok:
            raise CommitConfirmException(f"BIRD did not confirm: {_error(reply.text)}")
        self._files.remove(self._pending)

    @override
    def rollback(self) -> None:
        previous = self._files.read(self._previous)
        if previous is None:
            raise CommitError("nothing to roll back to")
        if self._files.read(self._pending) is not None:
            undone = self._bird.checked("configure undo")
            self._restore(previous)
            self._files.remove(self._pending)
            if undone.code != Code.NOTHING_TO_DO:
                return
            # nothing left to undo (a configure since): BIRD reads the file of before
        else:
            self._restore(previous)
        reply = self._bird.command("configure")
        if not reply.ok:
            raise CommitError(f"BIRD could not reconfigure: {_error(reply.text)}")

    @override
    def get_config(
        self,
        retrieve: str = "all",
        full: bool = False,
        sanitized: bool = False,
        format: str = "text",
    ) -> models.ConfigDict:
        running = self._running()
        return {"running": running, "candidate": self.candidate or "", "startup": running}

    # -- getters -------------------------------------------------------------------

    @override
    def get_facts(self) -> models.FactsDict:
        status = parse_status(self._bird.checked("show status"))
        interfaces = self._bird.checked("show interfaces")
        names = [
            text.split()[0]
            for code, text in interfaces.lines
            if code == Code.INTERFACE_LIST and text
        ]
        uptime = 0.0
        if status.get("now") and status.get("started"):
            uptime = (status["now"] - status["started"]).total_seconds()
        return {
            "os_version": status.get("version", ""),
            "uptime": uptime,
            "interface_list": names,
            "vendor": "BIRD",
            "serial_number": "",
            "model": "BIRD Internet Routing Daemon",
            "hostname": status.get("hostname", self.hostname),
            "fqdn": status.get("hostname", self.hostname),
        }

    @override
    def get_bgp_neighbors(self) -> dict[str, models.BGPStateNeighborsPerVRFDict]:
        status, sessions = self._bgp()
        result: dict[str, models.BGPStateNeighborsPerVRFDict] = {}
        for proto in sessions:
            vrf = _vrf(proto)
            peers = result.setdefault(vrf, {"router_id": status.get("router_id", ""), "peers": {}})[
                "peers"
            ]
            up = _established(proto)
            peers[_neighbor(proto)] = {
                "local_as": int(proto.attributes.get("Local AS", 0)),
                "remote_as": int(proto.attributes.get("Neighbor AS", 0)),
                "remote_id": proto.attributes.get("Neighbor ID", "0.0.0.0"),
                "is_up": up,
                "is_enabled": _enabled(proto),
                "description": proto.attributes.get("Description", ""),
                "uptime": _uptime(proto, status) if up else -1,
                "address_family": {
                    family: {
                        "received_prefixes": counts["imported"] + counts["filtered"],
                        "accepted_prefixes": counts["imported"],
                        "sent_prefixes": counts["exported"],
                    }
                    for family, counts in _families(proto).items()
                },
            }
        result.setdefault("global", {"router_id": status.get("router_id", ""), "peers": {}})
        return result

    @override
    def get_bgp_neighbors_detail(
        self, neighbor_address: str = ""
    ) -> dict[str, dict[int, list[models.PeerDetailsDict]]]:
        _status, sessions = self._bgp()
        result: dict[str, dict[int, list[models.PeerDetailsDict]]] = {}
        for proto in sessions:
            address = _neighbor(proto)
            if neighbor_address and address != neighbor_address:
                continue
            attrs = proto.attributes
            totals = {"imported": 0, "filtered": 0, "exported": 0, "preferred": 0}
            for counts in _families(proto).values():
                for key in totals:
                    totals[key] += counts[key]
            channel = next(iter(proto.channels.values()), {})
            remote_as = int(attrs.get("Neighbor AS", 0))
            hold = _timer(attrs.get("Hold timer"))
            keepalive = _timer(attrs.get("Keepalive timer"))
            result.setdefault(_vrf(proto), {}).setdefault(remote_as, []).append(
                {
                    "up": _established(proto),
                    "local_as": int(attrs.get("Local AS", 0)),
                    "remote_as": remote_as,
                    "router_id": attrs.get("Neighbor ID", "0.0.0.0"),
                    "local_address": attrs.get("Source address", ""),
                    "routing_table": channel.get("Table", ""),
                    "local_address_configured": "Source address" in attrs,
                    "local_port": 0,
                    "remote_address": address,
                    "remote_port": int(attrs.get("Neighbor port", 179)),
                    "multihop": "multihop" in attrs.get("Session", ""),
                    "multipath": False,
                    "remove_private_as": False,
                    "import_policy": channel.get("Input filter", ""),
                    "export_policy": channel.get("Output filter", ""),
                    "input_messages": -1,
                    "output_messages": -1,
                    "input_updates": _updates(channel, "Import updates", 0),
                    "output_updates": _updates(channel, "Export updates", 4),
                    "messages_queued_out": -1,
                    "connection_state": attrs.get("BGP state", proto.state),
                    "previous_connection_state": "",
                    "last_event": attrs.get("Last error", ""),
                    "suppress_4byte_as": "AS4" not in attrs.get("Session", "AS4"),
                    "local_as_prepend": False,
                    "holdtime": hold,
                    "configured_holdtime": hold,
                    "keepalive": keepalive,
                    "configured_keepalive": keepalive,
                    "active_prefix_count": totals["preferred"],
                    "received_prefix_count": totals["imported"] + totals["filtered"],
                    "accepted_prefix_count": totals["imported"],
                    "suppressed_prefix_count": totals["filtered"],
                    "advertised_prefix_count": totals["exported"],
                    "flap_count": -1,
                }
            )
        return result

    # -- helpers -------------------------------------------------------------------

    def _bgp(self) -> tuple[dict[str, Any], list[Protocol]]:
        status = parse_status(self._bird.checked("show status"))
        now = status.get("now") or datetime.now()
        protocols = parse_protocols(self._bird.checked("show protocols all"), now)
        return status, [
            p for p in protocols if p.proto == "BGP" and "Neighbor address" in p.attributes
        ]

    def _running(self) -> str:
        return self._files.read(self.config_file) or ""

    def _restore(self, previous: str | None) -> None:
        if previous is None:
            self._files.remove(self.config_file)
        else:
            self._files.write(self.config_file, previous, private=True)

    def _base(self) -> str:
        """What a commit starts from: the file, or, while a commit cut off is unsettled,
        the file of before it (what the settling puts back)."""
        found = self._files.read(self._committing)
        if found is None:
            return self._running()
        marker = _marker(found) or {}
        if marker.get("previous") is False:
            return ""
        return self._files.read(self._previous) or ""

    def _cut_off_note(self) -> str | None:
        """What the router's marker says of a commit cut off, if one is there."""
        marker = _marker(self._files.read(self._committing))
        if marker is None:
            return None
        who = _who(marker)
        if not self._owner_gone(marker):
            return (
                f"another commit ({who}) is under way on this router: a commit now is "
                "refused; this diff is against the file of before it"
            )
        return (
            f"a commit ({who}) was cut off before BIRD answered: BIRD runs the file of "
            "before it or the new one; the next commit settles it (the file of before "
            "back, BIRD reconfigured from it); this diff is against the file of before"
        )

    def _owner_gone(self, marker: dict[str, Any]) -> bool:
        """Whether the commit that left ``marker`` has ended: a commit of this process no
        longer under way, or of another process of this machine that no longer runs; of
        another machine, ``settle_after`` seconds old. A marker cut short is gone."""
        try:
            host, pid, started = str(marker["host"]), int(marker["pid"]), float(marker["started"])
        except (KeyError, TypeError, ValueError):
            return True
        if host != socket.gethostname():
            return time.time() - started > self.settle_after
        if pid == os.getpid():
            return marker.get("token") not in _LIVE
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # another user's process, alive
            return False
        return False

    def _settle_cut_off_commit(self) -> None:
        """A commit cut off before BIRD answered (its marker left, its owner gone): put
        the file of before back, check it with BIRD (``configure check``: a bird.conf
        that does not parse leaves BIRD alone, its own revert timer included) and have
        BIRD reconfigure from it (a ``configure`` also ends a ``configure timeout`` the
        cut-off commit may have started), so that what the file says is what BIRD runs
        again. Said in :attr:`interrupted_commit`. A marker whose owner still runs
        refuses the commit."""
        found = self._files.read(self._committing)
        if found is None:
            return
        marker = _marker(found) or {}
        who = _who(marker)
        if not self._owner_gone(marker):
            raise CommitError(
                f"another commit ({who}) is under way on this router; try again once it ends"
            )
        previous = self._files.read(self._previous) if marker.get("previous", True) else None
        self._restore(previous)
        try:
            check = self._bird.command("configure check")
            if check.code != Code.CONFIGURATION_OK:
                raise CommitError(
                    f"a commit ({who}) was cut off, and BIRD's configuration with the file of "
                    f"before it does not check, so BIRD was left as it is: {_error(check.text)}"
                )
            reply = self._bird.command("configure")
        except BirdError as exc:
            raise CommitError(f"settling a commit cut off ({who}): {exc}") from None
        if reply.code not in _TAKEN:
            raise CommitError(
                f"settling a commit cut off ({who}): BIRD could not reconfigure from the "
                f"file of before it: {_error(reply.text)}"
            )
        self._files.remove(self._pending)
        self._files.remove(self._committing)
        self.interrupted_commit = (
            f"a commit ({who}) had been cut off before BIRD answered: the file of before it "
            "was put back and BIRD reconfigured from it, then this commit made"
        )

    def _settle_expired_commit(self) -> None:
        """BIRD reverted an unconfirmed commit by itself: put the file back too."""
        pending = self._files.read(self._pending)
        if pending is None:
            return
        if time.time() < json.loads(pending or "{}").get("deadline", 0):
            return
        self._restore(self._files.read(self._previous))
        self._files.remove(self._pending)


_TAKEN = (Code.RECONFIGURED, Code.RECONFIGURATION_IN_PROGRESS, Code.RECONFIGURATION_QUEUED)


class _Settled(CommitError):  # type: ignore[misc]  # napalm's exceptions are untyped
    """Another run settled this commit's marker while it was under way."""


def _marker(text: str | None) -> dict[str, Any] | None:
    """A commit marker's content (``{}`` for one cut short by a kill), or None if none."""
    if text is None:
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _who(marker: dict[str, Any]) -> str:
    """``started 2026-12-07 23:50:00 UTC, pid 4242 on edge-mgmt``, as far as known."""
    try:
        when = datetime.fromtimestamp(float(marker["started"]), tz=UTC)
    except (KeyError, TypeError, ValueError, OverflowError):
        return "started at an unknown time"
    return f"started {when:%Y-%m-%d %H:%M:%S} UTC, pid {marker.get('pid')} on {marker.get('host')}"


def _ending(text: str) -> str:
    return text if text.endswith("\n") or not text else text + "\n"


def _error(text: str) -> str:
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _neighbor(proto: Protocol) -> str:
    return proto.attributes["Neighbor address"].split("%")[0]


def _established(proto: Protocol) -> bool:
    return proto.attributes.get("BGP state") == "Established"


def _enabled(proto: Protocol) -> bool:
    return not (proto.state == "down" and proto.info in ("", "Disabled"))


def _uptime(proto: Protocol, status: dict[str, Any]) -> int:
    now = status.get("now")
    if proto.since is None or now is None:
        return 0
    return max(0, int((now - proto.since).total_seconds()))


def _vrf(proto: Protocol) -> str:
    tables = {channel.get("Table", "") for channel in proto.channels.values()}
    custom = sorted(t for t in tables if t and not t.startswith("master"))
    return custom[0] if custom else "global"


def _families(proto: Protocol) -> dict[str, dict[str, int]]:
    families = {}
    for name, channel in proto.channels.items():
        family = name.split()[0]
        if family in ("ipv4", "ipv6"):
            families[family] = route_counts(channel)
    return families


def _timer(value: str | None) -> int:
    """``232.305/240`` → 240 (the negotiated value)."""
    if not value or "/" not in value:
        return 0
    try:
        return int(float(value.split("/")[1]))
    except ValueError:
        return 0


def _updates(channel: dict[str, str], key: str, column: int) -> int:
    values = channel.get(key, "").split()
    try:
        return int(values[column])
    except (IndexError, ValueError):
        return 0
