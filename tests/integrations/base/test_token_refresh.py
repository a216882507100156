"""Every OAuth connector's access token is refreshed before it expires: once, under the
connection's row lock, whichever family the connection is of. A platform joining the registry
with OAuth joins this test by construction."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.base import families, registry
from integrations.base.connections import connector_for
from integrations.base.connectors import OAuthConnector, TokenSet
from tests.factories import OrganizationFactory, UserFactory
from tests.integrations.base.support import row_locked_elsewhere

pytestmark = pytest.mark.django_db(transaction=True)

OAUTH_CONNECTORS = sorted(
    key for key, cls in registry.all_connectors().items() if issubclass(cls, OAuthConnector)
)


def test_the_registry_has_oauth_connectors_to_check():
    assert OAUTH_CONNECTORS


def _oauth_connection(platform: str, *, expires_in: timedelta):
    connector_class = registry.get(platform)
    model = families.get(connector_class.family).connection_model
    return model.objects.create(
        **{model.platform_field: platform},
        organization=OrganizationFactory(),
        user=UserFactory(),
        account_id="account-1",
        credentials_encrypted=json.dumps(
            {"access_token": "old-access", "refresh_token": "refresh-1", "expires_at": None}
        ),
        webhook_secret="",
        token_expires_at=timezone.now() + expires_in,
    )


@pytest.fixture
def refreshes(monkeypatch):
    """Each platform's refresh call, answered with a fresh token: (refresh token, whether the
    connection's row was locked meanwhile) per call."""
    calls = []

    def install(platform: str):
        connector_class = registry.get(platform)

        def tokens_refresh(self, *, refresh_token):
            connection = self.connection
            table = type(connection)._meta.db_table
            calls.append((refresh_token, row_locked_elsewhere(table=table, pk=connection.pk)))
            return TokenSet(
                access_token=f"new-access-{len(calls)}",
                expires_at=timezone.now() + timedelta(days=30),
            )

        monkeypatch.setattr(connector_class, "tokens_refresh", tokens_refresh)
        return calls

    return install


@pytest.mark.parametrize("platform", OAUTH_CONNECTORS)
def test_a_token_about_to_expire_is_refreshed_once_under_the_lock(platform, refreshes):
    calls = refreshes(platform)
    connection = _oauth_connection(platform, expires_in=timedelta(minutes=1))

    connector = connector_for(connection)
    again = connector_for(connection)

    assert calls == [("refresh-1", True)]
    for bound in (connector, again):
        assert json.loads(bound.connection.credentials_encrypted)["access_token"] == "new-access-1"
    connection.refresh_from_db()
    stored = json.loads(connection.credentials_encrypted)
    # The platform kept the refresh token (it answered none): the old one stays.
    assert stored["access_token"] == "new-access-1" and stored["refresh_token"] == "refresh-1"
    assert connection.token_expires_at > timezone.now() + timedelta(days=29)


@pytest.mark.parametrize("platform", OAUTH_CONNECTORS)
def test_a_token_refreshed_by_another_worker_is_used_and_not_refreshed_again(platform, refreshes):
    calls = refreshes(platform)
    connection = _oauth_connection(platform, expires_in=timedelta(minutes=1))
    stale = type(connection).objects.get(pk=connection.pk)
    connector_for(connection)

    connector = connector_for(stale)

    assert len(calls) == 1
    assert json.loads(connector.connection.credentials_encrypted)["access_token"] == "new-access-1"


@pytest.mark.parametrize("platform", OAUTH_CONNECTORS)
def test_a_token_far_from_expiry_is_used_as_it_is(platform, refreshes):
    calls = refreshes(platform)
    connection = _oauth_connection(platform, expires_in=timedelta(days=29))

    connector = connector_for(connection)

    assert calls == []
    assert json.loads(connector.connection.credentials_encrypted)["access_token"] == "old-access"
