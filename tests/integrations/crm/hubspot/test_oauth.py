"""HubSpot's OAuth through social-core's HubSpot backend and the shared adapter: the authorize
URL, then the code exchange, refresh and revoke against the HubSpot sandbox over real HTTP
(live_server)."""

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from django.utils import timezone

from integrations.base import connections
from integrations.base import oauth as base_oauth
from integrations.base.connections import ConnectError, pkce_pair
from integrations.base.errors import (
    AuthenticationError,
    PermanentConnectorError,
    RateLimited,
    TransientConnectorError,
)
from integrations.base.http import DEFAULT_TIMEOUT
from integrations.base.models import OAuthState
from integrations.crm.hubspot.connector import HubSpotConnector
from integrations.crm.hubspot.oauth import HubSpotConnectOAuth2
from integrations.crm.models import CRMConnection
from sandboxes.hubspot.models import HubSpotSandboxAccessToken
from sandboxes.hubspot.server import sandbox_portal_create
from tests.factories import MembershipFactory

CALLBACK_PATH = "/integrations/oauth/crm/hubspot/callback/"


def _connector(*, base_url: str = "", credentials: dict | None = None) -> HubSpotConnector:
    return HubSpotConnector(
        CRMConnection(
            crm_type="hubspot",
            base_url=base_url,
            credentials_encrypted=json.dumps(credentials) if credentials else "",
        )
    )


def _app(settings, *, client_id: str, client_secret: str) -> None:
    settings.PLATFORM_APPS = {
        **settings.PLATFORM_APPS,
        "hubspot": {
            **settings.PLATFORM_APPS["hubspot"],
            "client_id": client_id,
            "client_secret": client_secret,
        },
    }


@pytest.fixture
def portal(live_server, transactional_db, settings):
    """A sandbox account whose app is ours."""
    portal = sandbox_portal_create(redirect_uri=f"{live_server.url}{CALLBACK_PATH}")
    _app(settings, client_id=portal.client_id, client_secret=portal.client_secret)
    return portal


@pytest.fixture
def sandbox(live_server) -> str:
    return f"{live_server.url}/sandbox/hubspot"


@pytest.fixture
def spied(monkeypatch):
    """The backend's calls to HubSpot: name -> (the URL or token, the form sent) per call."""
    calls = {}
    backend = base_oauth._connect_class(HubSpotConnectOAuth2)
    for name in ("request_access_token", "user_data", "refresh_token", "revoke_token"):
        monkeypatch.setattr(backend, name, _spy(calls, name, getattr(backend, name)))
    return calls


def _spy(calls: dict, name: str, method):
    def spy(self, first, *args, **kwargs):
        calls.setdefault(name, []).append((first, kwargs.get("data")))
        return method(self, first, *args, **kwargs)

    return spy


def _authorized_code(connector: HubSpotConnector, *, redirect_uri: str, challenge: str) -> str:
    """Follow the authorize URL as a browser would; the sandbox approves at once."""
    url = connector.authorization_url(
        state="state-1", redirect_uri=redirect_uri, code_challenge=challenge
    )
    redirect = requests.get(url, allow_redirects=False, timeout=10)
    assert redirect.status_code == 302, redirect.text
    query = parse_qs(urlsplit(redirect.headers["Location"]).query)
    assert query["state"] == ["state-1"]
    return query["code"][0]


def _connected(portal, sandbox):
    verifier, challenge = pkce_pair()
    connector = _connector(base_url=sandbox)
    code = _authorized_code(connector, redirect_uri=portal.redirect_uri, challenge=challenge)
    tokens = connector.tokens_from_code(
        code=code, redirect_uri=portal.redirect_uri, code_verifier=verifier
    )
    return connector, tokens


# --- the authorize URL -----------------------------------------------------------------------


def test_the_authorize_url_carries_our_client_scopes_state_and_s256_challenge(settings):
    _app(settings, client_id="client-7", client_secret="secret-7")
    _verifier, challenge = pkce_pair()
    redirect_uri = "https://app.taxpoynt.test/integrations/oauth/crm/hubspot/callback/"

    url = _connector(base_url="https://app.taxpoynt.test/sandbox/hubspot/").authorization_url(
        state="state-1", redirect_uri=redirect_uri, code_challenge=challenge
    )

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://app.taxpoynt.test/sandbox/hubspot/oauth/authorize"
    )
    assert parse_qs(parts.query) == {
        "client_id": ["client-7"],
        "scope": [" ".join(HubSpotConnector.scopes)],
        "state": ["state-1"],
        "redirect_uri": [redirect_uri],
        "response_type": ["code"],
        "code_challenge": [challenge],
        "code_challenge_method": ["S256"],
    }


def test_without_a_base_url_the_consent_page_is_hubspots_and_no_challenge_is_sent():
    url = _connector().authorization_url(state="state-1", redirect_uri="https://x.test/cb/")

    assert url.startswith("https://app.hubspot.com/oauth/authorize?")
    assert "code_challenge" not in parse_qs(urlsplit(url).query)


# --- code exchange ---------------------------------------------------------------------------


