"""Free-form objects of the document (dataset rows, connector rows) are ``dict[str, Any]`` in flow_sdk._generated.types.

A named schema written ``additionalProperties: true`` became an empty TypedDict, which mypy and
pyright refuse every key of; the generator now refuses that spelling and names the schema.
"""

from __future__ import annotations

import copy
from types import ModuleType
from typing import Any, get_args, get_origin

import pytest

import flow_sdk._generated.types


def test_json_object_is_a_dict_of_any_value() -> None:
    assert get_origin(flow_sdk._generated.types.JsonObject) is dict
    assert get_args(flow_sdk._generated.types.JsonObject) == (str, Any)


def test_the_generator_refuses_additional_properties_true_by_name(
    generate: ModuleType, openapi: dict[str, Any]
) -> None:
    document = copy.deepcopy(openapi)
    document["components"]["schemas"]["JsonObject"]["additionalProperties"] = True
    with pytest.raises(generate.builders.BuilderError, match="schema JsonObject: write a free-form object"):
        generate.builders.check_free_form_objects(document)


def test_the_document_as_it_is_passes(generate: ModuleType, openapi: dict[str, Any]) -> None:
    generate.builders.check_free_form_objects(openapi)
