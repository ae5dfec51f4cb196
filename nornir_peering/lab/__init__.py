"""The local lab: a PeeringDB-compatible server and the data it serves."""

DEFAULT_PORT = 8590  # the lab PeeringDB's; its IRR and Redis take the next two
