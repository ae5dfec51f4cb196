"""What each platform's NAPALM commit does that a deploy must allow for (NAPALM 5.2, read in
its drivers' code: ``napalm/junos/junos.py``, ``napalm/eos/eos.py``,
``napalm/iosxr/iosxr.py`` with ``napalm/pyIOSXR/iosxr.py``, ``napalm/iosxr_netconf``).

- **Junos** locks the shared candidate only while it loads and commits, unless the
  connection is opened with ``config_lock``: otherwise a failed lock is followed by a
  ``rollback 0`` on someone else's uncommitted changes, and the confirm after ``commit
  confirmed`` runs unlocked. A deploy opens its connection with ``config_lock`` (the
  lock is taken at ``open()``, refused while another user has uncommitted changes, and
  released at ``close()``): :data:`DEPLOY_OPTIONAL_ARGS`.
- **EOS** ends every commit with ``write memory``: unsaved changes someone made on the
  router would be saved with ours. A commit is refused while the running and startup
  configurations differ (:func:`unsaved_changes`).
- **IOS-XR**: pyIOSXR answers a commit with nothing loaded with ``CommitError("The target
  configuration buffer is empty.")``, so an empty diff is never committed there
  (:data:`NO_EMPTY_COMMIT`), ``--no-commit-check`` or not. On error 0x41866c00 (another
  session committed since ours began) it loads ``show configuration merge`` whole and
  commits it again, which drops our removals: a deploy holds the configuration lock
  from open (``config_lock``), so that no other session commits meanwhile.
- **Commit with an automatic revert** (``revert_in``): Junos in whole minutes; EOS as a
  commit timer NAPALM formats as a time of day (``time.strftime("%H:%M:%S")``), which wraps
  at a day; the IOS-XR drivers raise ``NotImplementedError``; FRR has none.
"""

from __future__ import annotations

import difflib
from typing import Any

# connection options a deploy opens the router's NAPALM connection with, over the host's
DEPLOY_OPTIONAL_ARGS: dict[str, dict[str, Any]] = {
    "junos": {"config_lock": True, "lock_disable": False},
    # pyIOSXR retries a commit refused because another session committed meanwhile by
    # loading 'show configuration merge' whole and committing it: our removals would be
    # lost and their change overwritten. Locked from open, no other session commits.
    "iosxr": {"config_lock": True},
    "iosxr_netconf": {"config_lock": True},
}

# platforms whose driver fails a commit that changes nothing
NO_EMPTY_COMMIT = frozenset({"iosxr", "iosxr_netconf"})

# platforms whose driver saves the running configuration to startup with every commit
SAVES_RUNNING = frozenset({"eos"})

EOS_DAY = 86_400

_NO_REVERT = {
    "iosxr": "NAPALM's IOS-XR driver cannot commit with an automatic revert",
    "iosxr_netconf": "NAPALM's IOS-XR NETCONF driver cannot commit with an automatic revert",
    "frr": "FRR has no commit with an automatic revert",
}


def commit_confirm_refusal(platform: str, seconds: int) -> str | None:
    """Why ``--confirm seconds`` cannot work on ``platform``, or None when it can.

    >>> commit_confirm_refusal("eos", 86_400)
    '--confirm 86400: NAPALM gives EOS the commit timer as a time of day (hh:mm:ss), which \
wraps at 24 hours: give less than 86400'
    """
    if platform in _NO_REVERT:
        return f"--confirm: {_NO_REVERT[platform]} (platform {platform}); commit without it"
    if platform == "junos" and seconds % 60:
        return f"--confirm {seconds}: Junos reverts after whole minutes; give a multiple of 60"
    if platform == "eos" and seconds >= EOS_DAY:
        return (
            f"--confirm {seconds}: NAPALM gives EOS the commit timer as a time of day "
            f"(hh:mm:ss), which wraps at 24 hours: give less than {EOS_DAY}"
        )
    return None


def unsaved_changes(startup: str, running: str) -> list[str]:
    """The lines in which the running configuration differs from the startup one, comments
    (``!``) and blank lines aside: what a commit that saves the running configuration
    would save besides our change.

    >>> unsaved_changes("! saved\\nhostname r1\\n", "! Command: show run\\nhostname r1\\n")
    []
    >>> unsaved_changes("hostname r1\\n", "hostname r1\\ninterface Ethernet2\\n")
    ['+interface Ethernet2']
    """
    diff = difflib.unified_diff(_lines(startup), _lines(running), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def unsaved_refusal(startup: str, running: str) -> str | None:
    """Why a commit that saves the running configuration (EOS) is refused, or None."""
    changes = unsaved_changes(startup, running)
    if not changes:
        return None
    shown = ", ".join(repr(c) for c in changes[:3]) + (", ..." if len(changes) > 3 else "")
    return (
        f"the running configuration has {len(changes)} line(s) not saved to startup-config "
        f"({shown}); NAPALM's EOS commit saves it (write memory), and would save them too: "
        "save or discard them first, or --force saves them with the commit"
    )


def _lines(config: str) -> list[str]:
    return [
        line.rstrip()
        for line in config.splitlines()
        if line.strip() and not line.lstrip().startswith("!") and line.strip() != "end"
    ]
