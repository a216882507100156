"""Which organization a tenant-scoped API call works in: the one named by X-Organization-Id, or
for a browser session the one its pages show, or the caller's only one. A token client in
several that names none is refused, never given a guessed one."""

import pytest

from accounts.models import Membership
from tests.factories import InvoiceFactory, MembershipFactory, OrganizationFactory


@pytest.fixture
def member_of_two(org_a, org_b):
    user = MembershipFactory(organization=org_a, role=Membership.Role.OWNER).user
    MembershipFactory(user=user, organization=org_b, role=Membership.Role.VIEWER)
    return user


@pytest.mark.django_db
def test_a_member_of_several_organizations_must_name_one(token_client, member_of_two, org_a):
    InvoiceFactory(organization=org_a)
    for path in ("/api/v1/invoices/", "/api/v1/integrations/pos/connections/"):
        response = token_client(member_of_two).get(path)
        assert response.status_code == 400, path
        assert "X-Organization-Id" in response.json()["detail"]


@pytest.mark.django_db
def test_the_header_names_the_organization(token_client, member_of_two, org_a, org_b):
    in_b = InvoiceFactory(organization=org_b)
    InvoiceFactory(organization=org_a)
    response = token_client(member_of_two).get(
        "/api/v1/invoices/", HTTP_X_ORGANIZATION_ID=str(org_b.pk)
    )
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [in_b.pk]


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["abc", "-1", "\uff11", ""])
def test_a_malformed_header_is_a_400(token_client, owner_a, header):
    response = token_client(owner_a).get("/api/v1/invoices/", HTTP_X_ORGANIZATION_ID=header)
    assert response.status_code == 400
    assert response.json() == {
        "detail": "X-Organization-Id must be an organization's id.",
        "code": "organization_required",
    }


@pytest.mark.django_db
def test_a_member_of_one_organization_needs_no_header(token_client, owner_a, org_a):
    own = InvoiceFactory(organization=org_a)
    response = token_client(owner_a).get("/api/v1/invoices/")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [own.pk]


@pytest.mark.django_db
def test_another_organization_in_the_header_answers_404(token_client, owner_a, org_b):
    missing = OrganizationFactory().pk + 1000
    for organization_id in (org_b.pk, missing):
        response = token_client(owner_a).get(
            "/api/v1/invoices/", HTTP_X_ORGANIZATION_ID=str(organization_id)
        )
        assert response.status_code == 404


@pytest.mark.django_db
def test_a_session_works_in_the_organization_its_pages_show(client, member_of_two, org_a, org_b):
    """The pages' own API requests (QR images, downloads) follow the organization switcher."""
    in_a = InvoiceFactory(organization=org_a)
    in_b = InvoiceFactory(organization=org_b)
    client.force_login(member_of_two)
    assert client.get("/").context["request"].organization == org_a
    listed = client.get("/api/v1/invoices/").json()["results"]
    assert [row["id"] for row in listed] == [in_a.pk]
    client.post("/organizations/switch/", {"organization": org_b.pk})
    listed = client.get("/api/v1/invoices/").json()["results"]
    assert [row["id"] for row in listed] == [in_b.pk]


@pytest.mark.django_db
def test_a_token_ignores_a_session_choice(token_client, member_of_two, org_b):
    """A token names its organization itself: a session cookie riding along does not count."""
    client = token_client(member_of_two)
    client.force_login(member_of_two)
    assert client.post(f"/api/v1/organizations/{org_b.pk}/activate/").status_code == 200
    assert client.get("/api/v1/invoices/").status_code == 400
