"""``doctor``: what a first run needs, checked one by one, with what to do about each failure.

The checks, in order: the configuration, the state file, the inventory, PeeringDB (and
its API key), the bgpq program, the IRR server, every selected router (NAPALM's
``get_facts``, all at once, each within its time limit) and, when background jobs are
configured, Redis. A check that needs one that failed is skipped, saying so. Each is a
:class:`Check`; :func:`diagnose` returns them all as a :class:`Diagnosis`, which
:func:`~nornir_peering.report.doctor_report` prints.

For example::

    found = diagnose(None, {}, Selection(limit=("edge1",)))
    [check.name for check in found.failed]     # ['router edge1']
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from errno import EEXIST, ENOTDIR
from pathlib import Path
from typing import Any

import httpx
from nornir.core import Nornir
from nornir.core.task import Result, Task

from nornir_peering.errors import PeeringError, StateBusy
from nornir_peering.interrupt import check_time
from nornir_peering.inventory import Selection
from nornir_peering.irr.bgpq import find_program, parse_sources
from nornir_peering.irr.whois import WhoisError, object_exists
from nornir_peering.peeringdb.deadline import Deadline
from nornir_peering.peeringdb.fetch import USER_AGENT
from nornir_peering.secrets import mask
from nornir_peering.settings import PeeringSettings, Settings, load_settings

OK, FAILED, SKIPPED = "ok", "failed", "skipped"
NETWORK_TIMEOUT = 15.0  # seconds, at most, for PeeringDB's and the IRR's answer
# the checks after the configuration's, skipped when it cannot be read
AFTER_CONFIG = ("state", "inventory", "peeringdb", "bgpq", "irr", "routers", "redis")


@dataclass(frozen=True)
class Check:
    """One check: its name, ``ok``, ``failed`` or ``skipped``, what it found (for a
    skipped one: why), and for a failure what to do about it."""

    name: str
    status: str
    detail: str
    advice: str = ""


def passed(name: str, detail: str) -> Check:
    """A check that passed."""
    return Check(name, OK, mask(detail))


def failed(name: str, detail: str, advice: str) -> Check:
    """A check that failed, and what to do."""
    return Check(name, FAILED, mask(detail), advice)


def skipped(name: str, why: str) -> Check:
    """A check not made, and why."""
    return Check(name, SKIPPED, why)


@dataclass(frozen=True)
class Diagnosis:
    """Every check, in order; ``config_read`` is false when the configuration could not
    be read (then the others are skipped)."""

    checks: tuple[Check, ...]
    config_read: bool = True

    @property
    def failed(self) -> list[Check]:
        """The checks that failed."""
        return [check for check in self.checks if check.status == FAILED]

    @property
    def exit_code(self) -> int:
        """0 when nothing failed; 2 when the configuration could not be read; else 1."""
        if not self.failed:
            return 0
        return 1 if self.config_read else 2

    def as_dict(self) -> dict[str, Any]:
        """The diagnosis as ``doctor --json`` prints it."""
        return {
            "ok": not self.failed,
            "exit_code": self.exit_code,
            "checks": [asdict(check) for check in self.checks],
        }


def diagnose(
    config_file: Path | None,
    overrides: Mapping[str, Any],
    selection: Selection,
    *,
    insecure_redis: bool = False,
) -> Diagnosis:
    """Every check, on the settings ``config_file`` and ``overrides`` (``state``,
    ``lock_wait``) give and the routers ``selection`` picks."""
    try:
        settings = load_settings(config_file, overrides=overrides)
    except PeeringError as exc:
        advice = (
            "fix what the message names (nornir-peering init DIR --asn ASN makes a working project)"
        )
        checks = [failed("config", str(exc), advice)]
        checks += [skipped(name, "the configuration could not be read") for name in AFTER_CONFIG]
        return Diagnosis(tuple(checks), config_read=False)
    peering = settings.peering
    checks = [check_config(settings), check_state(peering)]
    nr = None
    if checks[-1].status == OK:
        nr, found = check_inventory(settings)
        checks.append(found)
    else:
        checks.append(skipped("inventory", "it is read with the state file, which failed"))
    local_as = (nr.inventory.defaults.data.get("local_as") if nr else None) or {}
    asn = int(local_as["asn"]) if local_as.get("asn") else None
    checks += [check_peeringdb(peering, asn), check_bgpq(peering), check_irr(peering, asn)]
    if nr is None:
        checks.append(skipped("routers", "the inventory did not load"))
    else:
        checks += check_routers(nr, selection)
    checks.append(check_redis(peering, insecure=insecure_redis))
    return Diagnosis(tuple(checks))


def check_config(settings: Settings) -> Check:
    """The configuration file was read (its settings are valid: they loaded)."""
    if settings.config_file is None:
        return failed(
            "config",
            f"no config.yaml in {Path.cwd()}: only the built-in settings",
            "run where the project's config.yaml is, or give --config PATH "
            "(nornir-peering init DIR --asn ASN makes a project)",
        )
    return passed("config", f"{settings.config_file}: valid")


def check_state(peering: PeeringSettings) -> Check:
    """The state file's folder exists or can be made and takes a file, the writer lock
    comes within ``lock_wait``, and DuckDB opens the file (made now when missing)."""
    from nornir_peering.store import open_state

    path = peering.state
    where = "set state (config.yaml user_defined.peering.state, NORNIR_PEERING_STATE or --state)"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent, prefix=".doctor-"):
            pass
    except OSError as exc:
        why = "a file is in the way" if exc.errno in (EEXIST, ENOTDIR) else exc.strerror or exc
        return failed(
            "state",
            f"{path.parent}: cannot make the folder or write in it: {why}",
            f"give this user a folder it may write in, or {where} to one",
        )
    try:
        with open_state(path, write=True, wait=peering.lock_wait) as db:
            [(last,)] = db.execute("SELECT max(finished_at) FROM sync_runs").fetchall()
    except StateBusy as exc:
        return failed(
            "state",
            str(exc),
            "another nornir-peering run holds it (the pid named): let it end, or stop it; "
            "a lock held by a process that has gone is freed at once",
        )
    except (PeeringError, OSError) as exc:
        return failed(
            "state",
            str(exc),
            "nornir-peering state check tells more; state rebuild makes it anew "
            f"(it is only a cache), or {where} to another file",
        )
    synced = f"PeeringDB last synced {last:%Y-%m-%d %H:%M} UTC" if last else "never synced"
    return passed("state", f"{path}: writable, {synced}")


def check_inventory(settings: Settings) -> tuple[Nornir | None, Check]:
    """The inventory loads (with the PeeringInventory plugin and the state file): the
    Nornir object and the check, or None and the failure."""
    from nornir_peering.runbooks.fleet import init_nornir, problems

    try:
        nr = init_nornir(settings)
        drift = problems(nr)
    except Exception as exc:  # a plugin's or a file's error, whatever the library raises
        said = str(exc).strip() or type(exc).__name__
        advice = (
            "fix the file and key the message names; nornir-peering inventory reads the same files"
        )
        if said.endswith("file not found"):
            advice = (
                "run where the project is (its config.yaml names the inventory folder: "
                "inventory.options.inventory_dir), or make one: nornir-peering init DIR "
                "--asn ASN"
            )
        return None, failed("inventory", said, advice)
    hosts = nr.inventory.hosts
    sessions = sum(len(host.get("sessions") or ()) for host in hosts.values())
    detail = f"{len(hosts)} routers, {sessions} sessions"
    if drift:
        detail += f"; {len(drift)} drift problems (nornir-peering inventory --problems)"
    return nr, passed("inventory", detail)


def check_peeringdb(peering: PeeringSettings, asn: int | None) -> Check:
    """PeeringDB's API answers (our AS's network, or any one), and takes the API key
    when one is set."""
    url = f"{peering.peeringdb_url}/net"
    where = "peeringdb_url (config.yaml, PEERINGDB_URL)"
    try:
        key = peering.peeringdb_key()
    except PeeringError as exc:
        return failed(
            "peeringdb", str(exc), "set the variable or file api_key names, or remove api_key"
        )
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if key:
        headers["Authorization"] = f"Api-Key {key}"
    query = {"asn": str(asn), "depth": "0"} if asn else {"limit": "1", "depth": "0"}
    limit = min(peering.timeout, NETWORK_TIMEOUT)
    deadline = Deadline(limit)  # the whole answer within it, however slowly it comes
    try:
        with deadline, httpx.Client(timeout=limit, follow_redirects=True) as client:
            reply = client.get(
                url, params=query, headers=headers, extensions={"trace": deadline.trace}
            )
            reply.read()
    except httpx.HTTPError as exc:
        said = f"no whole answer within {limit:g} s" if deadline.ended else exc
        return failed(
            "peeringdb",
            f"{url}: {said or type(exc).__name__}",
            f"check {where} and that this machine reaches it (a proxy, a firewall); "
            "for the lab's, nornir-peering lab up",
        )
    if reply.status_code in (401, 403) and key:
        return failed(
            "peeringdb",
            f"{url}: the API key was refused ({reply.status_code} {reply.reason_phrase})",
            "check api_key (config.yaml, PEERINGDB_API_KEY): a key of your PeeringDB "
            "account (a read-only one is enough), or remove it to read public data only",
        )
    if reply.status_code == 429:
        return failed(
            "peeringdb",
            f"{url}: too many requests (429)",
            "PeeringDB limits anonymous queries: wait a minute, or set api_key",
        )
    try:
        reply.raise_for_status()
        rows = reply.json()["data"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        return failed(
            "peeringdb",
            f"{url}: not a PeeringDB API answer ({exc})",
            f"check {where}: PeeringDB's API ends in /api",
        )
    detail = f"{peering.peeringdb_url} answers" + (
        ", API key accepted" if key else " (anonymously: no api_key)"
    )
    if asn and rows:
        detail += f"; AS{asn} is {rows[0].get('name')!r}"
    elif asn:
        detail += f"; AS{asn} is not in PeeringDB"
    return passed("peeringdb", detail)


def check_bgpq(peering: PeeringSettings) -> Check:
    """The configured bgpq program (``bgpq``) is there, and says what it is."""
    try:
        program = find_program(peering.bgpq)
    except PeeringError as exc:
        return failed(
            "bgpq",
            str(exc),
            "install bgpq4 (apt install bgpq4), or set bgpq (config.yaml, "
            "NORNIR_PEERING_BGPQ) to the path of bgpq4 or bgpq3",
        )
    return passed("bgpq", f"{program.label} at {program.path}")


def check_irr(peering: PeeringSettings, asn: int | None) -> Check:
    """The IRR server (``irr_host``) answers a query for our AS's aut-num, in the
    configured sources."""
    host = peering.irr_host
    key = f"AS{asn or 0}"
    advice = (
        "check irr_host (config.yaml, NORNIR_PEERING_IRR_HOST): host[:port] of an IRRd "
        "whois server (whois.radb.net, rr.ntt.net) this machine reaches on its port "
        "(43 unless given), and irr_sources: sources that server has"
    )
    try:
        found = object_exists(
            host,
            key,
            object_class="aut-num",
            sources=parse_sources(peering.irr_sources),
            timeout=min(peering.irr_timeout, NETWORK_TIMEOUT),
        )
    except (WhoisError, PeeringError) as exc:
        return failed("irr", str(exc), advice)
    if asn is None:
        return passed("irr", f"{host} answers")
    said = f"{key} is registered" if found else f"no aut-num {key} registered"
    return passed("irr", f"{host} answers ({said})")


def reach_router(task: Task) -> Result:
    """The router's facts (NAPALM ``get_facts``), its login revealed first if a reference."""
    from nornir_peering.secrets.logins import reveal_login

    reveal_login(task.host)
    device = task.host.get_connection("napalm", task.nornir.config)
    check_time("asked for its facts")
    return Result(task.host, result=device.get_facts())