def test_the_code_is_exchanged_by_the_backend_with_our_verifier(portal, sandbox, spied):
    verifier, challenge = pkce_pair()
    connector = _connector(base_url=sandbox)
    code = _authorized_code(connector, redirect_uri=portal.redirect_uri, challenge=challenge)

    tokens = connector.tokens_from_code(
        code=code, redirect_uri=portal.redirect_uri, code_verifier=verifier
    )

    [(token_url, form)] = spied["request_access_token"]
    assert token_url == f"{sandbox}/oauth/v1/token"
    assert (form["grant_type"], form["code"]) == ("authorization_code", code)
    assert (form["redirect_uri"], form["code_verifier"]) == (portal.redirect_uri, verifier)
    assert spied["user_data"] == [(tokens.access_token, None)]
    assert tokens.account_id == str(portal.hub_id)
    assert tokens.scopes == HubSpotConnector.scopes
    assert timedelta(minutes=29) < tokens.expires_at - timezone.now() <= timedelta(minutes=30)
    assert HubSpotSandboxAccessToken.objects.filter(
        account=portal, refresh_token=tokens.refresh_token, revoked_at__isnull=True
    ).exists()


def test_a_code_with_another_verifier_is_refused_and_nothing_is_connected(portal, sandbox):
    organization_owner = MembershipFactory(role="owner")
    authorize_url = connections.oauth_start(
        family="crm",
        platform="hubspot",
        organization=organization_owner.organization,
        user=organization_owner.user,
        session_key="browser-session-1",
        redirect_uri=portal.redirect_uri,
        sandbox_base_url=sandbox,
    )
    redirect = requests.get(authorize_url, allow_redirects=False, timeout=10)
    query = parse_qs(urlsplit(redirect.headers["Location"]).query)
    OAuthState.objects.filter(state=query["state"][0]).update(code_verifier=pkce_pair()[0])

    with pytest.raises(ConnectError, match="code_verifier does not match"):
        connections.oauth_complete(
            family="crm",
            platform="hubspot",
            state=query["state"][0],
            code=query["code"][0],
            session_key="browser-session-1",
            site_url=sandbox.removesuffix("/sandbox/hubspot"),
        )
    assert not CRMConnection.objects.exists()


def test_a_refused_code_is_a_permanent_error_not_an_authentication_one(portal, sandbox):
    with pytest.raises(PermanentConnectorError) as refused:
        _connector(base_url=sandbox).tokens_from_code(
            code="not-a-code", redirect_uri=portal.redirect_uri, code_verifier=pkce_pair()[0]
        )

    assert type(refused.value) is PermanentConnectorError
    assert refused.value.status == 400
    assert "missing or unknown auth code" in str(refused.value)


# --- refresh and revoke ----------------------------------------------------------------------


def test_a_refresh_gives_a_new_30_minute_token_under_the_same_grant(portal, sandbox, spied):
    connector, tokens = _connected(portal, sandbox)

    refreshed = connector.tokens_refresh(refresh_token=tokens.refresh_token)

    assert spied["refresh_token"] == [(tokens.refresh_token, None)]
    assert refreshed.access_token != tokens.access_token
    assert refreshed.refresh_token == tokens.refresh_token
    assert timedelta(minutes=29) < refreshed.expires_at - timezone.now() <= timedelta(minutes=30)


def test_an_unknown_refresh_token_is_an_authentication_error(portal, sandbox):
    with pytest.raises(AuthenticationError, match="missing or invalid refresh token") as refused:
        _connector(base_url=sandbox).tokens_refresh(refresh_token="not-a-refresh-token")

    assert refused.value.status == 400


def test_revoking_the_grant_makes_its_refresh_token_an_authentication_error(portal, sandbox, spied):
    _connector_used, tokens = _connected(portal, sandbox)
    connected = _connector(
        base_url=sandbox,
        credentials={"access_token": tokens.access_token, "refresh_token": tokens.refresh_token},
    )

    connected.tokens_revoke(access_token=tokens.access_token)

    assert spied["revoke_token"] == [(tokens.refresh_token, None)]
    grant_tokens = HubSpotSandboxAccessToken.objects.filter(refresh_token=tokens.refresh_token)
    assert grant_tokens.exists()
    assert not grant_tokens.filter(revoked_at__isnull=True).exists()
    with pytest.raises(AuthenticationError):
        connected.tokens_refresh(refresh_token=tokens.refresh_token)


# --- failures that a retry can fix -----------------------------------------------------------


def test_an_unreachable_hubspot_is_transient_not_an_authentication_error():
    connector = _connector(base_url="http://127.0.0.1:9/sandbox/hubspot")

    with pytest.raises(TransientConnectorError, match="could not be reached"):
        connector.tokens_refresh(refresh_token="refresh-1")


@responses.activate
@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"status": 503, "json": {"status": "error", "message": "down"}}, TransientConnectorError),
        ({"status": 429, "headers": {"Retry-After": "7"}}, RateLimited),
        ({"body": requests.ReadTimeout()}, TransientConnectorError),
    ],
)
def test_token_endpoint_failures_are_retryable_and_calls_keep_the_project_timeout(answer, error):
    responses.post("https://api.hubapi.com/oauth/v1/token", **answer)

    with pytest.raises(error) as raised:
        _connector().tokens_refresh(refresh_token="refresh-1")

    assert not raised.value.permanent
    [call] = responses.calls
    assert call.request.req_kwargs["timeout"] == DEFAULT_TIMEOUT
