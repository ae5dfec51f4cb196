"""Writing a project's files without ever overwriting one: what was created, what was
left alone because it exists.

For example::

    files = ProjectFiles(Path("peering"))
    files.write("README.md", "# Peering\\n")
    files.copy_tree(packaged("templates"), "templates")
    files.created, files.kept
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from nornir_peering.errors import ConfigError, PeeringError


def packaged(*parts: str) -> Traversable:
    """A file or folder shipped in the package (``packaged("templates")``)."""
    found = files("nornir_peering")
    for part in parts:
        found = found / part
    return found


class ProjectFiles:
    """The files of a project in ``directory``, written only where none exists."""

    def __init__(self, directory: Path) -> None:
        if directory.exists() and not directory.is_dir():
            raise ConfigError(f"{directory}: not a directory")
        self.directory = directory
        self.created: list[str] = []  # relative to the directory, in the order written
        self.kept: list[str] = []  # those that existed, left as they were

    def write(self, name: str, text: str) -> None:
        """``text`` into ``name``, unless that exists (then it is kept)."""
        path = self.directory / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("x", encoding="utf-8") as file:  # x: never an existing file
                file.write(text)
        except FileExistsError:
            self.kept.append(name)
            return
        except OSError as exc:
            raise PeeringError(f"{path}: {exc.strerror or exc}") from None
        self.created.append(name)

    def copy_tree(self, source: Traversable, name: str) -> None:
        """Every file under ``source`` into the folder ``name``, each one unless it exists."""
        for entry in sorted(source.iterdir(), key=lambda entry: entry.name):
            if entry.name.startswith((".", "__")):
                continue
            if entry.is_dir():
                self.copy_tree(entry, f"{name}/{entry.name}")
            else:
                self.write(f"{name}/{entry.name}", entry.read_text(encoding="utf-8"))
