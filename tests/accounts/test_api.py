import re

import pytest
from django.core import mail

from accounts.api_tokens.services import api_token_create
from accounts.models import Membership
from tests.factories import MembershipFactory, UserFactory


def _auth(client, user):
    issued = api_token_create(user=user, name="tests")
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.raw}")
    return client


@pytest.mark.django_db
def test_organizations_list_shows_only_own(api_client, owner_a, org_a, org_b):
    response = _auth(api_client, owner_a).get("/api/v1/organizations/")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [org_a.pk]
    assert response.json()["results"][0]["role"] == "owner"
    assert "firs_api_secret" not in response.json()["results"][0]


@pytest.mark.django_db
def test_anonymous_is_refused(api_client):
    assert api_client.get("/api/v1/organizations/").status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/organizations/{b}/"),
        ("get", "/api/v1/organizations/{b}/members/"),
        ("get", "/api/v1/organizations/{b}/invitations/"),
        ("post", "/api/v1/organizations/{b}/invitations/"),
        ("get", "/api/v1/organizations/{b}/members/{mb}/"),
        ("delete", "/api/v1/organizations/{b}/members/{mb}/"),
        ("get", "/api/v1/organizations/{a}/members/{mb}/"),
        ("delete", "/api/v1/organizations/{a}/members/{mb}/"),
    ],
)
def test_idor_other_organization_answers_404(
    api_client, owner_a, org_a, owner_b, org_b, method, path
):
    foreign_membership = Membership.objects.get(user=owner_b)
    url = path.format(a=org_a.pk, b=org_b.pk, mb=foreign_membership.pk)
    body = {"email": owner_a.email}
    response = getattr(_auth(api_client, owner_a), method)(url, body, format="json")
    assert response.status_code == 404
    assert Membership.objects.filter(pk=foreign_membership.pk).exists()
    missing = getattr(api_client, method)(
        path.format(a=999999, b=999999, mb=999999), body, format="json"
    )
    assert missing.status_code == 404
    assert not mail.outbox


@pytest.mark.django_db
def test_owner_removes_a_member_who_joined_by_invitation(
    api_client, token_client, owner_a, org_a, sent_invitation_token
):
    newcomer = UserFactory(email="newcomer@example.com")
    client = _auth(api_client, owner_a)
    invited = client.post(
        f"/api/v1/organizations/{org_a.pk}/invitations/",
        {"email": newcomer.email, "role": "viewer"},
        format="json",
    )
    assert invited.status_code == 201, invited.content
    assert not Membership.objects.filter(user=newcomer).exists()
    accepted = token_client(newcomer).post(
        "/api/v1/invitations/accept/", {"token": sent_invitation_token(newcomer.email)}
    )
    assert accepted.status_code == 201
    membership = Membership.objects.get(user=newcomer)
    assert membership.role == "viewer"
    deleted = client.delete(f"/api/v1/organizations/{org_a.pk}/members/{membership.pk}/")
    assert deleted.status_code == 204
    assert not Membership.objects.filter(user=newcomer).exists()


@pytest.mark.django_db
def test_the_last_owner_cannot_be_removed(api_client, owner_a, org_a):
    own = Membership.objects.get(user=owner_a)
    response = _auth(api_client, owner_a).delete(
        f"/api/v1/organizations/{org_a.pk}/members/{own.pk}/"
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "An organization keeps at least one owner.",
        "code": "invalid",
    }


@pytest.mark.django_db
def test_members_cannot_be_added_by_username_any_more(api_client, owner_a, org_a):
    response = _auth(api_client, owner_a).post(
        f"/api/v1/organizations/{org_a.pk}/members/", {"username": UserFactory().username}
    )
    assert response.status_code == 405
    assert Membership.objects.count() == 1


@pytest.mark.django_db
def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/organizations/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    # Swagger UI comes from our own static files, so the page works with no CDN in reach.
    page = docs.content.decode()
    assert "cdn.jsdelivr.net" not in page and "unpkg.com" not in page
    script = re.search(r'src="(/static/drf_spectacular_sidecar/[^"]+\.js)"', page)
    assert script, page
    asset = client.get(script.group(1))
    assert asset.status_code == 200


@pytest.mark.django_db
def test_session_user_switches_organization_and_cannot_switch_to_foreign(
    client, owner_a, org_a, org_b
):
    from accounts.services import SESSION_ORGANIZATION_KEY
    from tests.factories import OrganizationFactory

    second = OrganizationFactory()
    MembershipFactory(user=owner_a, organization=second)
    client.force_login(owner_a)
    assert client.post(f"/api/v1/organizations/{second.pk}/activate/").status_code == 200
    assert client.session[SESSION_ORGANIZATION_KEY] == second.pk
    assert client.post(f"/api/v1/organizations/{org_b.pk}/activate/").status_code == 404
    assert client.session[SESSION_ORGANIZATION_KEY] == second.pk
