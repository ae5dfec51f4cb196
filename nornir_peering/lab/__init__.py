"""The local lab: a PeeringDB-compatible server and the data it serves."""
