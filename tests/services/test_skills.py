"""The skills artifact of a version is derived from the app's own OpenAPI document."""

from __future__ import annotations

import importlib.util
from typing import Any

from flow_local.runtime.services.skills import skills_from_openapi
from flow_sdk import PlatformClient

from .conftest import EXAMPLES, PROFILE, Deployment


def _profile_openapi() -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location("profile_main", EXAMPLES / "profile_service" / "main.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app.openapi()  # type: ignore[no-any-return]


async def test_skills_match_the_apps_endpoints(deployment: Deployment) -> None:
    async with deployment.flow() as flow:
        latest = await flow.services.skills(PROFILE)
        pinned = await flow.services.skills(PROFILE, version=1)
    assert latest["version"] == 2 and pinned["version"] == 1
    assert latest["name"] == "Profile service"
    document = _profile_openapi()
    expected = {
        (m.upper(), p, op.get("summary")) for p, item in document["paths"].items() for m, op in item.items()
    }
    assert {(e["method"], e["path"], e["summary"]) for e in latest["endpoints"]} == expected
    by_path = {e["path"]: e for e in latest["endpoints"]}
    assert by_path["/visits"]["input_schema"]["properties"]["body"]["properties"]["page"]["type"] == "string"
    assert by_path["/visits"]["input_schema"]["required"] == ["body"]
    assert by_path["/whoami"]["input_schema"]["properties"]["delay"]["type"] == "number"


async def test_platform_client_reads_skills(deployment: Deployment) -> None:
    async with PlatformClient(
        base_url=deployment.lp.url, auth_token=deployment.lp.admin_token, org_id=deployment.org_id
    ) as client:
        skills = await client.get_service_skills(PROFILE, version=2)
    assert skills["service_id"] == PROFILE
    assert "/reports" in {e["path"] for e in skills["endpoints"]}


def test_refs_are_inlined_and_path_params_kept() -> None:
    document = {
        "info": {"title": "t"},
        "paths": {
            "/items/{item_id}": {
                "parameters": [
                    {"name": "item_id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "put": {
                    "operationId": "put_item",
                    "requestBody": {
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}
                    },
                },
            },
            "/__flow/health": {"get": {}},
        },
        "components": {
            "schemas": {
                "Item": {"type": "object", "properties": {"tags": {"$ref": "#/components/schemas/Tags"}}},
                "Tags": {"type": "array", "items": {"type": "string"}},
            }
        },
    }
    skills = skills_from_openapi(document, "svc", 3)
    (endpoint,) = skills["endpoints"]
    assert endpoint["operation_id"] == "put_item"
    schema = endpoint["input_schema"]
    assert schema["required"] == ["item_id"]
    assert schema["properties"]["body"]["properties"]["tags"] == {
        "type": "array",
        "items": {"type": "string"},
    }
