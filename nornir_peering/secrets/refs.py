"""Secret references: a password written as where to find it, not as text.

In the intent files a secret field (a BGP session's ``password``, a router's
login ``password``) is text, or a reference resolved at run time, only for
the routers being run::

    password: {env: BGP_SECRET_AS65005}               # an environment variable
    password: {file: secrets/as65005}                 # a file, relative to config.yaml

In the inventory (plain data) a reference stays a reference, ``{"env": NAME}``
or ``{"file": ABSOLUTE_PATH}``: it is no secret. :func:`reveal` turns it into
the text, and the masker then hides that text wherever it would be shown.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nornir_peering.errors import PeeringError
from nornir_peering.secrets.mask import remember


class SecretError(PeeringError):
    """A secret reference that gives no secret: the variable or file is missing or empty."""


class SecretRef(BaseModel):
    """``{env: NAME}`` or ``{file: PATH}`` in an intent file, in place of a secret's text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    file: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_source(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("a secret reference is {env: VARIABLE} or {file: PATH}, one of them")
        return self

    def as_data(self, base: Path) -> dict[str, str]:
        """The reference as plain inventory data, a relative file made absolute under ``base``.

        >>> SecretRef(file="secrets/as65005").as_data(Path("/srv/peering"))
        {'file': '/srv/peering/secrets/as65005'}
        """
        if self.env is not None:
            return {"env": self.env}
        return {"file": str(base / Path(str(self.file)).expanduser())}


def is_reference(value: Any) -> bool:
    """Whether ``value`` is a secret reference as the inventory holds one."""
    return isinstance(value, Mapping) and set(value) in ({"env"}, {"file"})


def describe(value: Mapping[str, Any]) -> str:
    """A reference as an error names it.

    >>> describe({"env": "BGP_SECRET"})
    '{env: BGP_SECRET}'
    """
    (kind, where), *_ = value.items()
    return f"{{{kind}: {where}}}"


def reveal(value: Any, what: str) -> str | None:
    """The text of a secret: ``value`` itself when it is text, what its reference points
    to when it is one. The text is remembered, so that it is masked wherever shown.

    A variable that is not set, a file that cannot be read, or either one empty fails
    with :class:`SecretError` naming ``what`` and the reference, never an empty secret.

    >>> reveal({"env": "NO_SUCH_VARIABLE"}, "AS65005's password")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nornir_peering.secrets.refs.SecretError: AS65005's password {env: NO_SUCH_VARIABLE}: ...
    """
    if value is None:
        return None
    if isinstance(value, str):
        remember(value)
        return value
    if not is_reference(value):
        raise SecretError(f"{what}: neither text nor {{env: ...}} or {{file: ...}}")
    named = f"{what} {describe(value)}"
    if "env" in value:
        text = os.environ.get(str(value["env"]))
        if text is None:
            raise SecretError(f"{named}: the environment variable is not set")
    else:
        try:
            text = Path(str(value["file"])).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise SecretError(f"{named}: cannot read it: {reason}") from None
        text = text.removesuffix("\n").removesuffix("\r")  # the line end an editor adds
    if not text:
        raise SecretError(f"{named}: it is empty")
    remember(text)
    return text
