"""The members page: owners and admins add existing accounts and remove members; the role rules
come from accounts.services and show as messages on the page."""

import pytest

from accounts.models import Membership
from tests.factories import MembershipFactory, UserFactory


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
    assert "Add a member" in html


@pytest.mark.django_db
@pytest.mark.parametrize("identifier", ["by_username", "by_email"])
def test_owner_adds_an_existing_account(client_a, org_a, identifier):
    newcomer = UserFactory(email="Ada@Example.com")
    given = newcomer.username if identifier == "by_username" else "ada@example.com"
    response = client_a.post("/members/", {"user": given, "role": "admin"}, follow=True)
    assert response.redirect_chain == [("/members/", 302)]
    membership = Membership.objects.get(user=newcomer)
    assert (membership.organization, membership.role) == (org_a, "admin")
    assert _messages(response) == [f"{newcomer.username} was added as admin."]


@pytest.mark.django_db
def test_an_unknown_account_or_an_ambiguous_email_is_a_form_error(client_a):
    UserFactory(email="shared@example.com")
    UserFactory(email="shared@example.com")
    for given, error in [
        ("nobody", "No account has this username or email."),
        ("shared@example.com", "Several accounts use this email; give the username."),
    ]:
        response = client_a.post("/members/", {"user": given, "role": "member"})
        assert response.status_code == 200
        assert response.context["form"].errors == {"user": [error]}
    assert Membership.objects.count() == 1


@pytest.mark.django_db
def test_adding_a_member_twice_is_a_form_error(client_a, member_a):
    existing = member_a()
    response = client_a.post("/members/", {"user": existing.username, "role": "viewer"})
    assert response.context["form"].errors == {"user": ["This user is already a member."]}
    assert Membership.objects.get(user=existing).role == "member"


@pytest.mark.django_db
def test_an_admin_cannot_add_an_owner(client, member_a):
    client.force_login(member_a(Membership.Role.ADMIN))
    newcomer = UserFactory()
    response = client.post("/members/", {"user": newcomer.username, "role": "owner"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"role": ["Only owners can add owners."]}
    assert not Membership.objects.filter(user=newcomer).exists()


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
