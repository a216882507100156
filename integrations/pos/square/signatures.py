"""Square webhook signatures: a delivery is verified on its raw bytes, before anything is parsed.

Square signs ``notification_url + raw body`` with the subscription's signature key:
``x-square-hmacsha256-signature = base64(HMAC-SHA256(key, url + body))``. The URL is the one the
subscription was created with, not the URL the request arrived on (proxies rewrite that), and
there is no timestamp: replays are caught by ``event_id`` deduplication, not here.
"""

import base64
import hashlib
import hmac

SIGNATURE_HEADER = "x-square-hmacsha256-signature"


def square_signature(*, signature_key: str, notification_url: str, body: bytes) -> str:
    """The header value Square sends for ``body`` posted to ``notification_url``.

    Raises ValueError on an empty key or URL: a signature made with either is a bug, not a value.
    """
    if not signature_key or not notification_url:
        raise ValueError("A Square signature needs a signature key and the notification URL")
    digest = hmac.new(
        signature_key.encode("utf-8"),
        notification_url.encode("utf-8") + bytes(body),
        hashlib.sha256,
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def square_signature_valid(
    *, signature_key: str, notification_url: str, body: bytes, header_value: str | None
) -> bool:
    """True only when ``header_value`` is Square's signature of ``body`` under ``signature_key``.

    Fails closed: a missing or empty key, URL, header or body is False, and so is anything that
    cannot be a signature (non-text, non-ASCII). Never raises; compares in constant time.
    """
    if not all(
        isinstance(value, str) and value
        for value in (signature_key, notification_url, header_value)
    ):
        return False
    if not isinstance(body, bytes | bytearray | memoryview) or not body:
        return False
    try:
        # A base64 signature is ASCII; compare_digest refuses non-ASCII text, so compare bytes.
        received = header_value.encode("ascii")
        expected = square_signature(
            signature_key=signature_key, notification_url=notification_url, body=body
        ).encode("ascii")
    except UnicodeEncodeError:  # non-ASCII header, or a lone surrogate in the key or URL
        return False
    return hmac.compare_digest(received, expected)
