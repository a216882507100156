"""ERP writes of the family's own: the IRN and QR code put back on the ERP's document."""

import logging

from django.utils import timezone

from integrations.base.connections import connector_for
from integrations.base.connectors import Capability
from integrations.base.errors import ConnectorError
from integrations.erp.models import ERPDocument
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
