"""The tenant CRM API: connect, connection settings (write-only secret, won stages checked
against the account's pipelines), deals and back-fills, scoped to the caller's organization (T1)
and to their role."""

import pytest

from accounts.api_tokens.services import api_token_create
from accounts.models import Membership
from integrations.base.models import OAuthState, SyncRun
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


def test_connecting_a_sandbox_hubspot_makes_a_connection_at_once(client_a, org_a):
    response = client_a.post("/api/v1/integrations/crm/hubspot/connect", {"sandbox": True})

    assert response.status_code == 201
    body = response.json()["connection"]
    connection = CRMConnection.objects.get(pk=body["id"])
    assert connection.organization == org_a and connection.is_sandbox
    assert body["webhook_url"] == f"http://testserver/webhooks/crm/hubspot/{connection.pk}/"
    assert body["won_stage_ids"] == ["closedwon"] and body["tin_property"] == "tin"
    assert body["settings"]["default_hs_code"]
    assert body["has_signing_secret"] is True
    assert "signing_secret" not in body
    assert connection.webhook_secret not in response.content.decode()


def test_connecting_through_oauth_answers_hubspots_authorize_url(client_a, org_a):
    response = client_a.post("/api/v1/integrations/crm/hubspot/connect", {})

    assert response.status_code == 200
    url = response.json()["authorize_url"]
    state = OAuthState.objects.get()
    assert url.startswith("https://app.hubspot.com/oauth/authorize?")
    assert f"state={state.state}" in url and "code_challenge_method=S256" in url
    assert "crm.objects.deals.read" in url.replace("+", " ").replace("%20", " ")
    assert (
        "redirect_uri=http%3A%2F%2Ftestserver%2Fintegrations%2Foauth%2Fcrm%2Fhubspot%2Fcallback%2F"
        in url
    )
    assert (state.family, state.organization) == ("crm", org_a)
    assert state.code_verifier not in url


@pytest.mark.parametrize("platform", ["square", "salesforce-not-registered"])
def test_connecting_a_platform_that_is_not_a_crm_is_not_found(client_a, platform):
    response = client_a.post(f"/api/v1/integrations/crm/{platform}/connect", {"sandbox": True})
    assert response.status_code == 404


@pytest.mark.parametrize("role", [Membership.Role.MEMBER, Membership.Role.VIEWER])
def test_only_owners_and_admins_connect(api_client, org_a, role):
    client = _role_client(api_client, org_a, role)
    response = client.post("/api/v1/integrations/crm/hubspot/connect", {"sandbox": True})
    assert response.status_code == 403
    assert not CRMConnection.objects.exists()


# --- connections ----------------------------------------------------------------------------------


def test_connections_are_listed_for_the_callers_organization_only(
    client_a, connection_a, connection_b
):
    response = client_a.get(f"{CONNECTIONS}/")

    assert [row["id"] for row in response.json()["results"]] == [str(connection_a.pk)]


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("patch", ""),
        ("get", "pipelines/"),
        ("post", "test/"),
        ("post", "backfill/"),
        ("post", "disconnect/"),
    ],
)
def test_another_organizations_connection_is_not_found(
    client_a, connection_b, queued, method, suffix
):
    response = getattr(client_a, method)(
        f"{CONNECTIONS}/{connection_b.pk}/{suffix}", {}, format="json"
    )

    assert response.status_code == 404
    connection_b.refresh_from_db()
    assert connection_b.is_active


def test_settings_and_a_write_only_signing_secret_can_be_updated(client_a, connection_a):
    response = client_a.patch(
        f"{CONNECTIONS}/{connection_a.pk}/",
        {
            "notification_url": "https://hooks.example/webhooks/crm/hubspot/",
            "signing_secret": "pasted-app-client-secret-123",
            "tin_property": "company_tin",
            "sync_every_minutes": 15,
            "settings": {"default_hs_code": "8471.3000"},
        },
        format="json",
    )

    assert response.status_code == 200
    assert "pasted-app-client-secret-123" not in response.content.decode()
    connection_a.refresh_from_db()
    assert connection_a.notification_url == "https://hooks.example/webhooks/crm/hubspot/"
    assert connection_a.webhook_secret == "pasted-app-client-secret-123"
    assert (connection_a.tin_property, connection_a.sync_every_minutes) == ("company_tin", 15)
    assert connection_a.connection_settings == {"default_hs_code": "8471.3000"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("notification_url", "not a url"),
        ("tin_property", "TIN; drop"),
        ("settings", {"default_currency": "naira"}),
        ("sync_every_minutes", 100000),
    ],
)
def test_bad_settings_are_refused_with_the_field_named(client_a, connection_a, field, value):
    response = client_a.patch(f"{CONNECTIONS}/{connection_a.pk}/", {field: value}, format="json")
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize("role", [Membership.Role.MEMBER, Membership.Role.VIEWER])
def test_only_owners_and_admins_change_a_connection(api_client, org_a, connection_a, role):
    client = _role_client(api_client, org_a, role)
    response = client.patch(
        f"{CONNECTIONS}/{connection_a.pk}/", {"tin_property": "vat_id"}, format="json"
    )
    assert response.status_code == 403


def test_a_backfill_is_queued_on_the_batch_queue(
    client_a, connection_a, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(
            f"{CONNECTIONS}/{connection_a.pk}/backfill/",
            {"start": "2026-08-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"},
            format="json",
        )

    assert response.status_code == 202
    run = SyncRun.objects.get()
    assert (run.family, run.status, response.json()["id"]) == ("crm", "queued", str(run.pk))
    assert queued == [("crm.backfill", {"sync_run_id": str(run.pk)}, "batch")]
    assert client_a.get(f"/api/v1/integrations/crm/sync-runs/{run.pk}/").json()["status"] == (
        "queued"
    )


def test_viewers_cannot_backfill(api_client, org_a, connection_a, queued):
    viewer = _role_client(api_client, org_a, Membership.Role.VIEWER)
    response = viewer.post(
        f"{CONNECTIONS}/{connection_a.pk}/backfill/",
        {"start": "2026-08-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 403
    assert not SyncRun.objects.exists()


def test_disconnecting_forgets_the_credentials(client_a, connection_a):
    response = client_a.post(f"{CONNECTIONS}/{connection_a.pk}/disconnect/")

    assert response.status_code == 200
    assert (response.json()["is_active"], response.json()["health"]) == (False, "disconnected")
    connection_a.refresh_from_db()
    assert connection_a.credentials_encrypted == ""


def test_a_platform_that_cannot_be_reached_answers_502(client_a, connection_a):
    assert client_a.post(f"{CONNECTIONS}/{connection_a.pk}/test/").status_code == 502
    assert client_a.get(f"{CONNECTIONS}/{connection_a.pk}/pipelines/").status_code == 502


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


def test_another_organizations_deal_is_not_found(client_a, connection_b, queued):
    row = CRMDealFactory(connection=connection_b)
    assert client_a.get(f"{DEALS}/{row.pk}/").status_code == 404
    assert client_a.post(f"{DEALS}/{row.pk}/retry/").status_code == 404
    assert queued == []


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


def test_viewers_cannot_retry(api_client, org_a, connection_a, queued):
    row = CRMDealFactory(connection=connection_a, status="pending")
    viewer = _role_client(api_client, org_a, Membership.Role.VIEWER)
    assert viewer.post(f"{DEALS}/{row.pk}/retry/").status_code == 403
    assert viewer.get(f"{DEALS}/{row.pk}/").status_code == 200
