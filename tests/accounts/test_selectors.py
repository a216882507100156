import pytest

from accounts import selectors, services
from accounts.models import Membership, Organization
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory


@pytest.mark.django_db
def test_organization_list_for_user_holds_only_their_organizations(owner_a, org_a, org_b):
    assert list(selectors.organization_list_for_user(user=owner_a)) == [org_a]


@pytest.mark.django_db
def test_organization_get_for_user_treats_other_tenant_as_missing(owner_a, org_b):
    with pytest.raises(Organization.DoesNotExist):
        selectors.organization_get_for_user(user=owner_a, organization_id=org_b.pk)


@pytest.mark.django_db
def test_membership_list_is_scoped_to_the_organization(owner_a, owner_b, org_a, org_b):
    assert [m.user for m in selectors.membership_list(organization=org_a)] == [owner_a]
    with pytest.raises(Membership.DoesNotExist):
        other = Membership.objects.get(user=owner_b)
        selectors.membership_get_in_organization(organization=org_a, membership_id=other.pk)


@pytest.mark.django_db
def test_membership_get_returns_none_across_tenants(owner_a, org_b):
    assert selectors.membership_get(user=owner_a, organization=org_b) is None


@pytest.mark.django_db
def test_user_in_several_organizations_gets_preferred_or_first(owner_a, org_a):
    second = OrganizationFactory()
    MembershipFactory(user=owner_a, organization=second)
    stranger = OrganizationFactory()
    assert set(selectors.organization_list_for_user(user=owner_a)) == {org_a, second}
    assert selectors.default_organization_for_user(user=owner_a, preferred_id=second.pk) == second
    # A preferred id of an organization they do not belong to is ignored, never honoured.
    assert selectors.default_organization_for_user(user=owner_a, preferred_id=stranger.pk) == org_a


@pytest.mark.django_db
def test_inactive_organization_is_not_listed(owner_a, org_a):
    org_a.is_active = False
    org_a.save()
    assert list(selectors.organization_list_for_user(user=owner_a)) == []


@pytest.mark.django_db
def test_an_organization_one_was_put_in_never_becomes_the_default(org_a):
    """Org A is older (lower id); its membership was made for the user, not chosen by them."""
    user = UserFactory()
    own = services.organization_create(
        owner=user, legal_name="Own Ltd", tin="20198222-0002", contact_email="a@b.example"
    )
    MembershipFactory(user=user, organization=org_a)
    assert org_a.pk < own.pk
    assert selectors.default_organization_for_user(user=user) == own


@pytest.mark.django_db
def test_without_any_choice_the_first_joined_is_the_default(org_a, org_b):
    user = MembershipFactory(organization=org_b).user
    MembershipFactory(user=user, organization=org_a)
    assert selectors.default_organization_for_user(user=user) == org_b
