"""CRM writes: stored events and pulled pages become deals, won deals become invoices.

Every step is idempotent. An event is processed at most once to completion (its status moves
``pending`` -> ``processed`` conditionally). A deal is one row per connection and platform id:
inserted with ON CONFLICT DO NOTHING, then replaced only by a version at least as new and only
while it has no invoice. A row gets one invoice (the invoices app's unique source key, and
``invoice_id`` set only while still empty), however often it is won, through webhooks or syncs.
"""

import json
import logging
import uuid
from dataclasses import asdict
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import DurationField, ExpressionWrapper, F, Q
from django.utils import timezone

from integrations.base import connections, registry
from integrations.base.canonical import Deal, Line, Party
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
    webhook_event_of,
)
from integrations.base.models import InboundEvent, SyncRun
from integrations.base.services import (
    sync_run_create,
    sync_run_fail,
    sync_run_page,
    sync_run_succeed,
)
from integrations.crm.connectors import CRMConnector, PipelineStage
from integrations.crm.models import CRMConnection, CRMDeal
from invoices import services as invoice_services
from invoices.models import Invoice
from taxpoynt.lib.priority import batch_wait_for_realtime

logger = logging.getLogger(__name__)

Status = CRMDeal.Status
# The beat looks every minute; a connection this close to due counts as due.
SYNC_DUE_SLACK = timedelta(seconds=5)


def connector_for(connection: CRMConnection) -> CRMConnector:
    """The connection's connector, its OAuth access token refreshed first when about to expire
    (under the connection's row lock)."""
    if connection.token_expires_at is not None:  # private-app tokens never expire
        connections.connection_tokens_refresh(connection=connection)
    return registry.get(connection.crm_type)(connection)


# --- Connections --------------------------------------------------------------------------------


def connection_sandbox_create(*, platform: str, organization, user, site_url: str) -> CRMConnection:
    """A connection to a fresh sandbox account, signed webhooks and won stages ready."""
    connection = connections.connection_sandbox_create(
        family="crm", platform=platform, organization=organization, user=user, site_url=site_url
    )
    sandbox = connector_for(connection).sandbox_settings()
    connection.webhook_secret = sandbox.signing_secret
    connection.won_stage_ids = sandbox.won_stage_ids
    connection.save(update_fields=["webhook_secret", "won_stage_ids", "updated_at"])
    return connection


def connection_pipelines(*, connection: CRMConnection) -> list[PipelineStage]:
    """Every stage of the account's deal pipelines, read from the platform now."""
    return connector_for(connection).pipelines()


def connection_won_stages_default(*, connection: CRMConnection) -> list[str]:
    """The connection's won stages. When none are chosen yet (a fresh OAuth connection), the
    platform's own closed-won stages of the pipelines of interest are chosen and stored."""
    if connection.won_stage_ids:
        return connection.won_stage_ids
    won = [
        stage.stage_id
        for stage in connection_pipelines(connection=connection)
        if stage.is_won
        and (not connection.pipeline_ids or stage.pipeline_id in connection.pipeline_ids)
    ]
    # Only while still unset: an operator's choice made meanwhile stands.
    CRMConnection.objects.filter(pk=connection.pk, won_stage_ids=[]).update(won_stage_ids=won)
    connection.refresh_from_db(fields=["won_stage_ids"])
    return connection.won_stage_ids


def connection_test(*, connection: CRMConnection) -> None:
    """One cheap authenticated call; records the outcome as the connection's health."""
    try:
        connector_for(connection).test_connection()
    except ConnectorError as error:
        connection_failing(connection=connection, error=error)
        raise
    connection_healthy(connection=connection)


# --- Events -------------------------------------------------------------------------------------


def event_process(*, event_id: int, claim_token: str = "") -> str:
    """Turn one stored webhook event into deals, and won deals into invoices. Returns the
    event's status. Raises RetryLater on a transient platform failure (it stays pending)."""
    try:
        event, connection, webhook_event = event_to_process(event_id=event_id, family="crm")
    except EventNotReady as not_ready:
        return not_ready.status
    try:
        connector = connector_for(connection)
        deal_ids = connector.deal_ids_for_event(webhook_event)
        if _already_invoiced(connection, deal_ids) or _superseded(
            event, connection=connection, connector=connector, deal_ids=deal_ids
        ):
            # A deal moving on after its invoice, a repeat, or a later event about the deal
            # already waiting (it reads the deal as it is then): nothing to fetch now.
            event_finish(event, InboundEvent.Status.PROCESSED)
            return InboundEvent.Status.PROCESSED
        connection_won_stages_default(connection=connection)
        deals = connector.deals_for_event(webhook_event)
    except ConnectorError as error:
        return event_failed_try(event, connection=connection, error=error)
    for deal in deals:
        deal_record(
            connection=connection,
            deal=deal,
            received_at=event.received_at,
            advance_with=claim_token,
        )
    status = InboundEvent.Status.PROCESSED if deals else InboundEvent.Status.IGNORED
    event_finish(event, status)
    return status


