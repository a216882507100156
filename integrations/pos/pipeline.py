"""The POS family's part of the ingest pipeline: completed sales and refunds.

A till sends several events per sale, so a sale's events are worked by one task at a time (the
others left to it); a refund becomes a credit note of its sale's invoice; rows go to the
month-partitioned ``pos_transactions`` (unique on connection, platform id and timestamp).
A platform that can be polled (its connector has the incremental sync) is polled on each
connection's ``sync_every_minutes``: sales whose webhook never came arrive that way, through
the same rows, so one recorded both ways is recorded once.
"""

from integrations.base.canonical import SaleKind, sale_from_json, sale_to_json
from integrations.base.connectors import Capability
from integrations.base.pipeline import (
    FamilyAdapter,
    Page,
    changes_cursor_read,
    changes_cursor_text,
)
from integrations.pos.models import POSTransaction
from invoices.models import Invoice
from taxpoynt.lib.rows import row_insert_unless_present


class POSAdapter(FamilyAdapter):
    source_model = POSTransaction
    external_id_field = "external_transaction_id"
    source_type = Invoice.Source.POS
    invoice_task_name = "invoice_transaction"
    source_id_kwarg = "transaction_id"
    rows_name = "transactions"
    locks_subjects = True
    incremental_sync = True
    original_filter = {"kind": POSTransaction.Kind.SALE}
    original_missing_message = "Refund of {reference}, a sale with no invoice here yet"

    def source_ids_for_event(self, connector, event):
        return connector.sale_ids_for_event(event)

    def records_for_event(self, connector, event):
        return connector.sales_for_event(event)

    def upsert(self, *, connection, record, received_at):
        """The sale's row: inserted unless it is there already (ON CONFLICT DO NOTHING)."""
        sale, sale_json = record, sale_to_json(record)
        row = POSTransaction(
            connection=connection,
            external_transaction_id=sale.external_id,
            transaction_amount=sale.total,
            tax_amount=sale.tax_total,
            items=sale_json["lines"],
            customer_data=sale_json["customer"],
            transaction_timestamp=sale.occurred_at,
            transaction_metadata={"sale": sale_json, "raw": sale.raw},
            kind=sale.kind.value,
            currency=sale.currency,
            external_location_id=sale.location_id,
            original_external_id=sale.original_external_id,
            received_at=received_at,
        )
        if row_insert_unless_present(row):
            return row
        row = POSTransaction.objects.get(
            connection=connection,
            external_transaction_id=sale.external_id,
            transaction_timestamp=sale.occurred_at,
        )
        # The connection in hand has its organization loaded.
        row.connection = connection
        return row

    def record_from_row(self, row):
        return sale_from_json(row.transaction_metadata["sale"])

    def record_to_invoice(self, *, row, record):
        # A sale never changes once completed: the one in hand is the row's.
        return record

    def original_reference(self, record) -> str | None:
        return record.original_external_id if record.kind == SaleKind.REFUND else None

    def stage_fields(self, *, invoice, stage, at):
        if stage == Invoice.Stage.SIGNED:
            # A B2C receipt reaches FIRS by being signed: it is never transmitted.
            reported = {"invoice_transmitted": True} if invoice.kind == Invoice.Kind.B2C else {}
            return {"signed_at": at, **reported}
        if stage == Invoice.Stage.TRANSMITTED:
            return {"invoice_transmitted": True}
        return {}

    def backfill_page(self, connector, *, start, end, cursor):
        page = connector.sales_page(start=start, end=end, cursor=cursor)
        return Page(
            records=page.sales, cursor=page.cursor, finished=not page.cursor, problems=page.problems
        )

    def sync_page(self, connector, *, cursor, start):
        if Capability.INCREMENTAL_SYNC not in connector.capabilities:
            # A platform that cannot be polled has nothing to give: its webhooks carry it all.
            return Page(records=[], cursor=cursor, finished=True)
        modified_after, after = changes_cursor_read(cursor, start=start)
        page = connector.sales_changes_page(modified_after=modified_after, cursor=after)
        return Page(
            records=page.sales,
            cursor=changes_cursor_text(page.modified_after, page.cursor),
            finished=not page.has_more,
            problems=page.problems,
        )
