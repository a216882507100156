"""Membership by invitation through the API: owners and admins invite an e-mail address, and only
the address's user, accepting, joins. The inviter learns nothing about other tenants' accounts."""

import datetime
import hashlib

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from accounts.models import Invitation, Membership
from tests.factories import InvitationFactory, InvoiceFactory, MembershipFactory, UserFactory


class RefusingEmailBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("mail server down")


def _invitations(organization) -> str:
    return f"/api/v1/organizations/{organization.pk}/invitations/"


def _accept(client, token):
    return client.post("/api/v1/invitations/accept/", {"token": token}, format="json")


@pytest.mark.django_db
def test_an_owner_cannot_put_another_tenants_user_in_their_organization(
    token_client, owner_a, org_a, owner_b, org_b
):
    owner_b.username, owner_b.email = "bravo-owner", "owner@bravo.example"
    owner_b.save()
    attacker = token_client(owner_a)
    by_username = attacker.post(
        f"/api/v1/organizations/{org_a.pk}/members/",
        {"username": owner_b.username, "role": "viewer"},
        format="json",
    )
    assert by_username.status_code == 405
    assert owner_b.email not in by_username.content.decode()

    known = attacker.post(_invitations(org_a), {"email": owner_b.email, "role": "viewer"})
    unknown = attacker.post(_invitations(org_a), {"email": "nobody@example.com", "role": "viewer"})
    # The same answer whether the address has an account or not; nothing about the account.
    assert known.status_code == unknown.status_code == 201
    assert known.json().keys() == unknown.json().keys()
    varying = {"id", "email", "created_at", "expires_at"}
    assert {k: v for k, v in known.json().items() if k not in varying} == {
        k: v for k, v in unknown.json().items() if k not in varying
    }
    assert owner_b.username not in known.content.decode()
    assert not Membership.objects.filter(user=owner_b, organization=org_a).exists()

    # The victim's token without X-Organization-Id still works in their own organization only.
    invoice_b = InvoiceFactory(organization=org_b)
    InvoiceFactory(organization=org_a)
    listed = token_client(owner_b).get("/api/v1/invoices/")
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["results"]] == [invoice_b.pk]


@pytest.mark.django_db
def test_the_invitation_is_e_mailed_and_only_its_hash_is_stored(
    token_client, owner_a, org_a, sent_invitation_token
):
    response = token_client(owner_a).post(
        _invitations(org_a), {"email": "Ada@Example.COM", "role": "admin"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["email"] == "ada@example.com"
    assert response.json()["status"] == "pending"
    assert response.json()["invited_by"] == owner_a.username
    (message,) = mail.outbox
    assert message.to == ["ada@example.com"]
    assert org_a.legal_name in message.subject
    token = sent_invitation_token("ada@example.com")
    invitation = Invitation.objects.get()
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in response.content.decode()
    assert not Invitation.objects.filter(token_hash=token).exists()
    assert invitation.expires_at - invitation.created_at == datetime.timedelta(days=7)


@pytest.mark.django_db
def test_the_invitee_accepts_once_and_joins_with_the_role(
    token_client, owner_a, org_a, sent_invitation_token
):
    invitee = UserFactory(email="ada@example.com")
    token_client(owner_a).post(_invitations(org_a), {"email": "ada@example.com", "role": "viewer"})
    token = sent_invitation_token("ada@example.com")

    accepted = _accept(token_client(invitee), token)
    assert accepted.status_code == 201, accepted.content
    assert (accepted.json()["id"], accepted.json()["role"]) == (org_a.pk, "viewer")
    membership = Membership.objects.get(user=invitee)
    assert (membership.organization, membership.role) == (org_a, "viewer")
    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.accepted_by) == ("accepted", invitee)

    again = _accept(token_client(UserFactory(email="ada@example.com")), token)
    assert again.status_code == 410
    assert again.json()["detail"] == "This invitation has already been used."
    assert Membership.objects.filter(organization=org_a).count() == 2


@pytest.mark.django_db
def test_another_users_expired_revoked_or_unknown_links_are_refused(token_client, org_a):
    invitee = UserFactory(email="ada@example.com")
    pending = InvitationFactory(organization=org_a, email="ada@example.com", token="pending")
    InvitationFactory(
        organization=org_a,
        email="ada@example.com",
        token="expired",
        expires_at=timezone.now() - datetime.timedelta(seconds=1),
        revoked_at=timezone.now(),
    )
    InvitationFactory(
        organization=org_a, email="ada@example.com", token="revoked", revoked_at=timezone.now()
    )
    stranger = token_client(UserFactory(email="eve@example.com"))
    refused = _accept(stranger, "pending")
    assert refused.status_code == 403
    assert "another e-mail address" in refused.json()["detail"]
    assert "ada@example.com" not in refused.content.decode()

    pending.expires_at = timezone.now() - datetime.timedelta(seconds=1)
    pending.save()
    client = token_client(invitee)
    assert _accept(client, "pending").json()["detail"] == (
        "This invitation has expired. Ask for a new one."
    )
    assert _accept(client, "revoked").status_code == 410
    assert _accept(client, "no-such-token").status_code == 404
    assert _accept(client, "").status_code == 400
    assert not Membership.objects.filter(user__email="ada@example.com").exists()
    assert not Membership.objects.filter(user__email="eve@example.com").exists()


@pytest.mark.django_db
def test_a_member_accepting_again_is_a_conflict(token_client, owner_a, org_a):
    InvitationFactory(organization=org_a, email=owner_a.email, token="mine")
    response = _accept(token_client(owner_a), "mine")
    assert response.status_code == 409
    assert Membership.objects.get(user=owner_a).role == "owner"


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Membership.Role.MEMBER, Membership.Role.VIEWER])
def test_members_and_viewers_neither_invite_nor_see_invitations(token_client, org_a, role):
    client = token_client(MembershipFactory(organization=org_a, role=role).user)
    invitation = InvitationFactory(organization=org_a)
    assert client.post(_invitations(org_a), {"email": "x@example.com"}).status_code == 403
    assert client.get(_invitations(org_a)).status_code == 403
    assert client.get(f"{_invitations(org_a)}{invitation.pk}/").status_code == 403
    assert client.post(f"{_invitations(org_a)}{invitation.pk}/revoke/").status_code == 403
    assert Invitation.objects.get().status == "pending"
    assert not mail.outbox


