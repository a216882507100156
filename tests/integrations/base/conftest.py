import pytest

from integrations.base import registry

HERE = "tests.integrations.base.credentials_connectors"


@pytest.fixture
def credentials_platforms():
    """The project's registry plus the test-only API-key and client-credentials connectors."""
    registry.load(
        {
            **registry.CONNECTORS,
            "keypos": f"{HERE}.KeyPOSConnector",
            "clientcrm": f"{HERE}.ClientCredentialsCRMConnector",
        }
    )
    yield
    registry.load()
