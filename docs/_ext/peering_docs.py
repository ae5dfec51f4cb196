"""Reference tables generated from the code, so that the documentation cannot drift.

Each directive reads one place in ``nornir_peering`` and writes reStructuredText:

- ``peering-settings``: :class:`~nornir_peering.settings.PeeringSettings`, a row per field
  (name, type, default, environment variables, the field's description);
- ``peering-settings-sources``: the environment names peeringdb-py's set-up is read from;
- ``peering-prefix-limits``: :data:`~nornir_peering.settings.PREFIX_LIST_LIMITS`;
- ``peering-exit-codes``: :data:`~nornir_peering.errors.EXIT_CODE_MEANINGS`;
- ``peering-command-aliases``: Peering Manager's command names the CLI keeps;
- ``peering-filters``: every filter and global of the template environment, with its
  signature and docstring;
- ``peering-keys``: a ``TypedDict``'s keys, with their ``#:`` documentation comments;
- ``peering-model``: a pydantic model's fields (type, default, ``#:`` comments).

A field, key, filter or exit code without a description stops the build with an error.
"""

from __future__ import annotations

import importlib
import inspect
import types
import typing
from collections.abc import Callable, Iterable, Iterator
from enum import Enum
from pathlib import PurePath
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from pydantic import BaseModel
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.pycode import ModuleAnalyzer
from sphinx.util.docutils import SphinxDirective


def _import(path: str) -> Any:
    """``package.module.attribute`` → the object."""
    module, _, attribute = path.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


def type_text(annotation: Any) -> str:
    """A type as a reader of YAML thinks of it: ``int | none``, ``list[str]``."""
    if annotation is type(None) or annotation is None:
        return "none"
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_text(args[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_text(a) for a in args)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(type_text(a) for a in args)}]"
    if annotation is typing.Any:
        return "any"
    return getattr(annotation, "__name__", str(annotation))


def _literal(value: Any) -> str:
    """A default as a user would write it in ``config.yaml``."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "``true``" if value else "``false``"
    if isinstance(value, BaseModel):
        return "``{}``"
    if isinstance(value, PurePath):
        return f"``{value}``"
    if isinstance(value, str):
        return f'``"{value}"``' if value == "" else f"``{value}``"
    return f"``{value!r}``"


def _cell(text: str) -> list[str]:
    """A list-table cell: one line each, the first after ``- ``."""
    lines = (text or "").strip().splitlines() or [""]
    return [lines[0], *lines[1:]]


def list_table(header: list[str], rows: Iterable[list[str]], widths: str) -> list[str]:
    """reStructuredText of a ``list-table``."""
    out = [".. list-table::", "   :header-rows: 1", f"   :widths: {widths}", ""]
    for row in [header, *rows]:
        for index, cell in enumerate(row):
            first, *rest = _cell(cell)
            out.append(("   * - " if index == 0 else "     - ") + first)
            out.extend("       " + line for line in rest)
    out.append("")
    return out


def attribute_docs(cls: type) -> dict[str, str]:
    """The ``#:`` comments (and docstrings) of ``cls``'s attributes, its bases' too."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__ in ("builtins", "typing") or klass.__module__.startswith("pydantic"):
            continue
        found = ModuleAnalyzer.for_module(klass.__module__).find_attr_docs()
        for (owner, name), lines in found.items():
            if owner == klass.__qualname__:
                docs[name] = " ".join(line.strip() for line in lines if line.strip())
    return docs


class _Generated(SphinxDirective):
    """A directive that writes reStructuredText and parses it in place."""

    def _rst(self) -> Iterator[str]:
        raise NotImplementedError

    def missing(self, what: str) -> ExtensionError:
        return ExtensionError(f"{self.name}: {what} has no description; document it in the code")

    def run(self) -> list[nodes.Node]:
        container = nodes.container()
        lines = StringList(list(self._rst()), source=f"<{self.name}>")
        self.state.nested_parse(lines, self.content_offset, container)
        return list(container.children)


