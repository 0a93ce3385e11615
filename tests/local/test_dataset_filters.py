"""Dataset filters run in the database: the same answers as the reference meaning in Python, for every
operator and every kind of JSON value, without reading every row.

The module runs on SQLite by default and on PostgreSQL under ``nox -s cluster``.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator, Sequence
from typing import Any, get_args

import pytest

from flow_local._generated.routers.types import FilterOp
from flow_local.areas.datasets import DatasetsBackend
from flow_local.areas.datasets_sql import compare, matches
from flow_local.core import Platform
from flow_local.db import Row, to_json
from flow_local.settings import Settings

ORG, WS = "org-filters", "ws-filters"
ODD_FIELD = 'odd "name".with\\dots'
MISSING = object()
VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    1.0,
    2,
    -3,
    2.5,
    10**12,
    "",
    "a",
    "abc",
    "b",
    "ABC",
    "é",
    "10",
    "1",
    [],
    [1],
    [1.0, 2],
    [1, 2],
    ["a", "b"],
    [True],
    [None],
    [[1]],
    [{"k": 1}],
    {"k": 1},
    {"k": [1]},
    {},
    {"a": 1, "b": 2},
    {"b": 2, "a": 1},
]
FIELDS = ["x", "y", ODD_FIELD]


class CountingDatabase:
    """The platform's database, counting the rows each read hands back to Python."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.rows_read = 0
        self.statements: list[str] = []

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        rows: list[Row] = self.inner.query(sql, params)
        self.rows_read += len(rows)
        self.statements.append(sql)
        return rows

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self.inner.query_one(sql, params)
        self.rows_read += row is not None
        self.statements.append(sql)
        return row

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _old_compare(op: str, actual: Any, expected: Any) -> bool:
    """The filter of the release that filtered in Python, kept verbatim as the semantics to keep."""
    if op == "eq":
        return bool(actual == expected)
    if op == "ne":
        return bool(actual != expected)
    if op == "in":
        return isinstance(expected, list) and actual in expected
    if op == "contains":
        if isinstance(actual, str) and isinstance(expected, str):
            return expected in actual
        return isinstance(actual, list) and expected in actual
    if actual is None or expected is None or isinstance(actual, bool) != isinstance(expected, bool):
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


def _old_sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool | int | float):
        return (1, float(value))
    if isinstance(value, str):
        return (2, value)
    return (3, to_json(value))


def _mixes_booleans_and_numbers(a: Any, b: Any) -> bool:
    """Whether a bool meets a number anywhere inside two values (Python's ``True == 1``)."""

    def kinds(value: Any) -> set[str]:
        if isinstance(value, bool):
            return {"bool"}
        if isinstance(value, int | float):
            return {"number"}
        if isinstance(value, list):
            return set().union(*(kinds(v) for v in value)) if value else set()
        if isinstance(value, dict):
            return set().union(*(kinds(v) for v in value.values())) if value else set()
        return set()

    both = kinds(a) | kinds(b)
    return {"bool", "number"} <= both


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    found = Platform(Settings.load(tmp_path_factory.mktemp("filters")))
    yield found
    found.close()


@pytest.fixture(scope="module")
def backend(platform: Platform) -> DatasetsBackend:
    return platform.backend(DatasetsBackend)


