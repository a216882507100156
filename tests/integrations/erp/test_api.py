"""The tenant ERP API: connections, documents (filters, retry) and sync runs, scoped to the
caller's organization and to their role."""

import pytest

from accounts.api_tokens.services import api_token_create
from accounts.models import Membership
from integrations.base.tasks import family_tasks
from tests.factories import ERPConnectionFactory, ERPDocumentFactory, MembershipFactory

pytestmark = pytest.mark.django_db

CONNECTIONS = "/api/v1/integrations/erp/connections"
DOCUMENTS = "/api/v1/integrations/erp/documents"


def _auth(client, user):
    issued = api_token_create(user=user, name="tests")
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.raw}")
    return client


@pytest.fixture
def client_a(api_client, owner_a):
    return _auth(api_client, owner_a)


@pytest.fixture
def connection_a(org_a, ledgerly):
    return ERPConnectionFactory(organization=org_a)


@pytest.fixture
def queued(monkeypatch):
    sent = []
    tasks = family_tasks("erp")
    for task in (tasks.invoice_source, tasks.backfill, tasks.sync_connection):
        monkeypatch.setattr(
            task,
            "apply_async",
            lambda *, kwargs, queue, task=task: sent.append((task.name, kwargs, queue)),
        )
    return sent


def test_connections_are_listed_without_their_secrets(client_a, connection_a, org_b):
    ERPConnectionFactory(organization=org_b)

    response = client_a.get(f"{CONNECTIONS}/")

    assert response.status_code == 200
    [body] = response.json()["results"]
    assert body["id"] == str(connection_a.pk) and body["platform"] == "ledgerly"
    assert "ledgerly-canary-key" not in response.content.decode()
    assert "canary-signing-secret-0042" not in response.content.decode()


def test_documents_are_filtered_by_kind_posted_state_and_status(client_a, connection_a, org_b):
    invoice = ERPDocumentFactory(connection=connection_a)
    credit = ERPDocumentFactory(
        connection=connection_a, document_kind="credit_note", original_external_id="INV-1"
    )
    draft = ERPDocumentFactory(connection=connection_a, is_posted=False, status="not_posted")
    ERPDocumentFactory(connection=ERPConnectionFactory(organization=org_b))

    def ids(query=""):
        response = client_a.get(f"{DOCUMENTS}/{query}")
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    assert ids() == {str(invoice.pk), str(credit.pk), str(draft.pk)}
    assert ids("?kind=credit_note") == {str(credit.pk)}
    assert ids("?posted=false") == {str(draft.pk)}
    assert ids("?status=not_posted") == {str(draft.pk)}
    assert ids(f"?number={invoice.document_number}") == {str(invoice.pk)}
    assert client_a.get(f"{DOCUMENTS}/?kind=receipt").status_code == 400


def test_a_document_shows_its_lines_and_own_taxes(client_a, connection_a):
    row = ERPDocumentFactory(
        connection=connection_a,
        taxes=[{"rate": "7.5", "taxable_amount": "30.30", "tax_amount": "2.28"}],
        irn_write_back_error="Odoo answered 503",
    )

    body = client_a.get(f"{DOCUMENTS}/{row.pk}/").json()

    assert body["taxes"] == [{"rate": "7.5", "taxable_amount": "30.30", "tax_amount": "2.28"}]
    assert body["document_number"] == row.document_number and body["is_posted"] is True
    # The write-back and the payment report never hold the invoice, but are shown.
    assert (body["irn_written_at"], body["irn_write_back_error"]) == (None, "Odoo answered 503")
    assert (body["paid_in_erp_at"], body["payment_report_error"]) == (None, "")


def test_retrying_a_posted_document_without_an_invoice_queues_it_on_standard(
    client_a, connection_a, queued, django_capture_on_commit_callbacks
):
    row = ERPDocumentFactory(connection=connection_a, status="failed")

    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(f"{DOCUMENTS}/{row.pk}/retry/")

    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    assert queued == [("erp.invoice_document", {"document_id": str(row.pk)}, "standard")]


def test_a_document_not_posted_has_nothing_to_retry(client_a, connection_a, queued):
    row = ERPDocumentFactory(connection=connection_a, is_posted=False, status="not_posted")

    assert client_a.post(f"{DOCUMENTS}/{row.pk}/retry/").status_code == 409
    assert queued == []


def test_another_organizations_document_is_not_found(client_a, org_b, queued, ledgerly):
    other = ERPDocumentFactory(connection=ERPConnectionFactory(organization=org_b))

    assert client_a.get(f"{DOCUMENTS}/{other.pk}/").status_code == 404
    assert client_a.post(f"{DOCUMENTS}/{other.pk}/retry/").status_code == 404


def test_viewers_read_documents_but_cannot_retry(api_client, org_a, connection_a, queued):
    row = ERPDocumentFactory(connection=connection_a, status="failed")
    viewer = _auth(
        api_client, MembershipFactory(organization=org_a, role=Membership.Role.VIEWER).user
    )

    assert viewer.get(f"{DOCUMENTS}/{row.pk}/").status_code == 200
    assert viewer.post(f"{DOCUMENTS}/{row.pk}/retry/").status_code == 403


def test_a_backfill_runs_on_the_batch_queue(
    client_a, connection_a, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(
            f"{CONNECTIONS}/{connection_a.pk}/backfill/",
            {"start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"},
            format="json",
        )

    assert response.status_code == 202, response.json()
    run_id = response.json()["id"]
    assert queued == [("erp.backfill", {"sync_run_id": run_id}, "batch")]
    assert client_a.get(f"/api/v1/integrations/erp/sync-runs/{run_id}/").status_code == 200
