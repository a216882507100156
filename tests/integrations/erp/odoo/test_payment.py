"""An Odoo invoice whose ``payment_state`` turns paid has its payment reported to FIRS once,
for both API flavours: paid after its e-invoice was signed (the change search finds it), or
already paid when first read (the invoice is signed paid); a repeat reports nothing twice, and a
payment seen before the invoice is signed waits for it."""

import pytest
from django.core.cache import cache

from integrations.base import pipeline
from integrations.erp import services
from integrations.erp.models import ERPDocument
from integrations.erp.tasks import irn_write_back_task, payment_report_task
from invoices import services as invoice_services
from invoices.models import FirsExchange, Invoice
from invoices.tasks import invoice_advance
from sandboxes.odoo import server
from tests.integrations.erp.odoo.support import MAJORS, database_of, invoice_post, odoo_connection

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def reports(monkeypatch):
    """Invoices advanced at once; the payment reports queued, kept to be run by the test."""
    cache.clear()
    queued = []
    monkeypatch.setattr(
        invoice_advance,
        "apply_async",
        lambda *, kwargs, queue, countdown=None: invoice_services.invoice_advance(
            invoice_id=kwargs["invoice_id"], claim_token="t"
        ),
    )
    monkeypatch.setattr(irn_write_back_task, "apply_async", lambda **kwargs: None)
    monkeypatch.setattr(
        payment_report_task, "apply_async", lambda *, kwargs, queue: queued.append(kwargs)
    )
    return queued


def _paid(connection, move) -> None:
    server.call(
        database_of(connection),
        "account.move",
        "write",
        ids=[move.pk],
        named={"vals": {"payment_state": "paid"}},
    )


def _payment_calls(invoice) -> int:
    return FirsExchange.objects.filter(invoice=invoice, operation="update_payment_status").count()


@pytest.mark.parametrize("major", MAJORS)
def test_an_invoice_paid_in_odoo_after_signing_is_reported_paid_once(live_server, reports, major):
    connection = odoo_connection(site_url=live_server.url, major=major)
    move = invoice_post(connection)
    pipeline.connection_sync(family="erp", connection_id=connection.pk)
    document = ERPDocument.objects.select_related("invoice").get(connection=connection)
    assert document.invoice.stage in services.SIGNED_STAGES and reports == []

    _paid(connection, move)
    pipeline.connection_sync(family="erp", connection_id=connection.pk)
    pipeline.connection_sync(family="erp", connection_id=connection.pk)

    assert reports == [{"document_id": str(document.pk)}]
    assert services.document_payment_report(**reports[0]) == "reported"
    assert services.document_payment_report(**reports[0]) == "already paid"
    document.refresh_from_db()
    assert document.paid_in_erp_at and document.payment_report_error == ""
    invoice = Invoice.objects.get(pk=document.invoice_id)
    assert invoice.payment_status == Invoice.PaymentStatus.PAID
    assert _payment_calls(invoice) == 1


@pytest.mark.parametrize("major", MAJORS)
def test_an_invoice_already_paid_when_first_read_is_signed_paid(live_server, reports, major):
    connection = odoo_connection(site_url=live_server.url, major=major)
    move = invoice_post(connection)
    _paid(connection, move)

    pipeline.connection_sync(family="erp", connection_id=connection.pk)

    document = ERPDocument.objects.select_related("invoice").get(connection=connection)
    assert document.invoice.stage in services.SIGNED_STAGES and document.paid_in_erp_at
    # FIRS had the payment with the invoice itself: nothing more to report.
    assert document.invoice.payment_status == Invoice.PaymentStatus.PAID
    assert reports == [{"document_id": str(document.pk)}]
    assert services.document_payment_report(**reports[0]) == "already paid"
    assert _payment_calls(document.invoice) == 0


@pytest.mark.parametrize("major", MAJORS)
def test_a_payment_waits_for_the_invoice_to_be_signed(live_server, reports, monkeypatch, major):
    monkeypatch.setattr(invoice_advance, "apply_async", lambda **kwargs: None)
    connection = odoo_connection(site_url=live_server.url, major=major)
    move = invoice_post(connection)
    pipeline.connection_sync(family="erp", connection_id=connection.pk)
    _paid(connection, move)
    pipeline.connection_sync(family="erp", connection_id=connection.pk)
    document = ERPDocument.objects.select_related("invoice").get(connection=connection)
    assert document.invoice.stage == Invoice.Stage.BUILT

    with pytest.raises(services.PaymentNotYetReportable):
        services.document_payment_report(document_id=document.pk)
    assert _payment_calls(document.invoice) == 0
