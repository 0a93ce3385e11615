"""An external NATS cluster as the platform and runners reach it: server URLs and credentials.

``--nats nats://a:4222,nats://b:4222,nats://c:4222`` names the cluster's nodes (any one is enough to
join; the client learns the others from the cluster and fails over between them). Credentials come either
as a user and password (``nats://user:password@host`` in one URL, or the separate options) or as a
NATS credentials file (``.creds``: the user's JWT and NKey seed, for servers in operator mode). They are
never part of the URL code inside an execution receives: :attr:`NatsEndpoint.public_url` drops them.

On a server in operator mode the platform may also hold its account's signing key (``--nats-signing-key
FILE``, an account seed): it then gives every execution credentials of its own, limited to that execution's
subjects (:mod:`.nats_creds`), as the embedded server's auth callout does. The seed is kept in memory only.

JetStream streams are created with three replicas when the cluster has at least three nodes, so losing a
node loses no acknowledged message.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import nats
from nats.aio.client import RawCredentials
from nats.errors import Error as NatsError

from flow_local.runtime.nats_creds import (
    NatsCredentialsError,
    creds_account,
    execution_creds,
    load_signing_seed,
)
from flow_local.settings import Settings

EMBEDDED = "embedded"
"""The ``--nats`` value that keeps the platform's own nats-server (the default)."""
NATS_SCHEMES = ("nats", "tls")
CLUSTER_REPLICAS = 3
AUTHORIZATION_VIOLATION = "Authorization Violation"
SIGNING_KEY_PROBE = "signing-key-check"
"""The execution id of the user :meth:`NatsEndpoint.check_signing_key` mints (no execution has it)."""


class NatsEndpointError(ValueError):
    """A NATS URL list or its credentials are malformed."""


