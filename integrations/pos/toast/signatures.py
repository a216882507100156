"""Toast webhook signatures, verified on the raw bytes before anything else is done with them.

Toast signs ``body + timestamp`` with the subscription's secret:
``Toast-Signature = base64(HMAC-SHA256(secret, UTF-8(body + timestamp)))``. Toast sends no
timestamp header: the timestamp is the body's own top-level ``timestamp`` string, so altering
it alters the signed bytes twice. A body without one (not Toast's, or not JSON) is signed over
its bytes alone, so such a delivery still needs the secret and is then refused as malformed.
Replays are caught by the event's deduplication, not here.
"""

import base64
import hashlib
import hmac
import json


def toast_signature(*, secret: str, body: bytes, timestamp: str) -> str:
    """The ``Toast-Signature`` value of ``body`` with its ``timestamp``. ValueError on an empty
    secret: a signature made with one is a bug, not a value."""
    if not secret:
        raise ValueError("A Toast signature needs the subscription's secret")
    digest = hmac.new(
        secret.encode("utf-8"), bytes(body) + timestamp.encode("utf-8"), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def body_timestamp(body: bytes) -> str:
    """The body's top-level ``timestamp`` string; "" when there is none (or no JSON)."""
    try:
        envelope = json.loads(bytes(body).decode("utf-8"))
    except (ValueError, RecursionError):
        return ""
    value = envelope.get("timestamp") if isinstance(envelope, dict) else None
    return value if isinstance(value, str) else ""


def toast_signature_valid(*, secret: str, body: bytes, header_value: str | None) -> bool:
    """True only when ``header_value`` is Toast's signature of ``body`` under ``secret``.

    Fails closed: a missing or empty secret, header or body is False, and so is anything that
    cannot be a signature. Never raises; compares in constant time.
    """
    if not (isinstance(secret, str) and secret and isinstance(header_value, str) and header_value):
        return False
    if not isinstance(body, bytes | bytearray | memoryview) or not body:
        return False
    stamp = body_timestamp(body)
    try:
        received = header_value.strip().encode("ascii")
        expected = toast_signature(secret=secret, body=body, timestamp=stamp).encode("ascii")
    except UnicodeEncodeError:  # a non-ASCII header, or a lone surrogate in the secret
        return False
    return hmac.compare_digest(received, expected)
