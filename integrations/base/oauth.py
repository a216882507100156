"""The one OAuth adapter: every OAuth platform's connect, refresh and revoke through its
social-core backend, used to connect an account, never to log anyone in.

The connect flow's state and PKCE pair are ``connections.oauth_start``'s, kept on a one-time
OAuthState row bound to session, organization and platform; the backend is handed them instead
of keeping its own in a session. Tokens go on the connection, not into social-core's storage. A
sandbox connection's endpoints are the platform's paths under its base URL.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cache
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils import timezone
from social_core.backends.oauth import BaseOAuth2
from social_core.exceptions import SocialAuthBaseException
from social_core.strategy import BaseStrategy

from integrations.base.connectors import Capability, OAuthConnector, TokenSet
from integrations.base.errors import (
    AuthenticationError,
    ConnectorError,
    PermanentConnectorError,
)
from integrations.base.http import DEFAULT_TIMEOUT, error_for_response, transport_error


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


class ConnectBackend:
    """Put in front of a platform's backend: our state and PKCE pair, the exact redirect URI, a
    JSON or form payload for every token call as the backend declares (``ACCESS_TOKEN_PAYLOAD``),
    and the endpoints under ``base_url`` when it is set. A backend whose PKCE client is public
    (it sends the verifier instead of the client secret) sets ``PKCE_REPLACES_SECRET``."""

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
            for name in ("AUTHORIZATION_URL", "ACCESS_TOKEN_URL", "USER_DATA_URL"):
                if getattr(self, name, ""):
                    setattr(self, name, _rebased(getattr(self, name), base_url))
            if self.REVOKE_TOKEN_URL:
                self.REVOKE_TOKEN_URL = _rebased(self.REVOKE_TOKEN_URL, base_url)
        self.state = state
        self.code_challenge = code_challenge
        self.code_verifier = code_verifier

    def get_or_create_state(self) -> str:
        return self.state

    def get_redirect_uri(self, state: str | None = None) -> str:
        # Platforms compare redirect_uri exactly: no redirect_state, the state is in ``state``.
        return self.redirect_uri

    def auth_params(self, state: str | None = None) -> dict[str, str]:
        # The challenge is sent as given: social-core's own PKCE needs a verifier it keeps.
        params = BaseOAuth2.auth_params(self, state)
        if state:
            params["state"] = state
        if self.code_challenge:
            params["code_challenge_method"] = "S256"
            params["code_challenge"] = self.code_challenge
        return params

    def auth_complete_params(self, state: str | None = None) -> dict:
        params = super().auth_complete_params(state)
        if self.code_verifier:
            params["code_verifier"] = self.code_verifier
            if getattr(self, "PKCE_REPLACES_SECRET", False):
                params.pop("client_secret", None)
        return params

    def code_exchange(self) -> dict:
        """The token answer for the callback's code: auth_complete's token request, without its
        session state check and login pipeline."""
        return self._token_call(self.access_token_url(), self.auth_complete_params())

    def refresh_token(self, token: str, *args, **kwargs) -> dict:
        return self._token_call(self.refresh_token_url(), self.refresh_token_params(token))

    def revoke_token(self, token: str, uid: str | None) -> None:
        params = self.revoke_token_params(token, uid)
        self.request(
            self.revoke_token_url(token, uid),
            method=self.REVOKE_TOKEN_METHOD,
            headers=self.revoke_token_headers(token, uid),
            **self._payload(params),
            stage="disconnect",
        )

    def _token_call(self, url: str, params: Mapping) -> dict:
        return self.request_access_token(
            url,
            method=self.ACCESS_TOKEN_METHOD,
            headers=self.auth_headers(),
            auth=self.auth_complete_credentials(),
            **self._payload(dict(params)),
        )

    def _payload(self, params: dict) -> dict:
        if not params:
            return {}
        as_json = self.ACCESS_TOKEN_PAYLOAD == "json"  # noqa: S105 (a payload kind)
        return {"json": params} if as_json else {"data": params}


def _rebased(url: str, base_url: str) -> str:
    """``url``'s path (and query) under ``base_url``: our sandbox serves the platform's paths."""
    parts = urlsplit(url)
    query = f"?{parts.query}" if parts.query else ""
    return f"{base_url.rstrip('/')}{parts.path}{query}"


@cache
def _connect_class(backend: type[BaseOAuth2]) -> type:
    return type(f"Connect{backend.__name__}", (ConnectBackend, backend), {})


class OAuthAdapter:
    """One connector's OAuth steps, each through a fresh backend with our app's client."""

    def __init__(self, connector: OAuthConnector):
        self.connector = connector
        base_url = (connector.connection.base_url or "").rstrip("/")
        # A connection to the platform itself keeps the backend's own hosts.
        self.base_url = "" if base_url == connector.default_base_url.rstrip("/") else base_url

    def backend(
        self,
        *,
        redirect_uri: str = "",
        state: str = "",
        code: str = "",
        code_challenge: str = "",
        code_verifier: str = "",
        callback: Mapping[str, str] | None = None,
    ):
        connector = self.connector
        app = settings.PLATFORM_APPS[connector.key]
        request_data = {**self.callback_values(callback), **({"code": code} if code else {})}
        strategy = ConnectStrategy(
            values={
                "KEY": app["client_id"],
                "SECRET": app["client_secret"],
                "SCOPE": list(connector.scopes),
                "IGNORE_DEFAULT_SCOPE": True,
                # The adapter sends the challenge and verifier it is given, not social-core's.
                "USE_PKCE": False,
                "REQUESTS_TIMEOUT": DEFAULT_TIMEOUT,
            },
            request_data=request_data,
        )
        return _connect_class(connector.oauth_backend)(
            strategy,
            base_url=self.base_url,
            redirect_uri=redirect_uri,
            state=state,
            code_challenge=code_challenge,
            code_verifier=code_verifier,
        )

    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str = "") -> str:
        if Capability.PKCE not in self.connector.capabilities:
            code_challenge = ""
        backend = self.backend(
            redirect_uri=redirect_uri, state=state, code_challenge=code_challenge
        )
        return backend.auth_url()

    def tokens_from_code(
        self,
        *,
        code: str,
        redirect_uri: str,
        code_verifier: str = "",
        callback: Mapping[str, str] | None = None,
    ) -> TokenSet:
        backend = self.backend(
            redirect_uri=redirect_uri, code=code, code_verifier=code_verifier, callback=callback
        )
        received_at = timezone.now()
        with self.connector_errors():
            answer = backend.code_exchange()
            # The account behind the grant, where the token answer alone does not name it; the
            # token answer's own keys win (an info answer has a token_type of its own).
            access_token = backend.get_access_token(answer)
            answer = {
                **self.callback_values(callback),
                **(backend.user_data(access_token, response=answer) or {}),
                **answer,
            }
        return self.connector.oauth_tokens(answer, received_at=received_at)

    def callback_values(self, callback: Mapping[str, str] | None) -> dict[str, str]:
        """The connector's ``callback_parameters``: from the callback at the code exchange, from
        the stored credentials on every later call."""
        names = self.connector.callback_parameters
        source = callback if callback is not None else self.connector.credentials
        return {name: source[name] for name in names if isinstance(source.get(name), str)}

    def tokens_refresh(self, *, refresh_token: str) -> TokenSet:
        received_at = timezone.now()
        try:
            with self.connector_errors():
                answer = self.backend().refresh_token(refresh_token)
        except PermanentConnectorError as error:
            # A refused refresh token (revoked, spent, unknown) needs the tenant to re-authorise.
            if isinstance(error, AuthenticationError):
                raise
            raise AuthenticationError(str(error), status=error.status) from None
        return self.connector.oauth_tokens(answer, received_at=received_at)

    def tokens_revoke(self, *, access_token: str) -> None:
        if not self.connector.revoke_with:
            return  # the platform has no revoke call
        token = (
            access_token
            if self.connector.revoke_with == "access_token"
            else self.connector.credentials.get("refresh_token", "")
        )
        if token:
            with self.connector_errors():
                self.backend().revoke_token(token, None)

    @contextmanager
    def connector_errors(self) -> Iterator[None]:
        """social-core's exceptions as connector errors, mapped as every platform answer is."""
        platform = self.connector.display_name
        try:
            yield
        except SocialAuthBaseException as error:
            raise connector_error(error, platform=platform) from None


