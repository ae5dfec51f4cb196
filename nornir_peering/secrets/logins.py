"""Router login passwords given as references, revealed only for the routers run.

The inventory plugin puts an :class:`Unrevealed` where ``hosts.yaml``,
``groups.yaml`` or ``defaults.yaml`` give ``password: {env: ...}``, so Nornir's
own precedence (host, groups, defaults; connection options over the host's)
picks the one that applies. Its text is the reference, never a secret: a
connection opened without :func:`reveal_login` fails to log in, and leaks nothing.
The tasks of :mod:`nornir_peering.tasks` reveal before they connect.
"""

from __future__ import annotations

from collections.abc import Mapping

from nornir.core.inventory import ConnectionOptions, Host

from nornir_peering.secrets.refs import describe, reveal


class Unrevealed(str):
    """A login password still a reference: its text is the reference (``{env: NAME}``)."""

    ref: dict[str, str]

    def __new__(cls, ref: Mapping[str, str]) -> Unrevealed:  # noqa: D102
        made = super().__new__(cls, describe(ref))
        made.ref = dict(ref)
        return made

    def __reduce__(self) -> tuple[type[Unrevealed], tuple[dict[str, str]]]:
        return (Unrevealed, (self.ref,))  # copied and pickled as the reference it is


def reveal_login(host: Host, connection: str = "napalm") -> None:
    """Give ``host`` the text of its login password for ``connection``, if a reference.

    A missing variable or file fails the host (:class:`~nornir_peering.secrets.SecretError`).
    """
    params = host.get_connection_parameters(connection)
    if not isinstance(params.password, Unrevealed):
        return
    host.connection_options[connection] = ConnectionOptions(
        hostname=params.hostname,
        port=params.port,
        username=params.username,
        password=reveal(params.password.ref, f"{host.name}'s login password"),
        platform=params.platform,
        extras=params.extras,
    )
