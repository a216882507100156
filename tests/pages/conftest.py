import pytest

from accounts.models import Membership
from tests.factories import MembershipFactory


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
