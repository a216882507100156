from collections.abc import Mapping

import pytest
from django.core.exceptions import ImproperlyConfigured
from social_core.backends.oauth import BaseOAuth2

from integrations.base import registry
from integrations.base.connectors import (
    ApiKeyConnector,
    BaseConnector,
    Capability,
    CredentialField,
    OAuthConnector,
)
from integrations.pos.connectors import Backfill, POSConnector, Webhooks


class GoodConnector(POSConnector, ApiKeyConnector):
    """A POS platform without webhooks or back-fills: it writes nothing about them."""

    key = "goodpos"
    display_name = "Good POS"
    credential_fields = (CredentialField("api_key", "API key"),)

    def credentials_check(self, credentials: Mapping[str, str]) -> str:
        return "account-1"

    def test_connection(self):
        return None


class WrongFamilyConnector(GoodConnector):
    key = "wrongfamily"
    family = "accounting"


class WebhooksWithoutParsing(GoodConnector, Webhooks):
    key = "halfhooks"

    @classmethod
    def verify_webhook(cls, *, headers, body, secret, url, method="POST"):
        return False

    def sales_for_event(self, event):
        return []


class BackfillWithoutPages(GoodConnector, Backfill):
    key = "nopages"


class OAuthWithoutBackend(POSConnector, OAuthConnector):
    key = "oauthless"
    display_name = "No backend"

    def test_connection(self):
        return None


class BackendWithoutUrls(BaseOAuth2):
    name = "nourls"


class OAuthWithoutUrls(OAuthWithoutBackend):
    key = "nourls"
    oauth_backend = BackendWithoutUrls
    refresh_token_rotates = False
    account_id_key = "account"


class TwoWaysToConnect(GoodConnector, OAuthConnector):
    key = "twoways"


class NoWayToConnect(POSConnector):
    key = "noway"
    display_name = "No way"

    def test_connection(self):
        return None


class ApiKeyWithoutFields(GoodConnector):
    key = "nofields"
    credential_fields = ()


class NotAConnector:
    key = "plain"


HERE = "tests.integrations.base.test_registry"


def test_valid_entry_loads_with_the_capabilities_of_its_mixins():
    loaded = registry.validate({"goodpos": f"{HERE}.GoodConnector"})
    assert loaded == {"goodpos": GoodConnector}
    assert GoodConnector.capabilities == {Capability.API_KEY}
    assert WebhooksWithoutParsing.capabilities == {Capability.API_KEY, Capability.WEBHOOKS}


@pytest.mark.parametrize(
    ("key", "path", "reason"),
    [
        ("missing", "integrations.nowhere.Connector", "cannot import"),
        ("plain", f"{HERE}.NotAConnector", "not a BaseConnector subclass"),
        ("other", f"{HERE}.GoodConnector", "registered as 'other'"),
        ("wrongfamily", f"{HERE}.WrongFamilyConnector", "family 'accounting'"),
        (
            "halfhooks",
            f"{HERE}.WebhooksWithoutParsing",
            "capability 'webhooks' needs parse_webhook(), which WebhooksWithoutParsing does "
            "not define",
        ),
        (
            "nopages",
            f"{HERE}.BackfillWithoutPages",
            "capability 'backfill' needs sales_page(), which BackfillWithoutPages does not define",
        ),
        ("oauthless", f"{HERE}.OAuthWithoutBackend", "capability 'oauth2' needs oauth_backend"),
        ("oauthless", f"{HERE}.OAuthWithoutBackend", "needs refresh_token_rotates"),
        ("oauthless", f"{HERE}.OAuthWithoutBackend", "needs account_id_key"),
        ("nourls", f"{HERE}.OAuthWithoutUrls", "AUTHORIZATION_URL and ACCESS_TOKEN_URL"),
        ("twoways", f"{HERE}.TwoWaysToConnect", "one way to connect"),
        ("noway", f"{HERE}.NoWayToConnect", "one way to connect"),
        ("nofields", f"{HERE}.ApiKeyWithoutFields", "capability 'api_key' needs credential_fields"),
    ],
)
def test_registry_refuses_a_bad_entry_and_names_it(key, path, reason):
    with pytest.raises(ImproperlyConfigured) as excinfo:
        registry.validate({"goodpos": f"{HERE}.GoodConnector", key: path})
    assert f"{key}: " in str(excinfo.value)
    assert reason in str(excinfo.value)


def test_a_connector_without_a_capability_has_none_of_its_methods():
    assert not hasattr(GoodConnector, "verify_webhook")
    assert not hasattr(GoodConnector, "sales_page")
    assert BaseConnector.capabilities == frozenset()


def test_registry_lookup_after_load():
    try:
        registry.load({"goodpos": f"{HERE}.GoodConnector"})
        assert registry.get("goodpos") is GoodConnector
        assert registry.for_family("pos") == {"goodpos": GoodConnector}
        assert registry.for_family("crm") == {}
        with pytest.raises(KeyError):
            registry.get("unknown")
    finally:
        registry.load()


def test_project_registry_is_valid_at_startup():
    assert registry.validate(registry.CONNECTORS) == registry.all_connectors()
