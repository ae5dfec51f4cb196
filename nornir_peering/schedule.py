"""The five scheduled tasks, as crontab lines or systemd units.

The cadence is Peering Manager's documented one: the PeeringDB sync nightly at 02:30,
configuration deployment hourly at :55, polling hourly, the IX check daily at
midnight, prefix collection at 04:30 (after the sync). Each task runs the command's
own name with the options that make it do Peering Manager's job
(``configure-routers --commit``), from the project directory, so ``config.yaml``
there applies.

>>> print(crontab("/usr/bin/nornir-peering", "/srv/peering").splitlines()[1])
30 2 * * * cd /srv/peering && /usr/bin/nornir-peering peeringdb-sync
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Task:
    """One scheduled task: its unit name, what it runs, when."""

    name: str
    arguments: str
    cron: str  # minute hour day month weekday
    calendar: str  # systemd OnCalendar=
    description: str
    after: str = ""  # the task whose service this one's is ordered after


TASKS = (
    Task("peeringdb-sync", "peeringdb-sync", "30 2 * * *", "*-*-* 02:30:00",
         "the local PeeringDB cache"),
    Task("configure-routers", "configure-routers --commit", "55 * * * *", "*-*-* *:55:00",
         "render and deploy router configuration"),
    Task("poll-bgp-sessions", "poll-bgp-sessions", "0 * * * *", "*-*-* *:00:00",
         "poll BGP session state"),
    Task("check-ix-sessions", "check-ix-sessions", "0 0 * * *", "*-*-* 00:00:00",
         "peers still missing at our IXes"),
    Task("grab-prefixes", "grab-prefixes", "30 4 * * *", "*-*-* 04:30:00",
         "IRR prefix lists", after="peeringdb-sync"),
)  # fmt: skip

UNIT_PREFIX = "nornir-peering-"


def crontab(command: str, directory: str, user: str | None = None) -> str:
    """The crontab lines of every task (with ``user``: /etc/cron.d's form, a user field)."""
    lines = ["# nornir-peering: the scheduled tasks (Peering Manager's cadence)"]
    for task in TASKS:
        who = f" {user}" if user else ""
        lines.append(
            f"{task.cron}{who} cd {shlex.quote(directory)} && {shlex.quote(command)} "
            f"{task.arguments}"
        )
    return "\n".join(lines) + "\n"


def systemd_units(command: str, directory: str, user: str | None = None) -> dict[str, str]:
    """A service and a timer per task, and the service of the background workers
    (``--tasks``; not enabled unless the operator enables it), by file name."""
    units: dict[str, str] = {}
    for task in TASKS:
        unit = UNIT_PREFIX + task.name
        after = f"After={UNIT_PREFIX}{task.after}.service\n" if task.after else ""
        units[f"{unit}.service"] = (
            "[Unit]\n"
            f"Description=nornir-peering {task.name}: {task.description}\n"
            "Wants=network-online.target\n"
            f"After=network-online.target\n{after}"
            "\n[Service]\n"
            "Type=oneshot\n"
            + (f"User={user}\n" if user else "")
            + f"WorkingDirectory={directory}\n"
            f"ExecStart={command} {task.arguments}\n"
        )
        units[f"{unit}.timer"] = (
            "[Unit]\n"
            f"Description=nornir-peering {task.name} on schedule\n"
            "\n[Timer]\n"
            f"OnCalendar={task.calendar}\n"
            "Persistent=true\n"
            f"Unit={unit}.service\n"
            "\n[Install]\n"
            "WantedBy=timers.target\n"
        )
    units[f"{UNIT_PREFIX}worker.service"] = (
        "[Unit]\n"
        "Description=nornir-peering worker: the background jobs of --tasks\n"
        "Wants=network-online.target\n"
        "After=network-online.target redis-server.service\n"
        "\n[Service]\n" + (f"User={user}\n" if user else "") + f"WorkingDirectory={directory}\n"
        f"ExecStart={command} worker --workers 4\n"
        "Restart=on-failure\n"
        "KillSignal=SIGTERM\n"
        "TimeoutStopSec=15min\n"
        "\n[Install]\n"
        "WantedBy=multi-user.target\n"
    )
    return units


def write_units(folder: Path, units: dict[str, str]) -> list[Path]:
    """Write ``units`` into ``folder``; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in units.items():
        path = folder / name
        path.write_text(text)
        written.append(path)
    return written