def check_routers(nr: Nornir, selection: Selection) -> list[Check]:
    """Every selected router answers ``get_facts`` through its NAPALM driver: all at
    once, each within its time limit (``router_timeout``); a check per router."""
    from nornir_peering.runbooks.bounded import run_bounded
    from nornir_peering.runbooks.fleet import failure, selected
    from nornir_peering.store.runs import RunItem

    if not nr.inventory.hosts:
        return [
            failed(
                "routers",
                "the inventory has no router",
                "describe your routers in inventory/hosts.yaml (name, hostname, platform, "
                "connection_options)",
            )
        ]
    try:
        picked = selected(nr, selection)
    except PeeringError as exc:
        return [failed("routers", str(exc), "nornir-peering inventory lists the routers")]

    def describe(name: str, first: Result) -> RunItem:
        return RunItem(name, "unreachable" if first.failed else "reached")

    results = run_bounded(picked, "doctor", reach_router, describe)
    checks = []
    for name in sorted(results):
        host, first = picked.inventory.hosts[name], results[name][0]
        where = f"{host.platform} at {host.hostname}"
        if first.failed:
            why = failure(first).removeprefix(f"{host.hostname}: ")
            checks.append(failed(f"router {name}", f"{where}: {why}", _router_advice(host)))
            continue
        facts = first.result
        checks.append(
            passed(
                f"router {name}",
                f"{where}: {facts.get('vendor')} {facts.get('os_version')}, "
                f"hostname {facts.get('hostname')}",
            )
        )
    return checks


