"""flow_sdk: the Python SDK of the Manifest Platform.

``import flow_sdk`` is cheap: every public name is loaded from its module on first access.

``flow_sdk.__version__`` is the installed distribution's version, read from its metadata on first
access.

Example:
    >>> from flow_sdk import FlowSDK
    >>> flow = FlowSDK()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flow_sdk._errors import (
        CLIAuthenticationError,
        CLIClientError,
        ConfigurationError,
        ExecutionTimeoutError,
        FlowSDKError,
        GatewayAuthError,
        GatewayClientError,
        GatewayModelNotFoundError,
        GatewayProviderError,
        GatewayRateLimitError,
        GatewayStreamError,
        PlatformAuthenticationError,
        PlatformClientError,
        PlatformExecutionError,
        PlatformNotFoundError,
        PlatformPermissionError,
    )
    from flow_sdk.cli_client import CLIClient
    from flow_sdk.config import FlowConfig
    from flow_sdk.flow_sdk import FlowSDK
    from flow_sdk.gateway_client import GatewayClient
    from flow_sdk.platform_client import PlatformClient

    __version__: str

__all__ = [
    "CLIAuthenticationError",
    "CLIClient",
    "CLIClientError",
    "ConfigurationError",
    "ExecutionTimeoutError",
    "FlowConfig",
    "FlowSDK",
    "FlowSDKError",
    "GatewayAuthError",
    "GatewayClient",
    "GatewayClientError",
    "GatewayModelNotFoundError",
    "GatewayProviderError",
    "GatewayRateLimitError",
    "GatewayStreamError",
    "PlatformAuthenticationError",
    "PlatformClient",
    "PlatformClientError",
    "PlatformExecutionError",
    "PlatformNotFoundError",
    "PlatformPermissionError",
]

_MODULE_OF: dict[str, str] = {
    "CLIClient": "flow_sdk.cli_client",
    "FlowConfig": "flow_sdk.config",
    "FlowSDK": "flow_sdk.flow_sdk",
    "GatewayClient": "flow_sdk.gateway_client",
    "PlatformClient": "flow_sdk.platform_client",
}


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first access (PEP 562)."""
    if name == "__version__":
        from flow_sdk._metadata import version

        return version()
    if name not in __all__:
        raise AttributeError(f"module 'flow_sdk' has no attribute {name!r}")
    module = importlib.import_module(_MODULE_OF.get(name, "flow_sdk._errors"))
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
