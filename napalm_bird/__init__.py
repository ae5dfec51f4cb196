"""NAPALM looks for a platform's driver in a module named ``napalm_<platform>``;
this one makes BIRD 2 the platform ``bird``. The driver lives in
:mod:`nornir_peering.drivers.bird`."""

from nornir_peering.drivers.bird import BirdDriver

__all__ = ["BirdDriver"]
