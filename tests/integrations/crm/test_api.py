"""The tenant CRM API's own side: a sandbox connection's won stages, HubSpot's scopes, the CRM's
settings (won stages checked against the account's pipelines), deals, their filters and
retries. What every family's API does (connecting, connections, back-fills, rows and roles) is
in tests/integrations/base/test_family_api.py."""

import json

import pytest

from accounts.api_tokens.services import api_token_create
from integrations.base.tasks import family_tasks
from integrations.crm.models import CRMConnection
from invoices.models import Invoice
from tests.factories import (
    CRMConnectionFactory,
    CRMDealFactory,
    InvoiceFactory,
    MembershipFactory,
)
from tests.integrations.crm.support import hubspot_connection

backfill_task = family_tasks("crm").backfill
deal_invoice_task = family_tasks("crm").invoice_source

pytestmark = pytest.mark.django_db

CONNECTIONS = "/api/v1/integrations/crm/connections"
DEALS = "/api/v1/integrations/crm/deals"


def _auth(client, user):
    issued = api_token_create(user=user, name="tests")
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.raw}")
    return client


@pytest.fixture
def client_a(api_client, owner_a):
    return _auth(api_client, owner_a)


@pytest.fixture
def connection_a(org_a):
    return CRMConnectionFactory(organization=org_a)


@pytest.fixture
def connection_b(org_b):
    return CRMConnectionFactory(organization=org_b)


@pytest.fixture
def queued(monkeypatch):
    sent = []
    for task in (backfill_task, deal_invoice_task):
        monkeypatch.setattr(
            task,
            "apply_async",
            lambda *, kwargs, queue, task=task: sent.append((task.name, kwargs, queue)),
        )
    return sent


def _role_client(api_client, organization, role):
    return _auth(api_client, MembershipFactory(organization=organization, role=role).user)


# --- connecting ----------------------------------------------------------------------------------


def test_a_sandbox_hubspot_connection_comes_with_its_won_stages_and_mapping_defaults(client_a):
    response = client_a.post("/api/v1/integrations/crm/hubspot/connect", {"sandbox": True})

    assert response.status_code == 201
    body = response.json()["connection"]
    assert body["won_stage_ids"] == ["closedwon"] and body["tin_property"] == "tin"
    assert body["settings"]["default_hs_code"]


def test_hubspots_authorize_url_asks_for_the_deal_scopes(client_a):
    response = client_a.post("/api/v1/integrations/crm/hubspot/connect", {})

    assert response.status_code == 200
    url = response.json()["authorize_url"]
    assert url.startswith("https://app.hubspot.com/oauth/authorize?")
    assert "crm.objects.deals.read" in url.replace("+", " ").replace("%20", " ")


# --- connections ----------------------------------------------------------------------------------


def test_another_organizations_pipelines_are_not_found(client_a, connection_b):
    assert client_a.get(f"{CONNECTIONS}/{connection_b.pk}/pipelines/").status_code == 404


