"""Operators' ERP admin: connections with secrets masked and "Sync now", documents with their
own taxes and the retry action."""

import pytest

from integrations.base.tasks import family_tasks
from tests.factories import ERPConnectionFactory, ERPDocumentFactory

pytestmark = pytest.mark.django_db

CONNECTIONS = "/admin/erp/erpconnection/"
DOCUMENTS = "/admin/erp/erpdocument/"


@pytest.fixture
def connection(ledgerly):
    return ERPConnectionFactory(
        credentials_encrypted='{"api_key": "ledgerly-canary-credential-7781"}',
        webhook_secret="canary-webhook-secret-5521",
    )


@pytest.fixture
def queued(monkeypatch):
    sent = []
    tasks = family_tasks("erp")
    for task in (tasks.sync_connection, tasks.invoice_source):
        monkeypatch.setattr(
            task,
            "apply_async",
            lambda *, kwargs, queue, task=task: sent.append((task.name, kwargs, queue)),
        )
    return sent


def _action(admin_client, url, action, rows, capture):
    with capture(execute=True):
        response = admin_client.post(
            url, {"action": action, "_selected_action": [row.pk for row in rows]}, follow=True
        )
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


def test_the_connection_pages_mask_secrets(admin_client, connection):
    for url in (CONNECTIONS, f"{CONNECTIONS}{connection.pk}/change/"):
        html = admin_client.get(url).content.decode()
        assert "ledgerly-canary-credential-7781" not in html
        assert "canary-webhook-secret-5521" not in html


def test_sync_now_queues_a_sync_on_the_standard_queue(
    admin_client, connection, queued, django_capture_on_commit_callbacks
):
    messages = _action(
        admin_client, CONNECTIONS, "sync_now", [connection], django_capture_on_commit_callbacks
    )

    assert messages == ["Queued 1 syncs on the standard queue; see Sync runs."]
    assert queued == [("erp.sync_connection", {"connection_id": str(connection.pk)}, "standard")]


def test_a_document_shows_its_taxes_and_retry_queues_a_posted_one(
    admin_client, connection, queued, django_capture_on_commit_callbacks
):
    failed = ERPDocumentFactory(
        connection=connection,
        status="failed",
        taxes=[{"rate": "7.5", "taxable_amount": "30.30", "tax_amount": "2.28"}],
    )
    draft = ERPDocumentFactory(connection=connection, is_posted=False, status="not_posted")

    assert "2.28" in admin_client.get(f"{DOCUMENTS}{failed.pk}/change/").content.decode()
    assert admin_client.get(f"{DOCUMENTS}?attention=posted_not_invoiced").status_code == 200
    _action(admin_client, DOCUMENTS, "retry", [failed, draft], django_capture_on_commit_callbacks)

    assert queued == [("erp.invoice_document", {"document_id": str(failed.pk)}, "standard")]
