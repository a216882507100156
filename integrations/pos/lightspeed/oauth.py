"""Lightspeed X-Series OAuth as a small social-core backend (social-core has none): one consent
host for every store, no scopes, and the token calls on the store's own host, named by the
``domain_prefix`` the callback brings back (the token answer does not repeat it). Code and
refresh grants are form bodies with the client's id and secret. The connect and refresh steps
are the shared adapter's (integrations.base.oauth); Lightspeed has no revoke call."""

from social_core.backends.oauth import BaseOAuth2
from social_core.exceptions import AuthException

from integrations.pos.lightspeed.constants import (
    AUTHORIZE_URL,
    DOMAIN_PREFIX_PATTERN,
    STORE_URL,
    TOKEN_PATH,
)

DOMAIN_PREFIX = "domain_prefix"


def domain_prefix_checked(value: object) -> str:
    """``value`` when it can be a store's host name label; "" otherwise."""
    return value if isinstance(value, str) and DOMAIN_PREFIX_PATTERN.fullmatch(value) else ""


def store_url(domain_prefix: str) -> str:
    return STORE_URL.format(domain_prefix=domain_prefix)


class LightspeedOAuth2(BaseOAuth2):
    name = "lightspeed"
    AUTHORIZATION_URL = AUTHORIZE_URL
    ACCESS_TOKEN_URL = STORE_URL + TOKEN_PATH
    ACCESS_TOKEN_METHOD = "POST"  # noqa: S105 (an HTTP method)
    REDIRECT_STATE = False

    def get_scope_argument(self) -> dict:
        return {}

    def access_token_url(self) -> str:
        url = self.ACCESS_TOKEN_URL
        if "{domain_prefix}" not in url:
            return url  # our sandbox: every store under one base URL
        prefix = domain_prefix_checked(self.data.get(DOMAIN_PREFIX))
        if not prefix:
            raise AuthException(self, "Lightspeed named no usable domain_prefix for the store")
        return url.format(domain_prefix=prefix)
