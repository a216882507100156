import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts import services
from accounts.models import Invitation, Membership, Organization
from tests.factories import InvitationFactory, MembershipFactory, UserFactory


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


def _invite(organization, actor, role=Membership.Role.MEMBER, email="ada@example.com"):
    return services.invitation_create(
        organization=organization,
        actor=actor,
        email=email,
        role=role,
        site_url="https://taxpoynt.example/",
    )


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Membership.Role.MEMBER, Membership.Role.VIEWER])
def test_members_and_viewers_cannot_invite(org_a, role):
    actor = MembershipFactory(organization=org_a, role=role).user
    with pytest.raises(PermissionDenied):
        _invite(org_a, actor)
    assert not Invitation.objects.exists()


@pytest.mark.django_db
def test_admin_invites_members_and_admins_but_not_owners(org_a):
    admin = MembershipFactory(organization=org_a, role=Membership.Role.ADMIN).user
    assert _invite(org_a, admin).role == Membership.Role.MEMBER
    assert _invite(org_a, admin, Membership.Role.ADMIN, "bo@example.com").role == "admin"
    with pytest.raises(PermissionDenied):
        _invite(org_a, admin, Membership.Role.OWNER, "cy@example.com")
    assert _invite(org_a, MembershipFactory(organization=org_a, role="owner").user, "owner")


@pytest.mark.django_db
def test_owner_of_another_organization_cannot_invite_to_this_one(owner_b, org_a):
    with pytest.raises(PermissionDenied):
        _invite(org_a, owner_b)


@pytest.mark.django_db
def test_an_invitation_adds_nobody_until_accepted(owner_a, org_a):
    invitee = UserFactory(email="ada@example.com")
    invitation = _invite(org_a, owner_a, Membership.Role.VIEWER)
    assert not Membership.objects.filter(user=invitee).exists()
    membership = services.invitation_accept(invitation=invitation, user=invitee)
    assert (membership.organization, membership.role) == (org_a, "viewer")
    assert membership.last_used_at == Invitation.objects.get().accepted_at


@pytest.mark.django_db
def test_an_address_differing_only_in_case_may_accept(owner_a, org_a):
    invitee = UserFactory(email="Ada@Example.com")
    services.invitation_accept(invitation=_invite(org_a, owner_a), user=invitee)
    assert Membership.objects.filter(user=invitee, organization=org_a).exists()


@pytest.mark.django_db
def test_an_account_without_an_e_mail_cannot_accept(owner_a, org_a):
    with pytest.raises(services.InvitationForAnotherUser):
        services.invitation_accept(invitation=_invite(org_a, owner_a), user=UserFactory(email=""))


@pytest.mark.django_db
def test_an_invitation_to_an_inactive_organization_cannot_be_accepted(owner_a, org_a):
    invitation = _invite(org_a, owner_a)
    org_a.is_active = False
    org_a.save()
    with pytest.raises(Invitation.DoesNotExist):
        services.invitation_accept(invitation=invitation, user=UserFactory(email=invitation.email))


@pytest.mark.django_db
def test_operators_revoke_only_open_invitations(owner_a, org_a):
    open_one = InvitationFactory(organization=org_a)
    used = InvitationFactory(organization=org_a, accepted_at=timezone.now())
    assert services.invitations_revoke(invitation_ids=[open_one.pk, used.pk]) == 1
    open_one.refresh_from_db()
    used.refresh_from_db()
    assert (open_one.status, used.status) == ("revoked", "accepted")


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
def test_the_default_organization_is_the_one_chosen_last(owner_a, org_a):
    """Created, joined by invitation or switched to: the latest choice is the default."""
    from accounts.selectors import default_organization_for_user

    created = services.organization_create(
        owner=owner_a, legal_name="Kano Textiles", tin="20198222-0002", contact_email="a@b.example"
    )
    assert default_organization_for_user(user=owner_a) == created
    joined = InvitationFactory(email=owner_a.email, role=Membership.Role.VIEWER)
    services.invitation_accept(invitation=joined, user=owner_a)
    assert default_organization_for_user(user=owner_a) == joined.organization
    services.current_organization_set(session={}, user=owner_a, organization_id=org_a.pk)
    assert default_organization_for_user(user=owner_a) == org_a


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
