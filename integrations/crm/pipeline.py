"""The CRM family's part of the ingest pipeline: deals, invoiced once won.

A deal is one row per connection and platform id, replaced by a version at least as new while
it has no invoice. A burst of events about one deal costs one fetch (later events supersede
earlier ones), and the connection's won stages are chosen before deals are read.
"""

import uuid
from dataclasses import asdict
from decimal import Decimal

from django.utils import timezone

from integrations.base.canonical import Deal, Party, line_from_json
from integrations.base.events import webhook_event_of
from integrations.base.models import InboundEvent
from integrations.base.pipeline import ChangesAdapter
from integrations.crm import services
from integrations.crm.models import CRMDeal
from invoices.models import Invoice


class CRMAdapter(ChangesAdapter):
    source_model = CRMDeal
    external_id_field = "external_deal_id"
    source_type = Invoice.Source.CRM
    invoice_task_name = "invoice_deal"
    source_id_kwarg = "deal_id"
    rows_name = "deals"
    invoiceable_filter = {"is_won": True}

    def source_ids_for_event(self, connector, event):
        return connector.deal_ids_for_event(event)

    def superseded(self, event, *, connection, connector, source_ids) -> bool:
        """Whether a later pending event will fetch the same deals. A fetch reads a deal as it
        is now, so under a burst (or the platform's rate limit) a deal's moves cost one fetch."""
        if not source_ids:
            return False
        later = InboundEvent.objects.filter(
            family="crm",
            connection_id=event.connection_id,
            object_id__in=source_ids,
            status=InboundEvent.Status.PENDING,
            pk__gt=event.pk,
        )
        return any(
            connector.deal_ids_for_event(webhook_event_of(other, account_id=connection.account_id))
            for other in later
        )

    def prepare(self, *, connection) -> None:
        services.connection_won_stages_default(connection=connection)

    def records_for_event(self, connector, event):
        return connector.deals_for_event(event)

    def changes_page(self, connector, *, modified_after, after_cursor):
        return connector.deals_page(modified_after=modified_after, after_cursor=after_cursor)

    def page_records(self, page):
        return page.deals

    def upsert(self, *, connection, record, received_at):
        """The deal's row: inserted (ON CONFLICT DO NOTHING); an existing one takes this version
        when it is at least as new and the row has no invoice yet."""
        deal = record
        fields = _deal_fields(connection=connection, deal=deal)
        new_id = uuid.uuid4()
        CRMDeal.objects.bulk_create(
            [
                CRMDeal(
                    id=new_id,
                    connection=connection,
                    external_deal_id=deal.external_id,
                    received_at=received_at,
                    **fields,
                )
            ],
            ignore_conflicts=True,
        )
        rows = CRMDeal.objects.select_related("connection__organization")
        row = rows.get(connection=connection, external_deal_id=deal.external_id)
        if row.pk != new_id:
            replaced = CRMDeal.objects.filter(
                pk=row.pk, invoice__isnull=True, last_modified_at__lte=deal.modified_at
            ).update(
                **fields,
                received_at=received_at,
                processing_errors=None,
                updated_at=timezone.now(),
            )
            if replaced:
                row = rows.get(pk=row.pk)
        return row

    def record_from_row(self, row) -> Deal:
        return deal_from_row(row)


def _deal_fields(*, connection, deal: Deal) -> dict:
    # Won counts only in the pipelines this connection invoices.
    is_won = deal.is_won and (
        not connection.pipeline_ids or deal.pipeline in connection.pipeline_ids
    )
    return {
        "deal_title": deal.name[:255],
        "deal_amount": deal.amount,
        "customer_data": asdict(deal.buyer) if deal.buyer else None,
        "deal_stage": deal.stage[:100],
        "expected_close_date": deal.closed_at,
        "deal_metadata": {"prices_include_tax": deal.prices_include_tax, "raw": deal.raw},
        "pipeline_id": deal.pipeline[:100],
        "is_won": is_won,
        "buyer_name": (deal.buyer.name if deal.buyer else "")[:255],
        "buyer_tin": (deal.buyer.tin if deal.buyer else "")[:32],
        "currency": deal.currency,
        "line_items": [_plain(asdict(line)) for line in deal.lines],
        "last_modified_at": deal.modified_at,
        "status": CRMDeal.Status.PENDING if is_won else CRMDeal.Status.NOT_WON,
    }


def _plain(values: dict) -> dict:
    return {
        key: str(value) if isinstance(value, Decimal) else value for key, value in values.items()
    }


def deal_from_row(deal_row: CRMDeal) -> Deal:
    """The canonical deal a row stores (the version it invoices)."""
    metadata = deal_row.deal_metadata or {}
    return Deal(
        external_id=deal_row.external_deal_id,
        name=deal_row.deal_title,
        stage=deal_row.deal_stage,
        pipeline=deal_row.pipeline_id,
        amount=deal_row.deal_amount,
        currency=deal_row.currency,
        closed_at=deal_row.expected_close_date,
        modified_at=deal_row.last_modified_at,
        lines=tuple(line_from_json(line) for line in deal_row.line_items),
        buyer=Party(**deal_row.customer_data) if deal_row.customer_data else None,
        is_won=deal_row.is_won,
        prices_include_tax=metadata.get("prices_include_tax", False),
        raw=metadata.get("raw") or {},
    )