def _rows(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        row: dict[str, Any] = {"n": n}
        for field in FIELDS:
            value = rng.choice([MISSING, *VALUES])
            if value is not MISSING:
                row[field] = value
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def mixed(backend: DatasetsBackend) -> list[dict[str, Any]]:
    rows = _rows(240, seed=11)
    backend.create(ORG, WS, {"id": "mixed"})
    backend.insert(ORG, WS, "mixed", rows)
    return rows


def _query(backend: DatasetsBackend, dataset: str, **q: Any) -> dict[str, Any]:
    return backend.query(ORG, WS, dataset, {"limit": 10000, "offset": 0, **q})


def test_reference_meaning_is_the_old_one_except_booleans_are_not_numbers() -> None:
    ops: list[str] = list(get_args(FilterOp))
    assert set(ops) == {"eq", "ne", "gt", "gte", "lt", "lte", "in", "contains"}
    differences = 0
    for op, actual, expected in itertools.product(ops, [*VALUES, MISSING], [*VALUES, list(VALUES[:6])]):
        value = None if actual is MISSING else actual
        if _mixes_booleans_and_numbers(value, expected):
            differences += compare(op, value, expected) != _old_compare(op, value, expected)
            continue
        assert compare(op, value, expected) == _old_compare(op, value, expected), (op, value, expected)
    assert differences > 0  # True == 1 no longer holds


@pytest.mark.parametrize("op", list(get_args(FilterOp)))
def test_every_operator_gives_the_reference_rows(
    backend: DatasetsBackend, mixed: list[dict[str, Any]], op: str
) -> None:
    expected_values: list[Any] = (
        [[], [1, "a"], [None, True], [[1]], [{"k": 1}, 2.5], [1.0], VALUES[:8]] if op == "in" else VALUES
    )
    for field, value in itertools.product(FIELDS, expected_values):
        filters = [{"field": field, "op": op, "value": value}]
        want = [r for r in mixed if matches(r, filters)]
        got = _query(backend, "mixed", filters=filters)
        assert got == {"rows": want, "total": len(want)}, (field, op, json.dumps(value))


def test_several_filters_order_and_pages_match_the_reference(
    backend: DatasetsBackend, mixed: list[dict[str, Any]]
) -> None:
    filters: list[dict[str, Any]] = [
        {"field": "x", "op": "ne", "value": None},
        {"field": "y", "op": "in", "value": [1, "a", [1, 2], None]},
    ]
    for order_by, descending in itertools.product([*FIELDS, "n", "absent"], [False, True]):
        want = sorted(
            (r for r in mixed if matches(r, filters)),
            key=lambda r: _old_sort_key(r.get(order_by)),
            reverse=descending,
        )
        got = _query(backend, "mixed", filters=filters, order_by=order_by, descending=descending)
        assert got["rows"] == want, (order_by, descending)
        page = backend.query(
            ORG,
            WS,
            "mixed",
            {"filters": filters, "order_by": order_by, "descending": descending, "limit": 7, "offset": 5},
        )
        assert page == {"rows": want[5:12], "total": len(want)}


def test_ordering_every_kind_of_value_matches_the_old_sort(
    backend: DatasetsBackend, mixed: list[dict[str, Any]]
) -> None:
    for field, descending in itertools.product(FIELDS, [False, True]):
        want = sorted(mixed, key=lambda r: _old_sort_key(r.get(field)), reverse=descending)
        got = _query(backend, "mixed", order_by=field, descending=descending, fields=["n"])
        assert [r["n"] for r in got["rows"]] == [r["n"] for r in want], (field, descending)


def test_a_selective_filter_reads_only_the_page(platform: Platform) -> None:
    backend = DatasetsBackend(platform)
    rows: list[dict[str, Any]] = [{"n": n, "team": f"t{n % 100}", "score": n % 37} for n in range(3000)]
    backend.create(ORG, WS, {"id": "many"})
    backend.insert(ORG, WS, "many", rows)
    counting = CountingDatabase(platform.db)
    backend.db = counting  # type: ignore[assignment]
    q = {
        "filters": [
            {"field": "team", "op": "eq", "value": "t7"},
            {"field": "score", "op": "gte", "value": 10},
        ],
        "order_by": "score",
        "descending": True,
        "limit": 5,
        "offset": 0,
    }
    result = backend.query(ORG, WS, "many", q)
    want = sorted(
        (r for r in rows if r["team"] == "t7" and r["score"] >= 10), key=lambda r: r["score"], reverse=True
    )
    assert result == {"rows": want[:5], "total": len(want)}
    assert len(want) > 5
    # One existence check, one count, one page of five rows: nothing near the 3000 stored.
    assert counting.rows_read == 1 + 1 + 5
    assert all("LIMIT" in sql for sql in counting.statements if sql.startswith("SELECT data"))


def test_vector_query_filters_in_the_database(platform: Platform) -> None:
    backend = DatasetsBackend(platform)
    rows = [{"n": n, "kind": "doc" if n % 50 == 0 else "other", "vec": [1.0, n / 1000]} for n in range(1000)]
    rows.append({"n": -1, "kind": "doc", "vec": [1.0]})
    rows.append({"n": -2, "kind": "doc", "vec": "not a vector"})
    backend.create(ORG, WS, {"id": "vectors"})
    backend.insert(ORG, WS, "vectors", rows)
    counting = CountingDatabase(platform.db)
    backend.db = counting  # type: ignore[assignment]
    found = backend.vector_query(
        ORG,
        WS,
        "vectors",
        {
            "embedding": [0.0, 1.0],
            "vector_field": "vec",
            "top_k": 3,
            "distance_metric": "dot",
            "fields": ["n"],
            "filters": [{"field": "kind", "op": "eq", "value": "doc"}],
        },
    )
    assert [match["row"]["n"] for match in found] == [950, 900, 850]
    assert counting.rows_read == 1 + 20


def test_in_needs_a_list(backend: DatasetsBackend, mixed: list[dict[str, Any]]) -> None:
    from flow_local.errors import ApiError

    with pytest.raises(ApiError) as raised:
        _query(backend, "mixed", filters=[{"field": "x", "op": "in", "value": "a"}])
    assert raised.value.status == 400


def test_rows_stay_in_their_workspace(backend: DatasetsBackend, mixed: list[dict[str, Any]]) -> None:
    backend.create(ORG, "other-ws", {"id": "mixed"})
    backend.insert(ORG, "other-ws", "mixed", [{"x": 1}])
    got = backend.query(ORG, "other-ws", "mixed", {"filters": [], "limit": 100, "offset": 0})
    assert got == {"rows": [{"x": 1}], "total": 1}