class SettingsTable(_Generated):
    """Every setting of :class:`~nornir_peering.settings.PeeringSettings`."""

    def _rst(self) -> Iterator[str]:
        from nornir_peering.secrets import SecretRef
        from nornir_peering.settings import PeeringSettings, environment_names

        by_setting: dict[str, list[str]] = {}
        for variable, setting in environment_names().items():
            by_setting.setdefault(setting, []).append(variable)
        rows = []
        for name, field in PeeringSettings.model_fields.items():
            if not field.description:
                raise self.missing(f"setting {name}")
            if field.default_factory is not None:
                default = _literal(field.default_factory())  # type: ignore[call-arg]
            else:
                default = _literal(field.default)
            args = typing.get_args(field.annotation)
            if SecretRef in args and str not in args:
                environment = "— (a reference, in ``config.yaml``)"
            else:
                environment = ", ".join(f"``{v}``" for v in reversed(by_setting[name]))
            rows.append(
                [
                    f"``{name}``",
                    f"``{type_text(field.annotation)}``",
                    default,
                    environment,
                    field.description,
                ]
            )
        yield from list_table(
            ["setting", "type", "default", "environment", "what it is"], rows, "14 12 16 20 38"
        )


class SettingsSources(_Generated):
    """peeringdb-py's own names, read below ``config.yaml``."""

    def _rst(self) -> Iterator[str]:
        from nornir_peering.settings import PDB_SYNC_ENV, PDB_SYNC_KEYS

        rows = [[f"``{v}``", f"``{s}``"] for v, s in PDB_SYNC_ENV.items()]
        rows += [
            [f"``sync.{k}`` in ``~/.peeringdb/config.yaml``", f"``{s}``"]
            for k, s in PDB_SYNC_KEYS.items()
        ]
        yield from list_table(["peeringdb-py's", "setting"], rows, "50 50")


class PrefixLimits(_Generated):
    """The built-in IRR list limits, by platform."""

    def _rst(self) -> Iterator[str]:
        from nornir_peering.settings import PREFIX_LIST_LIMITS

        rows = [[f"``{p}``", f"{n:,}"] for p, n in sorted(PREFIX_LIST_LIMITS.items())]
        yield from list_table(["platform", "entries"], rows, "50 50")


class ExitCodes(_Generated):
    """:class:`~nornir_peering.errors.ExitCode` and what each means."""

    def _rst(self) -> Iterator[str]:
        from nornir_peering.errors import EXIT_CODE_MEANINGS, ExitCode

        rows = []
        for code in ExitCode:
            if not EXIT_CODE_MEANINGS.get(code):
                raise self.missing(f"exit code {code.name}")
            rows.append([f"``{int(code)}``", f"``{code.name}``", EXIT_CODE_MEANINGS[code]])
        yield from list_table(["exit code", "name", "meaning"], rows, "10 14 76")


class CommandAliases(_Generated):
    """The older names the CLI keeps for existing crontabs, hidden from ``--help``."""

    def _rst(self) -> Iterator[str]:
        import click

        from nornir_peering.cli import COMMANDS, cli

        ctx = click.Context(cli)
        shown = {COMMANDS[n]: n for n in cli.list_commands(ctx) if not _hidden(ctx, n)}
        rows = []
        for name in COMMANDS:
            command = cli.get_command(ctx, name)
            if command is None or not command.hidden:
                continue
            same = shown.get(COMMANDS[name])
            what = f"as ``{same}``" if same else (command.help or "").split("\n\n")[0]
            rows.append([f"``{name}``", what])
        yield from list_table(["older name", "what it does"], rows, "35 65")


def _hidden(ctx: Any, name: str) -> bool:
    command = ctx.command.get_command(ctx, name)
    return command is None or bool(command.hidden)


