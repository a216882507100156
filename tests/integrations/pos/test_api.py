"""The tenant POS API's own side: a settings edit keeping what a worker recorded, transactions
with their invoices, and their filters. What every family's API does (connecting, connections,
back-fills, rows and roles) is in tests/integrations/base/test_family_api.py."""

import json

import pytest

from accounts.api_tokens.services import api_token_create
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
from tests.integrations.pos.support import square_connection

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


# --- connections ----------------------------------------------------------------------------------


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


@pytest.mark.parametrize(("value", "status"), [(5, 200), (0, 200), (100000, 400), (-1, 400)])
def test_how_often_a_connection_is_polled_can_be_set(client_a, connection_a, value, status):
    response = client_a.patch(
        f"/api/v1/integrations/pos/connections/{connection_a.pk}/",
        {"sync_every_minutes": value},
        format="json",
    )

    assert response.status_code == status
    connection_a.refresh_from_db()
    assert connection_a.sync_every_minutes == (value if status == 200 else 0)


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


# --- the platform's failures ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_refused_credentials_answer_409_and_the_connection_needs_reauthorising(
    live_server, api_client
):
    connection = square_connection(site_url=live_server.url)
    POSConnection.objects.filter(pk=connection.pk).update(
        credentials_encrypted=json.dumps({"access_token": "EAAA-revoked"})
    )
    client = _auth(api_client, connection.organization.memberships.get(role="owner").user)

    response = client.post(f"/api/v1/integrations/pos/connections/{connection.pk}/test/")

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "reauthorization_needed"
    connection.refresh_from_db()
    assert connection.health == POSConnection.Health.NEEDS_REAUTH
