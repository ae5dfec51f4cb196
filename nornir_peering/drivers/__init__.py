"""NAPALM drivers the ecosystem lacks: BIRD 2 (platform ``bird``)."""
