"""Odoo signs no webhook: its automation rule posts to a URL, and that URL's path carries the
connection's secret (256 bits). The check is on bytes, in constant time, and fails closed."""

import hmac

# Anything shorter than 128 bits of URL-safe base64 is not a secret we issued.
MIN_SECRET_LENGTH = 22


def url_secret_valid(*, presented: str, secret: str) -> bool:
    """Whether the secret in the request's path is the connection's; never for an empty or
    short secret on either side."""
    if not isinstance(presented, str) or not isinstance(secret, str):
        return False
    if len(secret) < MIN_SECRET_LENGTH:
        return False
    try:
        return hmac.compare_digest(presented.encode("utf-8"), secret.encode("utf-8"))
    except UnicodeEncodeError:
        return False
