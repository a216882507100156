"""The tenant POS API: connect, connection settings (write-only secret), transactions and
back-fills, scoped to the caller's organization (T1) and to their role."""

import pytest

from accounts.api_tokens.services import api_token_create
from accounts.models import Membership
from integrations.base.models import OAuthState, SyncRun
from integrations.base.tasks import family_tasks
from integrations.pos.api import ConnectionSerializer
from integrations.pos.models import POSConnection
from invoices.models import Invoice
from tests.factories import (
    InvoiceFactory,
    MembershipFactory,
    POSConnectionFactory,
    POSTransactionFactory,
)

backfill_task = family_tasks("pos").backfill

pytestmark = pytest.mark.django_db


def _auth(client, user):
    issued = api_token_create(user=user, name="tests")
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.raw}")
    return client


@pytest.fixture
def client_a(api_client, owner_a):
    return _auth(api_client, owner_a)


@pytest.fixture
def connection_a(org_a):
    return POSConnectionFactory(organization=org_a)


@pytest.fixture
def connection_b(org_b):
    return POSConnectionFactory(organization=org_b)


@pytest.fixture
def queued(monkeypatch):
    sent = []
    monkeypatch.setattr(
        backfill_task, "apply_async", lambda *, kwargs, queue: sent.append((kwargs, queue))
    )
    return sent


def _role_client(api_client, organization, role):
    return _auth(api_client, MembershipFactory(organization=organization, role=role).user)


# --- connecting ----------------------------------------------------------------------------------


def test_connecting_a_sandbox_square_makes_a_connection_at_once(client_a, org_a):
    response = client_a.post("/api/v1/integrations/pos/square/connect", {"sandbox": True})

    assert response.status_code == 201
    body = response.json()["connection"]
    connection = POSConnection.objects.get(pk=body["id"])
    assert connection.organization == org_a and connection.is_sandbox
    assert body["webhook_url"] == f"http://testserver/webhooks/pos/square/{connection.pk}/"
    assert body["has_signing_secret"] is True
    assert (
        "signing_secret" not in body and connection.webhook_secret not in response.content.decode()
    )


def test_connecting_through_oauth_answers_the_authorize_url(client_a, org_a):
    response = client_a.post("/api/v1/integrations/pos/square/connect", {})

    assert response.status_code == 200
    url = response.json()["authorize_url"]
    state = OAuthState.objects.get()
    assert url.startswith("https://connect.squareup.com/oauth2/authorize?")
    assert f"state={state.state}" in url and "code_challenge_method=S256" in url
    assert (
        "redirect_uri=http%3A%2F%2Ftestserver%2Fintegrations%2Foauth%2Fpos%2Fsquare%2Fcallback%2F"
        in url
    )
    assert state.organization == org_a and state.session_key
    assert state.code_verifier not in url


@pytest.mark.parametrize("platform", ["toast-but-not-registered", "hubspotx"])
def test_connecting_an_unknown_platform_is_not_found(client_a, platform):
    response = client_a.post(f"/api/v1/integrations/pos/{platform}/connect", {"sandbox": True})
    assert response.status_code == 404


@pytest.mark.parametrize("role", [Membership.Role.MEMBER, Membership.Role.VIEWER])
def test_only_owners_and_admins_connect(api_client, org_a, role):
    client = _role_client(api_client, org_a, role)
    response = client.post("/api/v1/integrations/pos/square/connect", {"sandbox": True})
    assert response.status_code == 403
    assert not POSConnection.objects.exists()


# --- connections ----------------------------------------------------------------------------------


def test_connections_are_listed_for_the_callers_organization_only(
    client_a, connection_a, connection_b
):
    response = client_a.get("/api/v1/integrations/pos/connections/")

    assert [row["id"] for row in response.json()["results"]] == [str(connection_a.pk)]
    assert (
        client_a.get(f"/api/v1/integrations/pos/connections/{connection_b.pk}/").status_code == 404
    )


def test_settings_and_a_write_only_signing_secret_can_be_updated(client_a, connection_a):
    response = client_a.patch(
        f"/api/v1/integrations/pos/connections/{connection_a.pk}/",
        {
            "notification_url": "https://shop.example/hooks/square",
            "signing_secret": "pasted-from-the-console-123",
            "settings": {"default_hs_code": "2202.1000"},
        },
        format="json",
    )

    assert response.status_code == 200
    assert "pasted-from-the-console-123" not in response.content.decode()
    connection_a.refresh_from_db()
    assert connection_a.notification_url == "https://shop.example/hooks/square"
    assert connection_a.webhook_secret == "pasted-from-the-console-123"
    assert connection_a.connection_settings == {"default_hs_code": "2202.1000"}


