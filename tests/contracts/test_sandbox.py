"""A platform with a sandbox: a fresh sandbox account connects without OAuth, and the sandbox
answers the connector's own client (over real HTTP, live_server)."""

import pytest

from integrations.base import connections
from integrations.base.connectors import Capability
from tests.factories import MembershipFactory

CAPABILITY = Capability.SANDBOX

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_sandbox_answers_the_connectors_own_client(platform, connector, live_server):
    owner = MembershipFactory(role="owner")

    connection = connections.connection_sandbox_create(
        family=connector.family,
        platform=platform,
        organization=owner.organization,
        user=owner.user,
        site_url=live_server.url,
    )

    assert connection.is_sandbox and connection.account_id
    assert connection.base_url.startswith(live_server.url)
    connector(connection).test_connection()
