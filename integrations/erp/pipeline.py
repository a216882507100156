"""The ERP family's part of the ingest pipeline: posted invoices and credit notes.

A document is one row per connection and platform id, replaced by a version at least as new
while it has no invoice (a draft becomes posted). Only posted documents are invoiced, from their
own lines and taxes; a credit note references its original invoice's.
"""

import uuid
from decimal import Decimal

from django.utils import timezone

from integrations.base.canonical import (
    Document,
    DocumentKind,
    document_from_json,
    document_to_json,
)
from integrations.base.pipeline import ChangesAdapter
from integrations.erp.models import ERPDocument
from integrations.erp.services import document_paid_in_erp
from invoices.models import Invoice


class ERPAdapter(ChangesAdapter):
    source_model = ERPDocument
    external_id_field = "external_document_id"
    source_type = Invoice.Source.ERP
    invoice_task_name = "invoice_document"
    source_id_kwarg = "document_id"
    rows_name = "documents"
    invoiceable_filter = {"is_posted": True}
    original_filter = {"document_kind": ERPDocument.Kind.INVOICE}
    original_missing_message = "Credit note of {reference}, an invoice with no invoice here yet"

    def source_ids_for_event(self, connector, event):
        return connector.document_ids_for_event(event)

    def records_for_event(self, connector, event):
        return connector.documents_for_event(event)

    def changes_page(self, connector, *, modified_after, after_cursor):
        return connector.documents_page(modified_after=modified_after, after_cursor=after_cursor)

    def page_records(self, page):
        return page.documents

    def upsert(self, *, connection, record, received_at):
        """The document's row: inserted (ON CONFLICT DO NOTHING); an existing one takes this
        version when it is at least as new and the row has no invoice yet."""
        fields = _document_fields(record)
        new_id = uuid.uuid4()
        ERPDocument.objects.bulk_create(
            [
                ERPDocument(
                    id=new_id,
                    connection=connection,
                    external_document_id=record.external_id,
                    received_at=received_at,
                    **fields,
                )
            ],
            ignore_conflicts=True,
        )
        rows = ERPDocument.objects.select_related("connection__organization")
        row = rows.get(connection=connection, external_document_id=record.external_id)
        if row.pk != new_id:
            replaced = ERPDocument.objects.filter(
                pk=row.pk, invoice__isnull=True, last_modified_at__lte=record.modified_at
            ).update(
                **fields,
                received_at=received_at,
                processing_errors=None,
                updated_at=timezone.now(),
            )
            if replaced:
                row = rows.get(pk=row.pk)
            elif row.invoice_id and record.is_cancelled:
                _invoiced_cancellation_flag(row, record)
        if record.is_paid and row.paid_in_erp_at is None:
            document_paid_in_erp(document=row)
        return row

    def record_from_row(self, row) -> Document:
        return document_from_json(row.document_metadata["document"])

    def original_reference(self, record) -> str | None:
        return record.original_external_id if record.kind == DocumentKind.CREDIT_NOTE else None


CANCELLED_AFTER_INVOICE = (
    "Cancelled in the ERP ({state}) after its e-invoice was made: the e-invoice stands at FIRS; "
    "issue a credit note in the ERP to reverse it"
)


def _invoiced_cancellation_flag(row: ERPDocument, record: Document) -> None:
    """An invoiced document the ERP cancelled: never deleted, never silently kept as it was,
    but failed with the reason, for an operator (the first time it is seen)."""
    ERPDocument.objects.filter(pk=row.pk).exclude(document_state=record.state[:32]).update(
        document_state=record.state[:32],
        status=ERPDocument.Status.FAILED,
        processing_errors={
            "error_message": CANCELLED_AFTER_INVOICE.format(state=record.state),
            "at": timezone.now().isoformat(),
        },
        updated_at=timezone.now(),
    )
    row.refresh_from_db()


def _document_fields(document: Document) -> dict:
    document_json = document_to_json(document)
    buyer = document.buyer
    return {
        "document_number": document.number[:100],
        "document_kind": document.kind.value,
        "document_date": document.issued_at,
        "total_amount": document.total,
        "tax_amount": sum((tax.tax_amount for tax in document.taxes), Decimal(0)),
        "currency": document.currency,
        "customer_data": document_json["buyer"],
        "buyer_name": (buyer.name if buyer else "")[:255],
        "buyer_tin": (buyer.tin if buyer else "")[:32],
        "line_items": document_json["lines"],
        "taxes": document_json["taxes"],
        "is_posted": document.is_posted,
        "document_state": document.state[:32],
        "original_external_id": document.original_external_id[:255],
        "last_modified_at": document.modified_at,
        "document_metadata": {"document": document_json, "raw": document.raw},
        "status": ERPDocument.Status.PENDING
        if document.is_posted
        else ERPDocument.Status.NOT_POSTED,
    }
