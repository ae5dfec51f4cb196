"""The lab Redis's TLS and ACL: a certificate authority of the lab's own, a server
certificate for 127.0.0.1 it signed, the ACL user's password, and the job key.

Made once, in the lab's ``redis/`` folder (the keys and the password readable by their
owner only), so that the lab's queue is reached as a production one should be:
``rediss://`` with the lab CA and an ACL user, jobs sealed with the job key.

For example::

    made = LabSecrets(Path("state/lab")); made.ensure()
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from nornir_peering.jobs.seal import new_key

USER = "nornir"  # the lab Redis's ACL user; the default user is off


class LabSecrets:
    """The lab's TLS files, Redis password and job key, under ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def redis(self) -> Path:
        """The folder of the lab Redis: its configuration, certificates and data."""
        return self.directory / "redis"

    @property
    def ca(self) -> Path:
        """The lab CA's certificate, which clients trust (redis_tls_ca)."""
        return self.redis / "ca.pem"

    @property
    def password(self) -> Path:
        """The ACL user's password (redis_password: {file: ...})."""
        return self.redis / "password"

    @property
    def job_key(self) -> Path:
        """The job key (job_key: {file: ...})."""
        return self.directory / "job.key"

    def ensure(self) -> None:
        """Make whatever is missing: certificates, password, job key."""
        self.redis.mkdir(parents=True, exist_ok=True)
        if not (self.redis / "server.pem").exists():
            self._certificates()
        if not self.password.exists():
            _private(self.password, new_key() + "\n")
        if not self.job_key.exists():
            _private(self.job_key, new_key() + "\n")

    def redis_conf(self, port: int) -> Path:
        """The lab Redis's configuration: TLS only, on 127.0.0.1, one ACL user (its
        password stored hashed), nothing saved to disk."""
        digest = hashlib.sha256(self.password.read_text().strip().encode()).hexdigest()
        conf = self.redis / "redis.conf"
        lines = [
            "bind 127.0.0.1",
            "port 0",
            f"tls-port {port}",
            f"tls-cert-file {self.redis / 'server.pem'}",
            f"tls-key-file {self.redis / 'server.key'}",
            f"tls-ca-cert-file {self.ca}",
            "tls-auth-clients optional",
            "user default off",
            f"user {USER} on #{digest} ~* &* +@all",
            'save ""',
            "appendonly no",
            f"dir {self.redis}",
        ]
        _private(conf, "\n".join(lines) + "\n")
        return conf

    def _certificates(self) -> None:
        now = dt.datetime.now(dt.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nornir-peering lab CA")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        server = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
                ),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        pem = serialization.Encoding.PEM
        self.ca.write_bytes(ca.public_bytes(pem))
        (self.redis / "server.pem").write_bytes(server.public_bytes(pem))
        _private(
            self.redis / "server.key",
            key.private_bytes(
                pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode(),
        )


def _private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable by its owner only from the start."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
