"""Ask bgpq4 (or bgpq3) for one object's prefix list or AS-path list, and many at once.

One run is one object, one family: ``4`` or ``6`` for a prefix list, ``0`` for
the AS-path list (the ASNs the object expands to). The command is::

    bgpq4 -h HOST -j -l NAME -p [-S SOURCES] -4|-6|-t [-A] OBJECT
    bgpq3 -h HOST -j -l NAME -p -3 [-S SOURCES] -4|-6|-t [-A] OBJECT

- ``-j``: JSON, in both: ``{"NAME": [{"prefix": "12.1.0.0\\/23", "exact": false,
  "greater-equal": 24, "less-equal": 24}, ...]}``, or ``{"NAME": [65001, 65200]}``
  for ``-t``;
- ``-t`` for the AS-path list: "generate as-sets for ... JSON formats" (man
  bgpq4), the sorted member ASNs. ``-f <asn>`` prints the very same JSON in both
  programs, but needs an ASN that means nothing here;
- ``-p``, always: bgpq4 and bgpq3 drop private ASNs otherwise (bgpq4 with
  ``ERROR:Invalid AS number``, bgpq3 silently), and the lab's are all private;
- ``-3``, bgpq3 only (bgpq4 refuses it): without it bgpq3 writes every 32-bit
  ASN as 23456 in ``-t`` lists;
- ``-A`` when aggregating (prefix lists only): ``12.1.0.0/24`` and
  ``12.1.1.0/24`` become ``12.1.0.0/23`` with ``greater-equal``/``less-equal`` 24;
- ``-S``: the configured sources (``irr_sources``), in their order.

Sources of an object (``RIPE::AS-FOO``): bgpq4 takes ``RIPE::AS-FOO`` itself: it
selects RIPE (``!sRIPE``) to expand that set, then selects the configured
sources again for the route objects. bgpq3 does not know the form (``ERROR:Unable
to parse prefix 'RIPE::AS-TWOPORTS'``, exit 1), nor does bgpq4 for an ASN
(``RIPE::AS65002``: ``Invalid symbol in AS number``), so then the object's source
replaces the configured ones: ``-S RIPE AS-FOO``, the set and its routes from
RIPE only.

What counts as a failure (:attr:`Fetched.error` set, no prefixes kept): a run
over ``timeout`` (the child is killed), a non-zero exit (a host that refuses
connections: ``ERROR:All attempts to connect 127.0.0.1 failed, last error:
Connection refused``, exit 1; an unknown ``-S`` source), output that is not
the JSON expected, and a stderr message other than the harmless ones
(:data:`HARMLESS`). The last matters: when IRRd answers ``F`` to a query, bgpq4
says ``ERROR:Error expanding ...``, goes on and exits 0; an unknown source in
``NOPE::AS-FOO`` that way gives the set from every source. bgpq's stderr lines
are kept as :attr:`Fetched.notes` in any case.

A dead IRR server costs a timeout per run: hours for a few hundred ASes. So
:func:`fetch_all` gives a server up once ``give_up_after`` runs to it in a row timed
out (:class:`Breaker`): its remaining runs fail at once, unmade
(:attr:`Fetched.given_up`), and keep their stored lists as any failure does. Runs
already under way go on, and one that gets an answer takes the server back.

An empty set and a missing one look the same to bgpq: IRRd answers ``D`` ("key
not found") to ``!i`` for both (IRRd 4 does for a set without members), and bgpq4
and bgpq3 print an empty list and exit 0 for both, with nothing on stderr. So
when every list of a set comes back empty, :func:`fetch_all` asks the IRR server
itself whether the set exists (:mod:`.whois`): a missing set fails (a typo in
PeeringDB must not become a filter that drops every route), an existing one is
a success with no prefixes, and so is an ``AS<n>`` without route objects.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from ipaddress import ip_network
from typing import TYPE_CHECKING, Any

from nornir_peering.errors import ConfigError
from nornir_peering.irr import Fetched, IRRObject, PrefixEntry
from nornir_peering.irr.whois import WhoisError, object_exists

if TYPE_CHECKING:
    from nornir_peering.settings import PeeringSettings

FAMILIES = (0, 4, 6)
VERSION_TIMEOUT = 10.0  # seconds for ``bgpq4 -v``
# stderr messages that do not make a run fail (after "ERROR:"): a route-set's prefix
# of the other family or too long, a set met again (a loop) or in the stoplist
HARMLESS = (
    re.compile(r"Ignoring prefix \S+(, wrong af| with wrong address family|: masklen|, masklen)"),
    re.compile(r"\S+ is already expanding, ignore"),
    re.compile(r"\S+ is in the stoplist, ignore"),
    re.compile(r"ignoring \S+ at depth \d+"),
)
_NAME = re.compile(r"[A-Z0-9][A-Z0-9_:-]*")  # what query.py lets through, and list names
_SOURCE = re.compile(r"[A-Z](?:[A-Z0-9-]*[A-Z0-9])?")
_ASN_OBJECT = re.compile(r"AS\d+")
_HOST = re.compile(r"[A-Za-z0-9._:\[\]-]+")
_MAX_ASN = 4_294_967_295


@dataclass(frozen=True)
class Program:
    """bgpq4 or bgpq3, found: its path, which of the two it is, and its version."""

    path: str
    flavour: str  # "bgpq4" or "bgpq3"
    version: str  # "1.9", "0.1.36.1"; "" when it did not say

    @property
    def label(self) -> str:
        """``bgpq4 1.9``: what :attr:`Fetched.program` holds (the program's file name
        when it did not say its version)."""
        return f"{self.flavour} {self.version}" if self.version else self.name

    @property
    def name(self) -> str:
        """The program's file name, for messages: ``bgpq4``."""
        return os.path.basename(self.path)


