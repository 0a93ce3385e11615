"""What the first start of a local platform creates: a default org, workspace, dev ring and dev API key.

The ids are kept in ``platform_meta``; the dev key's secret is kept (mode 0600) in ``dev-api-key``
in the data dir so ``flow local env`` can print it.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
from dataclasses import dataclass
from pathlib import Path

import flow_local.areas
import flow_local.gateway
from flow_local.areas.resources import ResourcesBackend
from flow_local.areas.tenants import TenantsBackend
from flow_local.core import Platform
from flow_local.runtime.store import ExecutionStore

DEV_KEY_FILE = "dev-api-key"
DEV_SUBJECT = "local-admin"


@dataclass(frozen=True)
class Defaults:
    """The default tenancy of a local platform."""

    org_id: str
    workspace_id: str
    ring_id: str
    api_key: str


def _write_secret(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)


def ensure_defaults(platform: Platform) -> Defaults:
    """Create the default org, workspace, ring and dev API key unless they exist; return them."""
    tenants = platform.backend(TenantsBackend)
    key_path = platform.settings.data_dir / DEV_KEY_FILE
    org_id = tenants.get_meta("default_org_id")
    if org_id is not None and not key_path.exists():
        # Another replica on the same database made the defaults: this one keeps a dev key of its own.
        _write_secret(key_path, tenants.add_api_key(org_id, "dev key")["key"])
    if org_id is None:
        org = tenants.create_org("Local organization")
        workspace = tenants.add_workspace(org["id"], "default")
        ring = platform.backend(ResourcesBackend).create(
            org["id"],
            workspace["id"],
            "ring",
            {"name": "dev", "description": "Development ring", "spec": {"stage": "dev"}},
        )
        key = tenants.add_api_key(org["id"], "dev key")
        _write_secret(key_path, key["key"])
        tenants.set_meta("default_workspace_id", workspace["id"])
        tenants.set_meta("default_ring_id", ring["id"])
        tenants.set_meta("default_org_id", org["id"])
    return load_defaults(platform)


def load_defaults(platform: Platform) -> Defaults:
    """The defaults recorded by :func:`ensure_defaults`."""
    tenants = platform.backend(TenantsBackend)
    return Defaults(
        org_id=str(tenants.get_meta("default_org_id")),
        workspace_id=str(tenants.get_meta("default_workspace_id")),
        ring_id=str(tenants.get_meta("default_ring_id")),
        api_key=(platform.settings.data_dir / DEV_KEY_FILE).read_text().strip(),
    )


def admin_token(platform: Platform, defaults: Defaults, ttl_seconds: int = 30 * 24 * 3600) -> str:
    """A user token for the default org (all workspaces)."""
    return platform.tokens.mint_user_token(DEV_SUBJECT, defaults.org_id, None, ttl_seconds=ttl_seconds)


def runtime_env(platform: Platform, defaults: Defaults, token: str | None = None) -> dict[str, str]:
    """The runtime variables a FlowSDK() needs to talk to this platform as the default workspace."""
    return {
        "PLATFORM_API_URL": platform.url,
        "GATEWAY_URL": platform.url,
        "ORG_ID": defaults.org_id,
        "WORKSPACE_ID": defaults.workspace_id,
        "RING_ID": defaults.ring_id,
        "AUTH_TOKEN": token or admin_token(platform, defaults),
        "FLOW_API_KEY": defaults.api_key,
    }


def backend_classes() -> list[type]:
    """Every area backend class: a ``...Backend`` class of the areas or the gateway built from the platform."""
    found: dict[str, type] = {}
    for package in (flow_local.areas, flow_local.gateway):
        for module_info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            module = importlib.import_module(module_info.name)
            for name, cls in inspect.getmembers(module, inspect.isclass):
                ours = name.endswith("Backend") and cls.__module__ == module.__name__
                if ours and list(inspect.signature(cls).parameters) == ["platform"]:
                    found[f"{cls.__module__}.{name}"] = cls
    return list(found.values())


def migrate_every_area(platform: Platform) -> None:
    """Apply every area's schema now (an area otherwise migrates when it is first used)."""
    for cls in backend_classes():
        platform.backend(cls)
    ExecutionStore(platform.db)
