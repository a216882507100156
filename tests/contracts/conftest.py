"""The contract suite runs over the registry: a test module's ``CAPABILITY`` (one, or a tuple of
which any will do; none for every connector) picks the connectors its tests are generated for,
so a connector without a capability gets no test of it."""

import pytest

from integrations.base import registry
from tests.contracts.fixtures.base import fixtures_for


def platforms_with(capability: str | tuple[str, ...] = "") -> list[str]:
    wanted = (capability,) if isinstance(capability, str) else capability
    return sorted(
        key
        for key, connector in registry.all_connectors().items()
        if not any(wanted) or set(wanted) & connector.capabilities
    )


def pytest_generate_tests(metafunc):
    if "platform" in metafunc.fixturenames:
        capability = getattr(metafunc.module, "CAPABILITY", "")
        metafunc.parametrize("platform", platforms_with(capability))


@pytest.fixture
def connector(platform):
    return registry.get(platform)


@pytest.fixture
def contract(platform, connector):
    """The platform's fixtures; a registered platform without them fails here, saying what to
    add."""
    return fixtures_for(platform, connector)
