import secrets

import pytest
from django.core.cache import cache

from accounts.models import Membership
from accounts.services import demo_data_ensure
from integrations.pos.square.sandbox import square_sandbox_faults_reset
from invoices.firs.client import SharedCircuitBreaker
from invoices.firs.sandbox import sandbox_organization_connect
from tests.factories import PASSWORD, MembershipFactory


@pytest.fixture
def client_a(client, owner_a):
    """A browser session of organization A's owner."""
    client.force_login(owner_a)
    return client


@pytest.fixture
def member_a(org_a):
    """A new user with the given role in organization A."""

    def make(role: str = Membership.Role.MEMBER):
        return MembershipFactory(organization=org_a, role=role).user

    return make


@pytest.fixture
def demo_owner(live_server):
    """The demo user of `make run` (accounts' demo data), its organization signing with the FIRS
    sandbox on the live server as `create_demo_data` wires it; no platform connected yet."""
    breaker = SharedCircuitBreaker(name=live_server.url.split("//")[1])
    breaker.reset()
    cache.clear()
    square_sandbox_faults_reset()
    demo = demo_data_ensure(operator_password=secrets.token_urlsafe(12), tenant_password=PASSWORD)
    sandbox_organization_connect(
        organization=demo.organization, base_url=f"{live_server.url}/sandbox/firs"
    )
    yield demo.tenant
    breaker.reset()
