"""``python -m nornir_peering``: the ``nornir-peering`` command."""

from nornir_peering.cli import main

main()
