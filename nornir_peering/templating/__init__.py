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
- ``describe(session)``: the session's description or peer name, safe and never empty;
- ``max_prefix(session, family=None)``: the session's limit for its family;
- ``prefix_list(session)`` / ``as_path_list(session)``: the stored IRR
  entries and ASNs of a session (empty when none); ``irr_filtered(session)``:
  whether its family's list was fetched at all (an empty one rejects everything);
- ``ix_sessions(sessions, ix=None)``, ``group_sessions(sessions, group=None)``;
- ``communities(names, communities)``: community values of named communities;
- ``policy_communities(policy_name, policies, communities)``;
- ``cisco_password(password)``: Cisco type 7; ``juniper_password(password)``: Junos
  ``$9$``; ``quote(text)``: ``"text"`` made safe;
- ``owned(name)``: the name of an object nornir-peering owns (``NP_LAB_IX_V4``);
- ``bgp_password(session, platform)``: the session's password, refused with a clear
  error when the platform cannot carry one of its characters (never changed);
- ``community_type(value)``: ``standard``, ``large``, ``rt`` or ``soo``;
- ``prefix_range(entry)``: what a filter accepts for an IRR entry (its lengths);
- ``refuse(message)``: fail the router with ``message`` (a template's own check);
- ``bgp_plan(sessions)``: the example templates' groups, policies and names
  (:mod:`nornir_peering.templating.policy`).

Data: ``bogons`` (NLNOG BGP Filter Guide's IPv4 and IPv6 bogon prefixes, by family),
``max_length`` (the longest prefix accepted from a peer: /24 and /48) and
``min_length`` (the shortest: /8 and /16; the default route only from a transit session
that asks for it).

>>> render_string("{{ name | safe_string }}", name='Evil "Net" }; x {')
'Evil Net x'
"""

from __future__ import annotations

from collections.abc import Mapping
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
from nornir_peering.templating.filters import (
    BOGONS,
    MAX_LENGTH,
    MIN_LENGTH,
    as_path_list,
    bgp_password,
    cisco_password,
    communities,
    community_type,
    community_value,
    describe,
    group_sessions,
    identifier,
    irr_filtered,
    ix_sessions,
    juniper_password,
    max_prefix,
    owned,
    policy_communities,
    prefix_list,
    prefix_range,
    quote,
    refuse,
    safe_string,
)
from nornir_peering.templating.policy import bgp_plan

__all__ = [
    "TemplateFailed",
    "cisco_password",
    "environment",
    "identifier",
    "max_prefix",
    "policy_communities",
    "quote",
    "render_string",
    "render_template",
    "safe_string",
]


class TemplateFailed(PeeringError):
    """A template could not be rendered; names the template and the line."""


FILTERS = {
    "safe_string": safe_string,
    "identifier": identifier,
    "quote": quote,
    "max_prefix": max_prefix,
    "prefix_list": prefix_list,
    "as_path_list": as_path_list,
    "irr_filtered": irr_filtered,
    "ix_sessions": ix_sessions,
    "group_sessions": group_sessions,
    "communities": communities,
    "policy_communities": policy_communities,
    "cisco_password": cisco_password,
    "juniper_password": juniper_password,
    "owned": owned,
    "describe": describe,
    "bgp_password": bgp_password,
    "community_type": community_type,
    "community_value": community_value,
    "prefix_range": prefix_range,
    "bgp_plan": bgp_plan,
}
GLOBALS = {
    "refuse": refuse,
    "bogons": BOGONS,
    "max_length": MAX_LENGTH,
    "min_length": MIN_LENGTH,
}


def environment(directory: Path | None = None) -> SandboxedEnvironment:
    """The sandboxed environment; ``directory`` holds the templates.

    nornir-jinja2's ``template_file`` task is not used: it hands templates the Nornir
    ``Host`` object (with its connections) and adds filters to the environment it is
    given, where ours receive only plain data from a sandbox that never changes.
    """
    env = SandboxedEnvironment(
        loader=FileSystemLoader(str(directory)) if directory else None,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(FILTERS)
    env.globals.update(GLOBALS)
    return env


def render_template(env: SandboxedEnvironment, template: str, context: Mapping[str, Any]) -> str:
    """Render ``template``; any failure is a :class:`TemplateFailed` naming where."""
    try:
        return env.get_template(template).render(**context)
    except TemplateSyntaxError as exc:
        raise TemplateFailed(f"{exc.name or template}:{exc.lineno}: {exc.message}") from None
    except TemplateNotFound as exc:
        raise TemplateFailed(f"{template}: template not found ({exc.name})") from None
    except Exception as exc:  # undefined variables, sandbox refusals, filters that raised
        if isinstance(exc, TemplateError):
            message = exc.message or type(exc).__name__
        elif isinstance(exc, ValueError):  # a filter's or the template's own refusal
            message = str(exc)
        else:
            message = f"{type(exc).__name__}: {exc}"
        raise TemplateFailed(f"{_template_line(exc, template)}: {message}") from None


def render_string(source: str, **context: Any) -> str:
    """Render a template given as text, in a fresh environment (for examples and tests)."""
    return environment().from_string(source).render(**context)


def _template_line(exc: BaseException, template: str) -> str:
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
