"""HubSpot's OAuth through social-core's HubSpot backend, used to connect an account,
never to log anyone in: its authorize URL, code exchange, token info, refresh and revoke.

The connect flow's state and PKCE pair are ``oauth_start``'s, kept on a one-time OAuthState row
bound to session, organization and platform; the backend is handed them instead of keeping its
own in a session. Tokens go on the connection, not into social-core's storage.
"""

from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import quote

import requests
from django.conf import settings
from social_core.backends.hubspot import HubSpotOAuth2
from social_core.backends.oauth import BaseOAuth2, BaseOAuth2PKCE
from social_core.exceptions import SocialAuthBaseException
from social_core.strategy import BaseStrategy

from integrations.base.errors import (
    ConnectorError,
    PermanentConnectorError,
)
from integrations.base.http import DEFAULT_TIMEOUT, error_for_response, transport_error

PLATFORM = "HubSpot"


class ConnectStrategy(BaseStrategy):
    """What a backend needs outside a login: settings and the callback's data. No session and no
    storage: anything that reaches for them raises NotImplementedError."""

    def __init__(self, *, values: Mapping[str, object], request_data: Mapping[str, str]):
        super().__init__()
        self._values = values
        self._request_data = request_data

    def get_setting(self, name: str):
        return self._values[name]

    def get_request_data(self, merge: bool = True) -> dict:
        return dict(self._request_data)

    def build_absolute_uri(self, path: str | None = None) -> str:
        return path or ""


class HubSpotConnectOAuth2(HubSpotOAuth2, BaseOAuth2PKCE):
    """HubSpot's backend with the state and the PKCE pair handed in, and its endpoints under
    ``base_url`` when set (our sandbox serves HubSpot's paths, consent page included)."""

    # HubSpot revokes a grant by deleting its refresh token: this prefix, then the token.
    REVOKE_TOKEN_URL = "https://api.hubapi.com/oauth/v1/refresh-tokens/"  # noqa: S105 (a URL)
    REVOKE_TOKEN_METHOD = "DELETE"  # noqa: S105 (an HTTP method)

    def __init__(
        self,
        strategy: ConnectStrategy,
        *,
        base_url: str = "",
        redirect_uri: str = "",
        state: str = "",
        code_challenge: str = "",
        code_verifier: str = "",
    ):
        super().__init__(strategy, redirect_uri=redirect_uri)
        if base_url:
            base_url = base_url.rstrip("/")
            self.AUTHORIZATION_URL = f"{base_url}/oauth/authorize"
            self.ACCESS_TOKEN_URL = f"{base_url}/oauth/v1/token"
            self.USER_DATA_URL = f"{base_url}/oauth/v1/access-tokens/"
            self.REVOKE_TOKEN_URL = f"{base_url}/oauth/v1/refresh-tokens/"
        self.state = state
        self.code_challenge = code_challenge
        self.code_verifier = code_verifier

    def get_or_create_state(self) -> str:
        return self.state

    def get_redirect_uri(self, state: str | None = None) -> str:
        # HubSpot compares redirect_uri exactly: no redirect_state, the state travels in
        # ``state``. (REDIRECT_STATE = False would do it too, but leaves the query unescaped.)
        return self.redirect_uri

    def auth_params(self, state: str | None = None) -> dict[str, str]:
        # The challenge is sent as given: social-core's own would need a verifier it keeps.
        params = BaseOAuth2.auth_params(self, state)
        if self.code_challenge:
            params["code_challenge_method"] = self.PKCE_DEFAULT_CODE_CHALLENGE_METHOD
            params["code_challenge"] = self.code_challenge
        return params

    def get_code_verifier(self, state: str | None = None) -> str:
        return self.code_verifier

    def code_exchange(self) -> dict:
        """The token answer for the callback's code: auth_complete's token request, without its
        session state check and login pipeline."""
        return self.request_access_token(
            self.access_token_url(),
            method=self.ACCESS_TOKEN_METHOD,
            data=self.auth_complete_params(),
            headers=self.auth_headers(),
            auth=self.auth_complete_credentials(),
        )

    def revoke_token_url(self, token: str, uid: str | None) -> str:
        return f"{self.REVOKE_TOKEN_URL}{quote(token, safe='')}"


def hubspot_backend(
    *,
    base_url: str,
    scopes: Collection[str] = (),
    redirect_uri: str = "",
    state: str = "",
    code: str = "",
    code_challenge: str = "",
    code_verifier: str = "",
) -> HubSpotConnectOAuth2:
    """The backend for one step of connecting, with our app's client and timeouts."""
    app = settings.PLATFORM_APPS["hubspot"]
    strategy = ConnectStrategy(
        values={
            "KEY": app["client_id"],
            "SECRET": app["client_secret"],
            "SCOPE": list(scopes),
            "IGNORE_DEFAULT_SCOPE": True,
            # Whether the code exchange sends a code_verifier; the challenge is sent when given.
            "USE_PKCE": bool(code_verifier),
            "REQUESTS_TIMEOUT": DEFAULT_TIMEOUT,
        },
        request_data={"code": code} if code else {},
    )
    return HubSpotConnectOAuth2(
        strategy,
        base_url=base_url,
        redirect_uri=redirect_uri,
        state=state,
        code_challenge=code_challenge,
        code_verifier=code_verifier,
    )


@contextmanager
def connector_errors() -> Iterator[None]:
    """social-core's exceptions as connector errors, mapped as every HubSpot answer is."""
    try:
        yield
    except SocialAuthBaseException as error:
        raise _connector_error(error) from None


def _connector_error(error: SocialAuthBaseException) -> ConnectorError:
    cause = error.__cause__
    if isinstance(cause, requests.HTTPError) and cause.response is not None:
        return error_for_response(cause.response, platform=PLATFORM)
    if isinstance(cause, requests.RequestException):
        return transport_error(cause, platform=PLATFORM)
    return PermanentConnectorError(f"{PLATFORM}: {error} {error.detail}".strip())
