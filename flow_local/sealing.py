"""Secrets at rest: values sealed with Fernet (AES-128-CBC + HMAC-SHA256) under the data dir's sealing key.

Secret values and the bearer tokens queued jobs carry are stored sealed, so a copy of ``platform.db``
alone reveals none of them. A value stored before sealing existed (no ``sealed:`` prefix) still reads.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

PREFIX = "sealed:"


class SealingError(Exception):
    """A sealed value could not be opened (another data dir's key, or tampered)."""


class Sealer:
    """Seals and opens text with one Fernet key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, text: str) -> str:
        """The sealed form of ``text``, for storage."""
        return PREFIX + self._fernet.encrypt(text.encode()).decode()

    def open(self, stored: str) -> str:
        """The text of a stored value (a value stored unsealed is returned as it is).

        Raises:
            SealingError: The value was sealed with another key or altered.
        """
        if not stored.startswith(PREFIX):
            return stored
        try:
            return self._fernet.decrypt(stored.removeprefix(PREFIX).encode()).decode()
        except InvalidToken as exc:
            raise SealingError(
                "a stored secret could not be decrypted with this data directory's key"
            ) from exc
