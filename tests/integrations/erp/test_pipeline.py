"""The ERP family on the shared pipeline, driven by a test-only platform: a posted document
arrives by webhook or sync, becomes one row, and one invoice built from its own lines and taxes
that the FIRS sandbox signs (real HTTP, live_server)."""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.core.cache import cache
from django.utils import timezone

from integrations.base import pipeline
from integrations.base.canonical import DocumentKind
from integrations.base.models import InboundEvent, SyncRun
from integrations.base.tasks import family_tasks
from integrations.erp.models import ERPDocument
from invoices import services as invoice_services
from invoices.firs.client import SharedCircuitBreaker
from invoices.models import Invoice, InvoiceTaxSubtotal
from invoices.tasks import invoice_advance
from sandboxes.firs.server import FAULTS_CACHE_KEY
from taxpoynt.celery import app as celery_app
from tests.integrations.erp.support import (
    ledgerly_connection,
    signed_delivery,
    ten_ten_invoice,
)
from tests.invoices.pipeline_support import sandbox_organization

pytestmark = pytest.mark.django_db(transaction=True)

ERP_TASKS = family_tasks("erp")


@pytest.fixture
def connection(live_server, ledgerly):
    cache.delete(FAULTS_CACHE_KEY)
    SharedCircuitBreaker(name=live_server.url.split("//")[1]).reset()
    organization = sandbox_organization(base_url=f"{live_server.url}/sandbox/firs")
    return ledgerly_connection(organization=organization)


@pytest.fixture
def published(monkeypatch):
    """Tasks handed to a queue, by name, keyword arguments and queue."""
    sent = []
    for task in (ERP_TASKS.process_event, ERP_TASKS.invoice_source, invoice_advance):
        monkeypatch.setattr(
            task,
            "apply_async",
            lambda *, kwargs, queue, countdown=None, task=task: sent.append(
                (task.name, kwargs, queue)
            ),
        )
    return sent


def _advance_queued(published) -> None:
    """Run the invoice pipelines the syncs queued, as the standard worker would."""
    for name, kwargs, _queue in published:
        if name == "invoices.advance":
            invoice_services.invoice_advance(invoice_id=kwargs["invoice_id"], claim_token="w")