def test_the_crms_own_settings_can_be_updated(client_a, connection_a):
    response = client_a.patch(
        f"{CONNECTIONS}/{connection_a.pk}/",
        {"tin_property": "company_tin", "sync_every_minutes": 15},
        format="json",
    )

    assert response.status_code == 200
    connection_a.refresh_from_db()
    assert (connection_a.tin_property, connection_a.sync_every_minutes) == ("company_tin", 15)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tin_property", "TIN; drop"),
        ("settings", {"default_currency": "naira"}),
        ("sync_every_minutes", 100000),
    ],
)
def test_bad_settings_are_refused_with_the_field_named(client_a, connection_a, field, value):
    response = client_a.patch(f"{CONNECTIONS}/{connection_a.pk}/", {field: value}, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_pipelines_of_a_platform_that_cannot_be_reached_answer_503(client_a, connection_a):
    response = client_a.get(f"{CONNECTIONS}/{connection_a.pk}/pipelines/")
    assert response.status_code == 503
    assert int(response["Retry-After"]) >= 1
    assert response.json()["code"] == "platform_unavailable"


@pytest.mark.django_db(transaction=True)
def test_refused_credentials_answer_409_and_the_connection_needs_reauthorising(
    live_server, api_client
):
    """The platform's 401 to the stored token is the tenant's to mend (connect again), not a
    gateway error: 409 with a clear error, and the connection says so."""
    connection = hubspot_connection(site_url=live_server.url)
    CRMConnection.objects.filter(pk=connection.pk).update(
        credentials_encrypted=json.dumps({"private_app_token": "pat-na1-revoked"})
    )
    client = _auth(api_client, connection.organization.memberships.get(role="owner").user)
    url = f"{CONNECTIONS}/{connection.pk}/"

    for response in (
        client.get(f"{url}pipelines/"),
        client.patch(url, {"won_stage_ids": ["closedwon"]}, format="json"),
        client.post(f"{url}test/"),
    ):
        assert response.status_code == 409, response.content
        body = response.json()
        assert body["code"] == "reauthorization_needed"
        assert "re-authorise" in body["detail"]
        connection.refresh_from_db()
        assert connection.health == CRMConnection.Health.NEEDS_REAUTH
        assert connection.last_error.startswith("Re-authorise the connection")
    assert client.get(url).json()["health"] == "needs_reauth"


@pytest.mark.django_db(transaction=True)
def test_won_stages_are_chosen_from_the_accounts_pipelines(live_server, api_client):
    connection = hubspot_connection(site_url=live_server.url)
    owner = connection.organization.memberships.get(role="owner").user
    client = _auth(api_client, owner)
    url = f"{CONNECTIONS}/{connection.pk}/"

    stages = client.get(f"{url}pipelines/").json()
    won = [(stage["stage_id"], stage["is_chosen"]) for stage in stages if stage["is_won"]]
    assert won == [("closedwon", True)]
    assert {stage["pipeline_id"] for stage in stages} == {"default"}

    chosen = client.patch(url, {"won_stage_ids": ["closedwon", "contractsent"]}, format="json")
    assert chosen.status_code == 200, chosen.json()
    assert chosen.json()["won_stage_ids"] == ["closedwon", "contractsent"]

    unknown = client.patch(url, {"won_stage_ids": ["closedwon", "nope"]}, format="json")
    assert unknown.status_code == 400
    assert "nope" in str(unknown.json()["won_stage_ids"])
    unknown = client.patch(url, {"pipeline_ids": ["enterprise"]}, format="json")
    assert "pipeline_ids" in unknown.json()

    assert client.post(f"{url}test/").json()["health"] == "connected"


# --- deals ----------------------------------------------------------------------------------


def test_a_deal_shows_its_invoice_and_timestamps(client_a, org_a, connection_a):
    invoice = InvoiceFactory(organization=org_a, signed=True, source_type="crm")
    row = CRMDealFactory(connection=connection_a, invoice=invoice, status="invoiced")

    listed = client_a.get(f"{DEALS}/").json()
    detail = client_a.get(f"{DEALS}/{row.pk}/").json()

    assert listed["results"][0]["id"] == str(row.pk) and "next" in listed
    for key in ("id", "external_id", "status", "invoice", "received_at", "invoiced_at"):
        assert key in detail
    assert "signed_at" in detail and "line_items" in detail
    assert (detail["external_id"], detail["invoice"], detail["irn"]) == (
        row.external_deal_id,
        invoice.pk,
        invoice.irn,
    )


def test_deals_filter_by_won_invoiced_failed_stage_and_platform(client_a, org_a, connection_a):
    invoiced = CRMDealFactory(
        connection=connection_a, status="invoiced", invoice=InvoiceFactory(organization=org_a)
    )
    failed = CRMDealFactory(connection=connection_a, status="failed")
    attention = CRMDealFactory(
        connection=connection_a,
        status="invoiced",
        invoice=InvoiceFactory(organization=org_a, status=Invoice.Status.NEEDS_ATTENTION),
    )
    open_deal = CRMDealFactory(
        connection=connection_a, is_won=False, status="not_won", deal_stage="contractsent"
    )

    def ids(**query):
        return {row["id"] for row in client_a.get(f"{DEALS}/", query).json()["results"]}

    assert ids(failed="true") == {str(failed.pk), str(attention.pk)}
    assert ids(won="false") == ids(stage="contractsent") == {str(open_deal.pk)}
    assert ids(won="true", invoiced="false") == {str(failed.pk)}
    assert ids(invoiced="true") == {str(invoiced.pk), str(attention.pk)}
    assert ids(platform="pipedrive") == set()
    assert len(ids(platform="hubspot")) == 4


def test_retrying_a_won_deal_without_an_invoice_queues_it_on_standard(
    client_a, connection_a, queued, django_capture_on_commit_callbacks
):
    row = CRMDealFactory(connection=connection_a, status="failed")

    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(f"{DEALS}/{row.pk}/retry/")

    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    assert queued == [("crm.invoice_deal", {"deal_id": str(row.pk)}, "standard")]


def test_a_deal_that_is_not_won_has_nothing_to_retry(client_a, connection_a, queued):
    row = CRMDealFactory(connection=connection_a, is_won=False, status="not_won")
    assert client_a.post(f"{DEALS}/{row.pk}/retry/").status_code == 409
    assert queued == []
