"""The documentation builds with warnings as errors, and its reference pages say what the
code has: every setting, command, exit code, template filter, context key and inventory
key. A new one without a description, or a page left behind, fails here."""

from __future__ import annotations

import html
import importlib.util
import re
import subprocess
import sys
import typing
from pathlib import Path
from types import ModuleType

import click
import pytest
from pydantic import BaseModel

from nornir_peering.cli import cli
from nornir_peering.errors import EXIT_CODE_MEANINGS, ExitCode
from nornir_peering.interrupt import Interrupted
from nornir_peering.inventory import intent
from nornir_peering.inventory.session import Connection, IRRLists, PolledState, Session
from nornir_peering.rendering import RouterContext, TemplateContext
from nornir_peering.settings import PeeringSettings, environment_names
from nornir_peering.templating import FILTERS, GLOBALS
from tests.helpers import console_commands

DOCS = Path(__file__).resolve().parent.parent / "docs"
MODELS = [
    m
    for m in vars(intent).values()
    if isinstance(m, type) and issubclass(m, BaseModel) and m.__module__ == intent.__name__
]
KEYED = [TemplateContext, RouterContext, Session, Connection, PolledState, IRRLists]


def _extension() -> ModuleType:
    spec = importlib.util.spec_from_file_location("peering_docs", DOCS / "_ext/peering_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documentation, built as ``./run docs`` builds it, warnings as errors."""
    out = tmp_path_factory.mktemp("html")
    built = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         str(DOCS), str(out)],
        capture_output=True,
        text=True,
        timeout=240,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert "WARNING" not in built.stderr and "ERROR" not in built.stderr, built.stderr
    return out


def page(site: Path, name: str) -> str:
    """A built page's text, markup removed."""
    text = (site / name).read_text(encoding="utf-8")
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def _commands(group: click.Group, ctx: click.Context, path: str) -> list[str]:
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        found.append(f"{path} {name}")
        if isinstance(command, click.Group):
            found += _commands(command, click.Context(command, parent=ctx), f"{path} {name}")
    return found


def test_every_setting_with_its_environment_names(site: Path) -> None:
    text = page(site, "reference/settings.html")
    for name, field in PeeringSettings.model_fields.items():
        assert field.description, f"setting {name} has no description"
        assert name in text and field.description.split("``")[0][:30] in text, name
    for variable, setting in environment_names().items():
        if setting not in ("redis_password", "job_key", "job_key_previous"):
            assert variable in text, variable


def test_every_command_and_subcommand(site: Path) -> None:
    text = "".join(page(site, "reference/cli.html").split())  # usage lines are highlighted
    commands = _commands(cli, click.Context(cli), "nornir-peering")
    assert "nornir-peering configure-routers" in commands
    assert "nornir-peering jobs collect" in commands
    for command in commands:
        assert f"{command.replace(' ', '')}[OPTIONS]" in text, command
    for old in ("peeringdb_sync", "configure_routers", "poll_peering_sessions", "grab_prefixes"):
        assert old in text


def test_every_exit_code(site: Path) -> None:
    text = page(site, "reference/exit-codes.html")
    for code in ExitCode:
        assert EXIT_CODE_MEANINGS[code], code
        assert code.name in text and f" {int(code)} " in text, code
    # the codes a stop exits with are the signal's, as a shell reports them
    assert Interrupted("SIGINT").exit_code == ExitCode.CTRL_C
    assert Interrupted("SIGTERM").exit_code == ExitCode.SIGTERM


def test_every_filter_and_context_key(site: Path) -> None:
    text = page(site, "reference/templates.html")
    for name in [*FILTERS, *GLOBALS]:
        assert re.search(rf"\b{name}\b", text), name
    docs = _extension().attribute_docs
    for keyed in KEYED:
        documented = docs(keyed)
        for key in typing.get_type_hints(keyed):
            assert documented.get(key), f"{keyed.__name__}[{key!r}] has no #: description"
            assert re.search(rf"\b{key}\b", text), key


def test_every_inventory_key(site: Path) -> None:
    text = page(site, "reference/inventory.html")
    docs = _extension().attribute_docs
    assert intent.PeeringIntent in MODELS and intent.RouterData in MODELS
    for model in MODELS:
        if model is intent.Strict:
            continue
        documented = docs(model)
        for name in model.model_fields:
            assert documented.get(name), f"{model.__name__}.{name} has no #: description"
            assert re.search(rf"\b{name}\b", text), f"{model.__name__}.{name}"


class Undocumented(BaseModel):
    documented: int = 1  #: a field with a description
    bare: int = 2  # a comment, not a description


def test_a_field_without_a_description_is_found() -> None:
    assert _extension().attribute_docs(Undocumented) == {"documented": "a field with a description"}




def test_getting_started_walks_the_first_run() -> None:
    commands = console_commands((DOCS / "getting-started.md").read_text(encoding="utf-8"))
    steps = [c for c in commands if c.startswith("nornir-peering ")]
    wanted = [
        "nornir-peering init peering --asn 64500",
        "nornir-peering doctor",
        "nornir-peering peeringdb-sync",
        "nornir-peering configure-routers",
        "nornir-peering configure-routers --commit",
    ]
    assert [s for s in steps if s in wanted] == wanted
    assert commands[0].startswith("python3 -m venv") and "pip install nornir-peering" in commands
