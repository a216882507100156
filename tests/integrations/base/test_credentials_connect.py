"""Connecting a platform with an API key or client credentials, by the API and the tenant page:
the credentials are tried against the platform first, stored encrypted only when it accepts
them, and a refusal is a clear 400 that stores nothing and never shows the secret back."""

import json

import pytest
import responses
from django.db import connection as db_connection

from accounts.api_tokens.services import api_token_create
from accounts.models import Membership
from integrations.crm.models import CRMConnection
from integrations.pos.models import POSConnection
from tests.factories import MembershipFactory, POSConnectionFactory
from tests.integrations.base.credentials_connectors import CLIENT_CRM_URL, KEY_POS_URL

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("credentials_platforms")]

API_KEY = "key-7f3a9c0d1e2b"
CLIENT_SECRET = "secret-5d4c3b2a1908"


@pytest.fixture
def api_a(api_client, owner_a):
    issued = api_token_create(user=owner_a, name="tests")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {issued.raw}")
    return api_client


def _key_pos_accepts(*, company_id: int = 42) -> None:
    responses.get(
        f"{KEY_POS_URL}/api/whoami",
        json={"company_id": company_id},
        match=[
            responses.matchers.header_matcher({"Authorization": f"Bearer {API_KEY}"}),
            responses.matchers.query_param_matcher({"db": "shop"}),
        ],
    )


def _key_pos_refuses() -> None:
    responses.get(f"{KEY_POS_URL}/api/whoami", status=401, json={"error": "invalid api key"})


def _client_crm_accepts() -> None:
    responses.post(
        f"{CLIENT_CRM_URL}/authentication/login",
        json={"accessToken": "access-1"},
        match=[
            responses.matchers.json_params_matcher(
                {"clientId": "client-1", "clientSecret": CLIENT_SECRET}
            )
        ],
    )
    responses.get(
        f"{CLIENT_CRM_URL}/account",
        json={"guid": "restaurant-9"},
        match=[responses.matchers.header_matcher({"Authorization": "Bearer access-1"})],
    )


def _stored_text(model, pk) -> str:
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"SELECT credentials_encrypted FROM {model._meta.db_table} WHERE id = %s",
            [pk],
        )
        return cursor.fetchone()[0]


# --- API -----------------------------------------------------------------------------------------


@responses.activate
def test_an_api_key_the_platform_accepts_is_stored_encrypted(api_a, org_a):
    _key_pos_accepts()

    answer = api_a.post(
        "/api/v1/integrations/pos/keypos/connect",
        {"credentials": {"database": "shop", "api_key": API_KEY}},
        format="json",
    )

    assert answer.status_code == 201, answer.content
    assert API_KEY not in answer.content.decode()
    connection = POSConnection.objects.get(organization=org_a, pos_type="keypos")
    assert connection.account_id == "42"
    assert json.loads(connection.credentials_encrypted) == {"database": "shop", "api_key": API_KEY}
    assert API_KEY not in _stored_text(POSConnection, connection.pk)
    # No webhooks: no webhook URL to give the platform.
    assert connection.webhook_url == ""


@responses.activate
def test_client_credentials_the_platform_accepts_connect_the_account(api_a, org_a):
    _client_crm_accepts()

    answer = api_a.post(
        "/api/v1/integrations/crm/clientcrm/connect",
        {"credentials": {"client_id": "client-1", "client_secret": CLIENT_SECRET}},
        format="json",
    )

    assert answer.status_code == 201, answer.content
    connection = CRMConnection.objects.get(organization=org_a, crm_type="clientcrm")
    assert connection.account_id == "restaurant-9"
    assert json.loads(connection.credentials_encrypted)["client_secret"] == CLIENT_SECRET


@responses.activate
def test_credentials_the_platform_refuses_are_a_400_and_store_nothing(api_a, org_a):
    _key_pos_refuses()

    answer = api_a.post(
        "/api/v1/integrations/pos/keypos/connect",
        {"credentials": {"database": "shop", "api_key": API_KEY}},
        format="json",
    )

    assert answer.status_code == 400
    assert answer.json()["detail"].startswith("Key POS refused these credentials")
    assert API_KEY not in answer.content.decode()
    assert not POSConnection.objects.filter(organization=org_a).exists()


@responses.activate
@pytest.mark.parametrize("status", [401, 503])
def test_a_secret_the_platform_echoes_back_is_withheld(api_a, status):
    responses.get(f"{KEY_POS_URL}/api/whoami", status=status, json={"error": f"bad key {API_KEY}"})

    answer = api_a.post(
        "/api/v1/integrations/pos/keypos/connect",
        {"credentials": {"database": "shop", "api_key": API_KEY}},
        format="json",
    )

    assert answer.status_code in (400, 503)
    assert API_KEY not in answer.content.decode()
    assert "bad key (withheld)" in answer.json()["detail"]


