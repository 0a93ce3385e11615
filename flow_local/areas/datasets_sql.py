"""Dataset filters and ordering as SQL over the rows' JSON, for SQLite and for PostgreSQL.

A row is a JSON object stored as text in ``dataset_rows.data``; a filter reads one top-level field.
SQLite reads it with ``json_type``/``json_extract`` (or ``json_each`` for a field name a JSON path
cannot spell), PostgreSQL with ``jsonb`` operators (``->``, ``#>>``, ``@>``). Both give the meaning
:func:`matches` gives in Python:

- a missing field reads as ``null``;
- ``eq``/``ne``/``in`` compare JSON values: numbers by value (``1`` equals ``1.0``), booleans only
  with booleans, strings exactly, arrays and objects element by element;
- ``gt``/``gte``/``lt``/``lte`` order two numbers, two strings (by code point) or two booleans
  (false before true); any other pair (a null, mixed types, objects) does not match, and arrays
  compare element by element;
- ``contains`` is a substring test on a string field with a string value, and a membership test
  on an array field.

A few comparisons have no exact SQL form (arrays and objects in SQLite, array ordering in both):
for those the SQL keeps every row that could match and :func:`matches` decides the rest, so
results never depend on the database.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flow_local.db import to_json

ORDERING_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


@dataclass(frozen=True)
class Fragment:
    """A piece of SQL with its ``?`` parameters, in order."""

    sql: str
    params: tuple[Any, ...] = ()

    def __add__(self, other: Fragment) -> Fragment:
        return Fragment(self.sql + other.sql, self.params + other.params)


TRUE = Fragment("(1 = 1)")
FALSE = Fragment("(1 = 0)")


def _join(separator: str, parts: Sequence[Fragment]) -> Fragment:
    return Fragment(separator.join(p.sql for p in parts), tuple(v for p in parts for v in p.params))


def _wrap(template: str, *parts: Fragment, params: tuple[Any, ...] = ()) -> Fragment:
    """``template`` with each ``{}`` replaced by a part; ``params`` follow the parts' parameters."""
    return Fragment(
        template.format(*(p.sql for p in parts)), tuple(v for p in parts for v in p.params) + params
    )


@dataclass(frozen=True)
class Condition:
    """The SQL form of a filter; when not ``exact`` it keeps a superset and Python decides the rest."""

    fragment: Fragment
    exact: bool = True


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def json_equal(a: Any, b: Any) -> bool:
    """Equality of two JSON values: booleans are not numbers, containers compare element by element."""
    kind = _json_kind(a)
    if kind != _json_kind(b):
        return False
    if kind == "array":
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if kind == "object":
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def _ordered(op: str, actual: Any, expected: Any) -> bool:
    kind = _json_kind(expected)
    if kind != _json_kind(actual) or kind in ("null", "object"):
        return False
    try:
        return bool(
            {
                "gt": actual > expected,
                "gte": actual >= expected,
                "lt": actual < expected,
                "lte": actual <= expected,
            }[op]
        )
    except TypeError:
        return False


def compare(op: str, actual: Any, expected: Any) -> bool:
    """Whether a field's value ``actual`` passes the filter ``op expected`` (the reference meaning)."""
    if op == "eq":
        return json_equal(actual, expected)
    if op == "ne":
        return not json_equal(actual, expected)
    if op == "in":
        return isinstance(expected, list) and any(json_equal(actual, e) for e in expected)
    if op == "contains":
        if isinstance(actual, str) and isinstance(expected, str):
            return expected in actual
        return isinstance(actual, list) and any(json_equal(e, expected) for e in actual)
    return _ordered(op, actual, expected)


def matches(row: dict[str, Any], filters: Sequence[dict[str, Any]]) -> bool:
    """Whether a row passes every filter."""
    return all(compare(f["op"], row.get(f["field"]), f["value"]) for f in filters)


