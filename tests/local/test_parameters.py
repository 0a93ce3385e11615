"""Path, query and header parameters are checked as the document declares them, and a bad one is named."""

from __future__ import annotations

import httpx


def _refusal(response: httpx.Response) -> tuple[int, str, str | None]:
    body = response.json()
    assert body["code"] == "validation_error" and body["request_id"], body
    return response.status_code, body["detail"], body["field"]


def test_a_query_parameter_past_its_bound_is_named(client: httpx.Client, ws_path: str) -> None:
    response = client.get(f"{ws_path}/audit/events", params={"limit": 0})
    assert _refusal(response) == (400, "field 'limit': Input should be greater than or equal to 1", "limit")


def test_a_query_parameter_of_the_wrong_type_is_named(client: httpx.Client, ws_path: str) -> None:
    status, detail, field = _refusal(client.get(f"{ws_path}/audit/events", params={"limit": "many"}))
    assert (status, field) == (400, "limit") and "valid integer" in detail


def test_an_absent_query_parameter_takes_its_default(client: httpx.Client, ws_path: str) -> None:
    assert client.get(f"{ws_path}/audit/events").status_code == 200


def test_a_value_outside_an_enum_is_named(client: httpx.Client, ws_path: str) -> None:
    status, detail, field = _refusal(client.get(f"{ws_path}/executions", params={"status": "sleeping"}))
    assert (status, field) == (400, "status") and "'pending'" in detail


def test_a_header_parameter_is_named_as_the_document_names_it(client: httpx.Client, ws_path: str) -> None:
    response = client.post(
        f"{ws_path}/executions",
        json={"component_id": "none"},
        headers={"Idempotency-Key": "k" * 201},
    )
    assert _refusal(response) == (
        400,
        "field 'Idempotency-Key': String should have at most 200 characters",
        "Idempotency-Key",
    )


def test_a_path_parameter_off_its_pattern_is_named(client: httpx.Client, ws_path: str) -> None:
    status, detail, field = _refusal(client.get(f"{ws_path}/state/not!valid/keys/k"))
    assert (status, field) == (400, "component_id") and "should match pattern" in detail


def test_a_method_the_document_does_not_declare_is_refused(client: httpx.Client, ws_path: str) -> None:
    response = client.head(f"{ws_path}/state/c/keys/k")
    assert response.status_code == 405 and "GET" in response.headers["allow"]
