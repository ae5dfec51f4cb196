"""Sealed jobs: what goes through Redis is encrypted and signed with the job key.

Anyone who can write to the queue's Redis could otherwise have a worker run whatever a
job names (RQ imports the function a job names), and anyone who can read it (a copy of
its RDB or AOF files, ``MONITOR``) would see the rendered configurations, with their BGP
passwords, that configure jobs carry. So every job's work, and every result, travels as
one Fernet token (``cryptography``: AES-128-CBC, then HMAC-SHA256 over it all; a vetted
construction, not one of ours) made with a key derived from the ``job_key`` setting
(HKDF-SHA256):

- a worker runs only what opens with the key, names one of the toolkit's job functions,
  belongs to the very job that carries it (its id is inside) and has not expired (its
  deadline is inside): a job signed with another key, altered by one byte, copied into
  another job or replayed late is refused, and nothing of it runs;
- the enqueuer takes a result only if it opens with the key and names its job.

Two keys can be given at once (``job_key``, and ``job_key_previous`` while workers and
enqueuers are changed one by one): tokens are made with the first, opened with either.

>>> sealer = Sealer.from_keys(["0123456789abcdefghijklmnopqrstuv"])
>>> token = sealer.seal("job-1", {"function": "poll", "payload": {}}, seconds=60)
>>> sealer.open(token, "job-1")["function"]
'poll'
>>> sealer.open(token, "job-2")
Traceback (most recent call last):
...
nornir_peering.jobs.seal.SealBroken: a sealed job or result of job job-1 was found in \
job job-2: refused
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from nornir_peering.errors import ExitCode, PeeringError

MIN_KEY_LENGTH = 32  # characters of a job key: what `nornir-peering jobs key` gives is 43
_INFO = b"nornir-peering jobs v1"


class SealBroken(PeeringError):
    """A job or result that does not open with the job key, or is not what it claims."""

    exit_code = ExitCode.FAILED


def new_key() -> str:
    """A new random job key: 32 bytes, URL-safe base64 (43 characters).

    >>> len(new_key())
    43
    """
    return secrets.token_urlsafe(32)


def derive(key: str) -> bytes:
    """The Fernet key made from a job key (HKDF-SHA256): the setting's text is never used
    as it is, so a key in a file with a trailing newline and the same without are one."""
    text = key.strip()
    if len(text) < MIN_KEY_LENGTH or len(set(text)) < MIN_KEY_LENGTH // 2:
        raise SealBroken(
            f"the job key is too short or too plain ({len(text)} characters, "
            f"{len(set(text))} different; at least {MIN_KEY_LENGTH} and "
            f"{MIN_KEY_LENGTH // 2}): make one with 'nornir-peering jobs key'"
        )
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        text.encode()
    )
    return base64.urlsafe_b64encode(derived)


@dataclass(frozen=True)
class Sealer:
    """Seals and opens jobs and results with the job keys (the current one first)."""

    fernet: MultiFernet

    @classmethod
    def from_keys(cls, keys: Iterable[str]) -> Sealer:
        """From the keys' texts, the current one first."""
        fernets = [Fernet(derive(key)) for key in keys]
        if not fernets:
            raise SealBroken("no job key: set job_key ({env: NAME} or {file: PATH})")
        return cls(MultiFernet(fernets))

    def seal(self, job_id: str, content: dict[str, Any], *, seconds: float) -> str:
        """``content`` sealed for the job ``job_id``, to be opened within ``seconds``."""
        body = {"job": job_id, "until": time.time() + seconds, **content}
        return self.fernet.encrypt(json.dumps(body).encode()).decode()

    def open(self, token: object, job_id: str) -> dict[str, Any]:
        """What a token sealed for ``job_id`` holds; anything else is :class:`SealBroken`."""
        if not isinstance(token, str):
            raise SealBroken(f"job {job_id} carries no sealed content: refused")
        try:
            body = json.loads(self.fernet.decrypt(token.encode()))
        except (InvalidToken, ValueError):
            raise SealBroken(
                f"job {job_id}: its content does not open with the job key (another key, or "
                "altered): refused"
            ) from None
        if not isinstance(body, dict) or body.get("job") != job_id:
            owner = body.get("job") if isinstance(body, dict) else None
            raise SealBroken(
                f"a sealed job or result of job {owner} was found in job {job_id}: refused"
            )
        if float(body.get("until", 0)) < time.time():
            raise SealBroken(f"job {job_id}: its sealed content has expired: refused")
        return body
