"""The Jinja2 environment templates render in, and the filters they get.

Templates are the operator's code; what reaches them is written by
strangers (PeeringDB names, AS-SETs, IRR data). So the environment is
sandboxed, an undefined variable is an error, and the filters below are the
only way strings get into configuration: ``safe_string`` keeps a name from
ever closing a quote, a brace or a line.

Filters (Peering Manager's jobs, under these names):

- ``safe_string(text, max_length=80)``: printable text without quotes,
  backslashes, braces, semicolons, comment characters or line breaks;
- ``identifier(text)``: ``[A-Za-z0-9_]`` only, for protocol and group names;
- ``max_prefix(session, family=None)``: the session's limit for its family;
- ``prefix_list(session)`` / ``as_path_list(session)``: the stored IRR
  prefixes and ASNs of a session (empty until the IRR tables exist);
- ``ix_sessions(sessions, ix=None)``, ``group_sessions(sessions, group=None)``;
- ``communities(names, communities)``: community values of named communities;
- ``policy_communities(policy_name, policies, communities)``;
- ``cisco_password(password)``: Cisco type 7; ``quote(text)``: ``"text"`` made safe.

>>> render_string("{{ name | safe_string }}", name='Evil "Net" }; x {')
'Evil Net x'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from jinja2 import (
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
)
from jinja2.sandbox import SandboxedEnvironment

from nornir_peering.errors import PeeringError


class TemplateFailed(PeeringError):
    """A template could not be rendered; names the template and the line."""


_UNSAFE = re.compile(r"[\"'`\\{}\[\];#!$&|<>]")


def safe_string(value: Any, max_length: int = 80) -> str:
    """Text that cannot leave the quotes or the line it is put in.

    >>> safe_string('Quote "Networks"\\n} protocol bgp evil {')
    'Quote Networks protocol bgp evil'
    """
    text = unicodedata.normalize("NFKC", "" if value is None else str(value))
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = _UNSAFE.sub(" ", text)
    return " ".join(text.split())[:max_length].strip()


def identifier(value: Any) -> str:
    """A name made of ``[A-Za-z0-9_]``, never empty, never starting with a digit.

    >>> identifier("lab-ix 2"), identifier("65001")
    ('lab_ix_2', 'x65001')
    """
    text = re.sub(r"[^A-Za-z0-9_]", "_", str(value)) or "x"
    return f"x{text}" if text[0].isdigit() else text


def quote(value: Any) -> str:
    """``"value"``, made safe: the only way to put a stranger's text in quotes."""
    return f'"{safe_string(value)}"'


def max_prefix(session: Mapping[str, Any], family: int | None = None) -> int | None:
    """The session's max-prefix limit for ``family`` (default: its own)."""
    wanted = family or session["family"]
    value = session.get(f"max_prefix{wanted}")
    return int(value) if value is not None else None


def prefix_list(session: Mapping[str, Any]) -> list[str]:
    """The IRR prefixes stored for the session's peer, or none yet."""
    stored = session.get("prefix_list") or {}
    return list(stored.get("prefixes", [])) if isinstance(stored, Mapping) else list(stored)


def as_path_list(session: Mapping[str, Any]) -> list[int]:
    stored = session.get("prefix_list") or {}
    return list(stored.get("asns", [])) if isinstance(stored, Mapping) else []


def ix_sessions(sessions: Iterable[Mapping[str, Any]], ix: str | None = None) -> list[Any]:
    return [s for s in sessions if s["kind"] == "ix" and (ix is None or s["ix"] == ix)]


def group_sessions(sessions: Iterable[Mapping[str, Any]], group: str | None = None) -> list[Any]:
    return [s for s in sessions if s["kind"] == "direct" and (group is None or s["group"] == group)]


def communities(names: Iterable[str], table: Mapping[str, str]) -> list[str]:
    """Values of the named communities, in order, without repeats."""
    return list(dict.fromkeys(table[name] for name in names))


def policy_communities(
    policy: str | None, policies: Mapping[str, Any], table: Mapping[str, str]
) -> list[str]:
    if not policy:
        return []
    return communities(policies[policy].get("communities", []), table)


_CISCO_XLAT = b"dsfd;kfoA,.iyewrkldJKDHSUBsgvca69834ncxv9873254k;fg87"


def cisco_password(password: str, salt: int = 7) -> str:
    """Cisco type 7 encoding (obfuscation, as IOS shows it), deterministic.

    >>> cisco_password("cisco", salt=2)
    '02050D480809'
    """
    clear = safe_string(password).encode()
    out = f"{salt:02d}"
    for i, char in enumerate(clear):
        out += f"{char ^ _CISCO_XLAT[(salt + i) % len(_CISCO_XLAT)]:02X}"
    return out


FILTERS = {
    "safe_string": safe_string,
    "identifier": identifier,
    "quote": quote,
    "max_prefix": max_prefix,
    "prefix_list": prefix_list,
    "as_path_list": as_path_list,
    "ix_sessions": ix_sessions,
    "group_sessions": group_sessions,
    "communities": communities,
    "policy_communities": policy_communities,
    "cisco_password": cisco_password,
}


def environment(directory: Path | None = None) -> SandboxedEnvironment:
    """The sandboxed environment; ``directory`` holds the templates."""
    env = SandboxedEnvironment(
        loader=FileSystemLoader(str(directory)) if directory else None,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(FILTERS)
    return env


def render(env: SandboxedEnvironment, template: str, context: Mapping[str, Any]) -> str:
    """Render ``template``; any failure is a :class:`TemplateFailed` naming where."""
    try:
        return env.get_template(template).render(**context)
    except TemplateSyntaxError as exc:
        raise TemplateFailed(f"{exc.name or template}:{exc.lineno}: {exc.message}") from None
    except TemplateNotFound as exc:
        raise TemplateFailed(f"{template}: template not found ({exc.name})") from None
    except Exception as exc:  # undefined variables, sandbox refusals, filters that raised
        message = exc.message if isinstance(exc, TemplateError) else f"{type(exc).__name__}: {exc}"
        raise TemplateFailed(f"{_where(exc, template)}: {message}") from None


def render_string(source: str, **context: Any) -> str:
    return environment().from_string(source).render(**context)


def _where(exc: BaseException, template: str) -> str:
    """``template:line`` of the innermost template frame in the traceback.

    Jinja2 rewrites tracebacks so that template frames carry the template's
    file name and line."""
    where = template
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith((".j2", ".jinja", ".jinja2")) or filename == "<template>":
            where = f"{Path(filename).parent.name}/{Path(filename).name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where
