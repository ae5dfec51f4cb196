"""How a machine reaches the job queue: Redis (its URL, the ACL user's password, TLS) and
the job keys that seal what goes through it (:mod:`.seal`).

Redis itself is not trusted with anything: every job and result is sealed. Reaching it
on another machine in clear, or unauthenticated, is still refused unless asked for
(``--insecure-redis``): anyone on the path could read the queue's traffic or write to it
(nothing they write runs, but they could delete or delay jobs).

For example::

    access = Access.of(load_settings().peering)
    redis = access.connect()
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from ipaddress import ip_address
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from nornir_peering.errors import ConfigError, ExitCode, PeeringError

if TYPE_CHECKING:
    from redis import Redis

    from nornir_peering.jobs.seal import Sealer
    from nornir_peering.settings import PeeringSettings


class JobsUnavailable(PeeringError):
    """Redis cannot be reached, or a batch is not there."""

    exit_code = ExitCode.FAILED


@dataclass(frozen=True)
class Access:
    """The queue's Redis and the job keys (the current one first)."""

    redis_url: str
    keys: tuple[str, ...] = field(default=(), repr=False)
    password: str | None = field(default=None, repr=False)
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    insecure: bool = False  # --insecure-redis: no transport check (redis:// off this machine)

    @classmethod
    def of(cls, peering: PeeringSettings, *, insecure: bool = False) -> Access:
        """From the settings, their secret references revealed now."""

        def text(path: object) -> str | None:
            return str(path) if path is not None else None

        return cls(
            peering.redis_url,
            tuple(peering.job_keys()),
            peering.redis_secret(),
            text(peering.redis_tls_ca),
            text(peering.redis_tls_cert),
            text(peering.redis_tls_key),
            insecure,
        )

    def sealer(self) -> Sealer:
        """What seals and opens jobs and results with the job keys."""
        from nornir_peering.jobs.seal import Sealer

        if not self.keys:
            raise ConfigError(
                "background jobs need a job key: job_key in config.yaml ({env: NAME} or "
                "{file: PATH}; 'nornir-peering jobs key' makes one), the same on the workers"
            )
        return Sealer.from_keys(self.keys)

    def connect(self) -> Redis:
        """A connection to the queue's Redis, checked with a PING."""
        from redis import Redis
        from redis.exceptions import RedisError

        self.check_transport()
        options: dict[str, object] = {"socket_connect_timeout": 5, "socket_timeout": 30}
        if self.password is not None:
            options["password"] = self.password
        tls = (
            ("ssl_ca_certs", self.tls_ca),
            ("ssl_certfile", self.tls_cert),
            ("ssl_keyfile", self.tls_key),
        )
        if urlsplit(self.redis_url).scheme == "rediss":  # TLS files only where TLS is
            options.update((name, value) for name, value in tls if value is not None)
        try:
            redis = Redis.from_url(self.redis_url, **options)
            redis.ping()
        except (RedisError, ValueError, OSError) as exc:
            raise JobsUnavailable(
                f"cannot reach Redis at {redacted(self.redis_url)} (redis_url): {exc}"
            ) from None
        return redis

    def check_transport(self) -> None:
        """Refuse what would expose the queue: ``redis://`` to another machine (its
        traffic, the password included, in clear) unless ``insecure``; ``rediss://``
        without a password or a client certificate (anyone who reaches it could write to
        the queue); a URL that turns the server certificate's check off."""
        parts = urlsplit(self.redis_url)
        if re.search(r"(?:^|&)ssl_(?:cert_reqs|check_hostname)=", parts.query):
            raise ConfigError(
                f"redis_url {redacted(self.redis_url)}: the server's certificate is always "
                "checked; give the CA in redis_tls_ca instead of ssl_* parameters"
            )
        if self.insecure or parts.scheme == "unix" or _loopback(parts.hostname):
            return
        if parts.scheme == "redis":
            raise ConfigError(
                f"redis_url {redacted(self.redis_url)} reaches Redis on another machine in "
                "clear: use rediss:// with an ACL user and redis_password (docs: 'Background "
                "jobs'), or give --insecure-redis"
            )
        if not (parts.password or self.password or self.tls_cert):
            raise ConfigError(
                f"redis_url {redacted(self.redis_url)}: a Redis on another machine without a "
                "password (redis_password) or a client certificate (redis_tls_cert) lets "
                "anyone who reaches it write to the queue; give one, or --insecure-redis"
            )


def redacted(url: str) -> str:
    """A Redis URL fit for a message: no password.

    >>> redacted("rediss://np:s3cret@10.0.0.1:6379/0")
    'rediss://np@10.0.0.1:6379/0'
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return parts._replace(netloc=netloc).geturl()


def _loopback(host: str | None) -> bool:
    """Whether ``host`` is this machine (loopback address or ``localhost``)."""
    if host is None or host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False