def _superseded(event, *, connection: CRMConnection, connector, deal_ids) -> bool:
    """Whether a later pending event will fetch the same deals. A fetch reads a deal as it is
    now, so under a burst (or HubSpot's rate limit) a deal's stage moves cost one fetch."""
    if not deal_ids:
        return False
    later = InboundEvent.objects.filter(
        family="crm",
        connection_id=event.connection_id,
        object_id__in=deal_ids,
        status=InboundEvent.Status.PENDING,
        pk__gt=event.pk,
    )
    return any(
        connector.deal_ids_for_event(webhook_event_of(other, account_id=connection.account_id))
        for other in later
    )


def _already_invoiced(connection: CRMConnection, deal_ids: list[str] | None) -> bool:
    rows = CRMDeal.objects.filter(connection=connection)
    return all_invoiced(rows, id_field="external_deal_id", ids=deal_ids)


# --- Deals --------------------------------------------------------------------------------------


def deal_record(
    *,
    connection: CRMConnection,
    deal: Deal,
    received_at: datetime,
    advance_with: str = "",
    queue: str = "",
) -> CRMDeal:
    """Store the deal (or its newer version) and, when it is won, give it its invoice.

    ``advance_with`` (a claim token) runs the invoice pipeline here and now, in the calling task,
    instead of queueing it. ``queue`` sends the invoice's pipeline to that queue (back-fills).
    """
    row = _deal_upsert(connection=connection, deal=deal, received_at=received_at)
    if row.is_won and row.invoice_id is None:
        deal_invoice(deal_row=row, advance_with=advance_with, queue=queue)
        row.refresh_from_db()
    return row


def _deal_upsert(*, connection: CRMConnection, deal: Deal, received_at: datetime) -> CRMDeal:
    """The deal's row: inserted (ON CONFLICT DO NOTHING); an existing one takes this version
    when it is at least as new and the row has no invoice yet."""
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
            **fields, received_at=received_at, processing_errors=None, updated_at=timezone.now()
        )
        if replaced:
            row = rows.get(pk=row.pk)
    return row


def _deal_fields(*, connection: CRMConnection, deal: Deal) -> dict:
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
        "status": Status.PENDING if is_won else Status.NOT_WON,
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
        lines=tuple(
            Line(
                **{
                    **line,
                    "quantity": Decimal(line["quantity"]),
                    "unit_price": Decimal(line["unit_price"]),
                    "discount": Decimal(line["discount"]),
                    "tax_rate": None if line["tax_rate"] is None else Decimal(line["tax_rate"]),
                }
            )
            for line in deal_row.line_items
        ),
        buyer=Party(**deal_row.customer_data) if deal_row.customer_data else None,
        is_won=deal_row.is_won,
        prices_include_tax=metadata.get("prices_include_tax", False),
        raw=metadata.get("raw") or {},
    )


def deal_invoice(*, deal_row: CRMDeal, advance_with: str = "", queue: str = "") -> Invoice:
    """Create the deal's invoice (once) from the version the row stores, and link it."""
    connection = deal_row.connection
    invoice, created = invoice_services.invoice_create_for_source(
        organization=connection.organization,
        source_type=Invoice.Source.CRM,
        source_id=deal_row.pk,
        source=deal_from_row(deal_row),
        platform=connection.crm_type,
        received_at=deal_row.received_at,
        enqueue=not advance_with,
        queue=queue,
    )
    failed = invoice.status == Invoice.Status.NEEDS_ATTENTION
    now = timezone.now()
    CRMDeal.objects.filter(pk=deal_row.pk, invoice__isnull=True).update(
        invoice=invoice,
        invoice_generated=True,
        invoiced_at=now,
        status=Status.FAILED if failed else Status.INVOICED,
        processing_errors={"problems": invoice.problems} if failed else None,
        updated_at=now,
    )
    if advance_with and not failed:
        invoice_services.invoice_advance(
            invoice_id=invoice.pk,
            claim_token=advance_with,
            # Just written here: no need to read it back.
            invoice=invoice if created else None,
        )
    return invoice


