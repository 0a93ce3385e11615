"""Per-execution NATS rights through nats-server's auth callout.

The platform and runner users are password users of the server's configuration and bypass the
callout. Every other connection is handed by the server to the platform as an authorization request
(``$SYS.REQ.USER.AUTH``). The platform accepts one kind of credential: the user ``execution`` with an
execution's own ``AUTH_TOKEN`` as password, while that execution has not ended. It answers with a user
JWT (signed by the callout issuer, an account nkey kept beside the passwords) that may publish only
``exec.events.{execution_id}`` and receive only replies under that execution's inbox prefix, and that
expires with the token. Anything else is answered with an error, so the server refuses the connection.
A connection made before the execution ended lasts until the token's expiry at most; the execution's
processes, which hold it, are killed when it ends.

The JWTs are the NATS ones (``ed25519-nkey`` signatures over ``header.claims``); they are built here
with ``nkeys`` because no Python library of the NATS JWT claims is needed for three small shapes.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import nkeys
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from flow_sdk.runtime_contract import events_subject, execution_inbox_prefix

AUTH_REQUEST_SUBJECT = "$SYS.REQ.USER.AUTH"
EXECUTION_USER = "execution"
"""The NATS user name an execution connects with (its password: the execution's ``AUTH_TOKEN``)."""
GLOBAL_ACCOUNT = "$G"
_HEADER = {"typ": "JWT", "alg": "ed25519-nkey"}


@dataclass(frozen=True)
class ExecutionGrant:
    """What a verified execution credential allows: its execution and until when."""

    execution_id: str
    expires_at: int


Verifier = Callable[[str], ExecutionGrant | None]
"""Checks an ``AUTH_TOKEN``: the grant while its execution runs, None otherwise."""


def new_issuer_seed() -> str:
    """A fresh account nkey seed for signing callout answers."""
    return str(nkeys.encode_seed(secrets.token_bytes(32), nkeys.PREFIX_BYTE_ACCOUNT).decode())


def issuer_public_key(seed: str) -> str:
    """The public account key (``A...``) of an issuer seed, as the server configuration names it."""
    return str(nkeys.from_seed(seed.encode()).public_key.decode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_jwt(claims: dict[str, Any], seed: str) -> str:
    """A NATS JWT of ``claims``, issued and signed by the nkey ``seed``."""
    keys = nkeys.from_seed(seed.encode())
    body = {"jti": secrets.token_hex(16), "iat": int(time.time()), "iss": keys.public_key.decode(), **claims}
    signing_input = f"{_b64(json.dumps(_HEADER).encode())}.{_b64(json.dumps(body).encode())}"
    signature = keys.sign(signing_input.encode())
    return f"{signing_input}.{_b64(signature)}"


def decode_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (authorization requests come from the server itself)."""
    try:
        claims = json.loads(_unb64(token.split(".")[1]))
    except (IndexError, ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}


def user_permissions(publish: list[str], subscribe: list[str]) -> dict[str, Any]:
    """The ``nats`` claims of a user allowed to publish and subscribe to exactly these subjects."""
    return {
        "pub": {"allow": list(publish)},
        "sub": {"allow": list(subscribe)},
        "subs": -1,
        "data": -1,
        "payload": -1,
        "type": "user",
        "version": 2,
    }


def execution_permissions(execution_id: str) -> dict[str, Any]:
    """The rights of an execution's connection: publish its own events, receive its own replies."""
    return user_permissions([events_subject(execution_id)], [f"{execution_inbox_prefix(execution_id)}.>"])


def answer(request: dict[str, Any], verify: Verifier, seed: str) -> str:
    """The signed authorization response to one decoded authorization request."""
    nats_claims = request.get("nats") or {}
    user_nkey = str(nats_claims.get("user_nkey") or "")
    server_id = str((nats_claims.get("server_id") or {}).get("id") or "")
    options = nats_claims.get("connect_opts") or {}
    grant = None
    if options.get("user") == EXECUTION_USER and options.get("pass"):
        grant = verify(str(options["pass"]))
    response: dict[str, Any] = {"type": "authorization_response", "version": 2}
    if grant is None:
        response["error"] = "only a running execution's own credentials are accepted"
    else:
        user = {
            "sub": user_nkey,
            "name": f"execution-{grant.execution_id}",
            "aud": GLOBAL_ACCOUNT,
            "exp": grant.expires_at,
            "nats": execution_permissions(grant.execution_id),
        }
        response["jwt"] = encode_jwt(user, seed)
    return encode_jwt({"sub": user_nkey, "aud": server_id, "nats": response}, seed)


class AuthCallout:
    """The platform's answerer of the server's authorization requests.

    Attributes:
        seed: The issuer's account nkey seed (the server trusts its public key).
        verify: Checks an execution credential.
        connected: The executions whose credentials were granted a connection since the platform
            started: only these can have published events of their own (the engine forgets one
            when it ends).
    """

    def __init__(self, seed: str, verify: Verifier) -> None:
        self.seed = seed
        self.verify = verify
        self.connected: set[str] = set()

    async def serve(self, nc: NatsClient) -> None:
        """Answer authorization requests on ``nc`` (the platform's own connection) from now on."""
        await nc.subscribe(AUTH_REQUEST_SUBJECT, cb=self._on_request)

    async def _on_request(self, msg: Msg) -> None:
        request = decode_claims(msg.data.decode(errors="replace"))
        try:
            response = answer(request, self._verify_and_record, self.seed)
        except Exception:
            response = answer(request, _refuse, self.seed)
        await msg.respond(response.encode())

    def _verify_and_record(self, token: str) -> ExecutionGrant | None:
        grant = self.verify(token)
        if grant is not None:
            self.connected.add(grant.execution_id)
        return grant


def _refuse(_token: str) -> ExecutionGrant | None:
    """A verifier that accepts nothing (the answer when checking a credential failed)."""
    return None
