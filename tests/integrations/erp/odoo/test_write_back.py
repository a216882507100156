"""The IRN and QR code go back to Odoo once: a failing Odoo is retried and never touches the
invoice, a write whose answer was lost is not repeated (the chatter is read first), and a
write-back that already happened does nothing."""

import pytest
from django.core.cache import cache

from integrations.base import pipeline
from integrations.base.errors import TransientConnectorError
from integrations.erp import services
from integrations.erp.models import ERPDocument
from integrations.erp.tasks import irn_write_back_task
from invoices import services as invoice_services
from invoices.models import Invoice
from invoices.tasks import invoice_advance
from sandboxes.kit.faults import faults_reset, faults_set
from sandboxes.odoo.models import OdooSandboxRecord
from tests.integrations.erp.odoo.support import (
    MAJORS,
    database_of,
    invoice_post,
    odoo_connection,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=MAJORS)
def signed(live_server, monkeypatch, request):
    """A document of a posted Odoo invoice whose e-invoice is signed; the write-back queued
    by the signing is kept aside."""
    cache.clear()
    queued = []
    monkeypatch.setattr(
        invoice_advance,
        "apply_async",
        lambda *, kwargs, queue, countdown=None: invoice_services.invoice_advance(
            invoice_id=kwargs["invoice_id"], claim_token="t"
        ),
    )
    monkeypatch.setattr(
        irn_write_back_task, "apply_async", lambda *, kwargs, queue: queued.append(kwargs)
    )
    connection = odoo_connection(site_url=live_server.url, major=request.param)
    move = invoice_post(connection)
    pipeline.connection_sync(family="erp", connection_id=connection.pk)
    document = ERPDocument.objects.select_related("invoice").get(connection=connection)
    assert document.invoice.stage in (Invoice.Stage.SIGNED, Invoice.Stage.CONFIRMED)
    assert queued == [{"document_id": str(document.pk)}]
    yield document, move
    faults_reset(sandbox="odoo", account=database_of(connection).name)


def _messages(move) -> list:
    return list(
        OdooSandboxRecord.objects.filter(
            model="mail.message", values__model="account.move", values__res_id=move.pk
        )
    )


def test_a_failing_odoo_is_retried_and_the_invoice_stays_signed(signed):
    document, move = signed
    database = database_of(document.connection)
    faults_set(sandbox="odoo", account=database.name, changes={"server_error_rate": 1.0})

    with pytest.raises(TransientConnectorError):
        services.document_irn_write_back(document_id=document.pk)

    document.refresh_from_db()
    assert document.irn_written_at is None and "503" in document.irn_write_back_error
    assert document.invoice.stage != Invoice.Stage.BUILT and not _messages(move)
    faults_reset(sandbox="odoo", account=database.name)

    assert services.document_irn_write_back(document_id=document.pk) == "written"
    [message] = _messages(move)
    assert document.invoice.irn in message.values["body"]
    [attachment] = OdooSandboxRecord.objects.filter(pk__in=message.values["attachment_ids"])
    assert attachment.values["mimetype"] == "image/png" and attachment.values["res_id"] == move.pk


def test_a_write_back_is_made_once(signed):
    document, move = signed

    assert services.document_irn_write_back(document_id=document.pk) == "written"
    assert services.document_irn_write_back(document_id=document.pk) == "nothing to do"
    # Its answer lost: the chatter already shows the IRN, so nothing is posted again.
    ERPDocument.objects.filter(pk=document.pk).update(irn_written_at=None)
    assert services.document_irn_write_back(document_id=document.pk) == "already there"
    assert len(_messages(move)) == 1
