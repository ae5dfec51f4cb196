"""Errors the CLI turns into one line and an exit code, and the exit codes themselves.

Exit codes are part of the interface (cron jobs and scripts test them): :class:`ExitCode`
lists every one a command ends with, and :data:`EXIT_CODE_MEANINGS` says what each means
(the documentation's table is generated from it).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The exit codes of ``nornir-peering``."""

    OK = 0
    FAILED = 1
    USAGE = 2
    BUSY = 75
    CTRL_C = 130
    SIGTERM = 143


EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "done: every router, AS or PeeringDB type succeeded",
    ExitCode.FAILED: "the job ran and something failed: a sync that could not complete "
    "(the cache left as it was), a router that failed or was refused by a guard, an IRR "
    "list that failed or was held back, an IX-F export that failed, a damaged state file, "
    "a full disk, Redis unreachable; the failures are listed and the rest carried on",
    ExitCode.USAGE: "bad usage or configuration (a setting, an inventory file, an option): "
    "one line naming the file and key; nothing was touched (``state check``: not a state "
    "file, or one newer than this toolkit)",
    ExitCode.BUSY: "busy: another writer held the state file, or another run the routers "
    "that failed, longer than ``--wait`` (``EX_TEMPFAIL`` from sysexits.h: try again later)",
    ExitCode.CTRL_C: "stopped by Ctrl-C (128 + SIGINT): routers under way ended, what was "
    "done is stored and the run recorded as interrupted",
    ExitCode.SIGTERM: "stopped by SIGTERM (128 + SIGTERM: ``timeout``, ``systemctl stop``): "
    "as for Ctrl-C",
}


class PeeringError(Exception):
    """Base class: ``str(error)`` is the one line shown to the user."""

    exit_code: int = ExitCode.FAILED


class ConfigError(PeeringError):
    """A setting, a file or an option is wrong; names the file and key."""

    exit_code = ExitCode.USAGE


class StateBusy(PeeringError):
    """Another process holds the state file for writing."""

    exit_code = ExitCode.BUSY


class SyncFailed(PeeringError):
    """A PeeringDB sync failed; the cache was left as it was."""

    exit_code = ExitCode.FAILED


class StateDamaged(PeeringError):
    """The state file cannot be read: damaged or cut short (``state check`` tells more)."""

    exit_code = ExitCode.FAILED


class DiskFull(PeeringError):
    """A write to the state file found its disk full; nothing half-written is kept."""

    exit_code = ExitCode.FAILED
