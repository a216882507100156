"""Salesforce signs no Outbound Message: its endpoint's path carries the connection's secret
(256 bits), compared in constant time. Its token answers are signed: ``signature`` is the
base64 HMAC-SHA256 of ``id + issued_at`` under our app's consumer secret. Both fail closed."""

import base64
import binascii
import hashlib
import hmac

# Anything shorter than 128 bits of URL-safe base64 is not a secret we issued.
MIN_SECRET_LENGTH = 22


def url_secret_valid(*, presented: str, secret: str) -> bool:
    if not isinstance(presented, str) or not isinstance(secret, str):
        return False
    if len(secret) < MIN_SECRET_LENGTH:
        return False
    try:
        return hmac.compare_digest(presented.encode("utf-8"), secret.encode("utf-8"))
    except UnicodeEncodeError:
        return False


def token_signature(*, identity_url: str, issued_at: str, client_secret: str) -> str:
    digest = hmac.new(
        client_secret.encode("utf-8"), f"{identity_url}{issued_at}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def token_signature_valid(*, answer: object, client_secret: str) -> bool:
    """Whether a token answer's ``signature`` covers its ``id`` and ``issued_at``."""
    if not isinstance(answer, dict) or not client_secret:
        return False
    identity_url, issued_at, signature = (
        answer.get("id"),
        answer.get("issued_at"),
        answer.get("signature"),
    )
    if not all(isinstance(value, str) and value for value in (identity_url, issued_at, signature)):
        return False
    try:
        presented = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    expected = hmac.new(
        client_secret.encode("utf-8"), f"{identity_url}{issued_at}".encode(), hashlib.sha256
    ).digest()
    return hmac.compare_digest(presented, expected)
