"""NAPALM looks for a platform's driver in a module named ``napalm_<platform>``;
this one makes FRRouting the platform ``frr``. The driver lives in
:mod:`nornir_peering.drivers.frr`."""

from nornir_peering.drivers.frr import FrrDriver

__all__ = ["FrrDriver"]
