"""Offline stand-ins: well-known model names the offline provider answers when their provider has no upstream.

A newcomer copying ``model="openai/gpt-4o"`` from the documentation gets a deterministic answer from a
fresh local platform instead of a 404. Stand-in answers keep the requested ``model``, carry the header
``X-Flow-Provider: offline-stand-in``, and are listed by GET /models as owned by
``offline (stand-in for <provider>)``. Once an upstream is configured for a provider, its models go to
the upstream and its stand-ins disappear. ``FLOW_LOCAL_GATEWAY_STANDINS=0`` turns them all off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

PROVIDER_HEADER = "X-Flow-Provider"
STANDIN_PROVIDER = "offline-stand-in"
CHAT: Final = "chat"
EMBEDDING: Final = "embedding"


@dataclass(frozen=True)
class StandIn:
    """A well-known model name served offline.

    Attributes:
        model: The full ``provider/model`` name.
        kind: ``"chat"`` (chat completions, streamed or not) or ``"embedding"``.
        dimensions: The model's default embedding size (embedding models only).
    """

    model: str
    kind: Literal["chat", "embedding"]
    dimensions: int | None = None

    @property
    def provider(self) -> str:
        """The provider prefix (``openai``, ``anthropic``)."""
        return self.model.partition("/")[0]

    @property
    def owned_by(self) -> str:
        """The ``owned_by`` shown by GET /models."""
        return f"offline (stand-in for {self.provider})"


_TABLE = (
    StandIn("openai/gpt-4o", CHAT),
    StandIn("openai/gpt-4o-mini", CHAT),
    StandIn("openai/text-embedding-3-small", EMBEDDING, 1536),
    StandIn("openai/text-embedding-3-large", EMBEDDING, 3072),
    StandIn("anthropic/claude-sonnet-4-20250514", CHAT),
    StandIn("anthropic/claude-3-5-haiku-latest", CHAT),
)
STANDINS: dict[str, StandIn] = {item.model: item for item in _TABLE}


def find(model: str) -> StandIn | None:
    """The stand-in named ``model``, if it is one."""
    return STANDINS.get(model)


def names_for(provider: str) -> list[str]:
    """The stand-in names of one provider, in table order."""
    return [item.model for item in _TABLE if item.provider == provider]