def _signature(function: Callable[..., Any]) -> str:
    """A filter's signature as a template calls it (the Jinja2 context left out)."""
    parameters = list(inspect.signature(function).parameters.values())
    if parameters and parameters[0].name == "context":
        parameters = parameters[1:]
    shown = [p.replace(annotation=inspect.Parameter.empty) for p in parameters]
    return f"({', '.join(str(p) for p in shown)})"


class TemplateFilters(_Generated):
    """Every filter and global function templates get, from their docstrings."""

    option_spec: typing.ClassVar[dict[str, Callable[[str], str]]] = {"kind": str.strip}

    def _rst(self) -> Iterator[str]:
        from nornir_peering.templating import FILTERS, GLOBALS

        kind = self.options.get("kind", "filters")
        if kind == "data":
            from nornir_peering.templating import filters

            docs = {
                name: " ".join(lines).strip()
                for (owner, name), lines in ModuleAnalyzer.for_module(filters.__name__)
                .find_attr_docs()
                .items()
                if not owner
            }
            for name, value in GLOBALS.items():
                if callable(value):
                    continue
                source = next((n for n, v in vars(filters).items() if v is value), "")
                if not docs.get(source):
                    raise self.missing(f"template global {name}")
                yield f".. py:data:: {name}"
                yield "   :no-index:"
                yield ""
                yield f"   {docs[source]}: ``{_short(value)}``"
                yield ""
            return
        table = FILTERS if kind == "filters" else {n: v for n, v in GLOBALS.items() if callable(v)}
        for name, function in table.items():
            assert callable(function)
            doc = inspect.getdoc(function)
            if not doc:
                raise self.missing(f"template filter {name}")
            yield f".. py:function:: {name}{_signature(function)}"
            yield "   :no-index:"
            yield ""
            yield from ("   " + line if line else "" for line in doc.splitlines())
            yield ""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 200 else text[:197] + "..."


class TypedDictKeys(_Generated):
    """The keys of a ``TypedDict``, with their ``#:`` comments."""

    required_arguments = 1

    def _rst(self) -> Iterator[str]:
        cls = _import(self.arguments[0])
        docs = attribute_docs(cls)
        hints = typing.get_type_hints(cls)
        rows = []
        for key, annotation in hints.items():
            if not docs.get(key):
                raise self.missing(f"{cls.__name__}[{key!r}]")
            rows.append([f"``{key}``", f"``{type_text(annotation)}``", docs[key]])
        yield from list_table(["key", "type", "what it is"], rows, "20 25 55")


class ModelFields(_Generated):
    """The fields of a pydantic model of the intent files."""

    required_arguments = 1

    def _rst(self) -> Iterator[str]:
        cls = _import(self.arguments[0])
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            raise ExtensionError(f"{self.name}: {self.arguments[0]} is not a pydantic model")
        docs = attribute_docs(cls)
        rows = []
        for name, field in cls.model_fields.items():
            if not docs.get(name):
                raise self.missing(f"{cls.__name__}.{name}")
            if field.is_required():
                default = "required"
            elif field.default_factory is not None:
                default = _literal(field.default_factory())  # type: ignore[call-arg]
            else:
                default = _literal(_plain(field.default))
            rows.append([f"``{name}``", f"``{type_text(field.annotation)}``", default, docs[name]])
        yield from list_table(["key", "type", "default", "what it is"], rows, "18 22 14 46")


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directives."""
    app.add_directive("peering-settings", SettingsTable)
    app.add_directive("peering-settings-sources", SettingsSources)
    app.add_directive("peering-prefix-limits", PrefixLimits)
    app.add_directive("peering-exit-codes", ExitCodes)
    app.add_directive("peering-command-aliases", CommandAliases)
    app.add_directive("peering-filters", TemplateFilters)
    app.add_directive("peering-keys", TypedDictKeys)
    app.add_directive("peering-model", ModelFields)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
