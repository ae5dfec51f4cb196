"""A dry run on one group of routers: every router's diff, printed by nornir-utils.

    python examples/dry_run.py /srv/peering/config.yaml edge

Nothing is committed; the exit code is 1 when a router failed.
"""

from __future__ import annotations

import sys

from nornir import InitNornir
from nornir.core.filter import F
from nornir_utils.plugins.functions import print_result

from nornir_peering.tasks import deploy_config


def main(config_file: str, group: str) -> int:
    nr = InitNornir(config_file=config_file)
    result = nr.filter(F(groups__contains=group)).run(task=deploy_config, dry_run=True)
    print_result(result)
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
