from nornir_peering.cli import main

main()
