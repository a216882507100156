"""POS writes: stored events become transactions, transactions become invoices.

Every step is idempotent. An event is processed at most once to completion (its status moves
``pending`` -> ``processed`` conditionally); a sale is one row (unique on connection, external id
and timestamp, inserted with ON CONFLICT DO NOTHING); a row gets one invoice (the invoices app's
unique source key, and ``invoice_id`` set only while still empty).
"""

import logging
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from integrations.base import registry
from integrations.base.canonical import Sale, SaleKind, sale_from_json, sale_to_json
from integrations.base.errors import ConnectorError
from integrations.base.events import (
    EventNotReady,
    RetryLater,
    all_invoiced,
    connection_failing,
    connection_healthy,
    event_failed_try,
    event_finish,
    event_to_process,
    retry_delay,
)
from integrations.base.models import InboundEvent, SyncRun
from integrations.base.services import (
    sync_run_create,
    sync_run_fail,
    sync_run_page,
    sync_run_succeed,
)
from integrations.pos.models import POSConnection, POSTransaction
from invoices import services as invoice_services
from invoices.models import Invoice
from taxpoynt.lib.priority import batch_wait_for_realtime

logger = logging.getLogger(__name__)

Status = POSTransaction.Status


def connector_for(connection: POSConnection):
    return registry.get(connection.pos_type)(connection)


# --- Events -------------------------------------------------------------------------------------


def event_process(*, event_id: int, claim_token: str = "") -> str:
    """Turn one stored webhook event into transactions and invoices. Returns the event's status.

    Raises RetryLater on a transient platform failure (the event stays pending).
    """
    try:
        event, connection, webhook_event = event_to_process(event_id=event_id, family="pos")
    except EventNotReady as not_ready:
        return not_ready.status
    connector = connector_for(connection)
    sale_ids = connector.sale_ids_for_event(webhook_event)
    if _already_invoiced(connection, sale_ids):
        event_finish(event, InboundEvent.Status.PROCESSED)
        return InboundEvent.Status.PROCESSED
    held = False
    try:
        with sales_lock(connection=connection, sale_ids=sale_ids or ()) as held:
            if not held:
                # A till sends several events for one sale at once: the one holding the lock
                # does the work and then settles this one, found by its subject. An event
                # stored without one cannot be found, so it comes back by itself.
                if event.subject_id:
                    return InboundEvent.Status.PENDING
                raise RetryLater(
                    SIBLING_EVENT_WAIT_SECONDS, "another event of this sale is in hand"
                )
            if sale_ids and _already_invoiced(connection, sale_ids):
                event_finish(event, InboundEvent.Status.PROCESSED)
                return InboundEvent.Status.PROCESSED
            return _event_sales_record(
                event,
                connection=connection,
                connector=connector,
                webhook_event=webhook_event,
                claim_token=claim_token,
            )
    finally:
        subject = connector.event_subject(webhook_event)
        if held and subject:
            _siblings_settle(event, connection=connection, sale_id=subject)


# Long enough for the event in hand to get its sale signed (a few FIRS round trips).
SIBLING_EVENT_WAIT_SECONDS = 1.0


def _siblings_settle(event: InboundEvent, *, connection: POSConnection, sale_id: str) -> None:
    """The other pending events of the sale, left to this one while it held the sale: done once
    the sale is invoiced, else queued again to try for themselves. Runs after the lock is let
    go, so every event that found it held is already stored and pending here."""
    from integrations.pos.tasks import event_process_task

    siblings = InboundEvent.objects.filter(
        family="pos",
        connection_id=connection.pk,
        subject_id=sale_id,
        status=InboundEvent.Status.PENDING,
    ).exclude(pk=event.pk)
    waiting = list(siblings.values_list("pk", flat=True))
    if not waiting:
        return
    if _already_invoiced(connection, [sale_id]):
        siblings.filter(pk__in=waiting).update(
            status=InboundEvent.Status.PROCESSED, processed_at=timezone.now()
        )
        return
    for sibling_id in waiting:
        event_process_task.apply_async(kwargs={"event_id": sibling_id}, queue="realtime")


@contextmanager
def sales_lock(*, connection: POSConnection, sale_ids):
    """Yields whether this worker now holds every named sale of the connection (a PostgreSQL
    session advisory lock each, taken without waiting); they are let go on the way out."""
    keys = sorted(f"pos:{connection.pk}:{sale_id}" for sale_id in set(sale_ids))
    taken = []
    try:
        with db_connection.cursor() as cursor:
            for key in keys:
                cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [key])
                if not cursor.fetchone()[0]:
                    break
                taken.append(key)
        yield len(taken) == len(keys)
    finally:
        if taken:
            with db_connection.cursor() as cursor:
                for key in taken:
                    cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [key])


def _event_sales_record(event, *, connection, connector, webhook_event, claim_token) -> str:
    try:
        sales = connector.sales_for_event(webhook_event)
    except ConnectorError as error:
        return event_failed_try(event, connection=connection, error=error)
    for sale in sales:
        transaction_record(
            connection=connection,
            sale=sale,
            received_at=event.received_at,
            advance_with=claim_token,
        )
    status = InboundEvent.Status.PROCESSED if sales else InboundEvent.Status.IGNORED
    event_finish(event, status)
    return status


