"""Settings of a local platform: where its data lives, where it listens, its signing key."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs
from cryptography.fernet import Fernet

SIGNING_KEY_FILE = "signing.key"
SEALING_KEY_FILE = "sealing.key"
SEALING_KEY_ENV = "FLOW_SEALING_KEY"
PRIVATE_DIR_MODE = 0o700
UPSTREAM_CONFIG_FILE = "gateway.json"


def default_data_dir() -> Path:
    """The data directory used when none is given: ``$FLOW_LOCAL_DATA_DIR`` or the user data dir."""
    env = os.environ.get("FLOW_LOCAL_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("flow-local", appauthor=False))


def load_signing_key(data_dir: Path) -> bytes:
    """Read the HMAC key of presigned URLs and console sessions from the data dir (created 0600 on first use)."""
    return bytes.fromhex(_private_key(data_dir / SIGNING_KEY_FILE, lambda: secrets.token_bytes(32).hex()))


def load_sealing_key(data_dir: Path) -> bytes:
    """The key that encrypts secrets and token keys at rest (a Fernet key).

    ``$FLOW_SEALING_KEY`` when set (how API replicas sharing one database share it), else the key file
    beside the signing key (mode 0600), created on first use.

    Raises:
        ValueError: ``$FLOW_SEALING_KEY`` is not a Fernet key.
    """
    given = os.environ.get(SEALING_KEY_ENV, "").strip()
    if given:
        try:
            Fernet(given.encode())
        except ValueError as exc:
            raise ValueError(
                f"{SEALING_KEY_ENV} is not a Fernet key (32 url-safe base64 bytes); make one with"
                " `python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
            ) from exc
        return given.encode()
    return _private_key(data_dir / SEALING_KEY_FILE, lambda: Fernet.generate_key().decode()).encode()


def _private_key(path: Path, make: Callable[[], str]) -> str:
    """A key file's text, creating it first when missing: written 0600 from the start, never replaced."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(make())
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()


@dataclass
class UpstreamConfig:
    """An OpenAI-compatible upstream the gateway proxies to (``openai/*`` models)."""

    base_url: str
    api_key: str
    provider: str = "openai"


def load_upstreams(data_dir: Path) -> list[UpstreamConfig]:
    """Upstreams from ``FLOW_UPSTREAM_BASE_URL``/``FLOW_UPSTREAM_API_KEY`` (or ``OPENAI_BASE_URL``/``OPENAI_API_KEY``)
    and from ``gateway.json`` in the data dir (``{"upstreams": [{"provider", "base_url", "api_key"}]}``)."""
    found: list[UpstreamConfig] = []
    path = data_dir / UPSTREAM_CONFIG_FILE
    if path.exists():
        raw = json.loads(path.read_text() or "{}")
        for item in raw.get("upstreams", []):
            found.append(
                UpstreamConfig(
                    base_url=str(item["base_url"]),
                    api_key=str(item.get("api_key", "")),
                    provider=str(item.get("provider", "openai")),
                )
            )
    base = os.environ.get("FLOW_UPSTREAM_BASE_URL") or os.environ.get("OPENAI_BASE_URL")
    key = os.environ.get("FLOW_UPSTREAM_API_KEY") or os.environ.get("OPENAI_API_KEY", "")
    if base and not any(u.provider == "openai" for u in found):
        found.append(UpstreamConfig(base_url=base, api_key=key))
    return found


def standins_from_env() -> bool:
    """Whether gateway stand-ins are on: ``FLOW_LOCAL_GATEWAY_STANDINS`` unset or not 0/false/no/off."""
    value = os.environ.get("FLOW_LOCAL_GATEWAY_STANDINS", "1").strip().lower()
    return value not in ("0", "false", "no", "off")


