"""The sign-up, business profile and FIRS pages, and the dashboard's set-up checklist."""

import pytest

from accounts.models import Membership, Organization, User
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

SIGN_UP = {
    "legal_name": "Ikeja Grocers Ltd",
    "tin": "31569955-0001",
    "username": "amaka",
    "email": "amaka@ikejagrocers.example",
    "password1": "groceries-in-ikeja-2026",
    "password2": "groceries-in-ikeja-2026",
}


def test_sign_up_creates_the_owner_and_signs_them_in(client):
    response = client.post("/signup/", SIGN_UP)
    assert response.status_code == 302 and response["Location"] == "/business/"
    membership = Membership.objects.get(user__username="amaka")
    assert membership.role == Membership.Role.OWNER
    assert client.get("/business/").status_code == 200


def test_sign_up_with_a_bad_tin_shows_the_error_and_creates_nothing(client):
    response = client.post("/signup/", {**SIGN_UP, "tin": "TIN-000001"})
    assert "12345678-0001" in response.content.decode()
    assert not User.objects.exists() and not Organization.objects.exists()


def test_the_profile_page_refuses_a_bad_phone_with_400(client_a, org_a):
    response = client_a.post(
        "/business/",
        {
            "legal_name": org_a.legal_name,
            "tin": org_a.tin,
            "contact_email": org_a.contact_email,
            "telephone": "phone",
            "state": "NG-LA",
            "country": "NG",
        },
    )
    assert response.status_code == 400
    assert "Enter a phone number" in response.content.decode()
    org_a.refresh_from_db()
    assert org_a.telephone == ""


@pytest.mark.parametrize("role", [Membership.Role.ADMIN, Membership.Role.VIEWER])
def test_only_owners_change_the_profile_or_open_the_firs_page(client, org_a, role):
    client.force_login(MembershipFactory(organization=org_a, role=role).user)
    assert client.get("/business/").status_code == 200
    assert client.post("/business/", {"legal_name": "Taken"}).status_code == 403
    assert client.get("/business/firs/").status_code == 403


def test_the_firs_page_shows_only_the_end_of_a_stored_secret(client_a, org_a):
    org_a.firs_api_key = "stored-key-0123456789"
    org_a.firs_api_secret = "stored-secret-abcdefghij"
    org_a.save()
    page = client_a.get("/business/firs/").content.decode()
    assert "Set, ending …ghij" in page
    assert "stored-secret" not in page and "stored-key" not in page


def test_the_dashboard_shows_the_checklist_until_it_is_done(client_a):
    page = client_a.get("/").content.decode()
    for step in ("profile", "firs", "platform", "signed"):
        assert f'data-step="{step}"' in page
    assert 'href="/business/firs/"' in page