@dataclass(frozen=True)
class NatsEndpoint:
    """The nodes of an external NATS cluster and the credentials to join it.

    Attributes:
        servers: Each node's URL, without credentials (``nats://host:port``).
        user: User name (empty with a credentials file).
        password: That user's password.
        creds_file: Path of a NATS credentials file (JWT and NKey seed), or empty.
        signing_seed: The seed of a signing key of the account ``creds_file``'s user belongs to, or empty.
        account: That account's public key (read from the credentials file's JWT), with a signing key.
    """

    servers: tuple[str, ...]
    user: str = ""
    password: str = field(default="", repr=False)
    creds_file: str = ""
    signing_seed: str = field(default="", repr=False)
    account: str = ""

    @classmethod
    def parse(
        cls, url: str, *, user: str = "", password: str = "", creds_file: str = "", signing_key_file: str = ""
    ) -> NatsEndpoint:
        """An endpoint from ``--nats`` and the credential options.

        A user and password written in a URL count when the options give none; a credentials file
        excludes a password; an account signing key needs a credentials file (operator mode).

        Raises:
            NatsEndpointError: A URL is not ``nats://host:port``, or the credentials conflict.
        """
        servers: list[str] = []
        for raw in (part.strip() for part in url.split(",")):
            if not raw:
                continue
            parts = urlsplit(raw if "://" in raw else f"nats://{raw}")
            if parts.scheme not in NATS_SCHEMES or not parts.hostname:
                raise NatsEndpointError(
                    f"{_redacted(raw)!r} is not a NATS server URL: give nats://host:port[,nats://host:port...]"
                )
            if parts.username and not user:
                user, password = unquote(parts.username), unquote(parts.password or "")
            servers.append(f"{parts.scheme}://{parts.hostname}:{parts.port or 4222}")
        if not servers:
            raise NatsEndpointError(
                "no NATS server given: pass --nats nats://host:port[,nats://host:port...]"
            )
        if creds_file and (user or password):
            raise NatsEndpointError("give either a credentials file or a user and password, not both")
        if creds_file and not Path(creds_file).expanduser().is_file():
            raise NatsEndpointError(f"the NATS credentials file {creds_file!r} does not exist")
        if password and not user:
            raise NatsEndpointError("a NATS password was given without a user: pass the user too")
        creds_path = str(Path(creds_file).expanduser()) if creds_file else ""
        return cls(tuple(servers), user, password, creds_path, *_signing_key(signing_key_file, creds_path))

    @property
    def public_url(self) -> str:
        """The comma-separated server URLs without credentials (what executions get as ``NATS_URL``)."""
        return ",".join(self.servers)

    @property
    def replicas(self) -> int:
        """Replicas for the execution streams: three on a cluster of three or more nodes, else one."""
        return CLUSTER_REPLICAS if len(self.servers) >= CLUSTER_REPLICAS else 1

    def execution_credentials(self, execution_id: str, expires_at: int) -> str:
        """The credentials text of code in one execution, valid until ``expires_at``; empty without a
        signing key (the execution then gets the bare URLs and no NATS rights)."""
        if not self.signing_seed:
            return ""
        return execution_creds(self.signing_seed, self.account, execution_id, expires_at)

    async def check_signing_key(self) -> None:
        """Connect once as a user minted with the signing key (rights only for an execution that does not
        exist, for a minute), and close.

        Raises:
            NatsEndpointError: The servers refuse the user: the key is no signing key of the account.
        """
        if not self.signing_seed:
            return
        probe = execution_creds(self.signing_seed, self.account, SIGNING_KEY_PROBE, int(time.time()) + 60)
        try:
            client = await nats.connect(
                list(self.servers),
                user_credentials=RawCredentials(probe),
                allow_reconnect=False,
                max_reconnect_attempts=0,
                connect_timeout=5,
            )
        except NatsError as exc:
            if AUTHORIZATION_VIOLATION not in str(exc):
                raise
            raise NatsEndpointError(
                f"the NATS servers refuse users signed with the --nats-signing-key key ({exc}): give a"
                f" signing key of the account {self.account} that the --nats-creds user belongs to"
            ) from exc
        await client.close()

    def user_urls(self) -> list[str]:
        """Every server URL carrying the user and password (for clients that take only URLs)."""
        if not self.user:
            return list(self.servers)
        secret = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}@"
        return [server.replace("://", f"://{secret}", 1) for server in self.servers]

    def connect_options(self) -> dict[str, Any]:
        """Keyword arguments for ``nats.connect``: the servers and the credentials."""
        options: dict[str, Any] = {"servers": list(self.servers)}
        if self.user:
            options["user"] = self.user
            options["password"] = self.password
        if self.creds_file:
            options["user_credentials"] = self.creds_file
        return options


def _signing_key(signing_key_file: str, creds_file: str) -> tuple[str, str]:
    """The signing seed in ``signing_key_file`` and the account of ``creds_file``'s user (or two blanks).

    Raises:
        NatsEndpointError: There is no credentials file, or either file is malformed.
    """
    if not signing_key_file:
        return "", ""
    if not creds_file:
        raise NatsEndpointError(
            "an account signing key is for a server in operator mode: give the platform's credentials file too"
        )
    try:
        return load_signing_seed(signing_key_file), creds_account(creds_file)
    except NatsCredentialsError as exc:
        raise NatsEndpointError(str(exc)) from exc


def _redacted(url: str) -> str:
    """A URL with any password replaced by ``***``."""
    parts = urlsplit(url if "://" in url else f"nats://{url}")
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def external_endpoint(settings: Settings) -> NatsEndpoint | None:
    """The external cluster ``settings`` name, or None for the platform's own nats-server.

    Raises:
        NatsEndpointError: The URLs or credentials are malformed.
    """
    if settings.nats_url.strip() in ("", EMBEDDED):
        return None
    return NatsEndpoint.parse(
        settings.nats_url,
        user=settings.nats_user,
        password=settings.nats_password,
        creds_file=settings.nats_creds,
        signing_key_file=settings.nats_signing_key,
    )
