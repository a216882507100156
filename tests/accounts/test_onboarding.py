"""Onboarding rules (accounts.services): the business profile's checks, and FIRS settings saved
only once the FIRS sandbox on the live server accepts them."""

import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection as db_connection

from accounts import services
from accounts.models import Membership, Organization
from sandboxes.firs.server import sandbox_credential_create
from tests.factories import MembershipFactory, OrganizationFactory

BUSINESS_ID = "6a0f3c1e-2b4d-4e8f-9a1b-3c5d7e9f1a2b"
SERVICE_ID = "ONB12345"
API_KEY = "onboarding-key-4e6f-8a0c-1234abcd"
API_SECRET = "onboarding-secret-7d9b-5678wxyz"

GOOD_PROFILE = {
    "legal_name": "Ikeja Grocers Ltd",
    "tin": "31569955-0001",
    "contact_email": "Accounts@IkejaGrocers.example",
    "telephone": "0803 123 4567",
    "street_name": "4 Allen Avenue",
    "city_name": "Ikeja",
    "postal_zone": "100271",
    "state": "ng-la",
    "country": "ng",
}


@pytest.fixture
def owner(db):
    return MembershipFactory(role=Membership.Role.OWNER)


def test_a_good_profile_is_stored_normalised(owner):
    organization = services.organization_profile_update(
        organization=owner.organization, actor=owner.user, **GOOD_PROFILE
    )
    organization.refresh_from_db()
    assert organization.telephone == "+2348031234567"
    assert organization.state == "NG-LA"
    assert organization.country == "NG"
    assert organization.contact_email == "accounts@ikejagrocers.example"


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("state", "Lagos", "not a Nigerian state code"),
        ("state", "NG-XX", "not a Nigerian state code"),
        ("country", "XX", "not a country code"),
        ("telephone", "phone", "Enter a phone number"),
        ("telephone", "+0123", "Enter a phone number"),
        ("tin", "12345678", "12345678-0001"),
        ("contact_email", "accounts", "valid email"),
        ("legal_name", "  ", "required"),
    ],
)
def test_a_bad_profile_field_is_refused_and_nothing_is_saved(owner, field, value, says):
    before = Organization.objects.values().get(pk=owner.organization.pk)
    with pytest.raises(ValidationError) as refused:
        services.organization_profile_update(
            organization=owner.organization, actor=owner.user, **{**GOOD_PROFILE, field: value}
        )
    assert says in " ".join(refused.value.message_dict[field])
    assert Organization.objects.values().get(pk=owner.organization.pk) == before


def test_a_state_needs_a_nigerian_address(owner):
    with pytest.raises(ValidationError) as refused:
        services.organization_profile_update(
            organization=owner.organization,
            actor=owner.user,
            **{**GOOD_PROFILE, "country": "GH", "telephone": "+233201234567"},
        )
    assert "state" in refused.value.message_dict


@pytest.mark.parametrize("role", [Membership.Role.ADMIN, Membership.Role.MEMBER])
def test_only_owners_change_the_profile(db, role):
    membership = MembershipFactory(role=role)
    with pytest.raises(PermissionDenied):
        services.organization_profile_update(
            organization=membership.organization, actor=membership.user, **GOOD_PROFILE
        )


def test_sign_up_makes_the_user_the_owner_of_a_new_organization(db):
    membership = services.organization_sign_up(
        username="amaka",
        email="Amaka@Ikeja.example",
        password="a-long-enough-passphrase",
        legal_name="Ikeja Grocers Ltd",
        tin="31569955-0001",
    )
    assert membership.role == Membership.Role.OWNER
    assert membership.organization.contact_email == "amaka@ikeja.example"
    assert membership.user.check_password("a-long-enough-passphrase")


def test_sign_up_with_a_bad_tin_creates_nobody(db):
    with pytest.raises(ValidationError):
        services.organization_sign_up(
            username="amaka",
            email="amaka@ikeja.example",
            password="a-long-enough-passphrase",
            legal_name="Ikeja Grocers Ltd",
            tin="TIN-000001",
        )
    assert not Organization.objects.exists()


# --- FIRS settings, checked with the FIRS sandbox ---------------------------------------------


@pytest.fixture
def firs_url(live_server):
    return f"{live_server.url}/sandbox/firs"


