"""Pipedrive's OAuth as a social-core backend (social-core has none): the client authenticates
with HTTP Basic on the token and revoke calls, and the token answer names ``api_domain``, the
company's own API host, which the account id is read from. The connect, refresh and revoke steps
are the shared adapter's (integrations.base.oauth)."""

import base64
from urllib.parse import urlsplit

from social_core.backends.oauth import BaseOAuth2
from social_core.exceptions import AuthException

OAUTH_HOST = "https://oauth.pipedrive.com"
# Real companies' API hosts: <company>.pipedrive.com, over HTTPS.
API_DOMAIN_SUFFIX = ".pipedrive.com"


class PipedriveOAuth2(BaseOAuth2):
    name = "pipedrive"
    AUTHORIZATION_URL = f"{OAUTH_HOST}/oauth/authorize"
    ACCESS_TOKEN_URL = f"{OAUTH_HOST}/oauth/token"
    REVOKE_TOKEN_URL = f"{OAUTH_HOST}/oauth/revoke"
    ACCESS_TOKEN_METHOD = "POST"  # noqa: S105 (an HTTP method)
    REVOKE_TOKEN_METHOD = "POST"  # noqa: S105 (an HTTP method)
    USE_BASIC_AUTH = True
    # Pipedrive takes no scope parameter: the app's scopes are set in its Developer Hub.
    SCOPE_PARAMETER_NAME = "scope"
    DEFAULT_SCOPE: list[str] = []
    EXTRA_DATA = [("api_domain", "api_domain")]

    def get_scope_argument(self) -> dict:
        return {}

    def refresh_token_params(self, token: str, *args, **kwargs) -> dict[str, str]:
        # The client is named by the Basic credentials alone.
        return {"grant_type": "refresh_token", "refresh_token": token}

    def revoke_token_params(self, token: str, uid) -> dict[str, str]:
        return {"token": token, "token_type_hint": "refresh_token"}

    def revoke_token_headers(self, token: str, uid) -> dict[str, str]:
        return {"Authorization": self.basic_auth_header()}

    def basic_auth_header(self) -> str:
        client_id, client_secret = self.get_key_and_secret()
        pair = f"{client_id}:{client_secret}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def user_data(self, access_token: str, *args, **kwargs) -> dict:
        """The user and company behind the grant, from the company's own API host."""
        api_domain = api_domain_checked(
            (kwargs.get("response") or {}).get("api_domain"), oauth_url=self.access_token_url()
        )
        if not api_domain:
            raise AuthException(self, "The token answer names no usable api_domain")
        answer = self.get_json(
            f"{api_domain}/api/v1/users/me",
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        )
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict) or data.get("company_id") in (None, ""):
            raise AuthException(self, "Pipedrive's users/me answer names no company")
        return {"company_id": str(data["company_id"]), "user_id": str(data.get("id") or "")}


def api_domain_checked(value: object, *, oauth_url: str) -> str:
    """``value`` (a token answer's ``api_domain``) when it is safe to send the tokens to: a
    company host on pipedrive.com over HTTPS, or, for a sandbox, on the very origin of the OAuth
    server that issued them. "" otherwise: the token never goes to a host the answer made up."""
    if not isinstance(value, str) or not value:
        return ""
    parts, issuer = urlsplit(value), urlsplit(oauth_url)
    if parts.query or parts.fragment or parts.username or parts.password:
        return ""
    if issuer.scheme == "https" and (issuer.hostname or "").endswith(API_DOMAIN_SUFFIX):
        host = parts.hostname or ""
        if parts.scheme != "https" or not host.endswith(API_DOMAIN_SUFFIX) or parts.port:
            return ""
        return f"https://{host}"
    if (parts.scheme, parts.netloc) != (issuer.scheme, issuer.netloc):
        return ""
    return value.rstrip("/")