def connector_error(error: SocialAuthBaseException, *, platform: str) -> ConnectorError:
    cause = error.__cause__
    if isinstance(cause, requests.HTTPError) and cause.response is not None:
        return error_for_response(cause.response, platform=platform)
    if isinstance(cause, requests.RequestException):
        return transport_error(cause, platform=platform)
    return PermanentConnectorError(f"{platform}: {error} {getattr(error, 'detail', '')}".strip())


def token_set(answer: Mapping, *, received_at: datetime, connector: OAuthConnector) -> TokenSet:
    """A token answer's tokens: the access token's expiry from ``expires_in`` (seconds after
    receipt) or ``expires_at`` (ISO 8601), the account id under the connector's key."""
    platform = connector.display_name
    access_token = answer.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise AuthenticationError(f"{platform}'s token answer carries no access_token")
    refresh_token = answer.get("refresh_token") or ""
    if not isinstance(refresh_token, str):
        raise AuthenticationError(f"{platform}'s token answer has a malformed refresh_token")
    return TokenSet(
        access_token=access_token,
        refresh_token=refresh_token,
        expires_at=_expires_at(answer, received_at=received_at, platform=platform),
        account_id=str(answer.get(connector.account_id_key) or ""),
        scopes=_scopes(answer.get("scopes") or answer.get("scope")),
    )


def _expires_at(answer: Mapping, *, received_at: datetime, platform: str) -> datetime | None:
    expires_in, expires_at = answer.get("expires_in"), answer.get("expires_at")
    if isinstance(expires_in, int) and not isinstance(expires_in, bool) and expires_in > 0:
        return received_at + timedelta(seconds=expires_in)
    if isinstance(expires_at, str) and expires_at:
        try:
            moment = datetime.fromisoformat(expires_at)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment
    if expires_in is None and expires_at is None:
        return None  # a token that lasts until revoked (or the platform's session does)
    raise AuthenticationError(f"{platform}'s token answer has an unreadable expiry")


def _scopes(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.replace(",", " ").split())
    if isinstance(value, list):
        return tuple(str(scope) for scope in value)
    return ()
