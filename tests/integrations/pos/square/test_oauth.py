"""Square's OAuth through the shared adapter (its small social-core backend): what Square's own
endpoints are sent. The flow against the sandbox is in tests/contracts/test_oauth.py."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from integrations.base.connections import pkce_pair
from integrations.base.errors import AuthenticationError
from integrations.pos.models import POSConnection
from integrations.pos.square.client import SQUARE_VERSION
from integrations.pos.square.connector import SquareConnector

TOKEN_URL = "https://connect.squareup.com/oauth2/token"
REVOKE_URL = "https://connect.squareup.com/oauth2/revoke"
ANSWER = {
    "access_token": "EAAA-access-1",
    "token_type": "bearer",
    "expires_at": "2026-12-31T00:00:00Z",
    "merchant_id": "MERCHANT-1",
    "refresh_token": "EQAA-refresh-2",
}


@pytest.fixture(autouse=True)
def app(settings):
    settings.PLATFORM_APPS = {
        **settings.PLATFORM_APPS,
        "square": {
            **settings.PLATFORM_APPS["square"],
            "client_id": "sq0idp-1",
            "client_secret": "sq0csp-1",
        },
    }


def _connector(base_url: str = "", credentials: dict | None = None) -> SquareConnector:
    return SquareConnector(
        POSConnection(
            pos_type="square",
            base_url=base_url,
            credentials_encrypted=json.dumps(credentials) if credentials else "",
        )
    )


def test_the_authorize_url_asks_for_squares_own_sign_in_with_our_state_and_challenge():
    _verifier, challenge = pkce_pair()

    url = _connector().authorization_url(
        state="state-1", redirect_uri="https://app.example/cb/", code_challenge=challenge
    )

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://connect.squareup.com/oauth2/authorize"
    )
    assert parse_qs(parts.query) == {
        "client_id": ["sq0idp-1"],
        "scope": [" ".join(SquareConnector.scopes)],
        "session": ["false"],
        "state": ["state-1"],
        "redirect_uri": ["https://app.example/cb/"],
        "code_challenge": [challenge],
        "code_challenge_method": ["S256"],
    }


def test_a_sandbox_connections_consent_page_is_squares_path_under_its_base_url():
    url = _connector(base_url="http://testserver/sandbox/square").authorization_url(
        state="s", redirect_uri="https://app.example/cb/"
    )

    assert url.startswith("http://testserver/sandbox/square/oauth2/authorize?")


@responses.activate
def test_a_pkce_code_is_exchanged_as_json_with_the_verifier_and_no_secret():
    responses.post(TOKEN_URL, json=ANSWER)

    tokens = _connector().tokens_from_code(
        code="sq0cgb-1", redirect_uri="https://app.example/cb/", code_verifier="verifier-1"
    )

    [call] = responses.calls
    assert json.loads(call.request.body) == {
        "grant_type": "authorization_code",
        "code": "sq0cgb-1",
        "redirect_uri": "https://app.example/cb/",
        "client_id": "sq0idp-1",
        "code_verifier": "verifier-1",
    }
    assert call.request.headers["Square-Version"] == SQUARE_VERSION
    assert (tokens.account_id, tokens.refresh_token) == ("MERCHANT-1", "EQAA-refresh-2")
    assert tokens.expires_at.isoformat() == "2026-12-31T00:00:00+00:00"


@responses.activate
def test_a_refused_refresh_token_means_re_authorising():
    responses.post(TOKEN_URL, status=401, json={"errors": [{"code": "UNAUTHORIZED"}]})

    with pytest.raises(AuthenticationError):
        _connector().tokens_refresh(refresh_token="EQAA-spent")

    assert json.loads(responses.calls[0].request.body)["grant_type"] == "refresh_token"


@responses.activate
def test_revoking_names_the_access_token_and_authenticates_the_app():
    responses.post(REVOKE_URL, json={"success": True})

    _connector(credentials={"access_token": "EAAA-access-1"}).tokens_revoke(
        access_token="EAAA-access-1"
    )

    [call] = responses.calls
    assert json.loads(call.request.body) == {
        "client_id": "sq0idp-1",
        "access_token": "EAAA-access-1",
    }
    assert call.request.headers["Authorization"] == "Client sq0csp-1"
