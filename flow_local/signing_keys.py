"""The platform's token keys in its database: Ed25519 key pairs with a ``kid``, shared by every replica.

The private halves are sealed with the data directory's sealing key (replicas sharing a database share
that key, as they must to read secrets), the public halves are stored as they are and published as a
JSON Web Key Set. The newest unretired key signs; :meth:`DatabaseKeyRing.rotate` retires it and makes a
new one, and a retired key keeps verifying for :data:`~flow_local.auth.MAX_TOKEN_SECONDS` (plus the
time replicas take to notice), so no token it signed stops verifying before it expires. A retired key
whose time is up is deleted, private half and all, by the next rotation or the next replica to start
(``flow platform keys rotate`` and ``flow platform keys list`` are the operator's commands).

Each replica reads the keys when it starts, again every :data:`RELOAD_SECONDS`, and at once when a token
names a key it has not read yet that the database has (a ``kid`` the database lacks costs one lookup by
primary key and reads nothing more).
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from flow_local.auth import ALGORITHM, MAX_TOKEN_SECONDS, public_jwk
from flow_local.db import Database
from flow_local.sealing import Sealer, SealingError
from flow_local.settings import SEALING_KEY_ENV

SCHEMA = [
    "CREATE TABLE token_keys (kid TEXT PRIMARY KEY, algorithm TEXT NOT NULL, public_key TEXT NOT NULL,"
    " private_key TEXT NOT NULL, created_at REAL NOT NULL, retired_at REAL, verify_until REAL)",
]
RELOAD_SECONDS = 60.0
RETIRED_KEY_SECONDS = MAX_TOKEN_SECONDS + 2 * RELOAD_SECONDS
"""How long a retired key verifies: the longest token, plus a replica signing with it until it reloads."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class StoredKey:
    """One key pair as read from the database."""

    kid: str
    public: Ed25519PublicKey
    private: Ed25519PrivateKey
    retired: bool
    verify_until: float | None

    def verifies(self, now: float) -> bool:
        """Whether tokens signed with this key are still accepted."""
        return self.verify_until is None or now < self.verify_until


@dataclass(frozen=True)
class KeyInfo:
    """What an operator may see of one key: never its private half.

    Attributes:
        kid: The key's id (the ``kid`` of the tokens it signs).
        created_at: When it was made (UTC).
        retired_at: When a rotation retired it, or None for the signing key.
        verify_until: Until when tokens it signed are accepted, or None for the signing key.
    """

    kid: str
    created_at: datetime
    retired_at: datetime | None
    verify_until: datetime | None


def _utc(seconds: Any) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(float(seconds), UTC)


