"""Small value helpers shared by the areas: ids and timestamps."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel


def new_id() -> str:
    """A new random id (a UUID4 string)."""
    return str(uuid.uuid4())


def now_iso() -> str:
    """The current UTC time as ISO 8601 with an offset (what every `date-time` field carries)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def iso_from_unix(seconds: float) -> str:
    """A unix time as ISO 8601 UTC."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


def default_of(model: type[BaseModel], field: str) -> Any:
    """The document's default of a model field, for a caller that sent ``null`` explicitly."""
    return model.model_fields[field].default
