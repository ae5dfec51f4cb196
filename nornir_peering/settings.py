"""The toolkit's settings: ``user_defined.peering`` in Nornir's ``config.yaml``.

Sources, lowest precedence first:

1. built-in defaults (the public PeeringDB);
2. peeringdb-py's own configuration, so an existing set-up keeps working:
   ``~/.peeringdb/config.yaml`` (``sync:`` section) and ``PDB_SYNC_*`` variables;
3. ``config.yaml`` → ``user_defined.peering``;
4. environment: ``PEERINGDB_URL``, ``PEERINGDB_CACHE_URL``, ``PEERINGDB_API_KEY``,
   ``NORNIR_PEERING_STATE`` and ``NORNIR_PEERING_<SETTING>`` for any setting;
5. command-line options (``--state``, ``--wait``).

Everything is validated once; a mistake is one line naming where it came from::

    config.yaml: user_defined.peering.timout: unknown setting
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from nornir_peering.errors import ConfigError
from nornir_peering.secrets import SecretRef, reveal

DEFAULT_CONFIG = Path("config.yaml")
# Nornir's own top-level sections (nornir.core.configuration.Config); anything
# else in config.yaml is a typo that Nornir would silently ignore.
NORNIR_SECTIONS = frozenset({"core", "runner", "inventory", "ssh", "logging", "user_defined"})
# The most entries one IRR prefix list may have per platform (docs/templates.md, "What
# templates do with the lists"): a longer list fails the router at render, never a
# truncated filter.
# Junos documents 85,325 prefixes per prefix-list (route-filters, which the template
# writes, have no documented cap); EOS and FRR document none, but load a config line by
# line (FRR took 42 s of CPU for 26,000 lines, FRRouting/frr#6658); BIRD keeps prefix sets
# in a trie and is bounded by memory. IOS-XR counts differently: its limit is the total of
# routing-policy lines, every route-policy and set of the router together, ours and the
# operator's ("rpl maximum lines"; 131,072 unless configured, Cisco's YANG model
# Cisco-IOS-XR-policy-repository-cfg, limits/maximum-lines-of-policy): for iosxr and
# iosxr_netconf the number is that total.
PREFIX_LIST_LIMITS = {
    "bird": 500_000,
    "eos": 100_000,
    "frr": 100_000,
    "iosxr": 131_072,
    "iosxr_netconf": 131_072,
    "junos": 85_000,
}


class PeeringSettings(BaseModel):
    """Validated settings. Paths are absolute once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state: Path = Field(
        Path("state/peering.duckdb"),
        description="the state file (DuckDB); relative to config.yaml when set there",
    )
    templates: Path = Field(
        Path("templates"),
        description="the folder of the Jinja2 templates a router's data.template names; "
        "relative to config.yaml when set there",
    )
    peeringdb_url: str = Field(
        "https://www.peeringdb.com/api", description="the PeeringDB API a sync reads"
    )
    cache_url: str = Field(
        "https://public.peeringdb.com",
        description="PeeringDB's public cache files, read on a full sync "
        '(``""``: always use the API)',
    )
    api_key: SecretRef | str | None = Field(
        None,
        description="the PeeringDB API key: text, or ``{env: NAME}`` / ``{file: PATH}`` "
        "(relative to config.yaml), read when a sync starts",
    )
    timeout: float = Field(
        30.0, gt=0, description="seconds a PeeringDB request may stay silent before it fails"
    )
    download_timeout: float = Field(
        900.0,
        gt=0,
        description="seconds for one whole download (a PeeringDB type or an IX-F export), "
        "its retries included, however slowly the server sends",
    )
    retries: int = Field(
        3, ge=0, le=20, description="retries on 429, 5xx, timeouts and broken connections"
    )
    retry_backoff: float = Field(1.0, ge=0, description="seconds before a retry, doubled each time")
    max_retry_after: float = Field(
        120.0, ge=0, description="seconds of ``Retry-After`` waited for; a longer one fails at once"
    )
    concurrency: int = Field(4, ge=1, le=16, description="PeeringDB downloads at a time")
    lookback: int = Field(60, ge=0, description="seconds subtracted from each sync cursor")
    lock_wait: float = Field(
        10.0,
        ge=0,
        description="seconds to wait for the state file or a router another run holds "
        "(``--wait``); then exit code 75",
    )
    router_timeout: float = Field(
        600.0,
        gt=0,
        description="seconds one run may spend on one router (connect, diff, commit; poll), "
        "whatever it sends meanwhile; a router's data may say its own ``router_timeout``",
    )
    irr_host: str = Field(
        "rr.ntt.net",
        min_length=1,
        description="the IRR whois server bgpq asks, ``host[:port]`` (bgpq4's own default)",
    )
    irr_sources: str = Field(
        "", description="comma-separated IRR sources; empty: the server's (``RIPE,RADB``)"
    )
    bgpq: str = Field(
        "bgpq4", min_length=1, description="bgpq4 or bgpq3: a name on ``PATH`` or a path"
    )
    irr_timeout: float = Field(120.0, gt=0, description="seconds for one bgpq run")
    irr_workers: int = Field(8, ge=1, le=64, description="bgpq runs at once")
    irr_give_up_after: int = Field(
        3,
        ge=0,
        le=1000,
        description="bgpq runs to one IRR server timing out in a row, after which its "
        "remaining runs fail at once, their lists kept (0: never)",
    )
    irr_aggregate: bool = Field(True, description="aggregate IRR lists (``bgpq4 -A``)")
    max_shrink: int = Field(
        50,
        ge=0,
        le=100,
        description="percent a stored IRR list may shrink by without ``--force``",
    )
    max_removed_sessions: int = Field(
        10, ge=0, description="BGP sessions one commit may remove from a router without ``--force``"
    )
    max_removed_share: int = Field(
        30,
        ge=0,
        le=100,
        description="percent of a router's BGP sessions one commit may remove without ``--force``",
    )
    prefix_list_limits: dict[str, int] = Field(
        default_factory=dict,
        description="entries one IRR list may have, by platform, over the built-in limits "
        "(the environment's form: ``junos=50000,eos=20000``)",
    )
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0", description="the Redis of the background jobs (``--tasks``)"
    )
    job_timeout: float = Field(
        900.0,
        gt=0,
        le=86400,  # a day: jobs' replay ledger
        description="seconds a background job may wait for a worker, and then run (at most a day)",
    )
    redis_password: SecretRef | None = Field(
        None,
        description="the Redis ACL user's password (the user is ``redis_url``'s): "
        "``{env: NAME}`` or ``{file: PATH}``",
    )
    redis_tls_ca: Path | None = Field(
        None, description="for ``rediss://``: the CA that signed Redis's certificate"
    )
    redis_tls_cert: Path | None = Field(
        None, description="for ``rediss://``: this client's certificate, where Redis asks for one"
    )
    redis_tls_key: Path | None = Field(None, description="and that certificate's key")
    job_key: SecretRef | None = Field(
        None,
        description="the key background jobs and their results are sealed with, the same "
        "on every machine: ``{env: NAME}`` or ``{file: PATH}``, never text "
        "(``nornir-peering jobs key`` makes one)",
    )
    job_key_previous: SecretRef | None = Field(
        None, description="the job key before ``job_key``, which still opens, while keys change"
    )
    sync_memory: int = Field(
        128,
        ge=32,
        description="megabytes DuckDB may hold while a sync parses a reply, and while it "
        "applies them; past it, it spills to disk beside the state file",
    )

    @field_validator("peeringdb_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return _check_url(value, allow_empty=False)

    @field_validator("cache_url")
    @classmethod
    def _http_url_or_empty(cls, value: str) -> str:
        return _check_url(value, allow_empty=True)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("redis", "rediss", "unix") or not (parts.netloc or parts.path):
            # the value itself is not shown: it may hold a password
            raise ValueError("not a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("api_key")
    @classmethod
    def _blank_is_none(cls, value: SecretRef | str | None) -> SecretRef | str | None:
        return value or None

    def job_keys(self) -> list[str]:
        """The job keys' texts, the current one first (references revealed now); none
        without ``job_key``."""
        keys = []
        for name in ("job_key", "job_key_previous"):
            ref = getattr(self, name)
            if ref is not None:
                keys.append(str(reveal(ref.as_data(Path("/")), name)))
        return keys

    def redis_secret(self) -> str | None:
        """The Redis password's text, its reference revealed now (None without one)."""
        ref = self.redis_password
        return reveal(ref.as_data(Path("/")), "redis_password") if ref is not None else None

    def peeringdb_key(self) -> str | None:
        """The PeeringDB API key's text, a reference revealed now (a missing variable or
        file fails the sync); remembered, so that it is masked wherever it would show."""
        key = self.api_key
        return reveal(key.as_data(Path("/")) if isinstance(key, SecretRef) else key, "api_key")

    @field_validator("prefix_list_limits", mode="before")
    @classmethod
    def _limits_from_text(cls, value: Any) -> Any:
        """``junos=50000,eos=20000`` (the environment's form) as a mapping."""
        if not isinstance(value, str):
            return value
        limits: dict[str, str] = {}
        for item in filter(None, (i.strip() for i in value.split(","))):
            platform, equals, number = item.partition("=")
            if not equals or not platform.strip():
                raise ValueError(f"{item!r} is not platform=number")
            limits[platform.strip()] = number.strip()
        return limits

    @field_validator("prefix_list_limits")
    @classmethod
    def _positive_limits(cls, value: dict[str, int]) -> dict[str, int]:
        for platform, limit in value.items():
            if limit < 1:
                raise ValueError(f"{platform}: a list holds at least 1 entry, not {limit}")
        return value

    def prefix_list_limit(self, platform: str | None) -> int | None:
        """The most entries one IRR list may have on ``platform`` (None: no limit known).

        >>> PeeringSettings(prefix_list_limits={"junos": 9}).prefix_list_limit("junos")
        9
        >>> PeeringSettings().prefix_list_limit("eos"), PeeringSettings().prefix_list_limit("x")
        (100000, None)
        """
        return {**PREFIX_LIST_LIMITS, **self.prefix_list_limits}.get(platform or "")


def _check_url(value: str, *, allow_empty: bool) -> str:
    if allow_empty and value == "":
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value.rstrip("/")


@dataclass(frozen=True)
class Settings:
    """Everything a command needs: the toolkit settings and Nornir's config."""

    peering: PeeringSettings
    config_file: Path | None
    nornir: Mapping[str, Any] = field(default_factory=dict)


ENV_ALIASES = {
    "PEERINGDB_URL": "peeringdb_url",
    "PEERINGDB_CACHE_URL": "cache_url",
    "PEERINGDB_API_KEY": "api_key",
}
# peeringdb-py's names (peeringdb/config.py). Its schema reads these once at
# import time, so they are read here at load time instead.
PDB_SYNC_ENV = {
    "PDB_SYNC_URL": "peeringdb_url",
    "PDB_SYNC_CACHE_URL": "cache_url",
    "PDB_SYNC_API_KEY": "api_key",
    "PDB_SYNC_TIMEOUT": "timeout",
    "PDB_SYNC_LOOKBACK": "lookback",
}
PDB_SYNC_KEYS = {
    "url": "peeringdb_url",
    "cache_url": "cache_url",
    "api_key": "api_key",
    "timeout": "timeout",
    "lookback": "lookback",
}


def environment_names() -> dict[str, str]:
    """Every environment variable a setting is read from, and that setting.

    >>> names = environment_names()
    >>> names["NORNIR_PEERING_ROUTER_TIMEOUT"], names["PEERINGDB_API_KEY"]
    ('router_timeout', 'api_key')
    """
    return {
        **{f"NORNIR_PEERING_{k.upper()}": k for k in PeeringSettings.model_fields},
        **ENV_ALIASES,
    }


def load_settings(
    config_file: Path | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read, merge and validate the settings.

    ``config_file=None`` reads ``./config.yaml`` if it exists; a path that was
    named explicitly must exist.
    """
    env = os.environ if environ is None else environ
    # (key, value, where it came from), lowest precedence first
    layers: list[list[tuple[str, Any, str]]] = []
    layers.append(
        [(k, v, "peeringdb-py configuration") for k, v in _peeringdb_py_settings(env).items()]
    )

    explicit = config_file is not None
    path = config_file if config_file is not None else DEFAULT_CONFIG
    nornir: dict[str, Any] = {}
    base_dir = Path.cwd()
    if path.exists():
        path = path.absolute()  # a symlinked config.yaml: relative to where the link is
        base_dir = path.parent
        nornir = _read_config_file(path)
        peering = nornir["user_defined"]["peering"]
        layers.append(
            [(k, v, f"{path.name}: user_defined.peering.{k}") for k, v in peering.items()]
        )
    elif explicit:
        raise ConfigError(f"{path}: config file not found")

    names = environment_names()
    layers.append([(k, env[n], f"environment {n}") for n, k in names.items() if n in env])
    layers.append(
        [
            (k, v, f"option --{k.replace('_', '-')}")
            for k, v in (overrides or {}).items()
            if v is not None
        ]
    )

    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for layer in layers:
        # each source must be valid on its own: a typo in config.yaml is
        # reported, not hidden by an environment variable that overrides it
        _validate({k: v for k, v, _ in layer}, {k: where for k, _, where in layer})
        for key, value, where in layer:
            values[key], origin[key] = value, where
    peering = _validate(values, origin)

    paths = {}
    for key in ("state", "templates"):
        value = getattr(peering, key).expanduser()
        if not value.is_absolute():
            from_file = origin.get(key, "").startswith(f"{path.name}:") or key not in origin
            value = (base_dir if from_file and path.exists() else Path.cwd()) / value
        paths[key] = value
    for key in ("api_key", "job_key", "job_key_previous", "redis_password"):
        ref = getattr(peering, key)
        if isinstance(ref, SecretRef) and ref.file:  # relative to config.yaml's folder
            paths[key] = SecretRef(file=str(base_dir / Path(ref.file).expanduser()))
    for key in ("redis_tls_ca", "redis_tls_cert", "redis_tls_key"):
        value = getattr(peering, key)
        if value is not None:
            paths[key] = base_dir / value.expanduser()
    peering = peering.model_copy(update=paths)
    return Settings(peering=peering, config_file=path if path.exists() else None, nornir=nornir)


def _validate(values: Mapping[str, Any], origin: Mapping[str, str]) -> PeeringSettings:
    try:
        return PeeringSettings(**values)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, origin)) from None


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(f"{path.name}: {where}{exc.problem}") from None
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path.name}: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name}: must be a mapping of Nornir sections")
    for key in data:
        if key not in NORNIR_SECTIONS:
            known = ", ".join(sorted(NORNIR_SECTIONS))
            raise ConfigError(f"{path.name}: {key}: unknown section (Nornir knows {known})")
    user_defined = data.get("user_defined") or {}
    if not isinstance(user_defined, dict):
        raise ConfigError(f"{path.name}: user_defined: must be a mapping")
    peering = user_defined.get("peering") or {}
    if not isinstance(peering, dict):
        raise ConfigError(f"{path.name}: user_defined.peering: must be a mapping")
    data["user_defined"] = {**user_defined, "peering": peering}
    return data


def _peeringdb_py_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """Settings from peeringdb-py's config file and ``PDB_SYNC_*`` variables."""
    found: dict[str, Any] = {}
    conf_dir = str(Path(env.get("HOME", "~")).expanduser() / ".peeringdb")
    conf: dict[str, Any] = {}
    if Path(conf_dir).is_dir():
        # imported only then: peeringdb-py loads Django and requests (~18 MB, 0.2 s)
        from peeringdb.config import read_config

        try:
            conf = read_config(conf_dir) or {}  # type: ignore[no-untyped-call]
        except Exception as exc:  # munge raises whatever its parser raises
            raise ConfigError(f"{conf_dir}/config: {exc}") from None
    sync = conf.get("sync") or {}
    if not isinstance(sync, dict):
        raise ConfigError(f"{conf_dir}/config: sync: must be a mapping")
    for key, setting in PDB_SYNC_KEYS.items():
        if sync.get(key) not in (None, "", 0):
            found[setting] = sync[key]
    for name, setting in PDB_SYNC_ENV.items():
        if env.get(name) not in (None, "", "0"):
            found[setting] = env[name]
    return found


def _explain(exc: ValidationError, origin: Mapping[str, str]) -> str:
    error = exc.errors()[0]
    key = str(error["loc"][0]) if error["loc"] else "?"
    where = origin.get(key, f"setting {key}")
    if error["type"] == "extra_forbidden":
        known = ", ".join(PeeringSettings.model_fields)
        return f"{where}: unknown setting (known: {known})"
    message = str(error["msg"]).removeprefix("Value error, ")
    if key in _UNSHOWN:
        return f"{where}: {message}"
    return f"{where}: {message} (got {error.get('input')!r})"


# settings whose value an error never shows: they may hold a password
_UNSHOWN = {"api_key", "redis_url", "redis_password", "job_key", "job_key_previous"}
