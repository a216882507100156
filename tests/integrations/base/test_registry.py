import pytest
from django.core.exceptions import ImproperlyConfigured

from integrations.base import registry
from integrations.base.connectors import BaseConnector, Capability


class GoodConnector(BaseConnector):
    key = "goodpos"
    family = "pos"
    display_name = "Good POS"
    auth = "api_key"
    capabilities = frozenset({Capability.BACKFILL})

    @classmethod
    def verify_webhook(cls, *, headers, body, secret, url, method="POST"):
        return False

    @classmethod
    def parse_webhook(cls, body):
        return []

    def test_connection(self):
        return None


class WrongFamilyConnector(GoodConnector):
    key = "wrongfamily"
    family = "accounting"


class UnknownCapabilityConnector(GoodConnector):
    key = "unknowncap"
    capabilities = frozenset({"teleport"})


class OAuthWithoutUrlsConnector(GoodConnector):
    key = "oauthless"
    auth = "oauth2"


class AbstractConnector(BaseConnector):
    key = "abstract"
    family = "crm"
    display_name = "Half done"
    auth = "api_key"


class NotAConnector:
    key = "plain"


HERE = "tests.integrations.base.test_registry"


def test_valid_entry_loads_and_is_found_by_key_and_family():
    loaded = registry.validate({"goodpos": f"{HERE}.GoodConnector"})
    assert loaded == {"goodpos": GoodConnector}


@pytest.mark.parametrize(
    ("key", "path", "reason"),
    [
        ("missing", "integrations.nowhere.Connector", "cannot import"),
        ("plain", f"{HERE}.NotAConnector", "not a BaseConnector subclass"),
        ("other", f"{HERE}.GoodConnector", "registered as 'other'"),
        ("wrongfamily", f"{HERE}.WrongFamilyConnector", "family 'accounting'"),
        ("unknowncap", f"{HERE}.UnknownCapabilityConnector", "unknown capabilities"),
        ("oauthless", f"{HERE}.OAuthWithoutUrlsConnector", "authorize_url and token_url"),
        ("abstract", f"{HERE}.AbstractConnector", "abstract methods not implemented"),
    ],
)
def test_registry_refuses_a_bad_entry_and_names_it(key, path, reason):
    with pytest.raises(ImproperlyConfigured) as excinfo:
        registry.validate({"goodpos": f"{HERE}.GoodConnector", key: path})
    assert f"{key}: " in str(excinfo.value)
    assert reason in str(excinfo.value)


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
