"""NATS user credentials for servers in operator mode: user JWTs signed by an account key, ``.creds`` text.

In operator mode (decentralised authentication) a NATS server trusts an operator, the operator signs
accounts, and an account (or one of its signing keys) signs users. A client proves who it is with a
credentials file: the user's JWT, whose claims carry the user's publish and subscribe rights, and the
user's NKey seed, which signs the server's nonce. The JWTs are built with :func:`.nats_auth.encode_jwt`.

The platform on such a cluster may hold an account signing key (``--nats-signing-key FILE``): it then
mints every execution a user of its own, allowed what the embedded server's auth callout allows
(:func:`.nats_auth.execution_permissions`), expiring with the execution's token, and hands it to the code
as the text of a credentials file in :data:`~flow_sdk.runtime_contract.NATS_CREDENTIALS_VARIABLE`.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import nkeys

from flow_local.runtime.nats_auth import decode_claims, encode_jwt, execution_permissions

JWT_BEGIN = "-----BEGIN NATS USER JWT-----"
JWT_END = "------END NATS USER JWT------"
SEED_BEGIN = "-----BEGIN USER NKEY SEED-----"
SEED_END = "------END USER NKEY SEED------"
ACCOUNT_SEED_PREFIX = "SA"
"""How an account's (or account signing key's) seed begins."""


class NatsCredentialsError(ValueError):
    """A credentials file or a signing key is malformed."""


def new_seed(prefix: int) -> str:
    """A fresh NKey seed of one kind (``nkeys.PREFIX_BYTE_OPERATOR``, ``_ACCOUNT`` or ``_USER``)."""
    return str(nkeys.encode_seed(secrets.token_bytes(32), prefix).decode())


def public_key(seed: str) -> str:
    """The public key of an NKey seed (``O...``, ``A...`` or ``U...``)."""
    return str(nkeys.from_seed(seed.encode()).public_key.decode())


def user_jwt(
    signing_seed: str, account: str, user: str, name: str, nats: dict[str, Any], expires_at: int = 0
) -> str:
    """A user JWT for the public user key ``user`` of ``account``, signed by ``signing_seed``.

    Args:
        signing_seed: The account's own seed or one of its signing keys' seeds.
        account: The account's public key (``A...``).
        user: The user's public key (``U...``).
        name: A name the server shows in its logs and monitoring.
        nats: The user's ``nats`` claims (rights and limits).
        expires_at: Unix time after which the server refuses the user (0: never).
    """
    claims: dict[str, Any] = {"sub": user, "name": name, "nats": dict(nats)}
    if public_key(signing_seed) != account:
        claims["nats"]["issuer_account"] = account
    if expires_at:
        claims["exp"] = expires_at
    return encode_jwt(claims, signing_seed)


def creds_text(jwt: str, seed: str) -> str:
    """The text of a NATS credentials file holding a user's JWT and NKey seed."""
    return f"{JWT_BEGIN}\n{jwt}\n{JWT_END}\n\n{SEED_BEGIN}\n{seed}\n{SEED_END}\n"


def mint_creds(signing_seed: str, account: str, name: str, nats: dict[str, Any], expires_at: int = 0) -> str:
    """The credentials text of a new user (a fresh NKey) of ``account`` with the ``nats`` claims."""
    seed = new_seed(nkeys.PREFIX_BYTE_USER)
    return creds_text(user_jwt(signing_seed, account, public_key(seed), name, nats, expires_at), seed)


def creds_account(creds_file: str) -> str:
    """The account a credentials file's user belongs to (its JWT's ``issuer_account``, else its issuer).

    Raises:
        NatsCredentialsError: The file holds no user JWT.
    """
    text = Path(creds_file).read_text()
    lines = text.splitlines()
    token = lines[lines.index(JWT_BEGIN) + 1].strip() if JWT_BEGIN in lines else ""
    claims = decode_claims(token)
    account = str((claims.get("nats") or {}).get("issuer_account") or claims.get("iss") or "")
    if not account.startswith("A"):
        raise NatsCredentialsError(f"{creds_file} is not a NATS credentials file: it holds no user JWT")
    return account


def load_signing_seed(path: str) -> str:
    """The account signing key's seed kept in the file ``path`` (its only non-blank line).

    Raises:
        NatsCredentialsError: The file is missing or holds no account seed.
    """
    try:
        lines = [line.strip() for line in Path(path).expanduser().read_text().splitlines() if line.strip()]
    except OSError as exc:
        raise NatsCredentialsError(
            f"cannot read the NATS account signing key {path!r}: {exc.strerror}"
        ) from exc
    seed = lines[0] if len(lines) == 1 else ""
    try:
        valid = seed.startswith(ACCOUNT_SEED_PREFIX) and bool(public_key(seed))
    except Exception:
        valid = False
    if not valid:
        raise NatsCredentialsError(
            f"{path} holds no NATS account signing key: it must contain one account seed (SA...)"
        )
    return seed


def execution_creds(signing_seed: str, account: str, execution_id: str, expires_at: int) -> str:
    """The credentials of code in one execution: its own events and replies, until ``expires_at``."""
    return mint_creds(
        signing_seed, account, f"execution-{execution_id}", execution_permissions(execution_id), expires_at
    )