def _router_advice(host: Any) -> str:
    """What to look at when ``host`` did not answer, by platform."""
    if host.platform == "bird":
        return (
            "is BIRD running there, its control socket where optional_args.socket in "
            "hosts.yaml says (and, over SSH, the login)? For the lab's: nornir-peering lab up"
        )
    if host.platform == "frr":
        return (
            "is FRR's bgpd running there, its vty socket in optional_args.vty_socket of "
            "hosts.yaml (and, over SSH, the login)? For the lab's: nornir-peering lab up"
        )
    return (
        f"check that the router answers NAPALM's {host.platform} driver from here: its "
        "hostname and port, the login (username, password), the API or NETCONF service "
        "the driver uses switched on (hosts.yaml, connection_options.napalm)"
    )


def check_redis(peering: PeeringSettings, *, insecure: bool = False) -> Check:
    """When background jobs are configured (a job key, a Redis password, or a redis_url
    of its own): the job key reads, and Redis answers a PING with the credentials and TLS
    the settings give."""
    from nornir_peering.jobs.access import Access, redacted

    default = PeeringSettings.model_fields["redis_url"].default
    if peering.job_key is None and peering.redis_password is None and peering.redis_url == default:
        return skipped(
            "redis", "background jobs (--tasks) are not configured: no job_key nor redis_url"
        )
    try:
        access = Access.of(peering, insecure=insecure)
        access.sealer()
        access.connect().close()
    except PeeringError as exc:
        return failed("redis", str(exc), _redis_advice(str(exc)))
    return passed("redis", f"{redacted(access.redis_url)} answers; the job key reads")


def _redis_advice(said: str) -> str:
    """What to do, by what Redis or the settings said."""
    if any(word in said for word in ("WRONGPASS", "NOAUTH", "invalid username-password")):
        return (
            "Redis refused the login: redis_password and the user in redis_url must be "
            "an ACL user of that Redis (ACL LIST on the server)"
        )
    if any(word in said for word in ("SSL", "certificate", "TLS")):
        return (
            "TLS failed: redis_tls_ca must be the CA that signed Redis's certificate, "
            "and redis_url name the address on it"
        )
    if "job key" in said or "job_key" in said:
        return "set job_key ({env: NAME} or {file: PATH}; nornir-peering jobs key makes one)"
    return (
        "is Redis running at redis_url, and reachable from here? Check redis_url "
        "(config.yaml, NORNIR_PEERING_REDIS_URL); for the lab's, nornir-peering lab up"
    )