class DatabaseKeyRing:
    """The token keys of every replica sharing ``db`` (the first replica to start makes the first key)."""

    def __init__(self, db: Database, sealer: Sealer) -> None:
        db.migrate("token_keys", SCHEMA)
        self.db = db
        self.sealer = sealer
        self._keys: dict[str, StoredKey] = {}
        self._current: StoredKey | None = None
        self._loaded_at = -float("inf")
        self._lock = threading.Lock()
        with self.db.transaction():
            self._delete_expired(time.time())
            self._load()
            if self._current is None:
                self._insert_new_key()
                self._load()

    def _load(self) -> None:
        rows = self.db.query(
            "SELECT kid, public_key, private_key, retired_at, verify_until FROM token_keys"
            " WHERE algorithm = ? ORDER BY created_at, kid",
            (ALGORITHM,),
        )
        keys: dict[str, StoredKey] = {}
        current: StoredKey | None = None
        for row in rows:
            private = Ed25519PrivateKey.from_private_bytes(_unb64(self._open(str(row[2]))))
            key = StoredKey(
                kid=str(row[0]),
                public=Ed25519PublicKey.from_public_bytes(_unb64(str(row[1]))),
                private=private,
                retired=row[3] is not None,
                verify_until=float(row[4]) if row[4] is not None else None,
            )
            keys[key.kid] = key
            if not key.retired:
                current = key
        self._keys, self._current = keys, current
        self._loaded_at = time.monotonic()

    def _open(self, sealed: str) -> str:
        try:
            return self.sealer.open(sealed)
        except SealingError as exc:
            raise SealingError(
                "the token keys in the database were sealed with another sealing key: give every"
                f" platform sharing the database the same {SEALING_KEY_ENV} (or sealing.key file)"
            ) from exc

    def _insert_new_key(self) -> str:
        private = Ed25519PrivateKey.generate()
        raw_private = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        raw_public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        kid = uuid.uuid4().hex
        self.db.execute(
            "INSERT INTO token_keys (kid, algorithm, public_key, private_key, created_at) VALUES (?, ?, ?, ?, ?)",
            (kid, ALGORITHM, _b64(raw_public), self.sealer.seal(_b64(raw_private)), time.time()),
        )
        return kid

    def _delete_expired(self, now: float) -> int:
        """Delete the retired keys that no longer verify anything; return how many."""
        return self.db.execute(
            "DELETE FROM token_keys WHERE verify_until IS NOT NULL AND verify_until <= ?", (now,)
        )

    def _reload_if_older_than(self, seconds: float) -> None:
        if time.monotonic() - self._loaded_at < seconds:
            return
        with self._lock:
            if time.monotonic() - self._loaded_at >= seconds:
                self._load()

    def _reload_for_unknown_kid(self, kid: str) -> None:
        """Read the keys again when ``kid`` is in the database but not read here yet (a rotation elsewhere)."""
        with self._lock:
            if kid in self._keys:
                return
            if self.db.query_one("SELECT 1 FROM token_keys WHERE kid = ?", (kid,)) is not None:
                self._load()

    def current(self) -> tuple[str, Ed25519PrivateKey]:
        """The ``kid`` and private key new tokens are signed with."""
        self._reload_if_older_than(RELOAD_SECONDS)
        current = self._current
        if current is None:
            raise RuntimeError("no current token key: every key in the database is retired")
        return current.kid, current.private

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        """The public key ``kid`` while it verifies; an unknown ``kid`` makes the ring read the keys again."""
        if kid not in self._keys:
            self._reload_for_unknown_kid(kid)
        key = self._keys.get(kid)
        return key.public if key is not None and key.verifies(time.time()) else None

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set of every key that still verifies, the signing key last."""
        self._reload_if_older_than(RELOAD_SECONDS)
        now = time.time()
        return {"keys": [public_jwk(k.kid, k.public) for k in self._keys.values() if k.verifies(now)]}

    def rotate(self) -> str:
        """Retire the signing key (it keeps verifying for :data:`RETIRED_KEY_SECONDS`) and make a new one.

        Retired keys whose time is up are deleted on the way. Other replicas sign with the new key
        once they read the keys again (within :data:`RELOAD_SECONDS`), and verify its tokens at once.

        Returns:
            The new key's ``kid``.
        """
        now = time.time()
        with self._lock, self.db.transaction():
            self._delete_expired(now)
            self.db.execute(
                "UPDATE token_keys SET retired_at = ?, verify_until = ? WHERE retired_at IS NULL",
                (now, now + RETIRED_KEY_SECONDS),
            )
            kid = self._insert_new_key()
            self._load()
        return kid

    def describe(self) -> list[KeyInfo]:
        """Every key in the database, oldest first, as an operator may see it (no private half)."""
        rows = self.db.query(
            "SELECT kid, created_at, retired_at, verify_until FROM token_keys WHERE algorithm = ?"
            " ORDER BY created_at, kid",
            (ALGORITHM,),
        )
        return [
            KeyInfo(
                kid=str(row[0]),
                created_at=datetime.fromtimestamp(float(row[1]), UTC),
                retired_at=_utc(row[2]),
                verify_until=_utc(row[3]),
            )
            for row in rows
        ]
