"""NATS in operator mode for the platform: the chain of trust, the users' credentials, and a server to test them.

``python -m flow_local.cluster.nats_operator DIR`` makes what a deployment without the ``nsc`` tool needs,
every file mode 0600:

- ``resolver.conf``: the lines to include in each node's configuration: the operator's JWT, the system
  account, and the memory resolver preloaded with the system account and the ``FLOW`` account
  (JetStream enabled);
- ``platform.creds``: a user of ``FLOW`` with every right (``flow platform serve --nats-creds``);
- ``runner.creds``: a user of ``FLOW`` allowed only the runner subjects, the same rights as the embedded
  server's ``runner`` user (``flow runner --creds``);
- ``account-signing.nk``: a signing key of ``FLOW`` (``flow platform serve --nats-signing-key``), from
  which the platform mints every execution its own short-lived user.

The operator's and the accounts' own seeds are not written: nothing more can be signed by the operator
once the files exist, and a new chain replaces the old one whole.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nkeys

from flow_local.cluster.engines import NatsCluster
from flow_local.runtime.nats_auth import encode_jwt, user_permissions
from flow_local.runtime.nats_creds import creds_text, new_seed, public_key, user_jwt
from flow_local.runtime.nats_server import RUNNER_PUBLISH, RUNNER_SUBSCRIBE

APPLICATION_ACCOUNT = "FLOW"
SYSTEM_ACCOUNT = "SYS"
UNLIMITED = -1
ACCOUNT_LIMITS = {
    "subs": UNLIMITED,
    "data": UNLIMITED,
    "payload": UNLIMITED,
    "imports": UNLIMITED,
    "exports": UNLIMITED,
    "wildcards": True,
    "conn": UNLIMITED,
    "leaf": UNLIMITED,
}
JETSTREAM_LIMITS = {
    "mem_storage": UNLIMITED,
    "disk_storage": UNLIMITED,
    "streams": UNLIMITED,
    "consumer": UNLIMITED,
}
"""Account limits that enable JetStream for the account (storage limits other than zero)."""
PLATFORM_CREDS = "platform.creds"
RUNNER_CREDS = "runner.creds"
SIGNING_KEY = "account-signing.nk"
RESOLVER_CONF = "resolver.conf"


def _all_rights() -> dict[str, Any]:
    """The ``nats`` claims of a user without publish or subscribe limits."""
    return {"subs": UNLIMITED, "data": UNLIMITED, "payload": UNLIMITED, "type": "user", "version": 2}


@dataclass(frozen=True)
class OperatorTrust:
    """An operator, its system account, the ``FLOW`` account and a signing key of it (all NKey seeds)."""

    operator_seed: str
    system_seed: str
    account_seed: str
    signing_seed: str

    @classmethod
    def create(cls) -> OperatorTrust:
        """A new chain of trust with fresh keys."""
        return cls(
            new_seed(nkeys.PREFIX_BYTE_OPERATOR),
            new_seed(nkeys.PREFIX_BYTE_ACCOUNT),
            new_seed(nkeys.PREFIX_BYTE_ACCOUNT),
            new_seed(nkeys.PREFIX_BYTE_ACCOUNT),
        )

    @property
    def account(self) -> str:
        """The ``FLOW`` account's public key."""
        return public_key(self.account_seed)

    @property
    def system_account(self) -> str:
        """The system account's public key."""
        return public_key(self.system_seed)

    def operator_jwt(self) -> str:
        """The operator's self-signed JWT, naming the system account."""
        claims = {"type": "operator", "version": 2, "system_account": self.system_account}
        return encode_jwt(
            {"sub": public_key(self.operator_seed), "name": "flow", "nats": claims}, self.operator_seed
        )

    def account_jwts(self) -> dict[str, str]:
        """Each account's JWT by its public key, signed by the operator."""
        system = {"type": "account", "version": 2, "limits": ACCOUNT_LIMITS}
        application = {
            "type": "account",
            "version": 2,
            "limits": {**ACCOUNT_LIMITS, **JETSTREAM_LIMITS},
            "signing_keys": [public_key(self.signing_seed)],
        }
        return {
            self.system_account: self._account_jwt(self.system_account, SYSTEM_ACCOUNT, system),
            self.account: self._account_jwt(self.account, APPLICATION_ACCOUNT, application),
        }

    def _account_jwt(self, account: str, name: str, nats: dict[str, Any]) -> str:
        return encode_jwt({"sub": account, "name": name, "nats": nats}, self.operator_seed)

    def server_settings(self) -> dict[str, Any]:
        """The part of a node's configuration that puts it in operator mode with a memory resolver."""
        return {
            "operator": self.operator_jwt(),
            "system_account": self.system_account,
            "resolver": "MEMORY",
            "resolver_preload": self.account_jwts(),
        }

    def user_creds(self, name: str, nats: dict[str, Any], expires_at: int = 0) -> str:
        """The credentials text of a new user of ``FLOW``, signed with the signing key."""
        seed = new_seed(nkeys.PREFIX_BYTE_USER)
        return creds_text(
            user_jwt(self.signing_seed, self.account, public_key(seed), name, nats, expires_at), seed
        )

    def platform_creds(self) -> str:
        """The platform's credentials: every right in ``FLOW``."""
        return self.user_creds("platform", _all_rights())

    def runner_creds(self) -> str:
        """A runner's credentials: only the runner subjects."""
        return self.user_creds("runner", user_permissions(RUNNER_PUBLISH, RUNNER_SUBSCRIBE))

    def write(self, directory: Path) -> None:
        """Write the resolver configuration, both credentials and the signing key into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        files = {
            RESOLVER_CONF: resolver_conf(self.server_settings()),
            PLATFORM_CREDS: self.platform_creds(),
            RUNNER_CREDS: self.runner_creds(),
            SIGNING_KEY: self.signing_seed + "\n",
        }
        for name, text in files.items():
            write_private(directory / name, text)


def resolver_conf(settings: dict[str, Any]) -> str:
    """``settings`` as lines of nats-server's configuration syntax (one ``key: JSON value`` a line)."""
    return "".join(f"{key}: {json.dumps(value)}\n" for key, value in settings.items())


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


