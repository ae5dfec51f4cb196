"""What PeeringDB's API does with a query, for the lab server (:mod:`.pdbserver`).

Read from PeeringDB's own server (github.com/peeringdb/peeringdb,
``src/peeringdb_server/rest.py``, ``serializers.py`` and ``api_cache.py``) and
its API documentation (``docs/api/op_list.md``):

- a field filter is ``field=value`` or ``field__<op>=value`` with ``op`` one
  of ``lt lte gt gte contains startswith in``; a parameter that names no field,
  or an unknown suffix, is ignored; text matches without regard to case;
- ``since`` (epoch seconds, a float is cut to whole seconds): objects created
  or updated strictly after it, deleted ones included, oldest update first;
- ``depth``: 0 to 3 on lists (0 by default), 0 to 4 on a single object (2 by
  default); sets (``net_set``, ...) become ids, then objects, and a single
  object also gets its parents (``org``, ...);
- ``skip``, ``limit`` and ``fields``; a bad number is refused with 400.

For example:

>>> q = Query.parse({"asn__in": "64500,65001", "name__contains": "LAB", "depth": "1"})
>>> q.depth, [f.name for f in q.filters(COLUMNS_NET)]
(1, ['asn', 'name'])
>>> Filter.make(COLUMNS_NET, "name", "lab peering").matches({"name": "LAB Peering"})
True
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

Row = dict[str, Any]

# rest.py: the suffixes get_queryset() applies; anything else is no filter at all
_SUFFIX = re.compile(r"^(.+)__(lt|lte|gt|gte|contains|startswith|in)$")
# rest.py: exact matches on these text fields are "contains" matches
_CONTAINS = frozenset({"address1", "city", "state"})
# serializers.py ModelSerializer.max_depth, default_depth: (list, single object)
MAX_DEPTH = (3, 4)
DEFAULT_DEPTH = (0, 2)
# rest.py: API_DEPTH_ROW_LIMIT, for lists with depth > 0 that are not served from the cache
DEPTH_ROW_LIMIT = 250
TRUNCATED = (
    "Your search query (with depth {depth}) returned more than {limit} rows and has been "
    "truncated. Please be more specific in your filters, use the limit and skip parameters "
    "to page through the resultset or drop the depth parameter"
)
COLUMNS_NET = {"id": "BIGINT", "asn": "BIGINT", "name": "VARCHAR"}  # for the examples


class QueryError(ValueError):
    """A query PeeringDB answers with 400; the message is its ``meta.error``."""


@dataclass(frozen=True)
class Query:
    """The parameters of one API request."""

    params: Mapping[str, str]
    since: int = 0
    skip: int = 0
    limit: int = 0
    depth: int | None = None  # None: the default for a list or a single object
    fields: tuple[str, ...] = ()

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Query:
        """The query of ``params`` (one value per name, the last one given, as Django's)."""
        try:
            since = int(float(params.get("since", "0")))
        except ValueError:
            raise QueryError("'since' needs to be a unix timestamp (epoch seconds)") from None
        depth = params.get("depth")
        return cls(
            params=params,
            since=since,
            skip=_count(params, "skip"),
            limit=_count(params, "limit"),
            depth=None if depth is None else _number(depth, "depth"),
            fields=tuple(f for f in params.get("fields", "").split(",") if f),
        )

    def depth_for(self, single: bool) -> int:
        """The depth served: the one asked, within PeeringDB's bounds, or the default."""
        if self.depth is None:
            return DEFAULT_DEPTH[single]
        return min(self.depth, MAX_DEPTH[single])

    def filters(self, columns: Mapping[str, str]) -> list[Filter]:
        """The field filters among the parameters, for a type with ``columns``."""
        found = (Filter.make(columns, key, value) for key, value in self.params.items())
        return [f for f in found if f is not None]

    def cached(self, filters: list[Filter]) -> bool:
        """Whether PeeringDB answers from its cache (``meta.generated``) for a list.

        api_cache.py APICacheLoader.qualifies: no filter, no ``since``, and not a
        small page at depth 0.
        """
        small_page = not self.depth_for(False) and 0 < self.limit <= DEPTH_ROW_LIMIT
        return not filters and not self.since and not small_page

    def page(self, rows: list[Row]) -> list[Row]:
        """``rows`` from ``skip`` on, at most ``limit`` of them (all for 0)."""
        return rows[self.skip : self.skip + self.limit] if self.limit else rows[self.skip :]

    def select(self, row: Row) -> Row:
        """``row`` with only the ``fields`` asked for, if any (the root object's only)."""
        return {k: v for k, v in row.items() if k in self.fields} if self.fields else row


def _number(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise QueryError(f"'{name}' needs to be a number") from None


def _count(params: Mapping[str, str], name: str) -> int:
    number = _number(params.get(name, "0"), name)
    if number < 0:  # Django refuses to slice with it
        raise QueryError(f"'{name}' needs to be a positive number")
    return number


# -- filters -------------------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    """One field filter: ``name`` compared with ``op`` to what the query gave."""

    name: str
    op: str  # "exact", or one of rest.py's suffixes
    test: Callable[[Any], bool] = field(compare=False)

    @classmethod
    def make(cls, columns: Mapping[str, str], key: str, value: str) -> Filter | None:
        """The filter of ``key=value`` for a type with ``columns``; None if it is no filter.

        As rest.py: ``org`` and ``org_id`` both mean the reference to an org; exact
        text matches are case-insensitive, ``address1``, ``city`` and ``state``
        match a part, ``country`` a code (two letters) or a part; an exact match
        on a time is a prefix (``updated=2026-11-01``); booleans are ``true`` or ``1``.
        """
        suffix = _SUFFIX.match(key)
        name, op = (suffix[1], suffix[2]) if suffix else (key, "exact")
        if name not in columns and f"{name}_id" in columns:
            name = f"{name}_id"
        if name not in columns:
            return None
        kind = columns[name]
        if op == "exact" and (name in _CONTAINS or (name == "country" and len(value) != 2)):
            op = "contains"
        if op == "exact" and kind == "TIMESTAMP":
            op = "startswith"
        return cls(name, op, _test(kind, op, value, name))

    def matches(self, row: Row) -> bool:
        """Whether ``row`` passes; a null never does, as in SQL."""
        value = row.get(self.name)
        return value is not None and self.test(value)


def _test(kind: str, op: str, value: str, name: str) -> Callable[[Any], bool]:
    """The comparison of a stored value of column type ``kind`` with the query's ``value``."""
    if op in ("contains", "startswith"):
        wanted = fold(value)
        if op == "contains":
            return lambda stored: wanted in fold(_as_text(stored, kind))
        return lambda stored: fold(_as_text(stored, kind)).startswith(wanted)
    if kind in ("BIGINT", "DOUBLE"):
        parse: Callable[[str], Any] = int if kind == "BIGINT" else float

        def number(text: str) -> Any:
            try:
                return parse(text)
            except ValueError:
                raise QueryError(f"Field '{name}' expected a number but got {text!r}.") from None

        return _compare(op, value, number, lambda stored: stored)
    if kind == "BOOLEAN":
        return _compare(op, value, lambda text: text.lower() == "true" or text == "1", bool)
    if kind == "TIMESTAMP":
        return _compare(op, value, lambda text: _when(text, op), _stamp)
    return _compare(op, value, fold, lambda stored: fold(_as_text(stored, kind)))


def _compare(
    op: str, value: str, parse: Callable[[str], Any], stored: Callable[[Any], Any]
) -> Callable[[Any], bool]:
    if op == "in":  # rest.py splits the value at commas
        wanted = {parse(v) for v in value.split(",")}
        return lambda x: stored(x) in wanted
    bound = parse(value)
    tests: dict[str, Callable[[Any], bool]] = {
        "exact": lambda x: stored(x) == bound,
        "lt": lambda x: stored(x) < bound,
        "lte": lambda x: stored(x) <= bound,
        "gt": lambda x: stored(x) > bound,
        "gte": lambda x: stored(x) >= bound,
    }
    return tests[op]


def fold(text: str) -> str:
    """``text`` compared without regard to case or accents.

    PeeringDB's docs: "All string filtering operations are case-insensitive";
    rest.py also transliterates the query's value (unidecode) for a database
    that ignores accents. Both sides are folded here.

    >>> fold("Zürich") == fold("ZURICH")
    True
    """
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _as_text(value: Any, kind: str) -> str:
    """A stored value as the database compares it as text."""
    if kind == "VARCHAR[]":  # django-peeringdb's MultipleChoiceField: comma-separated
        return ",".join(value)
    if kind == "TIMESTAMP":
        return str(value).replace("T", " ").removesuffix("Z")
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _stamp(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _when(text: str, op: str) -> datetime:
    """A time from a query, as rest.py reads it: a date alone is its midnight, or its
    last moment for ``gt`` and ``lte``; no zone is UTC."""
    try:
        when = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        raise QueryError(f"'{text}' value has an invalid format.") from None
    if len(text) == 10 and op in ("gt", "lte"):
        when += timedelta(days=1, milliseconds=-1)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


# -- depth ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectSet:
    """A ``<tag>_set`` field: the live objects of ``tag`` whose ``ref`` is the object.

    With ``via`` (type, field), the set lists the objects that those rows name
    instead (``ix.fac_set`` lists the facilities of the exchange's ixfacs).
    ``exclude`` are the fields its objects leave out (serializers.py ``nested()``).
    """

    name: str
    tag: str
    ref: str
    exclude: tuple[str, ...] = ()
    via: tuple[str, str] | None = None


# serializers.py: each serializer's nested() sets
SETS: dict[str, tuple[ObjectSet, ...]] = {
    "org": tuple(
        ObjectSet(f"{tag}_set", tag, "org_id", ("org_id", "org"))
        for tag in ("net", "fac", "ix", "carrier", "campus")
    ),
    "campus": (ObjectSet("fac_set", "fac", "campus_id", ("org_id", "org")),),
    "net": tuple(
        ObjectSet(f"{tag}_set", tag, "net_id", ("net_id", "net"))
        for tag in ("netfac", "netixlan", "poc")
    ),
    "ix": (
        ObjectSet("fac_set", "ixfac", "ix_id", via=("fac", "fac_id")),
        ObjectSet("ixlan_set", "ixlan", "ix_id", ("ix_id", "ix")),
    ),
    "ixlan": (
        ObjectSet("net_set", "netixlan", "ixlan_id", via=("net", "net_id")),
        ObjectSet("ixpfx_set", "ixpfx", "ixlan_id", ("ixlan_id", "ixlan")),
    ),
    "carrier": (ObjectSet("carrierfac_set", "carrierfac", "carrier_id", ("fac",)),),
}
# serializers.py: each serializer's parent objects (Meta.related_fields that are not sets,
# all in Meta.list_exclude): the field, the parent's type and the reference to it
PARENTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "campus": (("org", "org", "org_id"),),
    "fac": (("org", "org", "org_id"), ("campus", "campus", "campus_id")),
    "net": (("org", "org", "org_id"),),
    "ix": (("org", "org", "org_id"),),
    "carrier": (("org", "org", "org_id"),),
    "carrierfac": (("carrier", "carrier", "carrier_id"), ("fac", "fac", "fac_id")),
    "ixfac": (("ix", "ix", "ix_id"), ("fac", "fac", "fac_id")),
    "ixlan": (("ix", "ix", "ix_id"),),
    "ixpfx": (("ixlan", "ixlan", "ixlan_id"),),
    "netfac": (("net", "net", "net_id"), ("fac", "fac", "fac_id")),
    "netixlan": (("net", "net", "net_id"), ("ixlan", "ixlan", "ixlan_id")),
    "poc": (("net", "net", "net_id"),),
}


class Related:
    """Where :class:`Expander` finds objects: by id, and the live objects referring to one."""

    def __init__(self, rows: Mapping[str, list[Row]], visible: Callable[[Row], bool]) -> None:
        self._rows = rows
        self._visible = visible
        self._by_id: dict[str, dict[int, Row]] = {}
        self._children: dict[tuple[str, str], dict[int, list[Row]]] = {}

    def get(self, tag: str, oid: int | None) -> Row | None:
        """The ``tag`` object with id ``oid``, whatever its status."""
        if tag not in self._by_id:
            self._by_id[tag] = {row["id"]: row for row in self._rows.get(tag, [])}
        return None if oid is None else self._by_id[tag].get(oid)

    def children(self, tag: str, ref: str, oid: int) -> list[Row]:
        """The live, visible ``tag`` objects whose ``ref`` is ``oid``, in id order."""
        if (tag, ref) not in self._children:
            index: dict[Any, list[Row]] = {}
            for row in sorted(self._rows.get(tag, []), key=lambda r: r["id"]):
                if row["status"] == "ok" and self._visible(row):
                    index.setdefault(row.get(ref), []).append(row)
            self._children[(tag, ref)] = index
        return self._children[(tag, ref)].get(oid, [])


class Expander:
    """Objects at a ``depth``, as serializers.py's ModelSerializer.to_representation has them.

    An object at level ``d`` (a list's objects at ``depth``, a single object at
    ``depth + 1``) keeps its related fields when ``d`` reaches ``k``; the
    objects of its sets are at ``d - 2`` and its parents at ``d - 1``; a related
    object below ``j`` is only its id. ``k, j`` are 2, 1 for a single object and
    1, 0 for a list, and lists never show parents (``Meta.list_exclude``).

    >>> rows = {"org": [{"id": 1, "status": "ok", "name": "O"}],
    ...         "net": [{"id": 2, "status": "ok", "org_id": 1}]}
    >>> expand = Expander(Related(rows, lambda row: True))
    >>> expand.one("org", rows["org"][0], depth=1, single=False)["net_set"]
    [2]
    >>> expand.one("net", rows["net"][0], depth=2, single=True)["org"]["net_set"]
    [2]
    """

    def __init__(self, related: Related) -> None:
        self.related = related

    def one(self, tag: str, row: Row, depth: int, single: bool) -> Row:
        """``row``, the root of a reply, expanded to ``depth``."""
        expanded = self._object(tag, row, depth + 1 if single else depth, single, (), False)
        assert isinstance(expanded, dict)
        return expanded

    def many(self, tag: str, rows: list[Row], depth: int) -> list[Row]:
        """The objects of a list reply, expanded to ``depth`` (as they are at 0)."""
        if depth <= 0:
            return rows
        return [self.one(tag, row, depth, single=False) for row in rows]

    def _object(
        self, tag: str, row: Row, level: int, single: bool, exclude: tuple[str, ...], nested: bool
    ) -> Row | int:
        keep, full = (2, 1) if single else (1, 0)
        if nested and level < full:
            return int(row["id"])
        out = {k: v for k, v in row.items() if k not in exclude}
        if level < keep:
            return out
        if single:
            for name, parent_tag, ref in PARENTS.get(tag, ()):
                if name not in exclude:
                    parent = self.related.get(parent_tag, row.get(ref))
                    out[name] = parent and self._object(
                        parent_tag, parent, level - 1, single, (), True
                    )
        for objects in SETS.get(tag, ()):
            if objects.name in exclude:
                continue
            items = self.related.children(objects.tag, objects.ref, row["id"])
            if objects.via:
                item_tag, item_ref = objects.via
                found = (self.related.get(item_tag, item.get(item_ref)) for item in items)
                pairs = [(item_tag, item) for item in found if item is not None]
            else:
                pairs = [(objects.tag, item) for item in items]
            out[objects.name] = [
                self._object(t, item, level - 2, single, objects.exclude, True) for t, item in pairs
            ]
        return out
