"""ERP writes of the family's own: the IRN and QR code put back on the ERP's document, and the
ERP's word that a document is paid reported to FIRS."""

import logging

from django.db import transaction
from django.utils import timezone

from integrations.base.connections import connector_for
from integrations.base.connectors import Capability
from integrations.base.errors import ConnectorError
from integrations.erp.models import ERPDocument
from invoices import services as invoice_services
from invoices.models import Invoice
from invoices.qr import qr_png

logger = logging.getLogger(__name__)

SIGNED_STAGES = frozenset(
    {Invoice.Stage.SIGNED, Invoice.Stage.TRANSMITTED, Invoice.Stage.CONFIRMED}
)


def document_irn_write_back(*, document_id) -> str:
    """Put the signed invoice's IRN and QR code on the document in its ERP, once. A transient
    failure raises (the task retries); a permanent one is recorded on the document. The
    connector checks the ERP first, so a retry after a lost answer writes nothing twice."""
    document = (
        ERPDocument.objects.select_related("connection", "invoice").filter(pk=document_id).first()
    )
    if document is None or document.irn_written_at is not None:
        return "nothing to do"
    invoice = document.invoice
    if invoice is None or invoice.stage not in SIGNED_STAGES or not invoice.qr_stamp:
        return "not signed"
    connection = document.connection
    if not connection.is_active:
        return "inactive"
    try:
        connector = connector_for(connection)
        if Capability.IRN_WRITE_BACK not in connector.capabilities:
            return "not supported"
        written = connector.irn_write_back(
            external_id=document.external_document_id,
            irn=invoice.irn,
            qr_png=qr_png(data=invoice.qr_stamp),
            invoice_number=invoice.number,
        )
    except ConnectorError as error:
        ERPDocument.objects.filter(pk=document.pk).update(irn_write_back_error=str(error)[:2000])
        if error.permanent:
            logger.warning("IRN write-back of %s refused: %s", document.pk, error)
            return "refused"
        raise
    ERPDocument.objects.filter(pk=document.pk, irn_written_at__isnull=True).update(
        irn_written_at=timezone.now(), irn_write_back_error=""
    )
    return "written" if written else "already there"


class PaymentNotYetReportable(Exception):
    """The document's invoice is still on its way to FIRS: its payment is reported once signed."""


def document_paid_in_erp(*, document: ERPDocument) -> None:
    """Record, once, that the ERP says the document is paid; an invoiced one has the payment
    reported to FIRS after commit (one not invoiced yet has it reported once signed)."""
    now = timezone.now()
    marked = ERPDocument.objects.filter(pk=document.pk, paid_in_erp_at__isnull=True).update(
        paid_in_erp_at=now, updated_at=now
    )
    if not marked:
        return
    document.paid_in_erp_at = now
    if document.invoice_id:
        document_payment_report_queue(document_id=document.pk)


def document_payment_report_queue(*, document_id) -> None:
    from integrations.erp.tasks import payment_report_task

    transaction.on_commit(
        lambda: payment_report_task.apply_async(
            kwargs={"document_id": str(document_id)}, queue="standard"
        )
    )


def document_payment_report(*, document_id) -> str:
    """Tell FIRS the invoice of a document the ERP says is paid is paid, once (an invoice
    already paid is left alone). PaymentNotYetReportable while the invoice is not signed yet;
    a transient FIRS failure raises (the task retries); a refusal is recorded on the document."""
    document = (
        ERPDocument.objects.select_related("connection", "invoice__organization")
        .filter(pk=document_id, paid_in_erp_at__isnull=False)
        .first()
    )
    if document is None or document.invoice is None:
        return "nothing to do"
    invoice = document.invoice
    if invoice.payment_status == Invoice.PaymentStatus.PAID:
        return "already paid"
    if invoice.stage not in SIGNED_STAGES:
        if invoice.status == Invoice.Status.NEEDS_ATTENTION:
            return "not signed"
        raise PaymentNotYetReportable(str(document.pk))
    try:
        invoice_services.invoice_mark_paid(
            invoice=invoice,
            actor=f"{document.connection.erp_type} (paid there)",
            reference=document.document_number,
        )
    except ConnectorError as error:
        ERPDocument.objects.filter(pk=document.pk).update(payment_report_error=str(error)[:2000])
        if error.permanent:
            logger.warning("Payment report of %s refused: %s", document.pk, error)
            return "refused"
        raise
    ERPDocument.objects.filter(pk=document.pk).update(payment_report_error="")
    return "reported"
