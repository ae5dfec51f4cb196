"""Errors the CLI turns into one line and an exit code.

Exit codes are part of the interface (cron jobs and scripts test them):

- 1: the job ran and failed (a sync that could not complete, a router that failed, a
  damaged state file, a full disk);
- 2: bad usage or configuration, nothing was touched;
- 75: the state file is busy (another writer held it longer than ``--wait``);
  ``EX_TEMPFAIL`` from sysexits.h, so a wrapper can retry later.
"""

from __future__ import annotations


class PeeringError(Exception):
    """Base class: ``str(error)`` is the one line shown to the user."""

    exit_code = 1


class ConfigError(PeeringError):
    """A setting, a file or an option is wrong; names the file and key."""

    exit_code = 2


class StateBusy(PeeringError):
    """Another process holds the state file for writing."""

    exit_code = 75


class SyncFailed(PeeringError):
    """A PeeringDB sync failed; the cache was left as it was."""

    exit_code = 1


class StateDamaged(PeeringError):
    """The state file cannot be read: damaged or cut short (``state check`` tells more)."""

    exit_code = 1


class DiskFull(PeeringError):
    """A write to the state file found its disk full; nothing half-written is kept."""

    exit_code = 1