def test_an_update_keeps_what_a_worker_recorded_meanwhile(client_a, connection_a, monkeypatch):
    validate = ConnectionSerializer.validate

    def worker_meanwhile(self, attrs):
        # After the view read the row, before it writes: a worker records the health.
        POSConnection.objects.filter(pk=connection_a.pk).update(
            health=POSConnection.Health.FAILING, last_error="Square answered 401"
        )
        return validate(self, attrs)

    monkeypatch.setattr(ConnectionSerializer, "validate", worker_meanwhile)

    response = client_a.patch(
        f"/api/v1/integrations/pos/connections/{connection_a.pk}/",
        {"notification_url": "https://shop.example/hooks/square"},
        format="json",
    )

    assert response.status_code == 200
    connection_a.refresh_from_db()
    assert connection_a.notification_url == "https://shop.example/hooks/square"
    assert (connection_a.health, connection_a.last_error) == ("failing", "Square answered 401")


@pytest.mark.parametrize(
    ("field", "value"),
    [("notification_url", "not a url"), ("settings", {"default_hs_code": "<script>"})],
)
def test_bad_settings_are_refused_with_the_field_named(client_a, connection_a, field, value):
    response = client_a.patch(
        f"/api/v1/integrations/pos/connections/{connection_a.pk}/", {field: value}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()


def test_members_cannot_change_another_organizations_or_their_own_connection(
    api_client, org_a, connection_a, connection_b
):
    member = _role_client(api_client, org_a, Membership.Role.MEMBER)
    assert (
        member.patch(
            f"/api/v1/integrations/pos/connections/{connection_a.pk}/",
            {"notification_url": "https://x.example/"},
            format="json",
        ).status_code
        == 403
    )


def test_a_backfill_is_queued_on_the_batch_queue(client_a, connection_a, queued):
    response = client_a.post(
        f"/api/v1/integrations/pos/connections/{connection_a.pk}/backfill/",
        {"start": "2026-08-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"},
        format="json",
    )

    assert response.status_code == 202
    run = SyncRun.objects.get()
    assert response.json()["id"] == str(run.pk) and run.status == "queued"
    assert (
        client_a.get(f"/api/v1/integrations/pos/sync-runs/{run.pk}/").json()["status"] == "queued"
    )


def test_a_backfill_needs_a_window_that_ends_after_it_starts(client_a, connection_a, queued):
    response = client_a.post(
        f"/api/v1/integrations/pos/connections/{connection_a.pk}/backfill/",
        {"start": "2026-11-01T00:00:00Z", "end": "2026-08-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 400
    assert not SyncRun.objects.exists()


# --- transactions ---------------------------------------------------------------------------------


def test_a_transaction_shows_its_invoice_and_timestamps(client_a, org_a, connection_a):
    invoice = InvoiceFactory(organization=org_a, signed=True)
    row = POSTransactionFactory(connection=connection_a, invoice=invoice, status="invoiced")

    listed = client_a.get("/api/v1/integrations/pos/transactions/").json()
    detail = client_a.get(f"/api/v1/integrations/pos/transactions/{row.pk}/").json()

    assert listed["results"][0]["id"] == str(row.pk) and "next" in listed
    for key in (
        "id",
        "external_id",
        "status",
        "invoice",
        "received_at",
        "invoiced_at",
        "signed_at",
    ):
        assert key in detail
    assert detail["invoice"] == invoice.pk and detail["irn"] == invoice.irn


def test_transactions_filter_by_failure_and_platform(client_a, org_a, connection_a):
    failed = POSTransactionFactory(connection=connection_a, status="failed")
    attention = POSTransactionFactory(
        connection=connection_a,
        status="invoiced",
        invoice=InvoiceFactory(organization=org_a, status=Invoice.Status.NEEDS_ATTENTION),
    )
    POSTransactionFactory(connection=connection_a, status="invoiced")

    def ids(query):
        return {
            row["id"]
            for row in client_a.get("/api/v1/integrations/pos/transactions/", query).json()[
                "results"
            ]
        }

    assert ids({"failed": "true"}) == {str(failed.pk), str(attention.pk)}
    assert ids({"platform": "toast"}) == set()
    assert len(ids({"platform": "square"})) == 3


def test_another_organizations_transaction_is_not_found(client_a, connection_b):
    row = POSTransactionFactory(connection=connection_b)
    assert client_a.get(f"/api/v1/integrations/pos/transactions/{row.pk}/").status_code == 404
    assert (
        client_a.post(f"/api/v1/integrations/pos/transactions/{row.pk}/retry/").status_code == 404
    )


def test_viewers_cannot_retry(api_client, org_a, connection_a):
    row = POSTransactionFactory(connection=connection_a, status="failed")
    viewer = _role_client(api_client, org_a, Membership.Role.VIEWER)
    assert viewer.post(f"/api/v1/integrations/pos/transactions/{row.pk}/retry/").status_code == 403