def test_a_posted_document_delivered_by_webhook_is_signed_with_its_own_taxes(
    connection, ledgerly, live_server
):
    document = ten_ten_invoice()
    ledgerly[connection.account_id] = {document.external_id: document}
    body, headers = signed_delivery(
        connection,
        {"id": "ev-1", "type": "invoice.posted", "account": "books-1", "document_id": "INV-1"},
    )
    response = requests.post(
        f"{live_server.url}/webhooks/erp/ledgerly/{connection.pk}/",
        data=body,
        headers=headers,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    event = InboundEvent.objects.get(family="erp")

    celery_app.tasks["erp.process_event"].apply(kwargs={"event_id": event.pk}, task_id="t-1")

    event.refresh_from_db()
    row = ERPDocument.objects.select_related("invoice").get()
    invoice = row.invoice
    assert event.status == "processed"
    assert row.processing_errors is None
    assert (row.status, row.document_number, row.is_posted) == ("invoiced", "INV/2026/INV-1", True)
    assert (row.total_amount, row.tax_amount) == (Decimal("32.58"), Decimal("2.28"))
    assert invoice.status == Invoice.Status.CONFIRMED and invoice.kind == Invoice.Kind.B2B
    assert (invoice.source_type, invoice.source_platform) == ("erp", "ledgerly")
    # The ERP's own VAT (0.76 a line), not 7.5 % of the subtotal (2.27).
    assert invoice.tax_amount == Decimal("2.28")
    assert invoice.payable_amount == Decimal("32.58")
    [subtotal] = InvoiceTaxSubtotal.objects.filter(invoice=invoice)
    assert (subtotal.taxable_amount, subtotal.tax_amount) == (Decimal("30.30"), Decimal("2.28"))
    assert row.signed_at is not None and invoice.irn


def test_a_sync_invoices_posted_documents_and_a_credit_note_references_its_invoice(
    connection, ledgerly, published
):
    start = timezone.now() - timedelta(minutes=5)
    type(connection).objects.filter(pk=connection.pk).update(created_at=start)
    invoice_doc = ten_ten_invoice("INV-7", modified_at=start + timedelta(seconds=1))
    draft = ten_ten_invoice(
        "INV-8", modified_at=start + timedelta(seconds=2), is_posted=False, state="draft"
    )
    credit = replace(
        ten_ten_invoice("RINV-7", modified_at=start + timedelta(seconds=3)),
        kind=DocumentKind.CREDIT_NOTE,
        number="RINV/2026/7",
        original_external_id="INV-7",
    )
    ledgerly[connection.account_id] = {doc.external_id: doc for doc in (invoice_doc, draft, credit)}

    assert pipeline.connection_sync(family="erp", connection_id=connection.pk) == "synced"
    _advance_queued(published)

    rows = {row.external_document_id: row for row in ERPDocument.objects.select_related("invoice")}
    assert rows["INV-8"].status == "not_posted" and rows["INV-8"].invoice is None
    original, note = rows["INV-7"].invoice, rows["RINV-7"].invoice
    assert original.status == note.status == Invoice.Status.CONFIRMED
    assert (original.purpose, note.purpose) == ("invoice", "credit_note")
    assert note.billing_reference_irn == original.irn
    assert [queue for name, _, queue in published if name == "invoices.advance"] == ["standard"] * 2
    run = SyncRun.objects.get(family="erp")
    assert (run.kind, run.status, run.pages, run.rows) == ("incremental", "succeeded", 2, 3)

    # The draft is posted later: the next sync, from the cursor the first one left, invoices it.
    ledgerly[connection.account_id]["INV-8"] = replace(
        draft, is_posted=True, state="posted", modified_at=timezone.now()
    )
    assert pipeline.connection_sync(family="erp", connection_id=connection.pk) == "synced"
    _advance_queued(published)
    assert ERPDocument.objects.get(external_document_id="INV-8").status == "invoiced"
    assert Invoice.objects.count() == 3


def test_a_credit_note_of_an_invoice_not_seen_waits_for_an_operator(connection, ledgerly):
    credit = replace(
        ten_ten_invoice("RINV-9"), kind=DocumentKind.CREDIT_NOTE, original_external_id="INV-404"
    )

    row = pipeline.source_record(connection=connection, record=credit, received_at=timezone.now())

    assert row.status == ERPDocument.Status.FAILED and row.invoice is None
    assert "INV-404" in row.processing_errors["error_message"]


def test_a_document_whose_taxes_do_not_match_its_lines_needs_attention(connection, ledgerly):
    wrong = replace(ten_ten_invoice("INV-3"), total=Decimal("40.00"))

    row = pipeline.source_record(
        connection=connection, record=wrong, received_at=timezone.now(), advance_with="t"
    )

    assert row.status == ERPDocument.Status.FAILED
    assert row.invoice.status == Invoice.Status.NEEDS_ATTENTION
    assert "40.00" in row.processing_errors["problems"][0]["message"]


def test_a_document_keeps_its_own_number_unless_another_erp_took_its_irn(
    connection, ledgerly, published
):
    other = ledgerly_connection(organization=connection.organization, account_id="books-2")
    for books in (connection, other):
        ledgerly[books.account_id] = {"INV-7": ten_ten_invoice("INV-7")}
        assert pipeline.connection_sync(family="erp", connection_id=books.pk) == "synced"

    first, second = (
        ERPDocument.objects.select_related("invoice").get(connection=books).invoice
        for books in (connection, other)
    )
    # The ERP's invoice is the legal one: its number, and the IRN of its letters and digits.
    assert first.number == "INV/2026/INV-7" and first.irn.startswith("INV2026INV7-")
    # The same number in another ERP of the organization would repeat the IRN: the sequence's.
    assert second.number.startswith("TXP-") and second.irn != first.irn


def test_a_successful_sync_clears_a_failing_connection(connection, ledgerly, published):
    type(connection).objects.filter(pk=connection.pk).update(
        health=type(connection).Health.FAILING, last_error="Ledgerly answered 500"
    )
    ledgerly[connection.account_id] = {}

    assert pipeline.connection_sync(family="erp", connection_id=connection.pk) == "synced"

    connection.refresh_from_db()
    assert (connection.health, connection.last_error) == ("connected", "")
