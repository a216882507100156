"""Lightspeed X-Series webhook signatures, checked on the raw bytes before anything is parsed.

Only webhooks of OAuth applications are signed: ``X-Signature: signature=<digest>,
algorithm=HMAC-SHA256``, the HMAC of the request body keyed with the app's client secret.
Lightspeed's text does not settle whether "the body" is the raw form body or the decoded
``payload`` field, nor whether the digest is hex or base64. Receivers in the wild sign the raw
body in hex, so that is what is checked; base64 of the same digest is compared too. The decoded
``payload`` is checked only where our app's settings allow it (``decoded_payload_signatures``),
and which of them matched is logged, so the question can be settled from real deliveries.
There is no timestamp: a replay is caught by event deduplication, not here.
"""

import base64
import hashlib
import hmac
import logging
from urllib.parse import parse_qs

from integrations.pos.lightspeed.constants import SIGNATURE_HEADER

ALGORITHM = "HMAC-SHA256"
# What a header longer than this holds is no signature (64 hex or 44 base64 characters).
MAX_HEADER_LENGTH = 512

logger = logging.getLogger(__name__)

__all__ = ["SIGNATURE_HEADER", "lightspeed_signature", "lightspeed_signature_match"]


def lightspeed_signature(*, secret: str, body: bytes) -> str:
    """The ``X-Signature`` value Lightspeed sends for ``body``; ValueError on an empty secret."""
    if not secret:
        raise ValueError("A Lightspeed signature needs the app's client secret")
    digest = hmac.new(secret.encode("utf-8"), bytes(body), hashlib.sha256).hexdigest()
    return f"signature={digest},algorithm={ALGORITHM}"


def lightspeed_signature_match(
    *, secret: str, body: bytes, header_value: str | None, decoded_payload: bool = False
) -> str:
    """Which signed text ``header_value`` matches: "raw body", "decoded payload" (only when
    ``decoded_payload`` allows it) or "" for none. Fails closed: an empty secret, body or header,
    another algorithm or anything unreadable is "". Never raises; compares in constant time."""
    if not (isinstance(secret, str) and secret and isinstance(header_value, str)):
        return ""
    if not isinstance(body, bytes | bytearray | memoryview) or not body:
        return ""
    received = _signature(header_value)
    if received is None:
        return ""
    try:
        key = secret.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in the secret
        return ""
    if _matches(received, hmac.new(key, bytes(body), hashlib.sha256).digest()):
        matched = "raw body"
    elif decoded_payload and _payload_matches(received, key=key, body=bytes(body)):
        matched = "decoded payload"
    else:
        return ""
    # The expected variant at debug; the other one, which settles the open question, at info.
    logger.log(
        logging.DEBUG if matched == "raw body" else logging.INFO,
        "Lightspeed webhook signature matched the %s",
        matched,
    )
    return matched


def _signature(header_value: str) -> bytes | None:
    """The signature of a well-formed header naming HMAC-SHA256, as ASCII bytes."""
    if len(header_value) > MAX_HEADER_LENGTH:
        return None
    parts = {}
    for part in header_value.split(","):
        name, equals, value = part.strip().partition("=")
        if not equals or name.strip().lower() in parts:
            return None
        parts[name.strip().lower()] = value.strip()
    if set(parts) != {"signature", "algorithm"} or parts["algorithm"].upper() != ALGORITHM:
        return None
    try:
        signature = parts["signature"].encode("ascii")
    except UnicodeEncodeError:
        return None
    return signature or None


def _matches(received: bytes, digest: bytes) -> bool:
    # Both encodings are always compared, so the time taken says nothing about which was near.
    as_hex = hmac.compare_digest(received.lower(), digest.hex().encode("ascii"))
    as_base64 = hmac.compare_digest(received, base64.b64encode(digest))
    return as_hex | as_base64


def _payload_matches(received: bytes, *, key: bytes, body: bytes) -> bool:
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, errors="strict")
        payloads = [text.encode("utf-8") for text in fields.get("payload") or []]
    except (UnicodeDecodeError, UnicodeEncodeError, ValueError):
        return False
    # Without exactly one payload, nothing was signed.
    if len(payloads) != 1 or not payloads[0]:
        return False
    return _matches(received, hmac.new(key, payloads[0], hashlib.sha256).digest())
