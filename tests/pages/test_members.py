"""The members page: owners and admins invite by e-mail, revoke invitations and remove members;
the role rules come from accounts.services and show as messages on the page."""

import pytest
from django.core import mail

from accounts.models import Invitation, Membership
from tests.factories import InvitationFactory, MembershipFactory


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.mark.django_db
def test_members_are_listed_with_their_roles(client_a, org_a, org_b, owner_a, member_a):
    viewer = member_a(Membership.Role.VIEWER)
    outsider = MembershipFactory(organization=org_b).user
    page = client_a.get("/members/")
    listed = [(m.user, m.role) for m in page.context["memberships"]]
    assert sorted(listed, key=lambda row: row[0].username) == sorted(
        [(owner_a, "owner"), (viewer, "viewer")], key=lambda row: row[0].username
    )
    html = page.content.decode()
    assert viewer.username in html and "Viewer" in html
    assert outsider.username not in html
    assert "Invite a member" in html


@pytest.mark.django_db
def test_owner_invites_by_e_mail_and_nobody_joins_yet(client_a, org_a, org_b):
    outsider = MembershipFactory(
        organization=org_b, user__username="bravo-owner", user__email="owner@bravo.example"
    ).user
    answers = []
    for address in (outsider.email, "nobody@example.com"):
        response = client_a.post("/members/", {"email": address, "role": "admin"}, follow=True)
        assert response.redirect_chain == [("/members/", 302)]
        answers.append(_messages(response))
        assert [m.to for m in mail.outbox][-1] == [address]
    # The same answer for an address with an account and one without.
    assert answers == [
        [f"An invitation to join as admin was e-mailed to {outsider.email}."],
        ["An invitation to join as admin was e-mailed to nobody@example.com."],
    ]
    assert not Membership.objects.filter(user=outsider, organization=org_a).exists()
    assert outsider.username not in response.content.decode()
    pending = [(i.email, i.role) for i in response.context["invitations"]]
    assert pending == [("nobody@example.com", "admin"), (outsider.email, "admin")]
    assert "Pending invitations" in response.content.decode()


@pytest.mark.django_db
def test_a_malformed_address_is_a_form_error(client_a):
    response = client_a.post("/members/", {"email": "not-an-address", "role": "member"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"email": ["Enter a valid email address."]}
    assert not Invitation.objects.exists()
    assert not mail.outbox


@pytest.mark.django_db
def test_an_admin_cannot_invite_an_owner(client, member_a):
    client.force_login(member_a(Membership.Role.ADMIN))
    response = client.post("/members/", {"email": "ada@example.com", "role": "owner"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"role": ["Only owners can invite owners."]}
    assert not Invitation.objects.exists()


@pytest.mark.django_db
def test_owner_revokes_an_invitation(client_a, org_a, org_b):
    invitation = InvitationFactory(organization=org_a)
    response = client_a.post(f"/members/invitations/{invitation.pk}/revoke/", follow=True)
    assert response.redirect_chain == [("/members/", 302)]
    assert _messages(response) == ["The invitation was revoked; its link no longer works."]
    invitation.refresh_from_db()
    assert invitation.status == "revoked"
    assert list(response.context["invitations"]) == []
    again = client_a.post(f"/members/invitations/{invitation.pk}/revoke/", follow=True)
    assert _messages(again) == ["This invitation is revoked, not pending."]
    foreign = InvitationFactory(organization=org_b)
    assert client_a.post(f"/members/invitations/{foreign.pk}/revoke/").status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == "pending"


@pytest.mark.django_db
def test_viewers_do_not_see_invitations(client, org_a, member_a):
    InvitationFactory(organization=org_a, email="secret-invitee@example.com")
    client.force_login(member_a(Membership.Role.VIEWER))
    page = client.get("/members/")
    assert "secret-invitee@example.com" not in page.content.decode()


@pytest.mark.django_db
def test_owner_removes_a_member(client_a, member_a):
    leaving = Membership.objects.get(user=member_a())
    response = client_a.post(f"/members/{leaving.pk}/remove/", follow=True)
    assert response.redirect_chain == [("/members/", 302)]
    assert not Membership.objects.filter(pk=leaving.pk).exists()
    assert _messages(response) == ["The member was removed."]


@pytest.mark.django_db
def test_the_last_owner_stays(client_a, owner_a):
    own = Membership.objects.get(user=owner_a)
    response = client_a.post(f"/members/{own.pk}/remove/", follow=True)
    assert Membership.objects.filter(pk=own.pk).exists()
    assert _messages(response) == ["An organization keeps at least one owner."]


@pytest.mark.django_db
def test_an_admin_cannot_remove_an_owner(client, owner_a, member_a):
    client.force_login(member_a(Membership.Role.ADMIN))
    owner = Membership.objects.get(user=owner_a)
    response = client.post(f"/members/{owner.pk}/remove/", follow=True)
    assert Membership.objects.filter(pk=owner.pk).exists()
    assert _messages(response) == ["Only owners can remove owners."]
