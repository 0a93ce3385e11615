"""FlowConfig: the credentials and tenancy the ``flow`` command and :class:`CLIClient` use.

Settings come from a JSON file of named profiles in the user's config directory (``FLOW_CONFIG_DIR``
overrides the directory), then from environment variables, which win::

    PLATFORM_API_URL  AUTH_TOKEN  ORG_ID  WORKSPACE_ID  RING_ID  FLOW_API_KEY  FLOW_PROFILE

The file is written atomically with owner-only permissions (0600, in a 0700 directory). An expired
access token is replaced by exchanging the stored API key, when there is one. ``repr`` never shows a
secret.

Example:
    >>> config = FlowConfig.load()
    >>> client = CLIClient(config)
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from flow_sdk._errors import ConfigurationError
from flow_sdk._unauthenticated import exchange_api_key

__all__ = [
    "CONFIG_DIR_ENV",
    "CONFIG_FILE_NAME",
    "DEFAULT_PROFILE",
    "FlowConfig",
    "config_dir",
    "token_expiry",
]

CONFIG_DIR_ENV = "FLOW_CONFIG_DIR"
CONFIG_FILE_NAME = "config.json"
DEFAULT_PROFILE = "default"
PROFILE_ENV = "FLOW_PROFILE"
EXPIRY_LEEWAY_SECONDS = 30.0

# Profile field -> environment variable that overrides it.
ENV_OVERRIDES: dict[str, str] = {
    "platform_url": "PLATFORM_API_URL",
    "access_token": "AUTH_TOKEN",
    "org_id": "ORG_ID",
    "workspace_id": "WORKSPACE_ID",
    "ring_id": "RING_ID",
    "api_key": "FLOW_API_KEY",
}
_FIELDS = tuple(ENV_OVERRIDES)


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Return the directory of the config file: ``$FLOW_CONFIG_DIR`` or the user config dir of ``flow``."""
    env = os.environ if environ is None else environ
    override = env.get(CONFIG_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("flow", appauthor=False))


