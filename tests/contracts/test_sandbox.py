"""A platform with a sandbox (a provisioner registered by its sandbox app): a fresh sandbox
account connects without OAuth, and the sandbox answers the connector's own client (over real
HTTP, live_server)."""

import pytest

from integrations.base import registry, sandbox_accounts
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    "sandboxed", sorted(provisioner.platform for provisioner in sandbox_accounts.provisioners())
)
def test_the_sandbox_answers_the_connectors_own_client(sandboxed, live_server):
    connector = registry.get(sandboxed)
    owner = MembershipFactory(role="owner")

    connection = sandbox_accounts.connection_sandbox_create(
        family=connector.family,
        platform=sandboxed,
        organization=owner.organization,
        user=owner.user,
        site_url=live_server.url,
    )

    assert connection.is_sandbox and connection.account_id
    assert connection.base_url.startswith(live_server.url)
    connector(connection).test_connection()
