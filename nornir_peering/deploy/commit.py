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
  router would be saved with ours. A commit is refused while ``show running-config
  diffs`` shows any (:func:`unsaved_refusal`): EOS's own comparison, which a saved router
  passes whatever its release writes differently.
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


# what EOS itself says of the running configuration against startup-config: nothing
# when they are the same (Arista's ANTA, VerifyRunningConfigDiffs, reads it so)
UNSAVED_COMMAND = "show running-config diffs"


def unsaved_refusal(diffs: str) -> str | None:
    """Why a commit that saves the running configuration (EOS) is refused, or None:
    ``diffs`` is the router's ``show running-config diffs``.

    >>> unsaved_refusal("")
    >>> unsaved_refusal("--- flash:/startup-config\\n+++ system:/running-config\\n"
    ...                 "@@ -1 +1,2 @@\\n hostname r1\\n+interface Ethernet2\\n")[:53]
    'the running configuration has 1 line(s) not saved to '
    """
    changes = [
        line
        for line in diffs.splitlines()
        if line[:1] in "+-" and line[:3] not in ("+++", "---") and line[1:].strip()
    ]
    if not changes:
        return None
    shown = ", ".join(repr(c) for c in changes[:3]) + (", ..." if len(changes) > 3 else "")
    return (
        f"the running configuration has {len(changes)} line(s) not saved to startup-config "
        f"({shown}); NAPALM's EOS commit saves it (write memory), and would save them too: "
        "save or discard them first, or --force saves them with the commit"
    )