def token_expiry(token: str) -> float | None:
    """Return the ``exp`` claim of a JWT (seconds since the epoch) without verifying it, or None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, UnicodeError):
        return None
    exp: Any = cast("dict[str, Any]", claims).get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


def _mask(value: str | None) -> str:
    return "<set>" if value else "<unset>"


@dataclass
class FlowConfig:
    """Platform URL, access token and tenancy of one profile.

    Attributes:
        platform_url: Base URL of the platform API, e.g. ``http://127.0.0.1:8080``.
        access_token: The bearer JWT.
        org_id: The organization requests are scoped to.
        workspace_id: The workspace requests are scoped to.
        api_key: Optional org API key (``fl_...``) used to refresh an expired token.
        ring_id: Optional default deployment ring for executions.
        profile: Name of the profile in the config file.
        path: The config file this profile is read from and saved to.
    """

    platform_url: str = ""
    access_token: str = ""
    org_id: str = ""
    workspace_id: str = ""
    api_key: str | None = None
    ring_id: str | None = None
    profile: str = DEFAULT_PROFILE
    path: Path | None = None
    from_env: frozenset[str] = field(default_factory=frozenset[str])

    def __repr__(self) -> str:
        return (
            f"FlowConfig(profile={self.profile!r}, platform_url={self.platform_url!r}, "
            f"org_id={self.org_id!r}, workspace_id={self.workspace_id!r}, ring_id={self.ring_id!r}, "
            f"access_token={_mask(self.access_token)}, api_key={_mask(self.api_key)})"
        )

    # ---------------------------------------------------------------- loading
    @classmethod
    def load(
        cls,
        profile: str | None = None,
        *,
        path: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
        use_env: bool = True,
    ) -> FlowConfig:
        """Load a profile from the config file, then apply environment overrides.

        Args:
            profile: Profile name (default: ``$FLOW_PROFILE``, else the file's current profile, else
                ``"default"``).
            path: Config file (default: ``<config dir>/config.json``).
            environ: Environment to read (default: ``os.environ``).
            use_env: Apply the environment variable overrides.

        Returns:
            The configuration; missing settings are empty strings (see :meth:`require`).

        Raises:
            ConfigurationError: The config file exists but is not valid JSON.
        """
        env = os.environ if environ is None else environ
        file_path = Path(path) if path is not None else config_dir(env) / CONFIG_FILE_NAME
        document = _read_document(file_path)
        name = (
            profile or env.get(PROFILE_ENV, "").strip() or document.get("current_profile") or DEFAULT_PROFILE
        )
        values: dict[str, Any] = dict(document.get("profiles", {}).get(name, {}))
        overridden: set[str] = set()
        if use_env:
            for key, variable in ENV_OVERRIDES.items():
                if env.get(variable):
                    values[key] = env[variable]
                    overridden.add(key)
        known = {key: values[key] for key in _FIELDS if values.get(key)}
        return cls(**known, profile=str(name), path=file_path, from_env=frozenset(overridden))

    @classmethod
    def profile_names(cls, path: str | Path | None = None) -> list[str]:
        """Return the profile names stored in the config file."""
        file_path = Path(path) if path is not None else config_dir() / CONFIG_FILE_NAME
        return sorted(_read_document(file_path).get("profiles", {}))

    def require(self, *, workspace: bool = True) -> FlowConfig:
        """Return self when URL, token, org and (with ``workspace``) workspace are set.

        Raises:
            ConfigurationError: Naming what is missing and how to fix it.
        """
        if not self.access_token:
            raise ConfigurationError(
                "not logged in: run `flow login` or export AUTH_TOKEN", code="not_logged_in"
            )
        if not self.platform_url:
            raise ConfigurationError(
                "no platform URL: run `flow login --url URL` or export PLATFORM_API_URL",
                code="not_logged_in",
            )
        if not self.org_id:
            raise ConfigurationError("no organization selected: run `flow login` or export ORG_ID")
        if workspace and not self.workspace_id:
            raise ConfigurationError(
                "no workspace selected: run `flow workspaces use WORKSPACE_ID` or export WORKSPACE_ID"
            )
        return self

    # ---------------------------------------------------------------- tokens
    def token_expired(self, leeway_seconds: float = EXPIRY_LEEWAY_SECONDS) -> bool:
        """Return True when the access token's ``exp`` is past (or within ``leeway_seconds``)."""
        if not self.access_token:
            return True
        expiry = token_expiry(self.access_token)
        return expiry is not None and expiry <= time.time() + leeway_seconds

    def refresh_access_token(self) -> str:
        """Exchange the stored API key for a new access token, keep it, and save it when it is from the file.

        Returns:
            The new access token.

        Raises:
            ConfigurationError: There is no API key to refresh with.
            CLIAuthenticationError: The exchange failed.
        """
        if not self.api_key:
            raise ConfigurationError(
                "the access token expired and no API key is stored: run `flow login` again",
                code="token_expired",
            )
        self.access_token = exchange_api_key(self.platform_url, self.api_key)
        self.from_env = self.from_env - {"access_token"}
        if self.path is not None and self.path.exists():
            self.save()
        return self.access_token

    def ensure_fresh_token(self) -> FlowConfig:
        """Refresh the access token when it has expired and an API key is stored; return self."""
        if self.api_key and self.token_expired():
            self.refresh_access_token()
        return self

    # ---------------------------------------------------------------- saving
    def save(self, *, make_current: bool = False) -> Path:
        """Write this profile to the config file (atomically, mode 0600); environment values are not saved.

        Args:
            make_current: Also make this the profile used when none is named.

        Returns:
            The config file path.
        """
        file_path = self.path or config_dir() / CONFIG_FILE_NAME
        document = _read_document(file_path)
        profiles = document.setdefault("profiles", {})
        stored = dict(profiles.get(self.profile, {}))
        for key in _FIELDS:
            if key in self.from_env:
                continue
            value = getattr(self, key)
            if value:
                stored[key] = value
            else:
                stored.pop(key, None)
        profiles[self.profile] = stored
        if make_current or "current_profile" not in document:
            document["current_profile"] = self.profile
        _write_private(file_path, document)
        self.path = file_path
        return file_path

    def delete(self) -> bool:
        """Remove this profile from the config file; return True when it was there."""
        file_path = self.path or config_dir() / CONFIG_FILE_NAME
        document = _read_document(file_path)
        removed = document.get("profiles", {}).pop(self.profile, None) is not None
        if removed:
            if document.get("current_profile") == self.profile:
                document.pop("current_profile")
            _write_private(file_path, document)
        return removed


def _read_document(path: Path) -> dict[str, Any]:
    """Read the config file, or return an empty document when it does not exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        document: Any = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise ConfigurationError(
            f"the config file {path} is not valid JSON ({exc}); fix or delete it", code="invalid_config"
        ) from None
    if not isinstance(document, dict) or not isinstance(
        cast("dict[str, Any]", document).get("profiles", {}), dict
    ):
        raise ConfigurationError(f"the config file {path} has an unexpected shape; fix or delete it")
    return cast("dict[str, Any]", document)


def _write_private(path: Path, document: dict[str, Any]) -> None:
    """Write JSON to ``path`` atomically with mode 0600 (directory 0700 when created).

    ``mkstemp`` creates the file readable and writable by its owner only (0600 on POSIX), on every
    platform and Python version; ``os.replace`` then swaps it in, so the file is never group- or
    world-readable, not even for a moment. (``os.fchmod`` would add nothing, and Windows lacks it
    before Python 3.13.)
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".config-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