class OperatorNatsCluster(NatsCluster):
    """:class:`NatsCluster` in operator mode: users authenticate with credentials files, not passwords.

    The platform's and a runner's credentials and the account signing key are written under ``root``
    (:attr:`platform_creds`, :attr:`runner_creds`, :attr:`signing_key`). With ``size=1`` the node runs
    without a cluster block (a single JetStream server).

    Attributes:
        trust: The chain of trust the nodes are configured with.
    """

    def __init__(self, root: Path, size: int = 3, host: str = "127.0.0.1") -> None:
        super().__init__(root, size, host)
        self.trust = OperatorTrust.create()

    @property
    def platform_creds(self) -> Path:
        """The platform's credentials file."""
        return self.root / PLATFORM_CREDS

    @property
    def runner_creds(self) -> Path:
        """A runner's credentials file."""
        return self.root / RUNNER_CREDS

    @property
    def signing_key(self) -> Path:
        """The file of the ``FLOW`` account's signing key."""
        return self.root / SIGNING_KEY

    def start(self) -> None:
        """Write the credentials, then start the nodes."""
        self.root.mkdir(parents=True, exist_ok=True)
        write_private(self.platform_creds, self.trust.platform_creds())
        write_private(self.runner_creds, self.trust.runner_creds())
        write_private(self.signing_key, self.trust.signing_seed + "\n")
        super().start()

    def node_config(self, index: int) -> dict[str, object]:
        """One node's configuration: listeners, routes (with more than one node), JetStream, the trust."""
        config = super().node_config(index)
        del config["accounts"]
        if self.size == 1:
            del config["cluster"]
        config.update(self.trust.server_settings())
        return config

    def user_urls(self, user: str) -> list[str]:
        """Not available: users of an operator-mode server hold credentials files, not passwords."""
        raise NotImplementedError("operator-mode users connect with a credentials file, not a password URL")

    async def _jetstream_ready(self) -> bool:
        import nats
        from nats.errors import Error as NatsError

        try:
            client = await nats.connect(
                self.urls[0],
                user_credentials=str(self.platform_creds),
                connect_timeout=1,
                allow_reconnect=False,
            )
        except (OSError, NatsError):
            return False
        try:
            return await client.jetstream().account_info() is not None
        except Exception:
            return False
        finally:
            await client.close()


def main(argv: list[str]) -> int:
    """Write a new chain of trust's files into the directory ``argv[0]``."""
    if len(argv) != 1:
        sys.stderr.write("usage: python -m flow_local.cluster.nats_operator DIR\n")
        return 2
    directory = Path(argv[0])
    OperatorTrust.create().write(directory)
    names = ", ".join((RESOLVER_CONF, PLATFORM_CREDS, RUNNER_CREDS, SIGNING_KEY))
    sys.stdout.write(f"wrote {names} to {directory}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
