import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts import services
from accounts.models import Membership, Organization
from tests.factories import MembershipFactory, UserFactory


@pytest.mark.django_db
def test_organization_create_makes_creator_owner():
    user = UserFactory()
    organization = services.organization_create(
        owner=user, legal_name="Kano Textiles", tin="20198222-0002", contact_email="a@b.example"
    )
    assert Membership.objects.get(organization=organization).role == Membership.Role.OWNER


@pytest.mark.django_db
def test_organization_create_rejects_malformed_tin():
    with pytest.raises(ValidationError) as excinfo:
        services.organization_create(
            owner=UserFactory(), legal_name="X", tin="TIN-000001", contact_email="a@b.example"
        )
    assert "tin" in excinfo.value.message_dict
    assert not Organization.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Membership.Role.MEMBER, Membership.Role.VIEWER])
def test_members_and_viewers_cannot_add_members(org_a, role):
    actor = MembershipFactory(organization=org_a, role=role).user
    with pytest.raises(PermissionDenied):
        services.membership_add(organization=org_a, actor=actor, user=UserFactory())


@pytest.mark.django_db
def test_admin_adds_member_but_not_owner(org_a):
    admin = MembershipFactory(organization=org_a, role=Membership.Role.ADMIN).user
    membership = services.membership_add(organization=org_a, actor=admin, user=UserFactory())
    assert membership.role == Membership.Role.MEMBER
    with pytest.raises(PermissionDenied):
        services.membership_add(
            organization=org_a, actor=admin, user=UserFactory(), role=Membership.Role.OWNER
        )


@pytest.mark.django_db
def test_owner_of_another_organization_cannot_manage_this_one(owner_b, org_a):
    with pytest.raises(PermissionDenied):
        services.membership_add(organization=org_a, actor=owner_b, user=UserFactory())


@pytest.mark.django_db
def test_last_owner_cannot_be_removed(owner_a, org_a):
    membership = Membership.objects.get(user=owner_a, organization=org_a)
    with pytest.raises(ValidationError):
        services.membership_remove(organization=org_a, actor=owner_a, membership_id=membership.pk)


@pytest.mark.django_db
def test_remove_cannot_reach_another_tenants_membership(owner_a, org_a, owner_b):
    foreign = Membership.objects.get(user=owner_b)
    with pytest.raises(Membership.DoesNotExist):
        services.membership_remove(organization=org_a, actor=owner_a, membership_id=foreign.pk)
    assert Membership.objects.filter(pk=foreign.pk).exists()


@pytest.mark.django_db
def test_current_organization_set_refuses_foreign_organization(owner_a, org_a, org_b):
    session = {}
    assert (
        services.current_organization_set(session=session, user=owner_a, organization_id=org_a.pk)
        == org_a
    )
    with pytest.raises(Organization.DoesNotExist):
        services.current_organization_set(session=session, user=owner_a, organization_id=org_b.pk)
    assert session[services.SESSION_ORGANIZATION_KEY] == org_a.pk


@pytest.mark.django_db
def test_demo_data_is_idempotent():
    first = services.demo_data_ensure(operator_password="op-pass-1", tenant_password="te-pass-1")
    second = services.demo_data_ensure(
        operator_password="op-pass-1", tenant_password="te-pass-1", api_token=first.api_token
    )
    assert first.organization == second.organization
    assert first.api_token == second.api_token
    assert Organization.objects.count() == 1
    assert second.operator.is_staff and not second.tenant.is_staff
