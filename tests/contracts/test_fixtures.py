"""Every registered connector gives its fixtures; a platform registered without them fails the
suite with a message that says exactly what to add."""

import types
from collections.abc import Mapping

import pytest

from integrations.base import registry
from integrations.base.connectors import ApiKeyConnector, CredentialField
from integrations.pos.connectors import POSConnector, Webhooks
from tests.contracts.fixtures.base import ContractFixtures, MissingFixtures, fixtures_for


class UnfixturedConnector(POSConnector, ApiKeyConnector, Webhooks):
    key = "unfixtured"
    display_name = "Unfixtured POS"
    credential_fields = (CredentialField("api_key", "API key"),)

    @classmethod
    def verify_webhook(cls, *, headers, body, secret, url, method="POST"):
        return False

    @classmethod
    def parse_webhook(cls, body):
        return []

    def sales_for_event(self, event):
        return []

    def credentials_check(self, credentials: Mapping[str, str]) -> str:
        return "account"

    def test_connection(self):
        return None


def test_every_registered_connector_gives_its_fixtures(platform, connector):
    assert fixtures_for(platform, connector).platform == platform


def test_a_platform_registered_without_fixtures_fails_naming_what_to_add():
    registry.load({**registry.CONNECTORS, "unfixtured": f"{__name__}.UnfixturedConnector"})
    try:
        problems = []
        for key, connector in registry.all_connectors().items():
            try:
                fixtures_for(key, connector)
            except MissingFixtures as missing:
                problems.append(str(missing))
    finally:
        registry.load()

    assert problems == [
        "unfixtured: no contract fixtures. Add tests/contracts/fixtures/unfixtured.py with a "
        "ContractFixtures subclass (platform = 'unfixtured') giving: record_samples, "
        "record_map, unsaved_connection, webhook_samples, signed_delivery, webhook_connection, "
        "webhook_events, webhook_body, webhook_sign, app_webhook_settings"
    ]


def test_fixtures_without_a_capabilitys_member_are_named_with_the_capability():
    class UnfixturedFixtures(ContractFixtures):
        platform = "unfixtured"

        def record_samples(self):
            return {}

        def record_map(self, record):
            return record

        def unsaved_connection(self, *, base_url, credentials):
            return None

        def webhook_samples(self):
            return {}

        def webhook_connection(self, *, site_url):
            return None

        def webhook_events(self, connection, *, account_id=""):
            return []

        def webhook_body(self, events):
            return b""

        def webhook_sign(self, connection, body, *, secret="", url=""):
            return {}

        def app_webhook_settings(self, settings, *, secret, url):
            return None

    module = types.ModuleType("tests.contracts.fixtures.unfixtured")
    module.UnfixturedFixtures = UnfixturedFixtures

    with pytest.raises(MissingFixtures) as missing:
        fixtures_for("unfixtured", UnfixturedConnector, importer=lambda name: module)

    assert str(missing.value) == (
        "unfixtured: UnfixturedFixtures in tests/contracts/fixtures/unfixtured.py does not give "
        "signed_delivery() -> a SignedDelivery signed now, every header of it needed "
        "(for capability 'webhooks')"
    )


def test_fixtures_for_another_platform_do_not_count():
    class OtherFixtures(ContractFixtures):
        platform = "other"

    module = types.ModuleType("tests.contracts.fixtures.unfixtured")
    module.OtherFixtures = OtherFixtures

    with pytest.raises(MissingFixtures, match="holds 0 ContractFixtures subclasses"):
        fixtures_for("unfixtured", UnfixturedConnector, importer=lambda name: module)