@pytest.fixture
def issued(transactional_db):
    """Keys the sandbox issued to one business and service id."""
    return sandbox_credential_create(
        api_key=API_KEY,
        api_secret=API_SECRET,
        label="onboarding",
        business_id=BUSINESS_ID,
        service_id=SERVICE_ID,
    )


def _configure(membership, firs_url, **overrides):
    fields = {
        "business_id": BUSINESS_ID,
        "service_id": SERVICE_ID,
        "api_key": API_KEY,
        "api_secret": API_SECRET,
        "base_url": firs_url,
        **overrides,
    }
    return services.organization_firs_configure(
        organization=membership.organization, actor=membership.user, **fields
    )


def _stored_columns(organization_id):
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT firs_api_key, firs_api_secret FROM accounts_organization WHERE id = %s",
            [organization_id],
        )
        return cursor.fetchone()


@pytest.mark.django_db(transaction=True)
def test_settings_firs_accepts_are_saved_encrypted_and_verified(issued, firs_url):
    membership = MembershipFactory(role=Membership.Role.OWNER)
    _configure(membership, firs_url, service_id=SERVICE_ID.lower())
    organization = Organization.objects.get(pk=membership.organization.pk)
    assert organization.firs_verified_at is not None
    assert organization.firs_service_id == SERVICE_ID
    assert str(organization.firs_business_id) == BUSINESS_ID
    assert (str(organization.firs_api_key), str(organization.firs_api_secret)) == (
        API_KEY,
        API_SECRET,
    )
    key_column, secret_column = _stored_columns(organization.pk)
    assert API_KEY not in key_column and API_SECRET not in secret_column


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("overrides", "field", "says"),
    [
        ({"api_secret": "not-the-issued-secret"}, "firs_api_key", "FIRS refused this API key"),
        ({"api_key": "a-key-FIRS-never-issued"}, "firs_api_key", "FIRS refused this API key"),
        ({"business_id": str(uuid.uuid4())}, "firs_business_id", "business not found"),
        ({"service_id": "OTHER123"}, "firs_service_id", "irn template"),
        ({"business_id": "not-a-uuid"}, "firs_business_id", "UUID"),
        ({"service_id": "short"}, "firs_service_id", "8 letters or digits"),
    ],
)
def test_settings_firs_refuses_are_not_saved(issued, firs_url, overrides, field, says):
    membership = MembershipFactory(role=Membership.Role.OWNER)
    before = Organization.objects.values().get(pk=membership.organization.pk)
    with pytest.raises(services.FirsSetupRefused) as refused:
        _configure(membership, firs_url, **overrides)
    assert says in " ".join(refused.value.message_dict[field])
    assert Organization.objects.values().get(pk=membership.organization.pk) == before


@pytest.mark.django_db(transaction=True)
def test_unreachable_firs_saves_nothing_and_says_so(issued):
    membership = MembershipFactory(role=Membership.Role.OWNER)
    with pytest.raises(services.FirsSetupRefused) as refused:
        _configure(membership, "http://127.0.0.1:9/sandbox/firs")
    assert "could not be reached" in " ".join(refused.value.messages)
    assert Organization.objects.get(pk=membership.organization.pk).firs_verified_at is None


@pytest.mark.django_db(transaction=True)
def test_empty_key_and_secret_keep_the_stored_ones(issued, firs_url):
    membership = MembershipFactory(role=Membership.Role.OWNER)
    _configure(membership, firs_url)
    _configure(membership, firs_url, api_key="", api_secret="")
    organization = Organization.objects.get(pk=membership.organization.pk)
    assert str(organization.firs_api_secret) == API_SECRET


@pytest.mark.django_db(transaction=True)
def test_without_stored_keys_empty_ones_are_refused(issued, firs_url):
    membership = MembershipFactory(role=Membership.Role.OWNER)
    with pytest.raises(services.FirsSetupRefused) as refused:
        _configure(membership, firs_url, api_key="", api_secret="")
    assert set(refused.value.message_dict) == {"firs_api_key", "firs_api_secret"}


def test_only_owners_set_up_firs(db):
    admin = MembershipFactory(role=Membership.Role.ADMIN)
    with pytest.raises(PermissionDenied):
        _configure(admin, "http://127.0.0.1:9/sandbox/firs")


def test_an_organization_missing_firs_settings_says_which(db):
    from accounts.selectors import organization_firs_setup_problem

    organization = OrganizationFactory(firs_service_id="")
    problem = organization_firs_setup_problem(organization=organization)
    assert "service id" in problem and "API key" in problem
