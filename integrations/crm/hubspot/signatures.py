"""HubSpot request signatures: v3, and v2/v1 for backward compatibility.

- v3: ``X-HubSpot-Signature-v3 = base64(HMAC-SHA256(client secret, method + uri + body + ts))``
  where ``ts`` is ``X-HubSpot-Request-Timestamp`` (ms since the epoch, as sent) and ``uri`` is the
  full URL with HubSpot's listed escapes decoded. Requests more than 5 minutes from now, either
  way, are refused: that window is the only replay protection any version has.
- v2: ``X-HubSpot-Signature = hex(SHA-256(secret + method + uri + body))`` (plain hash, no HMAC),
  with ``X-HubSpot-Signature-Version: v2``; the URI exactly as requested.
- v1: ``X-HubSpot-Signature = hex(SHA-256(secret + body))``, ``X-HubSpot-Signature-Version: v1``.

v1 and v2 carry no timestamp, so a captured delivery can be replayed; a receiver that can insist
on v3 passes ``versions=("v3",)`` so that stripping the v3 headers does not downgrade the check.
"""

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Collection, Mapping
from datetime import datetime

SIGNATURE_V3_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
SIGNATURE_HEADER = "X-HubSpot-Signature"
VERSION_HEADER = "X-HubSpot-Signature-Version"
ALL_VERSIONS = ("v3", "v2", "v1")
MAX_CLOCK_SKEW_MS = 300_000

# The escapes HubSpot decodes before signing a v3 URI, and only those: %20, %25 and the rest stay
# encoded. Percent-escapes are case-insensitive (RFC 3986 §2.1), so %3a is decoded like %3A.
_V3_DECODED_ESCAPES = {
    "3A": ":",
    "2F": "/",
    "3F": "?",
    "40": "@",
    "21": "!",
    "24": "$",
    "27": "'",
    "28": "(",
    "29": ")",
    "2A": "*",
    "2C": ",",
    "3B": ";",
}
_V3_ESCAPE_PATTERN = re.compile(
    "%(" + "|".join(_V3_DECODED_ESCAPES) + ")", re.IGNORECASE | re.ASCII
)
_TIMESTAMP_PATTERN = re.compile(r"[0-9]{1,16}", re.ASCII)


def v3_signed_uri(uri: str) -> str:
    """The URI as v3 signs it: HubSpot's listed escapes decoded in one pass, nothing else."""
    return _V3_ESCAPE_PATTERN.sub(lambda match: _V3_DECODED_ESCAPES[match[1].upper()], uri)


def hubspot_signature_v3(
    *, secret: str, method: str, uri: str, body: bytes, timestamp: str | int
) -> str:
    """The ``X-HubSpot-Signature-v3`` value for a request; ``timestamp`` in ms, as sent."""
    _require_secret(secret)
    message = (
        method.upper().encode("utf-8")
        + v3_signed_uri(uri).encode("utf-8")
        + bytes(body)
        + str(timestamp).encode("ascii")
    )
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def hubspot_signature_v2(*, secret: str, method: str, uri: str, body: bytes) -> str:
    _require_secret(secret)
    source = (secret + method.upper() + uri).encode("utf-8") + bytes(body)
    return hashlib.sha256(source).hexdigest()


def hubspot_signature_v1(*, secret: str, body: bytes) -> str:
    _require_secret(secret)
    return hashlib.sha256(secret.encode("utf-8") + bytes(body)).hexdigest()


def hubspot_signed_headers(
    *, secret: str, method: str, uri: str, body: bytes, timestamp_ms: int | None = None
) -> dict[str, str]:
    """The signature headers HubSpot puts on a CRM webhook delivery: v3 and v1."""
    timestamp = str(int(time.time() * 1000) if timestamp_ms is None else timestamp_ms)
    return {
        SIGNATURE_V3_HEADER: hubspot_signature_v3(
            secret=secret, method=method, uri=uri, body=body, timestamp=timestamp
        ),
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: hubspot_signature_v1(secret=secret, body=body),
        VERSION_HEADER: "v1",
    }


def hubspot_signature_valid(
    *,
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    method: str,
    uri: str,
    now: datetime | None = None,
    versions: Collection[str] = ALL_VERSIONS,
) -> bool:
    """True only when the request carries a valid HubSpot signature of a version in ``versions``.

    v3 is checked whenever its header is present (and then decides alone: a bad v3 signature is
    not rescued by a v1 one); otherwise ``X-HubSpot-Signature-Version`` picks v2 or v1. ``uri`` is
    the full URL the request was sent to (``https://host/path?query``). Fails closed: anything
    missing, malformed or non-ASCII is False. Never raises; compares in constant time.
    """
    if not all(isinstance(value, str) and value for value in (secret, method, uri)):
        return False
    if not isinstance(body, bytes | bytearray | memoryview):
        return False
    try:
        lowered = {str(name).lower(): value for name, value in headers.items()}
    except (AttributeError, TypeError):
        return False
    v3_signature = lowered.get(SIGNATURE_V3_HEADER.lower())
    try:
        if v3_signature is not None:
            return "v3" in versions and _v3_valid(
                signature=v3_signature,
                timestamp=lowered.get(TIMESTAMP_HEADER.lower()),
                body=body,
                secret=secret,
                method=method,
                uri=uri,
                now=now,
            )
        version = lowered.get(VERSION_HEADER.lower())
        signature = lowered.get(SIGNATURE_HEADER.lower())
        if version not in ("v1", "v2") or version not in versions:
            return False
        if version == "v2":
            expected = hubspot_signature_v2(secret=secret, method=method, uri=uri, body=body)
        else:
            expected = hubspot_signature_v1(secret=secret, body=body)
        return _same(signature, expected)
    except UnicodeEncodeError:  # a lone surrogate in the secret, method or URI
        return False


def _v3_valid(
    *,
    signature: object,
    timestamp: object,
    body: bytes,
    secret: str,
    method: str,
    uri: str,
    now: datetime | None,
) -> bool:
    if not isinstance(timestamp, str) or not _TIMESTAMP_PATTERN.fullmatch(timestamp):
        return False
    now_ms = int((time.time() if now is None else now.timestamp()) * 1000)
    if abs(now_ms - int(timestamp)) > MAX_CLOCK_SKEW_MS:
        return False
    expected = hubspot_signature_v3(
        secret=secret, method=method, uri=uri, body=body, timestamp=timestamp
    )
    return _same(signature, expected)


def _same(received: object, expected: str) -> bool:
    if not isinstance(received, str) or not received:
        return False
    try:
        # compare_digest refuses non-ASCII text, so compare bytes.
        return hmac.compare_digest(received.encode("ascii"), expected.encode("ascii"))
    except UnicodeEncodeError:
        return False


def _require_secret(secret: str) -> None:
    if not isinstance(secret, str) or not secret:
        raise ValueError("A HubSpot signature needs the app's client secret")
