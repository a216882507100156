"""The organization admin checks the profile and FIRS settings with the tenant pages' rules
(accounts.services): the FIRS key and secret are write-only and saved once FIRS accepts them."""

import pytest
from django.db import connection

from accounts.models import Organization
from sandboxes.firs.server import sandbox_credential_create
from tests.factories import OrganizationFactory

BUSINESS_ID = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"
SERVICE_ID = "ADM13579"
API_KEY = "admin-entered-key-1a2b3c4d"
API_SECRET = "admin-entered-secret-5e6f7a8b"


def _form(organization, **changes):
    data = {
        "legal_name": organization.legal_name,
        "tin": organization.tin,
        "contact_email": organization.contact_email,
        "telephone": "+2348031234567",
        "street_name": "4 Allen Avenue",
        "city_name": "Ikeja",
        "postal_zone": "100271",
        "state": "NG-LA",
        "country": "NG",
        "firs_public_key": "",
        "firs_certificate": "",
        "is_active": "on",
        "firs_business_id": "",
        "firs_service_id": organization.firs_service_id,
        "firs_base_url": organization.firs_base_url,
        "new_firs_api_key": "",
        "new_firs_api_secret": "",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    return {**data, **changes}


def _post(admin_client, organization, **changes):
    return admin_client.post(
        f"/admin/accounts/organization/{organization.pk}/change/", _form(organization, **changes)
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("state", "Lagos", "Select a valid choice"),
        ("country", "XX", "Select a valid choice"),
        ("telephone", "phone", "Enter a phone number"),
        ("tin", "TIN-000001", "12345678-0001"),
    ],
)
def test_the_admin_refuses_a_bad_profile(admin_client, field, value, says):
    organization = OrganizationFactory()
    before = Organization.objects.values().get(pk=organization.pk)
    response = _post(admin_client, organization, **{field: value})
    assert response.status_code == 200
    assert says in " ".join(response.context["adminform"].form.errors[field])
    assert Organization.objects.values().get(pk=organization.pk) == before


@pytest.mark.django_db
def test_the_admin_saves_a_good_profile_normalised(admin_client):
    organization = OrganizationFactory()
    response = _post(admin_client, organization, telephone="0803 123 4567")
    assert response.status_code == 302
    organization.refresh_from_db()
    assert (organization.telephone, organization.state) == ("+2348031234567", "NG-LA")


@pytest.fixture
def firs_url(live_server):
    sandbox_credential_create(
        api_key=API_KEY, api_secret=API_SECRET, business_id=BUSINESS_ID, service_id=SERVICE_ID
    )
    return f"{live_server.url}/sandbox/firs"


FIRS_FIELDS = {
    "firs_business_id": BUSINESS_ID,
    "firs_service_id": SERVICE_ID,
    "new_firs_api_key": API_KEY,
}


@pytest.mark.django_db(transaction=True)
def test_the_admin_saves_firs_keys_only_once_firs_accepts_them(admin_client, firs_url):
    organization = OrganizationFactory()
    refused = _post(
        admin_client,
        organization,
        firs_base_url=firs_url,
        new_firs_api_secret="not-what-FIRS-issued",
        **FIRS_FIELDS,
    )
    assert refused.status_code == 200
    assert "FIRS refused this API key and secret" in refused.content.decode()
    assert "not-what-FIRS-issued" not in refused.content.decode()
    organization.refresh_from_db()
    assert organization.firs_verified_at is None and not organization.firs_api_key

    accepted = _post(
        admin_client,
        organization,
        firs_base_url=firs_url,
        new_firs_api_secret=API_SECRET,
        **FIRS_FIELDS,
    )
    assert accepted.status_code == 302
    organization.refresh_from_db()
    assert organization.firs_verified_at is not None
    assert str(organization.firs_api_secret) == API_SECRET
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT firs_api_key, firs_api_secret FROM "
            f"{Organization._meta.db_table} WHERE id = %s",
            [organization.pk],
        )
        stored = " ".join(cursor.fetchone())
    # Encrypted at rest: the row holds neither the key nor the secret as typed.
    assert API_KEY not in stored and API_SECRET not in stored
    page = admin_client.get(f"/admin/accounts/organization/{organization.pk}/change/")
    assert API_SECRET not in page.content.decode() and API_KEY not in page.content.decode()
    assert API_SECRET[-4:] in page.content.decode()


@pytest.mark.django_db
def test_the_admin_lists_organizations_firs_cannot_sign_for_and_says_why(admin_client):
    ready = OrganizationFactory(firs_ready=True, legal_name="Ready Foods Ltd")
    unready = OrganizationFactory(firs_service_id="", legal_name="Unready Foods Ltd")

    incomplete = admin_client.get("/admin/accounts/organization/", {"firs_setup": "incomplete"})
    names = [organization.legal_name for organization in incomplete.context["cl"].result_list]
    assert names == [unready.legal_name]
    assert "Incomplete" in incomplete.content.decode()
    complete = admin_client.get("/admin/accounts/organization/", {"firs_setup": "complete"})
    assert [o.legal_name for o in complete.context["cl"].result_list] == [ready.legal_name]

    page = admin_client.get(f"/admin/accounts/organization/{unready.pk}/change/").content.decode()
    assert "no FIRS service id" in page
    assert f"organization__id__exact={unready.pk}&amp;status__exact=waiting_setup" in page
    page = admin_client.get(f"/admin/accounts/organization/{ready.pk}/change/").content.decode()
    assert "Complete: FIRS signs this organization" in page