def _already_invoiced(connection: POSConnection, sale_ids: list[str] | None) -> bool:
    rows = POSTransaction.objects.filter(connection=connection)
    return all_invoiced(rows, id_field="external_transaction_id", ids=sale_ids)


# --- Transactions ------------------------------------------------------------------------------


def transaction_record(
    *,
    connection: POSConnection,
    sale: Sale,
    received_at: datetime,
    advance_with: str = "",
    queue: str = "",
) -> POSTransaction:
    """Store the sale once and give it its invoice.

    ``advance_with`` (a claim token) runs the invoice pipeline here and now, in the calling task,
    instead of queueing it: the realtime path saves a queue hop. ``queue`` sends the invoice's
    pipeline to that queue instead (back-fills: batch).
    """
    row = _transaction_upsert(connection=connection, sale=sale, received_at=received_at)
    if row.invoice_id is None:
        transaction_invoice(transaction_row=row, sale=sale, advance_with=advance_with, queue=queue)
        row.refresh_from_db()
    return row


def _transaction_upsert(
    *, connection: POSConnection, sale: Sale, received_at: datetime
) -> POSTransaction:
    """The sale's row: inserted unless it is there already (ON CONFLICT DO NOTHING)."""
    sale_json = sale_to_json(sale)
    POSTransaction.objects.bulk_create(
        [
            POSTransaction(
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
        ],
        ignore_conflicts=True,
    )
    return POSTransaction.objects.select_related("connection__organization").get(
        connection=connection,
        external_transaction_id=sale.external_id,
        transaction_timestamp=sale.occurred_at,
    )


def transaction_invoice(
    *, transaction_row: POSTransaction, sale: Sale, advance_with: str = "", queue: str = ""
) -> Invoice | None:
    """Create the transaction's invoice (once) and link it; a refund credits its sale's invoice.

    Problems that stop the invoice (an unmappable sale, a refund of a sale we never saw) are
    recorded on the transaction for an operator, never raised.
    """
    connection = transaction_row.connection
    original = None
    if sale.kind == SaleKind.REFUND:
        original = _original_invoice(connection=connection, sale=sale)
        if original is None:
            _transaction_failed(
                transaction_row,
                f"Refund of {sale.original_external_id}, a sale with no invoice here yet",
            )
            return None
    invoice, created = invoice_services.invoice_create_for_source(
        organization=connection.organization,
        source_type=Invoice.Source.POS,
        source_id=transaction_row.pk,
        source=sale,
        original=original,
        platform=connection.pos_type,
        received_at=transaction_row.received_at,
        enqueue=not advance_with,
        queue=queue,
    )
    if invoice is None:
        return None
    failed = invoice.status == Invoice.Status.NEEDS_ATTENTION
    POSTransaction.objects.filter(pk=transaction_row.pk, invoice__isnull=True).update(
        invoice=invoice,
        invoice_generated=True,
        invoiced_at=timezone.now(),
        status=Status.FAILED if failed else Status.INVOICED,
        processing_errors={"problems": invoice.problems} if failed else None,
        updated_at=timezone.now(),
    )
    if advance_with and not failed:
        invoice_services.invoice_advance(
            invoice_id=invoice.pk,
            claim_token=advance_with,
            # Just written here: no need to read it back.
            invoice=invoice if created else None,
        )
    return invoice


def _original_invoice(*, connection: POSConnection, sale: Sale) -> Invoice | None:
    original = (
        POSTransaction.objects.filter(
            connection=connection,
            external_transaction_id=sale.original_external_id,
            kind=POSTransaction.Kind.SALE,
            invoice__isnull=False,
        )
        .select_related("invoice")
        .first()
    )
    return original.invoice if original else None


def _transaction_failed(transaction_row: POSTransaction, message: str) -> None:
    POSTransaction.objects.filter(pk=transaction_row.pk).update(
        status=Status.FAILED,
        processing_errors={"error_message": message, "at": timezone.now().isoformat()},
        updated_at=timezone.now(),
    )


def transaction_retry(*, transaction_row: POSTransaction) -> bool:
    """Try again to invoice a failed or stuck transaction, or re-drive its failed invoice.

    True when something was queued.
    """
    from integrations.pos.tasks import transaction_invoice_task

    if transaction_row.invoice_id:
        invoice = transaction_row.invoice
        if invoice.status == Invoice.Status.NEEDS_ATTENTION:
            invoice_services.invoice_redrive(invoice=invoice)
            return True
        return False
    POSTransaction.objects.filter(pk=transaction_row.pk).update(
        status=Status.PENDING, processing_errors=None, attempts=F("attempts") + 1
    )
    transaction.on_commit(
        lambda: transaction_invoice_task.apply_async(
            kwargs={"transaction_id": str(transaction_row.pk)}, queue="realtime"
        )
    )
    return True


def transaction_invoice_again(*, transaction_id, claim_token: str = "") -> str:
    """The task body behind ``transaction_retry`` and the sweeper: rebuild the sale from the
    stored row's raw platform data and invoice it."""
    row = (
        POSTransaction.objects.select_related("connection__organization")
        .filter(pk=transaction_id)
        .first()
    )
    if row is None or row.invoice_id:
        return "nothing to do"
    sale = sale_from_json(row.transaction_metadata["sale"])
    transaction_invoice(transaction_row=row, sale=sale, advance_with=claim_token)
    return "invoiced"


def invoice_stage_recorded(*, invoice: Invoice, stage: str, at: datetime) -> None:
    """Mirror an invoice's signing and transmission on its transaction (signal receiver)."""
    if invoice.source_type != Invoice.Source.POS:
        return
    if stage == Invoice.Stage.SIGNED:
        # A B2C receipt reaches FIRS by being signed: it is never transmitted (brief §5.2).
        reported = {"invoice_transmitted": True} if invoice.kind == Invoice.Kind.B2C else {}
        POSTransaction.objects.filter(pk=invoice.source_id).update(signed_at=at, **reported)
    elif stage == Invoice.Stage.TRANSMITTED:
        POSTransaction.objects.filter(pk=invoice.source_id).update(invoice_transmitted=True)


# --- Sweeper ------------------------------------------------------------------------------------


def pos_sweep() -> dict:
    """Re-queue work stuck in a pending state: events whose task was never published (a crash
    between commit and publish, F3) and transactions that never got their invoice."""
    from integrations.pos.tasks import event_process_task, transaction_invoice_task

    cutoff = timezone.now() - timedelta(seconds=settings.INTEGRATIONS_SWEEP_AFTER_SECONDS)
    active = POSConnection.objects.filter(is_active=True).values("id")
    events = list(
        InboundEvent.objects.filter(
            family="pos",
            status=InboundEvent.Status.PENDING,
            received_at__lt=cutoff,
            connection_id__in=active,
        ).values_list("id", flat=True)[:5000]
    )
    for event_id in events:
        event_process_task.apply_async(kwargs={"event_id": event_id}, queue="realtime")
    stuck = list(
        POSTransaction.objects.filter(
            status=Status.PENDING,
            invoice__isnull=True,
            received_at__lt=cutoff,
            connection__is_active=True,
        ).values_list("id", flat=True)[:5000]
    )
    for transaction_id in stuck:
        transaction_invoice_task.apply_async(
            kwargs={"transaction_id": str(transaction_id)}, queue="realtime"
        )
    return {"events": len(events), "transactions": len(stuck)}


# --- Connections --------------------------------------------------------------------------------


def connection_test(*, connection: POSConnection) -> None:
    """One cheap authenticated call; records the outcome as the connection's health."""
    try:
        connector_for(connection).test_connection()
    except ConnectorError as error:
        connection_failing(connection=connection, error=error)
        raise
    connection_healthy(connection=connection)


# --- Back-fill ----------------------------------------------------------------------------------


def backfill_start(*, connection: POSConnection, start: datetime, end: datetime) -> SyncRun:
    from integrations.pos.tasks import backfill_task

    if start >= end:
        raise ValueError("The back-fill's start must be before its end")
    run = sync_run_create(
        connection=connection, kind=SyncRun.Kind.BACKFILL, window_start=start, window_end=end
    )
    transaction.on_commit(
        lambda: backfill_task.apply_async(kwargs={"sync_run_id": str(run.pk)}, queue="batch")
    )
    return run


def backfill_run(*, sync_run_id, page_budget: int | None = None) -> str:
    """Pull pages from the run's cursor on; each page's sales are recorded before the cursor
    moves, so a crashed run resumes where it stopped and overlaps only with itself.

    ``page_budget`` pages at most per call (the task re-queues itself to let other batch work
    in); None runs to the end.
    """
    run = SyncRun.objects.get(pk=sync_run_id)
    if run.status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.FAILED):
        return run.status
    connection = POSConnection.objects.select_related("organization").get(pk=run.connection_id)
    SyncRun.objects.filter(pk=run.pk).update(
        status=SyncRun.Status.RUNNING, started_at=run.started_at or timezone.now()
    )
    connector = connector_for(connection)
    cursor, pages = run.cursor, 0
    while page_budget is None or pages < page_budget:
        try:
            page = connector.sales_page(start=run.window_start, end=run.window_end, cursor=cursor)
        except ConnectorError as error:
            if error.permanent:
                sync_run_fail(run=run, error=error)
                return SyncRun.Status.FAILED
            raise RetryLater(retry_delay(1, error), str(error)) from error
        now = timezone.now()
        for sale in page.sales:
            # Live sales go first (a page is hundreds of rows; recording one again is a no-op).
            batch_wait_for_realtime()
            transaction_record(connection=connection, sale=sale, received_at=now, queue="batch")
        cursor = page.cursor
        pages += 1
        sync_run_page(run=run, rows=len(page.sales), problems=page.problems, cursor=cursor)
        if not cursor:
            sync_run_succeed(run=run)
            POSConnection.objects.filter(pk=connection.pk).update(last_sync_at=timezone.now())
            return SyncRun.Status.SUCCEEDED
    return SyncRun.Status.RUNNING