def deal_retry(*, deal_row: CRMDeal) -> bool:
    """Invoice a won deal that has no invoice yet, or re-drive its invoice if that needs
    attention. True when something was queued."""
    from integrations.crm.tasks import deal_invoice_task

    if deal_row.invoice_id:
        if deal_row.invoice.status == Invoice.Status.NEEDS_ATTENTION:
            return invoice_services.invoice_redrive(invoice=deal_row.invoice)
        return False
    if not deal_row.is_won:
        return False
    CRMDeal.objects.filter(pk=deal_row.pk, invoice__isnull=True).update(
        status=Status.PENDING, processing_errors=None, attempts=F("attempts") + 1
    )
    transaction.on_commit(
        lambda: deal_invoice_task.apply_async(
            kwargs={"deal_id": str(deal_row.pk)}, queue="standard"
        )
    )
    return True


def deal_invoice_again(*, deal_id, claim_token: str = "") -> str:
    """The task body behind ``deal_retry`` and the sweeper: invoice the stored won deal."""
    row = CRMDeal.objects.select_related("connection__organization").filter(pk=deal_id).first()
    if row is None or row.invoice_id or not row.is_won:
        return "nothing to do"
    deal_invoice(deal_row=row, advance_with=claim_token)
    return "invoiced"


def invoice_stage_recorded(*, invoice: Invoice, stage: str, at: datetime) -> None:
    """Mirror an invoice's signing on its deal (signal receiver)."""
    if invoice.source_type == Invoice.Source.CRM and stage == Invoice.Stage.SIGNED:
        CRMDeal.objects.filter(pk=invoice.source_id).update(signed_at=at)


# --- Sweeper ------------------------------------------------------------------------------------


def crm_sweep() -> dict:
    """Re-queue work stuck in a pending state: events whose task was never published (a crash
    between commit and publish, F3) and won deals that never got their invoice."""
    from integrations.crm.tasks import deal_invoice_task, event_process_task

    cutoff = timezone.now() - timedelta(seconds=settings.INTEGRATIONS_SWEEP_AFTER_SECONDS)
    active = CRMConnection.objects.filter(is_active=True).values("id")
    events = list(
        InboundEvent.objects.filter(
            family="crm",
            status=InboundEvent.Status.PENDING,
            received_at__lt=cutoff,
            connection_id__in=active,
        ).values_list("id", flat=True)[:5000]
    )
    for event_id in events:
        event_process_task.apply_async(kwargs={"event_id": event_id}, queue="standard")
    stuck = list(
        CRMDeal.objects.filter(
            is_won=True,
            invoice__isnull=True,
            status=Status.PENDING,
            received_at__lt=cutoff,
            connection__is_active=True,
        ).values_list("id", flat=True)[:5000]
    )
    for deal_id in stuck:
        deal_invoice_task.apply_async(kwargs={"deal_id": str(deal_id)}, queue="standard")
    return {"events": len(events), "deals": len(stuck)}


# --- Incremental sync ---------------------------------------------------------------------------


def connections_sync_due() -> int:
    """Queue an incremental sync of every active connection whose schedule says it is due."""
    from integrations.crm.tasks import connection_sync_task

    incremental_runs_prune()

    every = ExpressionWrapper(
        F("sync_every_minutes") * timedelta(minutes=1), output_field=DurationField()
    )
    due = list(
        CRMConnection.objects.filter(is_active=True, sync_every_minutes__gt=0)
        .annotate(next_sync_at=F("last_sync_at") + every)
        .filter(Q(last_sync_at__isnull=True) | Q(next_sync_at__lte=timezone.now() + SYNC_DUE_SLACK))
        .values_list("id", flat=True)
    )
    for connection_id in due:
        connection_sync_task.apply_async(
            kwargs={"connection_id": str(connection_id)}, queue="standard"
        )
    return len(due)


def incremental_runs_prune() -> int:
    """Delete the incremental sync runs older than SYNC_RUNS_KEEP_DAYS: a connection makes one
    per sync, every few minutes. Back-fill runs are kept."""
    cutoff = timezone.now() - timedelta(days=settings.SYNC_RUNS_KEEP_DAYS)
    deleted, _ = SyncRun.objects.filter(
        family="crm", kind=SyncRun.Kind.INCREMENTAL, created_at__lt=cutoff
    ).delete()
    return deleted


def connection_sync_start(*, connection: CRMConnection) -> None:
    """Queue an incremental sync of the connection now, whatever its schedule."""
    from integrations.crm.tasks import connection_sync_task

    transaction.on_commit(
        lambda: connection_sync_task.apply_async(
            kwargs={"connection_id": str(connection.pk)}, queue="standard"
        )
    )