@pytest.mark.django_db
def test_an_admin_invites_admins_but_not_owners(token_client, org_a):
    admin = token_client(MembershipFactory(organization=org_a, role=Membership.Role.ADMIN).user)
    refused = admin.post(_invitations(org_a), {"email": "x@example.com", "role": "owner"})
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Only owners can invite owners."
    assert (
        admin.post(_invitations(org_a), {"email": "x@example.com", "role": "admin"}).status_code
        == 201
    )
    owner_invitation = InvitationFactory(organization=org_a, role=Membership.Role.OWNER)
    revoke = admin.post(f"{_invitations(org_a)}{owner_invitation.pk}/revoke/")
    assert revoke.status_code == 403
    owner_invitation.refresh_from_db()
    assert owner_invitation.status == "pending"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [{"email": "not-an-address"}, {"email": "x@example.com", "role": "king"}, {}],
)
def test_bad_input_is_a_clear_400(token_client, owner_a, org_a, body):
    response = token_client(owner_a).post(_invitations(org_a), body, format="json")
    assert response.status_code == 400
    assert set(response.json()) - {"detail", "code"} <= {"email", "role"}
    assert not Invitation.objects.exists()


@pytest.mark.django_db
def test_the_owner_lists_and_revokes_and_the_link_stops_working(
    token_client, owner_a, org_a, sent_invitation_token
):
    owner = token_client(owner_a)
    created = owner.post(_invitations(org_a), {"email": "ada@example.com"}).json()
    token = sent_invitation_token("ada@example.com")
    listed = owner.get(_invitations(org_a)).json()["results"]
    assert [row["id"] for row in listed] == [created["id"]]

    revoked = owner.post(f"{_invitations(org_a)}{created['id']}/revoke/")
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"
    assert owner.post(f"{_invitations(org_a)}{created['id']}/revoke/").status_code == 409
    invitee = token_client(UserFactory(email="ada@example.com"))
    assert _accept(invitee, token).status_code == 410


@pytest.mark.django_db
def test_inviting_an_address_again_replaces_its_link(
    token_client, owner_a, org_a, sent_invitation_token
):
    owner = token_client(owner_a)
    owner.post(_invitations(org_a), {"email": "ada@example.com", "role": "viewer"})
    first = sent_invitation_token("ada@example.com")
    owner.post(_invitations(org_a), {"email": "ADA@example.com", "role": "member"})
    second = sent_invitation_token("ada@example.com")
    invitee = token_client(UserFactory(email="ada@example.com"))
    assert _accept(invitee, first).status_code == 410
    assert _accept(invitee, second).json()["role"] == "member"


@pytest.mark.django_db
def test_another_organizations_invitations_answer_like_missing_ones(
    token_client, owner_a, org_a, org_b
):
    foreign = InvitationFactory(organization=org_b)
    owner = token_client(owner_a)
    for response in (
        owner.get(_invitations(org_b)),
        owner.post(_invitations(org_b), {"email": "x@example.com"}),
        owner.get(f"{_invitations(org_a)}{foreign.pk}/"),
        owner.post(f"{_invitations(org_a)}{foreign.pk}/revoke/"),
        owner.post(f"{_invitations(org_b)}{foreign.pk}/revoke/"),
    ):
        assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == "pending"
    assert not mail.outbox


@pytest.mark.django_db
def test_a_mail_server_refusal_saves_nothing(token_client, owner_a, org_a, settings):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingEmailBackend"
    response = token_client(owner_a).post(_invitations(org_a), {"email": "ada@example.com"})
    assert response.status_code == 503
    assert response.json()["detail"] == "The invitation e-mail could not be sent; try again."
    assert not Invitation.objects.exists()
