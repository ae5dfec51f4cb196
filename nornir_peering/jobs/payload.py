"""What goes into a job and comes back out, as JSON (jobs use RQ's JSON serializer: a
job read from Redis is data, never code to unpickle).

A router travels as its NAPALM connection parameters and the few host data keys the
tasks read; a worker rebuilds it as a one-host Nornir object, so that the public tasks
of :mod:`nornir_peering.tasks` run there as they run in a direct run.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from nornir.core import Nornir
from nornir.core.configuration import Config
from nornir.core.inventory import (
    ConnectionOptions,
    Defaults,
    Groups,
    Host,
    Hosts,
    Inventory,
)
from nornir.core.plugins.connections import ConnectionPluginRegister
from nornir.plugins.runners import SerialRunner

from nornir_peering.irr import Fetched, IRRObject, PrefixEntry
from nornir_peering.irr.bgpq import BgpqConfig, Job
from nornir_peering.neighbors import SessionState
from nornir_peering.rendering import deploy_mode, prefix_list_limit
from nornir_peering.secrets.logins import Unrevealed
from nornir_peering.secrets.mask import remember

#: the host data keys the tasks read on a worker (deploy_rendered, get_bgp_state)
HOST_DATA = ("owned_prefix", "local_as")
#: what they read of each session (the guard counts them, polling matches them)
SESSION_KEYS = ("vrf", "remote_address", "remote_asn", "max_prefix")


def router(host: Host) -> dict[str, Any]:
    """``host`` as a job carries it: NAPALM's connection parameters (the inventory's,
    groups and defaults merged), the data keys of :data:`HOST_DATA`, its deploy mode (its
    own data's), its list limit (resolved) and its sessions' :data:`SESSION_KEYS`. A
    login password given as a reference travels as the reference, which the worker
    reveals from its own environment or files."""
    params = host.get_connection_parameters("napalm")
    ref = params.password.ref if isinstance(params.password, Unrevealed) else None
    data = {key: host.get(key) for key in HOST_DATA if host.get(key) is not None}
    data["deploy"] = deploy_mode(host)  # the router's own, never a group's
    data["prefix_list_limit"] = prefix_list_limit(host)  # the settings' too, resolved
    data["sessions"] = [
        {key: session.get(key) for key in SESSION_KEYS} for session in host["sessions"]
    ]
    return {
        "name": host.name,
        "hostname": params.hostname,
        "username": params.username,
        "password": None if ref else params.password,
        "password_ref": ref,
        "port": params.port,
        "platform": params.platform,
        "host_platform": host.platform,
        "extras": params.extras or {},
        "data": data,
    }


def one_host(payload: dict[str, Any]) -> Nornir:
    """A Nornir object holding the router of a job, run serially (one host)."""
    ref = payload.get("password_ref")
    password = Unrevealed(ref) if ref else payload["password"]
    if isinstance(password, str) and not ref:
        remember(password)  # a login written in clear: masked in the worker's logs too
    napalm = ConnectionOptions(
        hostname=payload["hostname"],
        username=payload["username"],
        password=password,
        port=payload["port"],
        platform=payload["platform"],
        extras=payload["extras"],
    )
    host = Host(
        payload["name"],
        hostname=payload["hostname"],
        username=payload["username"],
        password=password,
        port=payload["port"],
        platform=payload["host_platform"],
        data=dict(payload["data"]),
        connection_options={"napalm": napalm},
    )
    inventory = Inventory(hosts=Hosts({host.name: host}), groups=Groups(), defaults=Defaults())
    ConnectionPluginRegister.auto_register()  # as InitNornir does: napalm, from its entry point
    return Nornir(inventory=inventory, runner=SerialRunner(), config=Config())


def session_state(found: dict[str, Any]) -> SessionState:
    """A polled session back from a worker."""
    names = {f.name for f in fields(SessionState)}
    state = SessionState(**{k: v for k, v in found.items() if k in names})
    if isinstance(state.last_established, str):
        state.last_established = datetime.fromisoformat(state.last_established)
    return state


def session_json(state: SessionState) -> dict[str, Any]:
    """A polled session as a worker sends it."""
    found = asdict(state)
    if isinstance(state.last_established, datetime):
        found["last_established"] = state.last_established.isoformat()
    return found


def bgpq_job(job: Job) -> dict[str, Any]:
    """One bgpq run to make, as a job carries it."""
    return {
        "asn": job.asn,
        "object": [job.object.name, job.object.source],
        "family": job.family,
        "host": job.host,
        "sources": list(job.sources) if job.sources is not None else None,
        "aggregate": job.aggregate,
    }


def bgpq_job_from(found: dict[str, Any]) -> Job:
    """The bgpq run of :func:`bgpq_job`."""
    sources = found["sources"]
    return Job(
        int(found["asn"]),
        IRRObject(*found["object"]),
        int(found["family"]),
        found["host"],
        tuple(sources) if sources is not None else None,
        found["aggregate"],
    )


def bgpq_config(config: BgpqConfig) -> dict[str, Any]:
    """How to run bgpq, as a job carries it."""
    return {**asdict(config), "sources": list(config.sources)}


def bgpq_config_from(found: dict[str, Any]) -> BgpqConfig:
    """The :class:`BgpqConfig` of :func:`bgpq_config`."""
    return BgpqConfig(**{**found, "sources": tuple(found["sources"])})


def fetched(answer: Fetched) -> dict[str, Any]:
    """One bgpq answer, as a worker sends it back."""
    return {
        "asn": answer.asn,
        "object": [answer.object.name, answer.object.source],
        "family": answer.family,
        "prefixes": [list(entry) for entry in answer.prefixes],
        "asns": list(answer.asns),
        "program": answer.program,
        "host": answer.host,
        "sources": list(answer.sources),
        "command": list(answer.command),
        "fetched_at": answer.fetched_at.isoformat() if answer.fetched_at else None,
        "error": answer.error,
        "notes": list(answer.notes),
        "given_up": answer.given_up,
    }


def fetched_from(found: dict[str, Any]) -> Fetched:
    """The :class:`Fetched` of :func:`fetched`.

    >>> answer = Fetched(65001, IRRObject("AS-FOO", "RIPE"), 4,
    ...                  (PrefixEntry("192.0.2.0/24", False, 24, 25),), program="bgpq4 1.9")
    >>> fetched_from(fetched(answer)) == answer
    True
    """
    when = found["fetched_at"]
    return Fetched(
        asn=int(found["asn"]),
        object=IRRObject(*found["object"]),
        family=int(found["family"]),
        prefixes=tuple(PrefixEntry(*entry) for entry in found["prefixes"]),
        asns=tuple(found["asns"]),
        program=found["program"],
        host=found["host"],
        sources=tuple(found["sources"]),
        command=tuple(found["command"]),
        fetched_at=datetime.fromisoformat(when) if when else None,
        error=found["error"],
        notes=tuple(found["notes"]),
        given_up=found.get("given_up") is True,
    )