def connection_sync(*, connection_id, page_budget: int | None = None) -> str:
    """Pull the won deals changed since the connection's cursor and record them, page by page.

    Each page is recorded before the cursor moves, and the cursor moves only from the value this
    sync read (compare-and-set): a sync running alongside stops instead of going backwards. The
    first sync starts from when the connection was made; history is a back-fill's job. Every
    sync is an incremental sync run: its pages, deals, unmappable deals and failure show there.
    """
    connection = (
        CRMConnection.objects.select_related("organization")
        .filter(pk=connection_id, is_active=True)
        .first()
    )
    if connection is None:
        return "inactive"
    cursor = connection.sync_cursor
    modified_after, after = _cursor_read(cursor, start=connection.created_at)
    run = sync_run_create(
        connection=connection,
        kind=SyncRun.Kind.INCREMENTAL,
        status=SyncRun.Status.RUNNING,
        window_start=modified_after,
        cursor=cursor,
        started_at=timezone.now(),
    )
    pages = 0
    try:
        connection_won_stages_default(connection=connection)
        connector = connector_for(connection)
        while page_budget is None or pages < page_budget:
            page = connector.deals_page(modified_after=modified_after, after_cursor=after)
            now = timezone.now()
            for deal in page.deals:
                deal_record(connection=connection, deal=deal, received_at=now)
            modified_after, after = page.modified_after, page.after_cursor
            moved_to = _cursor_text(modified_after, after)
            if not CRMConnection.objects.filter(pk=connection.pk, sync_cursor=cursor).update(
                sync_cursor=moved_to
            ):
                sync_run_page(
                    run=run,
                    rows=len(page.deals),
                    problems=page.problems,
                    last_error="stopped: another sync moved the cursor first",
                    status=SyncRun.Status.SUCCEEDED,
                    finished_at=timezone.now(),
                )
                return "overtaken by another sync"
            cursor, pages = moved_to, pages + 1
            sync_run_page(run=run, rows=len(page.deals), problems=page.problems, cursor=moved_to)
            if not page.has_more:
                break
    except ConnectorError as error:
        # The next sync starts again from the cursor this one left.
        sync_run_fail(run=run, error=error)
        if error.permanent:
            connection_failing(connection=connection, error=error)
        else:
            logger.warning("CRM sync of %s deferred: %s", connection.pk, error)
        return "failed"
    sync_run_succeed(run=run)
    CRMConnection.objects.filter(pk=connection.pk).update(last_sync_at=timezone.now())
    return "synced"


def _cursor_read(text: str, *, start: datetime) -> tuple[datetime, str]:
    """(anchor, platform cursor) of a stored sync cursor; ``start`` when there is none."""
    if not text:
        return start, ""
    stored = json.loads(text)
    return datetime.fromisoformat(stored["modified_after"]), stored["after"]


def _cursor_text(modified_after: datetime, after: str) -> str:
    return json.dumps({"modified_after": modified_after.isoformat(), "after": after})


# --- Back-fill ----------------------------------------------------------------------------------


def backfill_start(*, connection: CRMConnection, start: datetime, end: datetime) -> SyncRun:
    from integrations.crm.tasks import backfill_task

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
    """Record the won deals changed in the run's window, from its cursor on. Each page's deals
    are recorded before the cursor moves, so a crashed run resumes where it stopped.

    ``page_budget`` pages at most per call (the task re-queues itself to let other batch work
    in); None runs to the end.
    """
    run = SyncRun.objects.get(pk=sync_run_id)
    if run.status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.FAILED):
        return run.status
    connection = CRMConnection.objects.select_related("organization").get(pk=run.connection_id)
    SyncRun.objects.filter(pk=run.pk).update(
        status=SyncRun.Status.RUNNING, started_at=run.started_at or timezone.now()
    )
    modified_after, after = _cursor_read(run.cursor, start=run.window_start)
    pages = 0
    while page_budget is None or pages < page_budget:
        try:
            connection_won_stages_default(connection=connection)
            page = connector_for(connection).deals_page(
                modified_after=modified_after, after_cursor=after
            )
        except ConnectorError as error:
            if error.permanent:
                sync_run_fail(run=run, error=error)
                return SyncRun.Status.FAILED
            raise RetryLater(retry_delay(1, error), str(error)) from error
        now = timezone.now()
        # Oldest change first: the first deal past the window ends the run.
        in_window = [deal for deal in page.deals if deal.modified_at < run.window_end]
        for deal in in_window:
            # Live sales go first (recording a deal again is a no-op).
            batch_wait_for_realtime()
            deal_record(connection=connection, deal=deal, received_at=now, queue="batch")
        modified_after, after = page.modified_after, page.after_cursor
        pages += 1
        sync_run_page(
            run=run,
            rows=len(in_window),
            problems=page.problems,
            cursor=_cursor_text(modified_after, after),
        )
        finished = (
            not page.has_more
            or len(in_window) < len(page.deals)
            or modified_after >= run.window_end
        )
        if finished:
            sync_run_succeed(run=run)
            CRMConnection.objects.filter(pk=connection.pk).update(last_sync_at=timezone.now())
            return SyncRun.Status.SUCCEEDED
    return SyncRun.Status.RUNNING
