"""Pipedrive's webhooks are not signed: a subscription carries HTTP Basic credentials that we
choose when we create it, and Pipedrive presents them on every delivery.

The password is not the connection's secret itself but an HMAC of the subscription URL under it,
so credentials made for one endpoint open no other (a connection's URL names the connection).
They are checked in constant time, before the body is read, and anything malformed fails closed.
Nothing covers the body: a delivery is only trusted to come from whoever holds the credentials,
which is why every deal is read again from the API before it is invoiced.
"""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

WEBHOOK_USER = "taxpoynt"
AUTHORIZATION_HEADER = "Authorization"
# A Basic header longer than this is no credentials of ours: refused before it is decoded.
MAX_AUTHORIZATION_LENGTH = 512


def webhook_password(*, secret: str, url: str) -> str:
    """The Basic password of the subscription to ``url`` (base64url, no padding)."""
    if not secret:
        raise ValueError("A webhook password needs the connection's secret")
    digest = hmac.new(secret.encode(), url.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def basic_authorization(*, secret: str, url: str) -> str:
    """The ``Authorization`` header value Pipedrive sends for the subscription to ``url``."""
    pair = f"{WEBHOOK_USER}:{webhook_password(secret=secret, url=url)}"
    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


def basic_credentials_valid(*, headers: Mapping[str, str], secret: str, url: str) -> bool:
    """True only when the delivery presents the Basic credentials of the subscription to ``url``
    made with ``secret``. Never raises on what a client sends."""
    if not secret or not url:
        return False
    presented = _header(headers, AUTHORIZATION_HEADER)
    if not presented or len(presented) > MAX_AUTHORIZATION_LENGTH:
        return False
    scheme, _, encoded = presented.partition(" ")
    if scheme.lower() != "basic" or not encoded.isascii():
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    user, colon, password = decoded.partition(b":")
    expected = webhook_password(secret=secret, url=url).encode()
    # Both compared, whatever the first gives: the time taken tells nothing.
    user_ok = hmac.compare_digest(user, WEBHOOK_USER.encode())
    password_ok = hmac.compare_digest(password, expected)
    return bool(colon) and user_ok and password_ok


def _header(headers: Mapping[str, str], name: str) -> str:
    """A header's value whatever the case of its name; "" when absent or not text."""
    wanted = name.lower()
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == wanted:
            return value if isinstance(value, str) else ""
    return ""
