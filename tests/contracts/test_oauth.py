"""A platform that connects through OAuth, against its sandbox over real HTTP (live_server): the
authorize URL carries our client, state and PKCE challenge; the code exchange names the account;
a refresh keeps or replaces the refresh token as the connector declares the platform does (a
spent one refused); our stored refresh (under the row lock) does the same; revoking ends the
grant."""

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.utils import timezone

from integrations.base import connections, families
from integrations.base.connections import pkce_pair
from integrations.base.connectors import Capability
from integrations.base.errors import AuthenticationError
from integrations.base.sandbox_accounts import sandbox_base_url
from tests.factories import MembershipFactory

CAPABILITY = Capability.OAUTH2
STATE = "contract-state-1"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def granted(platform, connector, contract, live_server, settings):
    """(connector bound to a sandbox connection, the tokens of a fresh grant)."""
    app = contract.oauth_app(site_url=live_server.url, settings=settings)
    base_url = sandbox_base_url(site_url=live_server.url, platform=platform)
    bound = connector(contract.unsaved_connection(base_url=base_url, credentials={}))
    uses_pkce = Capability.PKCE in connector.capabilities
    verifier, challenge = pkce_pair()

    url = bound.authorization_url(
        state=STATE, redirect_uri=app.redirect_uri, code_challenge=challenge
    )
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{base_url}/")
    assert query["state"] == [STATE]
    assert query["redirect_uri"] == [app.redirect_uri]
    assert query["client_id"] == [settings.PLATFORM_APPS[platform]["client_id"]]
    assert query.get("code_challenge") == ([challenge] if uses_pkce else None)
    consent = requests.get(url, allow_redirects=False, timeout=10)
    assert consent.status_code == 302, consent.text
    back = parse_qs(urlsplit(consent.headers["Location"]).query)
    assert back["state"] == [STATE]

    tokens = bound.tokens_from_code(
        code=back["code"][0],
        redirect_uri=app.redirect_uri,
        code_verifier=verifier if uses_pkce else "",
        callback={name: values[0] for name, values in back.items()},
    )
    return bound, tokens


def _bound_to(connector, contract, base_url: str, tokens):
    credentials = {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token}
    return connector(contract.unsaved_connection(base_url=base_url, credentials=credentials))


def test_the_code_exchange_names_the_account_and_an_expiry(granted):
    _bound, tokens = granted

    assert tokens.access_token and tokens.refresh_token
    assert tokens.account_id
    assert tokens.expires_at is None or tokens.expires_at > timezone.now()


def test_a_refresh_keeps_or_replaces_the_refresh_token_as_declared(connector, granted):
    bound, tokens = granted

    refreshed = bound.tokens_refresh(refresh_token=tokens.refresh_token)

    assert refreshed.access_token and refreshed.access_token != tokens.access_token
    if connector.refresh_token_rotates:
        assert refreshed.refresh_token and refreshed.refresh_token != tokens.refresh_token
        with pytest.raises(AuthenticationError):
            bound.tokens_refresh(refresh_token=tokens.refresh_token)
    else:
        assert refreshed.refresh_token in ("", tokens.refresh_token)
        assert bound.tokens_refresh(refresh_token=tokens.refresh_token).access_token


def test_a_connection_about_to_expire_is_refreshed_once_and_stores_the_right_refresh_token(
    platform, connector, contract, granted
):
    bound, tokens = granted
    model = families.get(connector.family).connection_model
    owner = MembershipFactory(role="owner")
    connection = model.objects.create(
        **{model.platform_field: platform},
        organization=owner.organization,
        user=owner.user,
        account_id=tokens.account_id,
        base_url=bound.connection.base_url,
        credentials_encrypted=json.dumps(
            {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token}
        ),
        token_expires_at=timezone.now() + timedelta(seconds=5),
        webhook_secret="",
    )

    assert connections.connection_tokens_refresh(connection=connection) is True
    assert connections.connection_tokens_refresh(connection=connection) is False

    connection.refresh_from_db()
    stored = json.loads(connection.credentials_encrypted)
    assert stored["access_token"] != tokens.access_token
    assert (stored["refresh_token"] == tokens.refresh_token) is not connector.refresh_token_rotates
    assert connection.token_expires_at is None or connection.token_expires_at > timezone.now()


def test_revoking_ends_the_grant(connector, contract, granted):
    if not connector.revoke_with:
        pytest.skip(f"{connector.display_name} has no revoke call")
    bound, tokens = granted
    connected = _bound_to(connector, contract, bound.connection.base_url, tokens)

    connected.tokens_revoke(access_token=tokens.access_token)

    with pytest.raises(AuthenticationError):
        connected.tokens_refresh(refresh_token=tokens.refresh_token)


def test_a_refused_refresh_token_is_an_authentication_error(granted):
    bound, _tokens = granted

    with pytest.raises(AuthenticationError):
        bound.tokens_refresh(refresh_token="not-a-refresh-token")
