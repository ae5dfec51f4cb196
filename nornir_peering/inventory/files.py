"""Reading the intent files: YAML with line numbers, validated into models.

Every mistake becomes one :class:`~nornir_peering.errors.ConfigError` line
naming the file, the line, the key and the problem::

    inventory/peering.yaml:14: ixes.lab-ix.peers[2].ipv4[0]: '127.0.1.300' is not an IPv4 address
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from nornir_peering.errors import ConfigError
from nornir_peering.secrets.mask import SECRET_KEYS

M = TypeVar("M", bound=BaseModel)


_FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_FAST_LOADER):  # type: ignore[valid-type, misc]
    """libyaml's safe loader (ruamel's pure-Python parser is ~20x slower on a
    1,000-router inventory), refusing duplicate keys as ruamel does."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in first:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"found duplicate key {key!r} (first on line {first[key]})",
                    key_node.start_mark,
                )
            first[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


class IntentFile:
    """One YAML file: its data and where each key stands in it."""

    def __init__(self, path: Path, *, required: bool = True) -> None:
        self.path = path
        self.data: Any = None
        self._lines: Any = None
        if not path.exists():
            if required:
                raise ConfigError(f"{path}: file not found")
            return
        try:
            text = path.read_text(encoding="utf-8")
            self.data = yaml.load(text, Loader=_Loader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = f":{mark.line + 1}" if mark else ""
            problem = exc.problem or exc.context or "not valid YAML"
            raise ConfigError(f"{path}{line}: {problem}") from None
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: {exc}") from None

    def mapping(self) -> dict[str, Any]:
        """The file's top level, which must be a mapping (an empty file is an empty one)."""
        if self.data is None:
            return {}
        if not isinstance(self.data, dict):
            raise ConfigError(f"{self.path}: must be a mapping")
        return self.data

    def validate(self, model: type[M], data: Any = None, loc: Sequence[str | int] = ()) -> M:
        """``data`` (default: the whole file) as ``model``, or one clear error."""
        try:
            return model.model_validate(self.data if data is None else data)
        except ValidationError as exc:
            errors = exc.errors()
            # a misspelt key also makes the right one "missing": name the typo first
            error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
            # drop pydantic's names for the branches of a union: not keys of the file
            where = (*loc, *(k for k in error["loc"] if not (isinstance(k, str) and "[" in k)))
            message = _message(error, shown=not _secret_at(where))
            raise self.error(where, message) from None

    def error(self, loc: Sequence[str | int], message: str) -> ConfigError:
        """An error about the value at ``loc`` (keys and list indexes)."""
        line = self.line(loc)
        return ConfigError(f"{self.path}{f':{line}' if line else ''}: {dotted(loc)}: {message}")

    def line(self, loc: Sequence[str | int]) -> int | None:
        """The line of ``loc`` in the file, or of its nearest parent found.

        Only errors need lines, so the file is parsed again, by ruamel's
        round-trip loader which keeps them, only then."""
        if self._lines is None:
            try:
                self._lines = YAML(typ="rt").load(self.path.read_text(encoding="utf-8"))
            except (OSError, MarkedYAMLError):
                return None
        node, found = self._lines, None
        for key in loc:
            if isinstance(node, CommentedMap) and key in node:
                found = node.lc.key(key)[0] + 1
                node = node[key]
            elif isinstance(node, CommentedSeq) and isinstance(key, int) and key < len(node):
                found = node.lc.item(key)[0] + 1
                node = node[key]
            else:
                break
        return found


def dotted(loc: Sequence[str | int]) -> str:
    """``("ixes", "lab-ix", "peers", 2)`` → ``ixes.lab-ix.peers[2]``."""
    text = ""
    for key in loc:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text or "(top)"


def _secret_at(loc: Sequence[str | int]) -> bool:
    """Whether ``loc`` is, or is inside, a key whose value may be a secret: an error
    about it never shows the value.

    >>> _secret_at(("ixes", "lab-ix", "peers", 2, "password")), _secret_at(("asn",))
    (True, False)
    """
    return any(isinstance(key, str) and key in SECRET_KEYS for key in loc)


def _message(error: Any, shown: bool = True) -> str:
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "missing (required)"
    if kind in ("ip_v4_address", "ip_v6_address", "ip_any_address"):
        family = {"ip_v4_address": "an IPv4", "ip_v6_address": "an IPv6"}.get(kind, "an IP")
        return f"{value!r} is not {family} address"
    message = str(error["msg"]).removeprefix("Value error, ")
    if shown and (isinstance(value, str | int | float | bool) or value is None):
        return f"{message} (got {value!r})"
    return message