class JsonValue:
    """One JSON value as SQL: its type's name and its value, in one database's terms."""

    null = "null"
    booleans: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    string = ""

    def kind(self) -> Fragment:
        """The JSON type name (NULL when the field is missing)."""
        raise NotImplementedError

    def kind_in(self, names: Sequence[str]) -> Fragment:
        """True when the type is one of ``names``."""
        marks = ", ".join("?" for _ in names)
        return _wrap(f"COALESCE({{}}, 'null') IN ({marks})", self.kind(), params=tuple(names))

    def equals_scalar(self, value: Any) -> Fragment:
        """Equality with a null, boolean, number or string."""
        raise NotImplementedError

    def equals_container(self, value: Any) -> Condition:
        """Equality with an array or an object."""
        raise NotImplementedError

    def ordered(self, op: str, value: Any) -> Fragment:
        """``value OP`` for a boolean, number or string ``value`` of the field's own type."""
        raise NotImplementedError

    def substring(self, text: str) -> Fragment:
        """True when the field is a string containing ``text``."""
        raise NotImplementedError

    def elements_matching(self, value: Any) -> Condition:
        """True when the field is an array with an element equal to ``value``."""
        raise NotImplementedError

    def array_of_length(self, size: int) -> Fragment:
        """True when the field is an array of ``size`` elements."""
        raise NotImplementedError

    def order_keys(self) -> list[Fragment]:
        """Sort keys: type rank (null, boolean/number, string, other), number, string, JSON text."""
        raise NotImplementedError

    def type_rank(self) -> Fragment:
        """The first sort key: 0 null, 1 boolean or number, 2 string, 3 array or object."""
        return _wrap(
            "CASE WHEN {} THEN 0 WHEN {} THEN 1 WHEN {} THEN 2 ELSE 3 END",
            self.kind_in([self.null]),
            self.kind_in((*self.booleans, *self.numbers)),
            self.kind_in([self.string]),
        )

    def equals(self, value: Any) -> Condition:
        """Equality with any JSON value."""
        if isinstance(value, list | dict):
            return self.equals_container(value)
        return Condition(self.equals_scalar(value))


def _sqlite_label(name: str) -> str | None:
    """The JSON path of a top-level field, or None when SQLite's path syntax cannot spell the name."""
    if any(char in '"\\' or ord(char) < 0x20 for char in name):
        return None
    return f'$."{name}"'


class SqliteJson(JsonValue):
    """A field of ``data`` (or an element of a ``json_each`` named ``alias``) in SQLite."""

    booleans = ("true", "false")
    numbers = ("integer", "real")
    string = "text"

    def __init__(self, field: str | None, alias: str = "") -> None:
        self.field = field
        self.alias = alias

    def kind(self) -> Fragment:
        if self.field is None:
            return Fragment(f"{self.alias}.type")
        path = _sqlite_label(self.field)
        if path is None:
            return Fragment("(SELECT type FROM json_each(data) WHERE key = ?)", (self.field,))
        return Fragment("json_type(data, ?)", (path,))

    def value(self) -> Fragment:
        """The SQL value: 1/0 for booleans, numbers, text, and JSON text for arrays and objects."""
        if self.field is None:
            return Fragment(f"{self.alias}.value")
        path = _sqlite_label(self.field)
        if path is None:
            return Fragment("(SELECT value FROM json_each(data) WHERE key = ?)", (self.field,))
        return Fragment("json_extract(data, ?)", (path,))

    def _typed(self, names: Sequence[str], test: Fragment) -> Fragment:
        return _wrap("({} AND {})", self.kind_in(names), test)

    def equals_scalar(self, value: Any) -> Fragment:
        if value is None:
            return self.kind_in([self.null])
        if isinstance(value, bool):
            return self._typed(self.booleans, _wrap("{} = ?", self.value(), params=(int(value),)))
        if isinstance(value, int | float):
            return self._typed(self.numbers, _wrap("{} = ?", self.value(), params=(value,)))
        return self._typed([self.string], _wrap("{} = ?", self.value(), params=(value,)))

    def equals_container(self, value: Any) -> Condition:
        return Condition(self.kind_in([_json_kind(value)]), exact=False)

    def ordered(self, op: str, value: Any) -> Fragment:
        names = {"bool": self.booleans, "number": self.numbers}.get(_json_kind(value), (self.string,))
        bound = int(value) if isinstance(value, bool) else value
        return self._typed(names, _wrap(f"{{}} {ORDERING_OPS[op]} ?", self.value(), params=(bound,)))

    def substring(self, text: str) -> Fragment:
        return self._typed([self.string], _wrap("instr({}, ?) > 0", self.value(), params=(text,)))

    def elements_matching(self, value: Any) -> Condition:
        element = SqliteJson(None, "element")
        found = element.equals(value)
        inner = _wrap(
            "EXISTS (SELECT 1 FROM json_each({}) AS element WHERE {})", self._as_array(), found.fragment
        )
        return Condition(inner, exact=found.exact)

    def _as_array(self) -> Fragment:
        """The field's JSON text when it is an array, else an empty array (``json_each`` reads only JSON)."""
        return _wrap("CASE WHEN {} THEN {} ELSE '[]' END", self.kind_in(["array"]), self.value())

    def array_of_length(self, size: int) -> Fragment:
        return self._typed(["array"], _wrap("json_array_length({}) = ?", self._as_array(), params=(size,)))

    def order_keys(self) -> list[Fragment]:
        scalar = (*self.booleans, *self.numbers)
        number = _wrap("CASE WHEN {} THEN CAST({} AS REAL) END", self.kind_in(scalar), self.value())
        text = _wrap("CASE WHEN {} THEN {} END", self.kind_in([self.string]), self.value())
        other = _wrap("CASE WHEN {} THEN {} END", self.kind_in(["array", "object"]), self.value())
        return [self.type_rank(), number, text, other]


