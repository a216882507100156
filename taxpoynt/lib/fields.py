"""Model fields for credentials: stored as Fernet tokens, handled in code as plain strings."""

import logging

from cryptography.fernet import InvalidToken
from django.db import models

from taxpoynt.lib.crypto import multi_fernet

logger = logging.getLogger(__name__)


class UnreadableSecret:
    """A stored token that no configured key decrypts.

    It is falsy, never shows the token, and saves back unchanged, so a key mix-up flags the
    record for re-authorisation instead of crashing or destroying the stored value.
    """

    def __init__(self, token: str):
        self.token = token

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<UnreadableSecret>"

    __str__ = __repr__

    def __eq__(self, other) -> bool:
        return isinstance(other, UnreadableSecret) and other.token == self.token

    def __hash__(self) -> int:
        return hash(self.token)


class EncryptedTextField(models.TextField):
    """A secret at rest. Values are encrypted with the newest key and read with any listed key."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def get_prep_value(self, value):
        if isinstance(value, UnreadableSecret):
            return value.token
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return multi_fernet().encrypt(value.encode("utf-8")).decode("ascii")

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        try:
            return multi_fernet().decrypt(value.encode("ascii")).decode("utf-8")
        except InvalidToken:
            logger.warning("Stored secret in %s cannot be decrypted by any configured key", self)
            return UnreadableSecret(value)

    def to_python(self, value):
        return value


def mask_secret(value) -> str:
    """What the admin and the API show of a secret: its last 4 characters at most."""
    if isinstance(value, UnreadableSecret):
        return "unreadable: re-enter it"
    if not value:
        return ""
    return "•" * 8 + (value[-4:] if len(value) >= 12 else "")
