"""A task of your own: each router's sessions from the inventory, with the state the
last `nornir-peering poll-bgp-sessions` stored, and what needs a look.

    python examples/sessions_report.py /srv/peering/config.yaml
"""

from __future__ import annotations

import sys

from nornir import InitNornir
from nornir.core.task import Result, Task
from nornir_utils.plugins.functions import print_result


def needs_a_look(task: Task) -> Result:
    """Sessions that were not Established at the last poll, or never polled."""
    lines = []
    for session in task.host["sessions"]:
        polled = session["state"]  # None until the first poll
        state = polled["state"] if polled else "never polled"
        if state != "Established":
            lines.append(f"AS{session['remote_asn']} {session['remote_address']}: {state}")
    summary = f"{len(task.host['sessions'])} sessions, {len(lines)} to look at"
    return Result(task.host, result="\n".join([summary, *lines]), changed=False)


def main(config_file: str) -> int:
    nr = InitNornir(config_file=config_file)
    print_result(nr.run(task=needs_a_look))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