class PostgresJson(JsonValue):
    """A field of a JSON text column (as ``jsonb``), or a ``jsonb`` element named ``alias``, in PostgreSQL."""

    booleans = ("boolean",)
    numbers = ("number",)
    string = "string"

    def __init__(self, field: str | None, alias: str = "", column: str = "data") -> None:
        self.field = field
        self.alias = alias
        self.column = column

    def json(self) -> Fragment:
        """The value as ``jsonb`` (NULL when the field is missing)."""
        if self.field is None:
            return Fragment(self.alias)
        return Fragment(f"({self.column}::jsonb -> ?)", (self.field,))

    def kind(self) -> Fragment:
        return _wrap("jsonb_typeof({})", self.json())

    def _text(self) -> Fragment:
        return _wrap("({} #>> '{{}}')", self.json())

    def _typed(self, names: Sequence[str], test: Fragment) -> Fragment:
        # CASE, not AND: PostgreSQL may evaluate AND's operands in any order, and a cast of the
        # wrong JSON type raises.
        return _wrap("(CASE WHEN {} THEN {} ELSE FALSE END)", self.kind_in(names), test)

    def equals_scalar(self, value: Any) -> Fragment:
        if value is None:
            return self.kind_in([self.null])
        return _wrap("COALESCE({} = ?::jsonb, FALSE)", self.json(), params=(to_json(value),))

    def equals_container(self, value: Any) -> Condition:
        return Condition(_wrap("COALESCE({} = ?::jsonb, FALSE)", self.json(), params=(to_json(value),)))

    def ordered(self, op: str, value: Any) -> Fragment:
        sign = ORDERING_OPS[op]
        if isinstance(value, bool):
            test = _wrap(f"({{}})::boolean {sign} ?::boolean", self.json(), params=(str(value).lower(),))
            return self._typed(self.booleans, test)
        if isinstance(value, int | float):
            test = _wrap(f"({{}})::numeric {sign} ?::numeric", self.json(), params=(json.dumps(value),))
            return self._typed(self.numbers, test)
        test = _wrap(f'{{}} COLLATE "C" {sign} ?', self._text(), params=(value,))
        return self._typed([self.string], test)

    def substring(self, text: str) -> Fragment:
        return self._typed([self.string], _wrap("strpos({}, ?) > 0", self._text(), params=(text,)))

    def _as_array(self) -> Fragment:
        return _wrap(
            "CASE WHEN jsonb_typeof({}) = 'array' THEN {} ELSE '[]'::jsonb END", self.json(), self.json()
        )

    def elements_matching(self, value: Any) -> Condition:
        if not isinstance(value, list | dict):
            # Containment of a one-element array: some element equals the scalar.
            return Condition(
                _wrap("COALESCE({} @> ?::jsonb, FALSE)", self._as_array(), params=(to_json([value]),))
            )
        found = PostgresJson(None, "element.value").equals(value)
        inner = _wrap(
            "EXISTS (SELECT 1 FROM jsonb_array_elements({}) AS element(value) WHERE {})",
            self._as_array(),
            found.fragment,
        )
        return Condition(inner, exact=found.exact)

    def array_of_length(self, size: int) -> Fragment:
        return self._typed(["array"], _wrap("jsonb_array_length({}) = ?", self._as_array(), params=(size,)))

    def order_keys(self) -> list[Fragment]:
        number = _wrap(
            "CASE WHEN {} THEN (CASE WHEN ({})::boolean THEN 1.0 ELSE 0.0 END)::float8"
            " WHEN {} THEN ({})::float8 END",
            self.kind_in(self.booleans),
            self.json(),
            self.kind_in(self.numbers),
            self.json(),
        )
        text = _wrap('CASE WHEN {} THEN {} COLLATE "C" END', self.kind_in([self.string]), self._text())
        # The json (not jsonb) value keeps the stored text: compact, keys in their stored order.
        other = _wrap(
            f'CASE WHEN {{}} THEN ({self.column}::json -> ?)::text COLLATE "C" END',
            self.kind_in(["array", "object"]),
            params=(self.field,),
        )
        return [self.type_rank(), number, text, other]


