import pytest

from integrations.base import registry
from tests.integrations.erp.support import LEDGERS, PLATFORM


@pytest.fixture
def ledgerly():
    """The registry with the test ERP platform in it, for this test only; its ledgers."""
    registry.load(
        {**registry.CONNECTORS, PLATFORM: "tests.integrations.erp.support.LedgerlyConnector"}
    )
    LEDGERS.clear()
    yield LEDGERS
    LEDGERS.clear()
    registry.load()
