"""Signing in and out, and switching the working organization."""

import pytest

from accounts.services import SESSION_ORGANIZATION_KEY
from tests.factories import InvoiceFactory, MembershipFactory

PASSWORD = "correct horse battery"  # tests.factories.UserFactory's


@pytest.mark.django_db
def test_sign_in_page_has_labelled_fields(client):
    html = client.get("/login/").content.decode()
    assert '<label for="id_username">' in html
    assert '<label for="id_password">' in html
    assert 'href="#main"' in html  # the skip link


@pytest.mark.django_db
def test_sign_in_leads_to_the_dashboard_or_the_page_asked_for(client, owner_a):
    response = client.post("/login/", {"username": owner_a.username, "password": PASSWORD})
    assert response["Location"] == "/"
    client.logout()
    response = client.post(
        "/login/",
        {"username": owner_a.username, "password": PASSWORD, "next": "/members/"},
    )
    assert response["Location"] == "/members/"


@pytest.mark.django_db
def test_a_wrong_password_is_refused(client, owner_a):
    response = client.post("/login/", {"username": owner_a.username, "password": "wrong"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "Please enter a correct username and password" in response.content.decode()


@pytest.mark.django_db
def test_a_signed_in_user_skips_the_sign_in_page(client_a):
    assert client_a.get("/login/")["Location"] == "/"


@pytest.mark.django_db
def test_sign_out_is_a_post_and_ends_the_session(client_a):
    assert client_a.get("/logout/").status_code == 405
    response = client_a.post("/logout/")
    assert response["Location"] == "/login/"
    assert client_a.get("/")["Location"] == "/login/?next=/"


@pytest.mark.django_db
def test_switching_organization_changes_every_page(client, org_a, org_b):
    user = MembershipFactory(organization=org_a).user
    MembershipFactory(user=user, organization=org_b)
    invoice_a = InvoiceFactory(organization=org_a)
    invoice_b = InvoiceFactory(organization=org_b)
    client.force_login(user)
    assert client.get("/invoices/").context["invoices"] == [invoice_a]

    response = client.post("/organizations/switch/", {"organization": org_b.pk}, follow=True)
    assert response.redirect_chain == [("/", 302)]
    assert client.session[SESSION_ORGANIZATION_KEY] == org_b.pk
    assert [str(m) for m in response.context["messages"]] == [
        "You are now working in Bravo Stores Ltd."
    ]
    assert client.get("/invoices/").context["invoices"] == [invoice_b]
    assert client.get(f"/invoices/{invoice_a.pk}/").status_code == 404
    # The switcher offers both organizations and marks the current one.
    html = response.content.decode()
    assert f'<option value="{org_b.pk}" selected>Bravo Stores Ltd</option>' in html
    assert f'<option value="{org_a.pk}">Alpha Foods Ltd</option>' in html


@pytest.mark.django_db
def test_switching_needs_an_organization_id(client_a):
    assert client_a.post("/organizations/switch/", {"organization": "x"}).status_code == 400