@responses.activate
def test_a_platform_that_cannot_be_reached_is_a_503_and_stores_nothing(api_a, org_a):
    responses.get(f"{KEY_POS_URL}/api/whoami", status=503)

    answer = api_a.post(
        "/api/v1/integrations/pos/keypos/connect",
        {"credentials": {"database": "shop", "api_key": API_KEY}},
        format="json",
    )

    assert answer.status_code == 503
    assert int(answer["Retry-After"]) >= 1
    assert not POSConnection.objects.filter(organization=org_a).exists()


@responses.activate
@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        ({"database": "shop"}, "API key is required."),
        ({"database": "shop", "api_key": "  "}, "API key is required."),
        ({}, "Database is required."),
        (
            {"database": "shop", "api_key": API_KEY, "password": "x"},
            "Key POS takes database, api_key, not password.",
        ),
    ],
)
def test_incomplete_credentials_are_a_400_before_the_platform_is_asked(
    api_a, org_a, credentials, message
):
    answer = api_a.post(
        "/api/v1/integrations/pos/keypos/connect", {"credentials": credentials}, format="json"
    )

    assert answer.status_code == 400
    assert answer.json()["detail"] == message
    assert not responses.calls
    assert not POSConnection.objects.exists()


def test_an_oauth_platform_takes_no_credentials(api_a):
    answer = api_a.post(
        "/api/v1/integrations/pos/square/connect",
        {"credentials": {"api_key": API_KEY}},
        format="json",
    )

    assert answer.status_code == 400
    assert "connects through OAuth" in answer.json()["detail"]


@responses.activate
def test_connecting_the_same_account_again_replaces_its_credentials(api_a, org_a):
    _key_pos_accepts()
    body = {"credentials": {"database": "shop", "api_key": API_KEY}}
    first = api_a.post("/api/v1/integrations/pos/keypos/connect", body, format="json")
    second = api_a.post("/api/v1/integrations/pos/keypos/connect", body, format="json")

    assert first.json()["connection"]["id"] == second.json()["connection"]["id"]
    assert POSConnection.objects.filter(organization=org_a).count() == 1


def test_members_cannot_connect(api_client, org_a):
    member = MembershipFactory(organization=org_a, role=Membership.Role.MEMBER).user
    issued = api_token_create(user=member, name="tests")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {issued.raw}")

    answer = api_client.post(
        "/api/v1/integrations/pos/keypos/connect",
        {"credentials": {"database": "shop", "api_key": API_KEY}},
        format="json",
    )

    assert answer.status_code == 403


# --- tenant page ---------------------------------------------------------------------------------


@pytest.fixture
def page_a(client, owner_a):
    client.force_login(owner_a)
    return client


def test_the_integrations_page_asks_for_the_platforms_credentials(page_a):
    page = page_a.get("/integrations/").content.decode()

    assert 'name="api_key"' in page
    assert 'type="password"' in page
    assert 'name="client_secret"' in page
    assert 'value="credentials"' in page


@responses.activate
def test_credentials_typed_in_connect_the_platform(page_a, org_a):
    _key_pos_accepts()

    answer = page_a.post(
        "/integrations/pos/keypos/connect/",
        {"method": "credentials", "database": "shop", "api_key": API_KEY},
    )

    assert answer.status_code == 302
    connection = POSConnection.objects.get(organization=org_a, pos_type="keypos")
    assert answer["Location"].endswith(f"#connection-{connection.pk}")


@responses.activate
def test_refused_credentials_show_the_platforms_answer_and_not_the_secret(page_a, org_a):
    _key_pos_refuses()

    answer = page_a.post(
        "/integrations/pos/keypos/connect/",
        {"method": "credentials", "database": "shop", "api_key": API_KEY},
    )

    assert answer.status_code == 400
    page = answer.content.decode()
    assert "Key POS refused these credentials" in page
    assert API_KEY not in page
    assert 'value="shop"' in page
    assert not POSConnection.objects.exists()


def test_a_missing_field_is_shown_on_the_form(page_a):
    answer = page_a.post(
        "/integrations/pos/keypos/connect/", {"method": "credentials", "database": "shop"}
    )

    assert answer.status_code == 400
    assert "This field is required." in answer.content.decode()
    assert not POSConnection.objects.exists()


def test_a_platform_without_credentials_refuses_that_way_to_connect(page_a):
    answer = page_a.post("/integrations/pos/square/connect/", {"method": "credentials"})

    assert answer.status_code == 400


# --- a platform without webhooks -----------------------------------------------------------------


def test_a_platform_without_webhooks_takes_no_delivery(client, org_a):
    connection = POSConnectionFactory(organization=org_a, pos_type="keypos")

    answer = client.post(
        f"/webhooks/pos/keypos/{connection.pk}/", b"{}", content_type="application/json"
    )

    assert answer.status_code == 404
