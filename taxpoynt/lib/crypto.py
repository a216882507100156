"""Keys for encrypting stored secrets (Fernet), parsed strictly so a bad key stops the boot."""

import base64
import binascii
from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from django.core.exceptions import ImproperlyConfigured

KEYS_HELP = (
    "FIELD_ENCRYPTION_KEYS must be a comma-separated list of Fernet keys, newest first "
    "(32 url-safe base64-encoded bytes each; make one with "
    '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`).'
)


def parse_encryption_keys(raw: str | None) -> tuple[str, ...]:
    if raw is None or not raw.strip():
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS is not set. {KEYS_HELP}")
    keys = tuple(part.strip() for part in raw.split(",") if part.strip())
    for position, key in enumerate(keys, start=1):
        try:
            # validate=True: junk after the padding is an error, not silently dropped.
            decoded = base64.b64decode(key.encode("ascii"), altchars=b"-_", validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            decoded = b""
        if len(decoded) != 32:
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS entry {position} is not a valid Fernet key. {KEYS_HELP}"
            )
    if len(set(keys)) != len(keys):
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS lists the same key twice. {KEYS_HELP}")
    return keys


@lru_cache(maxsize=8)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def multi_fernet() -> MultiFernet:
    from django.conf import settings

    return _multi_fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def newest_fernet() -> Fernet:
    from django.conf import settings

    return Fernet(settings.FIELD_ENCRYPTION_KEYS[0])