@dataclass(frozen=True)
class BgpqConfig:
    """How to run bgpq: the program (a name on PATH or a path), the IRR server
    (``host[:port]``), the sources (none: the server's), seconds per run, whether to
    aggregate prefix lists, runs at once, and the runs to one server timing out in a
    row after which the rest to it are not made (0: never)."""

    program: str = "bgpq4"
    host: str = "rr.ntt.net"
    sources: tuple[str, ...] = ()
    timeout: float = 120.0
    aggregate: bool = True
    workers: int = 8
    give_up_after: int = 3

    @classmethod
    def from_settings(cls, settings: PeeringSettings) -> BgpqConfig:
        """From :class:`~nornir_peering.settings.PeeringSettings` (``bgpq``, ``irr_host``,
        ``irr_sources``, ``irr_timeout``, ``irr_aggregate``, ``irr_workers``,
        ``irr_give_up_after``)."""
        return cls(
            program=settings.bgpq,
            host=settings.irr_host,
            sources=parse_sources(settings.irr_sources),
            timeout=settings.irr_timeout,
            aggregate=settings.irr_aggregate,
            workers=settings.irr_workers,
            give_up_after=settings.irr_give_up_after,
        )


class Breaker:
    """Per IRR server, its runs that timed out in a row, shared by the threads of one
    :func:`fetch_all`; ``limit`` of them give the server up (0: never).

    >>> breaker = Breaker(2)
    >>> breaker.ran("h:43", timed_out=True); breaker.ran("h:43", timed_out=False)
    >>> breaker.ran("h:43", timed_out=True); breaker.given_up("h:43") is None
    True
    >>> breaker.ran("h:43", timed_out=True); breaker.given_up("h:43")
    'not run: the IRR server h:43 timed out 2 times in a row'
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._timeouts: dict[str, int] = {}

    def ran(self, host: str, *, timed_out: bool) -> None:
        """Count a run to ``host`` that ended: a timeout adds one, anything else (the
        server answered) starts the count again."""
        with self._lock:
            self._timeouts[host] = self._timeouts.get(host, 0) + 1 if timed_out else 0

    def given_up(self, host: str) -> str | None:
        """Why runs to ``host`` are not made now, or None when they are."""
        with self._lock:
            count = self._timeouts.get(host, 0)
        if not self.limit or count < self.limit:
            return None
        return f"not run: the IRR server {host} timed out {self.limit} times in a row"


@dataclass(frozen=True)
class Job:
    """One run to make: for ``asn``, ``object`` in ``family`` (4, 6; 0: AS-path list); the
    IRR server, sources and aggregation of this AS when the operator set them (None: the
    config's)."""

    asn: int
    object: IRRObject
    family: int
    host: str | None = None
    sources: tuple[str, ...] | None = None
    aggregate: bool | None = None


def parse_sources(text: str | Sequence[str]) -> tuple[str, ...]:
    """IRR sources from ``"RIPE, radb"`` (or a list): upper case, each once, in order;
    :class:`ConfigError` for anything that is no source name.

    >>> parse_sources("RIPE, radb,,RIPE"), parse_sources("")
    (('RIPE', 'RADB'), ())
    """
    items = re.split(r"[\s,]+", text) if isinstance(text, str) else list(text)
    found: list[str] = []
    for item in (i.strip().upper() for i in items):
        if not item:
            continue
        if not _SOURCE.fullmatch(item):
            raise ConfigError(f"irr_sources: not an IRR source name: {item!r}")
        if item not in found:
            found.append(item)
    return tuple(found)


def find_program(name: str = "bgpq4") -> Program:
    """bgpq4 or bgpq3 by ``name`` (on PATH) or path, its version asked once per path;
    :class:`ConfigError` if there is no such executable.

    Which of the two it is comes from ``-v``: bgpq4 prints ``version: 1.9`` and
    exits 0, bgpq3 does not know ``-v``, prints its usage with ``bgpq3 version:
    0.1.36.1`` and exits 1. A program that says neither is taken for bgpq4 (or
    bgpq3 if its name says so), version unknown.
    """
    path = shutil.which(name)
    if path is None or os.path.isdir(path):
        raise ConfigError(
            f"{name} not found: no such executable program; install the Debian package "
            "bgpq4, or set bgpq to its path"
        )
    return _program(os.path.abspath(path))


@functools.cache
def _program(path: str) -> Program:
    try:
        result = subprocess.run(
            [path, "-v"],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=VERSION_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise ConfigError(f"{path} -v did not answer in {VERSION_TIMEOUT:g} s") from exc
    except OSError as exc:
        raise ConfigError(f"{path} cannot run: {exc.strerror or exc}; set bgpq") from exc
    said = result.stdout + result.stderr
    version = re.search(r"version:\s*(\S+)", said)
    if "bgpq3" in said or ("bgpq4" not in said and "bgpq3" in os.path.basename(path)):
        flavour = "bgpq3"
    else:
        flavour = "bgpq4"
    return Program(path, flavour, version[1] if version else "")


def command(
    program: Program,
    obj: IRRObject,
    family: int,
    *,
    host: str,
    sources: Sequence[str] = (),
    aggregate: bool = True,
    name: str = "NN",
) -> list[str]:
    """The argv for one run (see the module's docstring); ValueError for an object, a
    host or a list name that could be read as something else.

    >>> bgpq4, bgpq3 = Program("bgpq4", "bgpq4", "1.9"), Program("bgpq3", "bgpq3", "")
    >>> " ".join(command(bgpq4, IRRObject("AS-FOO", "RIPE"), 6, host="rr.ntt.net"))
    'bgpq4 -h rr.ntt.net -j -l NN -p -6 -A RIPE::AS-FOO'
    >>> " ".join(command(bgpq3, IRRObject("AS-FOO", "RIPE"), 0, host="h", sources=["RADB"]))
    'bgpq3 -h h -j -l NN -p -3 -S RIPE -t AS-FOO'
    """
    if family not in FAMILIES:
        raise ValueError(f"family 4, 6 or 0 (the AS-path list), not {family}")
    if not _NAME.fullmatch(obj.name) or (obj.source and not _SOURCE.fullmatch(obj.source)):
        raise ValueError(f"not an IRR object bgpq may be given: {obj.text!r}")
    if not _HOST.fullmatch(host) or host.startswith("-"):
        raise ValueError(f"not an IRR server: {host!r}")
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a list name: {name!r}")
    argv = [program.path, "-h", host, "-j", "-l", name, "-p"]
    if program.flavour == "bgpq3":
        argv.append("-3")
    # bgpq4 takes SOURCE::SET, not SOURCE::ASn; bgpq3 takes neither
    native = program.flavour == "bgpq4" and not _ASN_OBJECT.fullmatch(obj.name)
    if obj.source and not native:
        sources = [obj.source]
    if sources:
        argv += ["-S", ",".join(sources)]
    argv.append({4: "-4", 6: "-6", 0: "-t"}[family])
    if aggregate and family:
        argv.append("-A")
    argv.append(obj.text if native else obj.name)
    return argv


def fetch(asn: int, obj: IRRObject, family: int, config: BgpqConfig | None = None) -> Fetched:
    """Run bgpq once: ``obj``'s prefix list in ``family`` (4, 6) or its AS-path list (0).
    Failures are in :attr:`Fetched.error`; :class:`ConfigError` only for a program that
    cannot be found or run at all."""
    config = config or BgpqConfig()
    return _fetch(find_program(config.program), Job(asn, obj, family), config, Breaker(0))


def fetch_all(
    jobs: Iterable[Job | tuple[int, IRRObject, int]], config: BgpqConfig | None = None
) -> list[Fetched]:
    """Run every job, ``config.workers`` at once, the answers in the jobs' order; a job
    that fails gives a :class:`Fetched` with its error and the others go on, but those
    to a server given up are not run (:class:`Breaker`).
    :class:`ConfigError` (before any run) if the program cannot be found."""
    config = config or BgpqConfig()
    program = find_program(config.program)
    todo = [job if isinstance(job, Job) else Job(*job) for job in jobs]
    if not todo:
        return []
    breaker = Breaker(config.give_up_after)
    with ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="bgpq") as pool:
        futures = [pool.submit(_fetch, program, job, config, breaker) for job in todo]
        results: list[Fetched] = []
        for job, future in zip(todo, futures, strict=True):
            try:
                results.append(future.result())
            except Exception as exc:  # a bug, not bgpq: keep it to this job
                failed = Fetched(job.asn, job.object, job.family, program=program.label)
                results.append(replace(failed, error=f"{type(exc).__name__}: {exc}"))
        # sets whose every answer is empty: do they exist? (see the module's docstring)
        runs: dict[tuple[str, IRRObject, tuple[str, ...]], list[int]] = {}
        for index, found in enumerate(results):
            if not _ASN_OBJECT.fullmatch(found.object.name):
                runs.setdefault((found.host, found.object, found.sources), []).append(index)
        # (an answer that failed does not make the others trustworthy: a missing set
        # whose IPv6 run timed out still answered IPv4 empty)
        empty = {
            key: [i for i in indexes if _empty(results[i])]
            for key, indexes in runs.items()
            if key[0] and all(results[i].error or _empty(results[i]) for i in indexes)
        }
        checks = {key: pool.submit(_missing, *key, config.timeout) for key in empty if empty[key]}
        for key, check in checks.items():
            error = check.result()
            if error:
                for index in empty[key]:
                    results[index] = replace(results[index], error=error)
    return results


def _empty(found: Fetched) -> bool:
    """An answer without error, prefixes or ASNs."""
    return found.error is None and not found.prefixes and not found.asns


def _missing(host: str, obj: IRRObject, sources: tuple[str, ...], timeout: float) -> str | None:
    """Why an empty answer for the set ``obj`` is no answer (it does not exist, or the
    server cannot say), or None: the set exists and has no routes."""
    sources = (obj.source,) if obj.source else sources  # where the set itself must be
    object_class = "route-set" if obj.name.rsplit(":", 1)[-1].startswith("RS-") else "as-set"
    where = f"{host}" + (f" (sources {','.join(sources)})" if sources else "")
    try:
        if object_exists(
            host, obj.name, object_class=object_class, sources=sources, timeout=timeout
        ):
            return None
    except WhoisError as exc:
        return f"bgpq found nothing, and the IRR cannot say whether the set exists: {exc}"
    return f"no such {object_class} at {where}"


def _fetch(program: Program, job: Job, config: BgpqConfig, breaker: Breaker) -> Fetched:
    """One run, its failures in the answer; none if ``breaker`` gave its server up."""
    if job.host is not None or job.sources is not None or job.aggregate is not None:
        config = replace(
            config,
            host=job.host or config.host,
            sources=config.sources if job.sources is None else job.sources,
            aggregate=config.aggregate if job.aggregate is None else job.aggregate,
        )
    base = Fetched(
        job.asn,
        job.object,
        job.family,
        program=program.label,
        host=config.host,
        sources=tuple(config.sources),
    )
    try:
        argv = command(
            program,
            job.object,
            job.family,
            host=config.host,
            sources=config.sources,
            aggregate=config.aggregate,
            name=f"AS{job.asn}",
        )
    except ValueError as exc:
        return replace(base, error=f"not run: {exc}", fetched_at=_utcnow())
    if "-S" in argv:
        base = replace(base, sources=tuple(argv[argv.index("-S") + 1].split(",")))
    base = replace(base, command=tuple(argv))
    reason = breaker.given_up(config.host)
    if reason:
        return replace(base, error=reason, given_up=True, fetched_at=_utcnow())
    start = time.monotonic()
    try:
        result = subprocess.run(  # on a timeout, run() kills the child and waits for it
            argv,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=config.timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        breaker.ran(config.host, timed_out=True)
        elapsed = time.monotonic() - start
        notes = _messages(_text(exc.stderr))
        error = f"{program.name} timed out after {elapsed:.1f} s (limit {config.timeout:g} s)"
        return replace(base, error=error, notes=notes, fetched_at=_utcnow())
    except OSError as exc:
        return replace(base, error=f"{program.name} cannot run: {exc}", fetched_at=_utcnow())
    breaker.ran(config.host, timed_out=False)
    notes = _messages(result.stderr)
    done = replace(base, notes=notes, fetched_at=_utcnow())
    if result.returncode != 0:
        how = (
            f"was killed by signal {-result.returncode}"
            if result.returncode < 0
            else f"exited with status {result.returncode}"
        )
        said = f": {notes[0]}" if notes else ""
        return replace(done, error=f"{program.name} {how}{said}")
    serious = [note for note in notes if not harmless(note)]
    if serious:
        return replace(done, error=f"{program.name}: {serious[0]}")
    try:
        if job.family:
            return replace(done, prefixes=parse_prefixes(result.stdout, f"AS{job.asn}", job.family))
        return replace(done, asns=parse_asns(result.stdout, f"AS{job.asn}"))
    except ValueError as exc:
        return replace(done, error=f"unparsable output from {program.name}: {exc}")


def parse_prefixes(stdout: str, name: str, family: int) -> tuple[PrefixEntry, ...]:
    """The entries of bgpq's JSON prefix list ``name``; ValueError if it is anything else.

    >>> parse_prefixes('{"N": [{"prefix": "12.1.0.0\\\\/23", "exact": false, '
    ...                '"greater-equal": 24, "less-equal": 24}]}', "N", 4)
    (PrefixEntry(prefix='12.1.0.0/23', exact=False, greater_equal=24, less_equal=24),)
    """
    entries: list[PrefixEntry] = []
    for item in _json_list(stdout, name):
        if not isinstance(item, dict) or not isinstance(item.get("prefix"), str):
            raise ValueError(f"not a prefix entry: {item!r:.80}")
        network = ip_network(item["prefix"])  # a ValueError for junk or host bits
        if network.version != family:
            raise ValueError(f"IPv{network.version} prefix in an IPv{family} list: {network}")
        exact = item.get("exact")
        if not isinstance(exact, bool):
            raise ValueError(f"no exact flag: {item!r:.80}")
        low, high = item.get("greater-equal"), item.get("less-equal")
        for bound in (low, high):
            if bound is not None and (
                type(bound) is not int or not network.prefixlen <= bound <= network.max_prefixlen
            ):
                raise ValueError(f"bad length {bound!r} for {network}")
        if low is not None and high is not None and low > high:
            raise ValueError(f"greater-equal {low} above less-equal {high} for {network}")
        entries.append(PrefixEntry(str(network), exact, low, high))
    return tuple(entries)


def parse_asns(stdout: str, name: str) -> tuple[int, ...]:
    """The ASNs of bgpq's JSON ``-t`` list ``name``, sorted, each once.

    >>> parse_asns('{"N": [\\n  65200,65001\\n]}', "N")
    (65001, 65200)
    """
    asns = _json_list(stdout, name)
    if not all(type(asn) is int and 0 < asn <= _MAX_ASN for asn in asns):
        raise ValueError(f"not a list of AS numbers: {asns!r:.80}")
    return tuple(sorted(set(asns)))


def harmless(message: str) -> bool:
    """Whether a bgpq stderr message leaves the answer whole (:data:`HARMLESS`).

    >>> harmless("ERROR:Ignoring prefix 11.0.0.0/22^22-24, wrong af 2")
    True
    >>> harmless("ERROR:Error expanding !sNOPE : F One or more selected sources are unavailable.")
    False
    """
    text = message.removeprefix("ERROR:").strip()
    return any(pattern.match(text) for pattern in HARMLESS)


def _json_list(stdout: str, name: str) -> list[Any]:
    try:
        data = json.loads(stdout)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg}): {stdout[:80]!r}") from exc
    if not isinstance(data, dict) or not isinstance(data.get(name), list):
        raise ValueError(f"no list {name!r}: {stdout[:80]!r}")
    return list(data[name])


def _messages(stderr: str) -> tuple[str, ...]:
    """bgpq's stderr as messages: one per ``ERROR:`` line, with the lines that continue
    it (bgpq4 prints IRRd's answer after a line break) joined by a space.

    >>> _messages("ERROR:Error expanding !sNOPE\\n: F One or more\\n\\nERROR:x\\n")
    ('ERROR:Error expanding !sNOPE : F One or more', 'ERROR:x')
    """
    messages: list[str] = []
    for line in stderr.splitlines():
        line = line.strip()
        if not line:
            continue
        if messages and not re.match(r"(ERROR|FATAL|WARN|DEBUG)\b", line):
            messages[-1] += f" {line}"
        else:
            messages.append(line)
    return tuple(messages)


def _text(data: str | bytes | None) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return data or ""


def _utcnow() -> datetime:
    """Now in UTC, without a zone, as the store keeps times."""
    return datetime.now(tz=UTC).replace(tzinfo=None)
