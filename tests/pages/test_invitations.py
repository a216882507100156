"""Accepting an invitation on the pages: the link leads a signed-in invitee to a confirm page,
and a signed-out one to sign in or to sign up for the invited address. Links for another
address, expired, revoked or used ones are refused, and nothing joins anybody but acceptance."""

import datetime

import pytest
from django.utils import timezone

from accounts.models import Invitation, Membership, User
from accounts.services import SESSION_ORGANIZATION_KEY
from tests.factories import PASSWORD, InvitationFactory, MembershipFactory, UserFactory


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def invited(org_a, owner_a):
    """A pending invitation to organization A for ada@example.com, its link's token "ada-token"."""
    return InvitationFactory(
        organization=org_a,
        email="ada@example.com",
        role=Membership.Role.VIEWER,
        invited_by=owner_a,
        token="ada-token",
    )


@pytest.mark.django_db
def test_invite_on_the_members_page_then_accept_signed_in(
    client, client_a, org_a, org_b, sent_invitation_token
):
    ada = MembershipFactory(organization=org_b, user__email="ada@example.com").user
    client_a.post("/members/", {"email": "ada@example.com", "role": "member"})
    token = sent_invitation_token("ada@example.com")

    client.force_login(ada)
    opened = client.get(f"/invitations/{token}/")
    # The token leaves the address bar at once.
    assert opened.status_code == 302
    assert opened["Location"] == "/invitation/"
    confirm = client.get("/invitation/")
    assert confirm.status_code == 200
    assert "Join Alpha Foods Ltd" in confirm.content.decode()
    assert token not in confirm.content.decode()
    assert not Membership.objects.filter(user=ada, organization=org_a).exists()

    accepted = client.post("/invitation/", follow=True)
    assert accepted.redirect_chain == [("/", 302)]
    assert _messages(accepted) == ["You joined Alpha Foods Ltd as member."]
    assert Membership.objects.get(user=ada, organization=org_a).role == "member"
    # The organization just joined is the working one, here and after signing in again.
    assert accepted.context["request"].organization == org_a
    client.logout()
    client.force_login(ada)
    assert client.get("/").context["request"].organization == org_a


@pytest.mark.django_db
def test_signed_out_the_invitee_signs_in_through_the_link(client, org_a, invited):
    ada = UserFactory(email="ada@example.com")
    client.get("/invitations/ada-token/")
    page = client.get("/invitation/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Sign in to accept" in html and "Create an account" in html
    assert client.post("/invitation/")["Location"] == "/login/?next=/invitation/"

    signed_in = client.post(
        "/login/", {"username": ada.username, "password": PASSWORD, "next": "/invitation/"}
    )
    assert signed_in["Location"] == "/invitation/"
    client.post("/invitation/")
    assert Membership.objects.get(user=ada).organization == org_a


@pytest.mark.django_db
def test_signed_out_the_invitee_signs_up_for_the_invited_address(client, org_a, invited):
    client.get("/invitations/ada-token/")
    form = client.get("/invitation/sign-up/")
    assert form.status_code == 200
    html = form.content.decode()
    assert "ada@example.com" in html
    assert 'name="email"' not in html  # the address is the invitation's, not typed

    response = client.post(
        "/invitation/sign-up/",
        {
            "username": "ada",
            "password1": "a long new passphrase",
            "password2": "a long new passphrase",
            "email": "eve@example.com",
        },
        follow=True,
    )
    assert response.redirect_chain == [("/", 302)]
    assert _messages(response) == ["You joined Alpha Foods Ltd as viewer."]
    ada = User.objects.get(username="ada")
    assert ada.email == "ada@example.com"
    assert ada.check_password("a long new passphrase")
    assert Membership.objects.get(user=ada).organization == org_a
    assert response.context["user"] == ada
    assert client.session[SESSION_ORGANIZATION_KEY] == org_a.pk
    invited.refresh_from_db()
    assert invited.status == "accepted"


@pytest.mark.django_db
def test_a_sign_up_with_a_taken_username_or_weak_password_is_a_form_error(client, owner_a, invited):
    client.get("/invitations/ada-token/")
    response = client.post(
        "/invitation/sign-up/",
        {"username": owner_a.username, "password1": "123", "password2": "123"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"username", "password2"}
    assert not Membership.objects.filter(user__email="ada@example.com").exists()
    invited.refresh_from_db()
    assert invited.status == "pending"


@pytest.mark.django_db
def test_a_link_for_another_address_is_refused(client, invited):
    eve = UserFactory(email="eve@example.com")
    client.force_login(eve)
    client.get("/invitations/ada-token/")
    for response in (client.get("/invitation/"), client.post("/invitation/")):
        assert response.status_code == 403
        html = response.content.decode()
        assert "sent to another e-mail address than your account" in html
        assert "ada@example.com" not in html
    assert not Membership.objects.filter(user=eve).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {"expires_at": timezone.now() - datetime.timedelta(minutes=1)},
            "This invitation has expired. Ask for a new one.",
        ),
        ({"revoked_at": timezone.now()}, "This invitation was withdrawn. Ask for a new one."),
        ({"accepted_at": timezone.now()}, "This invitation has already been used."),
    ],
)
def test_expired_revoked_and_used_links_are_refused(client, invited, change, reason):
    Invitation.objects.filter(pk=invited.pk).update(**change)
    ada = UserFactory(email="ada@example.com")
    client.get("/invitations/ada-token/")
    assert client.get("/invitation/sign-up/").status_code == 410
    client.force_login(ada)
    for response in (client.get("/invitation/"), client.post("/invitation/")):
        assert response.status_code == 410
        assert reason in response.content.decode()
    assert not Membership.objects.filter(user=ada).exists()


@pytest.mark.django_db
def test_a_link_is_used_once(client, invited):
    ada = UserFactory(email="ada@example.com")
    client.force_login(ada)
    client.get("/invitations/ada-token/")
    client.post("/invitation/")
    client.get("/invitations/ada-token/")
    again = client.get("/invitation/")
    assert again.status_code == 410
    assert Membership.objects.filter(user=ada).count() == 1


@pytest.mark.django_db
def test_an_unknown_link_or_none_is_refused(client):
    response = client.get("/invitations/not-a-token/")
    assert response.status_code == 404
    assert "This invitation link is not valid" in response.content.decode()
    assert client.get("/invitation/").status_code == 404
    assert client.get("/invitation/sign-up/").status_code == 404
