"""Commit to one group's BIRD routers with an automatic revert: each router is
confirmed once it still answers after its commit, and reverts by itself otherwise.

    python examples/commit_with_revert.py /srv/peering/config.yaml edge 120
"""

from __future__ import annotations

import sys

from nornir import InitNornir
from nornir.core.filter import F
from nornir_utils.plugins.functions import print_result

from nornir_peering.tasks import deploy_config


def main(config_file: str, group: str, seconds: str) -> int:
    nr = InitNornir(config_file=config_file)
    routers = nr.filter(F(groups__contains=group) & F(platform="bird"))
    result = routers.run(task=deploy_config, dry_run=False, revert_in=int(seconds))
    print_result(result)
    for name, outcome in sorted(result.items()):
        print(
            f"{name}: {'committed' if getattr(outcome[0], 'committed', False) else 'not committed'}"
        )
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