@dataclass
class Settings:
    """Everything a local platform needs to start.

    Attributes:
        data_dir: Directory holding the SQLite database, objects, vectors and the signing key.
        host: Interface to listen on (loopback by default).
        port: TCP port (0 picks a free one at start).
        signing_key: HMAC key for presigned URLs and console sessions, persisted in the data dir (access
            tokens are signed with the Ed25519 keys kept in the database, see ``signing_keys``).
        sealing_key: Fernet key encrypting secret values, stored tokens and the token keys' private
            halves, persisted beside it (or ``$FLOW_SEALING_KEY``).
        gateway_rate_limit: Gateway requests allowed per principal per ``rate_window_seconds``.
        rate_window_seconds: Length of the rate-limit window.
        upstreams: OpenAI-compatible upstreams for non-offline models.
        max_object_bytes: Largest storage object accepted (also the body limit of uploads).
        max_request_bytes: Largest request body accepted anywhere else (413 beyond it).
        public_url: URL clients use; derived from host and port when empty.
        gateway_standins: Serve well-known model names offline when their provider has no upstream
            (``FLOW_LOCAL_GATEWAY_STANDINS=0`` turns this off).
        database_url: ``sqlite:///...`` or ``postgresql://...`` (``$FLOW_DATABASE_URL``; empty: SQLite in
            the data dir).
        object_store_url: ``file:///...`` or ``s3://bucket[/prefix]?endpoint=...`` (``$FLOW_OBJECT_STORE_URL``;
            empty: files in the data dir).
        nats_url: ``embedded`` (or empty: the platform's own nats-server) or the comma-separated URLs of
            an external NATS cluster (``$FLOW_NATS_URL``).
        nats_user: User on the external cluster (``$FLOW_NATS_USER``).
        nats_password: Its password (``$FLOW_NATS_PASSWORD``).
        nats_creds: A NATS credentials file for the external cluster (``$FLOW_NATS_CREDS``).
        nats_signing_key: A file holding a signing key of that credentials' account, from which every
            execution gets NATS credentials of its own (``$FLOW_NATS_SIGNING_KEY``).
        key_dir: Where the signing and sealing keys are kept (``$FLOW_KEY_DIR``; empty: the data dir).
            Replicas behind one load balancer share it (a mounted secret).
    """

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    signing_key: bytes = b""
    sealing_key: bytes = b""
    gateway_rate_limit: int = 6000
    rate_window_seconds: float = 60.0
    upstreams: list[UpstreamConfig] = field(default_factory=list)
    max_object_bytes: int = 256 * 1024 * 1024
    max_request_bytes: int = 16 * 1024 * 1024
    public_url: str = ""
    gateway_standins: bool = True
    database_url: str = field(default="", repr=False)
    object_store_url: str = field(default="", repr=False)
    nats_url: str = ""
    nats_user: str = ""
    nats_password: str = field(default="", repr=False)
    nats_creds: str = ""
    nats_signing_key: str = ""
    key_dir: str = ""

    @classmethod
    def load(
        cls, data_dir: str | Path | None = None, host: str = "127.0.0.1", port: int = 8080, **extra: object
    ) -> Settings:
        """Settings for a data dir, creating the dir and its signing key when missing."""
        directory = Path(data_dir).expanduser() if data_dir else default_data_dir()
        directory.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
        if directory.stat().st_mode & 0o077:
            directory.chmod(PRIVATE_DIR_MODE)
        settings = cls(data_dir=directory.resolve(), host=host, port=port, **extra)  # type: ignore[arg-type]
        settings.key_dir = settings.key_dir or os.environ.get("FLOW_KEY_DIR", "")
        key_dir = Path(settings.key_dir).expanduser() if settings.key_dir else settings.data_dir
        settings.signing_key = load_signing_key(key_dir)
        settings.sealing_key = load_sealing_key(key_dir)
        if not settings.upstreams:
            settings.upstreams = load_upstreams(settings.data_dir)
        if "gateway_standins" not in extra:
            settings.gateway_standins = standins_from_env()
        settings.database_url = settings.database_url or os.environ.get("FLOW_DATABASE_URL", "")
        settings.object_store_url = settings.object_store_url or os.environ.get("FLOW_OBJECT_STORE_URL", "")
        for name in ("nats_url", "nats_user", "nats_password", "nats_creds", "nats_signing_key"):
            if not getattr(settings, name):
                setattr(settings, name, os.environ.get(f"FLOW_{name.upper()}", ""))
        return settings

    @property
    def url(self) -> str:
        """Base URL of the platform API (also the gateway URL)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

    @property
    def db_path(self) -> Path:
        """The SQLite database file."""
        return self.data_dir / "platform.db"