def _condition(value: JsonValue, op: str, expected: Any) -> Condition:
    """The SQL form of one filter on ``value``."""
    if op in ("eq", "ne"):
        equal = value.equals(expected)
        if op == "eq":
            return equal
        if not equal.exact:
            return Condition(TRUE, exact=False)
        return Condition(_wrap("NOT COALESCE({}, FALSE)", equal.fragment))
    if op == "in":
        options = [value.equals(option) for option in expected]
        if not options:
            return Condition(FALSE)
        either = _wrap("({})", _join(" OR ", [o.fragment for o in options]))
        return Condition(either, exact=all(o.exact for o in options))
    if op == "contains":
        member = value.elements_matching(expected)
        if isinstance(expected, str):
            either = _wrap("({} OR {})", value.substring(expected), member.fragment)
            return Condition(either, exact=member.exact)
        return member
    kind = _json_kind(expected)
    if kind in ("null", "object"):
        return Condition(FALSE)
    if kind == "array":
        return Condition(value.kind_in(["array"]), exact=False)
    return Condition(value.ordered(op, expected))


@dataclass(frozen=True)
class RowQuery:
    """How a query reads ``dataset_rows``: its WHERE conditions and ORDER BY keys."""

    where: Fragment
    order: Fragment
    exact: bool


def field_value(postgres: bool, field: str) -> JsonValue:
    """A top-level field of the rows' JSON in one database's terms."""
    return PostgresJson(field) if postgres else SqliteJson(field)


def row_query(
    postgres: bool, filters: Sequence[dict[str, Any]], order_by: str | None, descending: bool
) -> RowQuery:
    """The WHERE conditions (joined with AND) and ORDER BY keys (ties in insertion order) of a query."""
    conditions = [_condition(field_value(postgres, f["field"]), f["op"], f["value"]) for f in filters]
    where = _join(" AND ", [c.fragment for c in conditions]) if conditions else TRUE
    keys: list[Fragment] = []
    if order_by is not None:
        direction = " DESC" if descending else ""
        keys = [k + Fragment(direction) for k in field_value(postgres, order_by).order_keys()]
    order = _join(", ", [*keys, Fragment("seq")])
    return RowQuery(where=where, order=order, exact=all(c.exact for c in conditions))
