"""The one ingest pipeline, for every family: stored events and pulled pages become source rows
(POS transactions, CRM deals, ERP documents), and rows become invoices.

Every step is idempotent. An event is processed at most once to completion (its status moves
``pending`` -> ``processed`` conditionally); a source is one row per connection and platform id
(inserted with ON CONFLICT DO NOTHING); a row gets one invoice (the invoices app's unique source
key, and ``invoice_id`` set only while still empty), however it arrives: webhook, back-fill,
incremental sync, retry or sweep.

What differs per family is a small ``FamilyAdapter`` (``integrations/<family>/pipeline.py``),
registered with the family: which events lock their sale, which are superseded, what a row holds
and when it is invoiceable, how a page is pulled.
"""

import json
import logging
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection as db_connection
from django.db import models, transaction
from django.db.models import DurationField, Exists, ExpressionWrapper, F, Q
from django.utils import timezone

from audit.services import Action, audit_record
from integrations.base import families
from integrations.base.connections import connector_for
from integrations.base.connectors import FAMILIES
from integrations.base.errors import ConnectorError
from integrations.base.events import (
    EventNotReady,
    RetryLater,
    all_invoiced,
    connection_failing,
    connection_healthy,
    connection_recovered,
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
from invoices import services as invoice_services
from invoices.models import Invoice
from taxpoynt.lib.priority import batch_wait_for_realtime

logger = logging.getLogger(__name__)

# Long enough for the event in hand to get its sale signed (a few FIRS round trips).
SIBLING_EVENT_WAIT_SECONDS = 1.0
# The beat looks every minute; a connection this close to due counts as due.
SYNC_DUE_SLACK = timedelta(seconds=5)
# Rows a sweep re-queues at most per family and kind, per run.
SWEEP_LIMIT = 5000


@dataclass(frozen=True)
class Page:
    """One page of a pull, as the pipeline records it: the canonical records on it, the cursor
    to store once they are recorded, whether the pull is done, and the records that could not
    be mapped."""

    records: list
    cursor: str
    finished: bool
    problems: list[str] = field(default_factory=list)


class FamilyAdapter(ABC):
    """What the pipeline needs of a family; a family subclasses it once.

    Source rows have the seed's shared columns: ``connection``, ``invoice``,
    ``invoice_generated``, ``processing_errors``, ``status`` (pending / invoiced / failed),
    ``attempts``, ``received_at``, ``invoiced_at``, ``signed_at``.
    """

    source_model: type[models.Model]
    # The row's column holding the platform's id of the source.
    external_id_field: str
    # Invoice.Source value of the family's invoices.
    source_type: str
    # The task that invoices one stored row, and its keyword: ``<family>.<name>(<kwarg>=id)``.
    invoice_task_name: str
    source_id_kwarg: str
    # What a sweep result calls the rows it re-queued.
    rows_name: str
    # Whether a connection's changes are pulled on its own schedule (``sync_every_minutes``).
    incremental_sync: bool = False
    # Whether events of one sale are worked by one task at a time (an advisory lock on the
    # subject), the others left pending for it to settle.
    locks_subjects: bool = False
    # Only rows matching this are invoiced (a won deal, a posted document).
    invoiceable_filter: dict = {}
    # What a credit note's original row must match besides its platform id.
    original_filter: dict = {}
    # Recorded on a credit note whose original has no invoice here yet; ``{reference}`` is the
    # original's platform id.
    original_missing_message = "Credit note of {reference}, a source with no invoice here yet"

    # --- Events ---

    def source_ids_for_event(self, connector, event) -> list[str] | None:
        """The platform ids of the sources an event is about, read from the event alone (no
        HTTP), or None when that takes a fetch."""
        return None

    def superseded(self, event: InboundEvent, *, connection, connector, source_ids) -> bool:
        """Whether a later pending event will fetch the same sources (so this one need not)."""
        return False

    def prepare(self, *, connection) -> None:  # noqa: B027 (most families prepare nothing)
        """Before records are fetched from the platform (a CRM's won stages, chosen once)."""

    @abstractmethod
    def records_for_event(self, connector, event) -> list:
        """The canonical records an event tells of, fetched from the platform."""

    # --- Rows ---

    @abstractmethod
    def upsert(self, *, connection, record, received_at: datetime):
        """The record's row (organization loaded): inserted unless it is there already."""

    def invoiceable(self, row) -> bool:
        return all(getattr(row, name) == value for name, value in self.invoiceable_filter.items())

    @abstractmethod
    def record_from_row(self, row):
        """The canonical record a row stores (the version it invoices)."""

    def record_to_invoice(self, *, row, record):
        """The record to invoice once ``record`` was upserted: the row's version by default (an
        older record never replaces a newer row)."""
        return self.record_from_row(row)

    def original_reference(self, record) -> str | None:
        """The platform id of the source a credit note corrects; None for an invoice."""
        return None

    def stage_fields(self, *, invoice: Invoice, stage: str, at: datetime) -> dict:
        """The row's columns that mirror an invoice reaching ``stage``."""
        return {"signed_at": at} if stage == Invoice.Stage.SIGNED else {}

    # --- Pulls ---

    @abstractmethod
    def backfill_page(self, connector, *, start: datetime, end: datetime, cursor: str) -> Page:
        """One page of the sources in [start, end) from ``cursor`` on ("" starts)."""

    def sync_page(self, connector, *, cursor: str, start: datetime) -> Page:
        """One page of the changes since ``cursor`` ("" starts from ``start``); only for a family
        with ``incremental_sync``."""
        raise NotImplementedError(f"{type(self).__name__} has no incremental sync")


class ChangesAdapter(FamilyAdapter):
    """A family whose pulls are searches of changes since a time, oldest change first (CRM
    deals, ERP documents). Its stored cursor is the search's anchor and the platform's cursor
    from it; ``changes_page`` is the connector's call."""

    incremental_sync = True

    @abstractmethod
    def changes_page(self, connector, *, modified_after: datetime, after_cursor: str):
        """The connector's page, with ``modified_after``, ``after_cursor``, ``has_more`` and
        ``problems`` (DealsPage, DocumentsPage)."""

    @abstractmethod
    def page_records(self, page) -> list:
        """The records of the connector's page."""

    def record_modified_at(self, record) -> datetime:
        return record.modified_at

    def backfill_page(self, connector, *, start, end, cursor) -> Page:
        modified_after, after = changes_cursor_read(cursor, start=start)
        page = self.changes_page(connector, modified_after=modified_after, after_cursor=after)
        records = self.page_records(page)
        # Oldest change first: the first record past the window ends the run.
        in_window = [record for record in records if self.record_modified_at(record) < end]
        return Page(
            records=in_window,
            cursor=changes_cursor_text(page.modified_after, page.after_cursor),
            finished=(
                not page.has_more or len(in_window) < len(records) or page.modified_after >= end
            ),
            problems=page.problems,
        )

    def sync_page(self, connector, *, cursor, start) -> Page:
        modified_after, after = changes_cursor_read(cursor, start=start)
        page = self.changes_page(connector, modified_after=modified_after, after_cursor=after)
        return Page(
            records=self.page_records(page),
            cursor=changes_cursor_text(page.modified_after, page.after_cursor),
            finished=not page.has_more,
            problems=page.problems,
        )


def changes_cursor_read(text: str, *, start: datetime) -> tuple[datetime, str]:
    """(anchor, platform cursor) of a stored changes cursor; ``start`` when there is none."""
    if not text:
        return start, ""
    stored = json.loads(text)
    return datetime.fromisoformat(stored["modified_after"]), stored["after"]


def changes_cursor_text(modified_after: datetime, after: str) -> str:
    return json.dumps({"modified_after": modified_after.isoformat(), "after": after})


# --- Connections --------------------------------------------------------------------------------


def connection_test(*, connection) -> None:
    """One cheap authenticated call; records the outcome as the connection's health."""
    try:
        connector_for(connection).test_connection()
    except ConnectorError as error:
        connection_failing(connection=connection, error=error)
        raise
    connection_healthy(connection=connection)


# --- Events -------------------------------------------------------------------------------------


def event_process(*, family: str, event_id: int, claim_token: str = "") -> str:
    """Turn one stored webhook event into source rows and invoices. Returns the event's status.

    Raises RetryLater on a transient platform failure (the event stays pending).
    """
    try:
        event, connection, webhook_event = event_to_process(event_id=event_id, family=family)
    except EventNotReady as not_ready:
        return not_ready.status
    adapter = families.get(family).adapter
    try:
        connector = connector_for(connection)
    except ConnectorError as error:
        return event_failed_try(event, connection=connection, error=error)
    source_ids = adapter.source_ids_for_event(connector, webhook_event)
    if not adapter.locks_subjects:
        if _already_invoiced(adapter, connection, source_ids) or adapter.superseded(
            event, connection=connection, connector=connector, source_ids=source_ids
        ):
            # A repeat, a source moving on after its invoice, or a later event about it already
            # waiting (it reads the source as it is then): nothing to fetch now.
            event_finish(event, InboundEvent.Status.PROCESSED, connection=connection)
            return InboundEvent.Status.PROCESSED
        return _event_records_store(
            event,
            connection=connection,
            connector=connector,
            webhook_event=webhook_event,
            claim_token=claim_token,
        )
    held = False
    try:
        with subjects_lock(connection=connection, subject_ids=source_ids or ()) as held:
            if not held:
                # A till sends several events for one sale at once: the one holding the lock
                # does the work and then settles this one, found by its subject. An event
                # stored without one cannot be found, so it comes back by itself.
                if event.subject_id:
                    return InboundEvent.Status.PENDING
                raise RetryLater(
                    SIBLING_EVENT_WAIT_SECONDS, "another event of this sale is in hand"
                )
            # A repeat, or a sale another event of it invoiced: checked under the lock only,
            # the one check that is sure.
            if source_ids and _already_invoiced(adapter, connection, source_ids):
                event_finish(event, InboundEvent.Status.PROCESSED, connection=connection)
                return InboundEvent.Status.PROCESSED
            return _event_records_store(
                event,
                connection=connection,
                connector=connector,
                webhook_event=webhook_event,
                claim_token=claim_token,
            )
    finally:
        subject = connector.event_subject(webhook_event)
        if held and subject:
            _siblings_settle(event, connection=connection, subject_id=subject)


def _event_records_store(event, *, connection, connector, webhook_event, claim_token) -> str:
    adapter = families.get(connection.family).adapter
    try:
        adapter.prepare(connection=connection)
        records = adapter.records_for_event(connector, webhook_event)
    except ConnectorError as error:
        return event_failed_try(event, connection=connection, error=error)
    for record in records:
        _source_store(
            connection=connection,
            record=record,
            received_at=event.received_at,
            advance_with=claim_token,
        )
    status = InboundEvent.Status.PROCESSED if records else InboundEvent.Status.IGNORED
    event_finish(event, status, connection=connection)
    return status


def _already_invoiced(adapter: FamilyAdapter, connection, source_ids) -> bool:
    rows = adapter.source_model.objects.filter(connection=connection)
    return all_invoiced(rows, id_field=adapter.external_id_field, ids=source_ids)


@contextmanager
def subjects_lock(*, connection, subject_ids):
    """Yields whether this worker now holds every named subject of the connection (a
    PostgreSQL session advisory lock each, taken without waiting); let go on the way out."""
    keys = sorted(
        f"{connection.family}:{connection.pk}:{subject_id}" for subject_id in set(subject_ids)
    )
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


def _siblings_settle(event: InboundEvent, *, connection, subject_id: str) -> None:
    """The other pending events of the subject, left to this one while it held it: done once
    the subject is invoiced, else queued again to try for themselves. Runs after the lock is let
    go, so every event that found it held is already stored and pending here."""
    family = families.get(connection.family)
    adapter = family.adapter
    siblings = InboundEvent.objects.filter(
        family=family.name,
        connection_id=connection.pk,
        subject_id=subject_id,
        status=InboundEvent.Status.PENDING,
    ).exclude(pk=event.pk)
    invoiced = adapter.source_model.objects.filter(
        connection=connection, **{adapter.external_id_field: subject_id}, invoice__isnull=False
    )
    # The usual case in one statement: the subject is invoiced, its siblings are done.
    if siblings.filter(Exists(invoiced)).update(
        status=InboundEvent.Status.PROCESSED, processed_at=timezone.now()
    ):
        return
    waiting = list(siblings.values_list("pk", flat=True))
    for sibling_id in waiting:
        family.tasks.process_event.apply_async(kwargs={"event_id": sibling_id}, queue=family.queue)


# --- Source rows --------------------------------------------------------------------------------


def source_record(
    *, connection, record, received_at: datetime, advance_with: str = "", queue: str = ""
):
    """Store the record once (or its newer version) and, when invoiceable, give it its invoice.

    ``advance_with`` (a claim token) runs the invoice pipeline here and now, in the calling task,
    instead of queueing it: the live path saves a queue hop. ``queue`` sends the invoice's
    pipeline to that queue instead (back-fills: batch).
    """
    adapter = families.get(connection.family).adapter
    row = _source_store(
        connection=connection,
        record=record,
        received_at=received_at,
        advance_with=advance_with,
        queue=queue,
    )
    if row.invoice_id is None and adapter.invoiceable(row):
        # Invoiced just now: the row in hand predates its invoice's columns.
        row.refresh_from_db()
    return row


def _source_store(
    *, connection, record, received_at: datetime, advance_with: str = "", queue: str = ""
):
    """``source_record`` for a caller that needs no row back: the row as upserted, its
    invoice's columns not read again."""
    adapter = families.get(connection.family).adapter
    row = adapter.upsert(connection=connection, record=record, received_at=received_at)
    if row.invoice_id is None and adapter.invoiceable(row):
        source_invoice(
            row=row,
            record=adapter.record_to_invoice(row=row, record=record),
            advance_with=advance_with,
            queue=queue,
        )
    return row


def source_invoice(*, row, record, advance_with: str = "", queue: str = "") -> Invoice | None:
    """Create the row's invoice (once) from ``record`` and link it; a credit note references
    its original's invoice.

    Problems that stop the invoice (an unmappable record, a credit note of a source we never
    saw) are recorded on the row for an operator, never raised.
    """
    connection = row.connection
    adapter = families.get(connection.family).adapter
    model = adapter.source_model
    original = None
    reference = adapter.original_reference(record)
    if reference is not None:
        original = _original_invoice(adapter, connection=connection, reference=reference)
        if original is None:
            _source_failed(row, adapter.original_missing_message.format(reference=reference))
            return None
    invoice, created = invoice_services.invoice_create_for_source(
        organization=connection.organization,
        source_type=adapter.source_type,
        source_id=row.pk,
        source=record,
        original=original,
        platform=connection.platform,
        received_at=row.received_at,
        enqueue=not advance_with,
        queue=queue,
        claim_token=advance_with,
    )
    if invoice is None:
        return None
    failed = invoice.status == Invoice.Status.NEEDS_ATTENTION
    now = timezone.now()
    model.objects.filter(pk=row.pk, invoice__isnull=True).update(
        invoice=invoice,
        invoice_generated=True,
        invoiced_at=now,
        status=model.Status.FAILED if failed else model.Status.INVOICED,
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


def _original_invoice(adapter: FamilyAdapter, *, connection, reference: str) -> Invoice | None:
    original = (
        adapter.source_model.objects.filter(
            connection=connection,
            **{adapter.external_id_field: reference},
            **adapter.original_filter,
            invoice__isnull=False,
        )
        .select_related("invoice")
        .first()
    )
    return original.invoice if original else None


def _source_failed(row, message: str) -> None:
    model = type(row)
    model.objects.filter(pk=row.pk).update(
        status=model.Status.FAILED,
        processing_errors={"error_message": message, "at": timezone.now().isoformat()},
        updated_at=timezone.now(),
    )


def source_retry(*, row, actor) -> bool:
    """Invoice an invoiceable row that has no invoice yet (failed or stuck), or re-drive its
    invoice if that needs attention or waits for FIRS (``actor`` asked). True when something
    was queued."""
    family = families.get(row.connection.family)
    adapter = family.adapter
    if row.invoice_id:
        if row.invoice.status in invoice_services.RETRYABLE_STATUSES:
            return invoice_services.invoice_redrive(invoice=row.invoice, actor=actor)
        return False
    if not adapter.invoiceable(row):
        return False
    model = adapter.source_model
    with transaction.atomic():
        model.objects.filter(pk=row.pk, invoice__isnull=True).update(
            status=model.Status.PENDING, processing_errors=None, attempts=F("attempts") + 1
        )
        # The row keeps no history of its own; the audit trail and the log say who asked.
        logger.info("%s %s queued again by %s", adapter.rows_name, row.pk, actor)
        audit_record(
            action=Action.SOURCE_RETRIED,
            actor=actor,
            organization=row.connection.organization_id,
            target=row,
            changes={"status": [row.status, model.Status.PENDING]},
        )
    transaction.on_commit(
        lambda: family.tasks.invoice_source.apply_async(
            kwargs={adapter.source_id_kwarg: str(row.pk)}, queue=family.queue
        )
    )
    return True


def source_invoice_again(*, family: str, source_id, claim_token: str = "") -> str:
    """The task body behind ``source_retry`` and the sweeper: invoice the stored row from the
    record it keeps."""
    adapter = families.get(family).adapter
    row = (
        adapter.source_model.objects.select_related("connection__organization")
        .filter(pk=source_id)
        .first()
    )
    if row is None or row.invoice_id or not adapter.invoiceable(row):
        return "nothing to do"
    source_invoice(row=row, record=adapter.record_from_row(row), advance_with=claim_token)
    return "invoiced"


def invoice_stage_recorded(*, invoice: Invoice, stage: str, at: datetime) -> None:
    """Mirror an invoice's signing (and transmission) on its source row (signal receiver)."""
    try:
        adapter = families.get(invoice.source_type).adapter
    except KeyError:
        return
    fields = adapter.stage_fields(invoice=invoice, stage=stage, at=at)
    if fields:
        adapter.source_model.objects.filter(pk=invoice.source_id).update(**fields)


def invoices_waiting_setup_resume(*, organization) -> int:
    """Build the invoices of the organization's sources that waited for its FIRS set-up, now
    complete: originals before credit notes (a credit note names its original's IRN). Returns
    how many were resumed."""
    resumed = 0
    for name in FAMILIES:
        try:
            adapter = families.get(name).adapter
        except KeyError:  # a family no app registered
            continue
        model = adapter.source_model
        rows = list(
            model.objects.filter(
                connection__organization=organization,
                invoice__status=Invoice.Status.WAITING_SETUP,
            )
            .select_related("invoice__organization", "connection")
            .order_by("received_at", "pk")
        )
        records = [(row, adapter.record_from_row(row)) for row in rows]
        records.sort(key=lambda pair: adapter.original_reference(pair[1]) is not None)
        for row, record in records:
            reference = adapter.original_reference(record)
            original = (
                _original_invoice(adapter, connection=row.connection, reference=reference)
                if reference is not None
                else None
            )
            invoice = invoice_services.invoice_setup_resume(
                invoice=row.invoice, source=record, original=original
            )
            if invoice.status == Invoice.Status.NEEDS_ATTENTION:
                model.objects.filter(pk=row.pk).update(
                    status=model.Status.FAILED,
                    processing_errors={"problems": invoice.problems},
                    updated_at=timezone.now(),
                )
            resumed += 1
    return resumed


# --- Sweeper ------------------------------------------------------------------------------------


def sweep(*, family: str) -> dict:
    """Re-queue the family's work stuck in a pending state: events whose task was never
    published (a crash between commit and publish) and invoiceable rows that never got their
    invoice."""
    registered = families.get(family)
    adapter = registered.adapter
    cutoff = timezone.now() - timedelta(seconds=settings.INTEGRATIONS_SWEEP_AFTER_SECONDS)
    active = registered.connection_model.objects.filter(is_active=True).values("id")
    events = list(
        InboundEvent.objects.filter(
            family=family,
            status=InboundEvent.Status.PENDING,
            received_at__lt=cutoff,
            connection_id__in=active,
        ).values_list("id", flat=True)[:SWEEP_LIMIT]
    )
    for event_id in events:
        registered.tasks.process_event.apply_async(
            kwargs={"event_id": event_id}, queue=registered.queue
        )
    model = adapter.source_model
    stuck = list(
        model.objects.filter(
            **adapter.invoiceable_filter,
            status=model.Status.PENDING,
            invoice__isnull=True,
            received_at__lt=cutoff,
            connection__is_active=True,
        ).values_list("id", flat=True)[:SWEEP_LIMIT]
    )
    for source_id in stuck:
        registered.tasks.invoice_source.apply_async(
            kwargs={adapter.source_id_kwarg: str(source_id)}, queue=registered.queue
        )
    return {"events": len(events), adapter.rows_name: len(stuck)}


# --- Back-fill ----------------------------------------------------------------------------------


def backfill_start(*, connection, start: datetime, end: datetime) -> SyncRun:
    """A back-fill run of [start, end), queued on the family's batch queue after commit."""
    family = families.get(connection.family)
    if start >= end:
        raise ValueError("The back-fill's start must be before its end")
    run = sync_run_create(
        connection=connection, kind=SyncRun.Kind.BACKFILL, window_start=start, window_end=end
    )
    transaction.on_commit(
        lambda: family.tasks.backfill.apply_async(
            kwargs={"sync_run_id": str(run.pk)}, queue=family.batch_queue
        )
    )
    return run


def backfill_run(*, sync_run_id, page_budget: int | None = None) -> str:
    """Pull pages from the run's cursor on; each page's records are recorded before the cursor
    moves, so a crashed run resumes where it stopped and overlaps only with itself.

    ``page_budget`` pages at most per call (the task re-queues itself to let other batch work
    in); None runs to the end.
    """
    run = SyncRun.objects.get(pk=sync_run_id)
    if run.status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.FAILED):
        return run.status
    family = families.get(run.family)
    adapter = family.adapter
    connection = family.connection_model.objects.select_related("organization").get(
        pk=run.connection_id
    )
    SyncRun.objects.filter(pk=run.pk).update(
        status=SyncRun.Status.RUNNING, started_at=run.started_at or timezone.now()
    )
    cursor, pages = run.cursor, 0
    while page_budget is None or pages < page_budget:
        try:
            adapter.prepare(connection=connection)
            page = adapter.backfill_page(
                connector_for(connection), start=run.window_start, end=run.window_end, cursor=cursor
            )
        except ConnectorError as error:
            if error.permanent:
                sync_run_fail(run=run, error=error)
                return SyncRun.Status.FAILED
            raise RetryLater(retry_delay(1, error), str(error)) from error
        now = timezone.now()
        for record in page.records:
            # Live sales go first (a page is hundreds of rows; recording one again is a no-op).
            batch_wait_for_realtime()
            _source_store(
                connection=connection, record=record, received_at=now, queue=family.batch_queue
            )
        cursor = page.cursor
        pages += 1
        sync_run_page(run=run, rows=len(page.records), problems=page.problems, cursor=cursor)
        if page.finished:
            sync_run_succeed(run=run)
            family.connection_model.objects.filter(pk=connection.pk).update(
                last_sync_at=timezone.now()
            )
            return SyncRun.Status.SUCCEEDED
    return SyncRun.Status.RUNNING


# --- Incremental sync ---------------------------------------------------------------------------


def connections_sync_due(*, family: str) -> int:
    """Queue an incremental sync of every active connection whose schedule says it is due."""
    registered = families.get(family)
    incremental_runs_prune(family=family)
    every = ExpressionWrapper(
        F("sync_every_minutes") * timedelta(minutes=1), output_field=DurationField()
    )
    due = list(
        registered.connection_model.objects.filter(is_active=True, sync_every_minutes__gt=0)
        .annotate(next_sync_at=F("last_sync_at") + every)
        .filter(Q(last_sync_at__isnull=True) | Q(next_sync_at__lte=timezone.now() + SYNC_DUE_SLACK))
        .values_list("id", flat=True)
    )
    for connection_id in due:
        registered.tasks.sync_connection.apply_async(
            kwargs={"connection_id": str(connection_id)}, queue=registered.queue
        )
    return len(due)


def incremental_runs_prune(*, family: str) -> int:
    """Delete the family's incremental sync runs older than SYNC_RUNS_KEEP_DAYS: a connection
    makes one per sync, every few minutes. Back-fill runs are kept."""
    cutoff = timezone.now() - timedelta(days=settings.SYNC_RUNS_KEEP_DAYS)
    deleted, _ = SyncRun.objects.filter(
        family=family, kind=SyncRun.Kind.INCREMENTAL, created_at__lt=cutoff
    ).delete()
    return deleted


def connection_sync_start(*, connection) -> None:
    """Queue an incremental sync of the connection now, whatever its schedule."""
    family = families.get(connection.family)
    transaction.on_commit(
        lambda: family.tasks.sync_connection.apply_async(
            kwargs={"connection_id": str(connection.pk)}, queue=family.queue
        )
    )


def connection_sync(*, family: str, connection_id, page_budget: int | None = None) -> str:
    """Pull the changes since the connection's cursor and record them, page by page.

    Each page is recorded before the cursor moves, and the cursor moves only from the value this
    sync read (compare-and-set): a sync running alongside stops instead of going backwards. The
    first sync starts from when the connection was made; history is a back-fill's job. Every
    sync is an incremental sync run: its pages, rows, unmappable records and failure show there.
    """
    registered = families.get(family)
    adapter, model = registered.adapter, registered.connection_model
    connection = (
        model.objects.select_related("organization")
        .filter(pk=connection_id, is_active=True)
        .first()
    )
    if connection is None:
        return "inactive"
    cursor = connection.sync_cursor
    run = sync_run_create(
        connection=connection,
        kind=SyncRun.Kind.INCREMENTAL,
        status=SyncRun.Status.RUNNING,
        window_start=changes_cursor_read(cursor, start=connection.created_at)[0],
        cursor=cursor,
        started_at=timezone.now(),
    )
    pages = 0
    try:
        adapter.prepare(connection=connection)
        connector = connector_for(connection)
        while page_budget is None or pages < page_budget:
            page = adapter.sync_page(connector, cursor=cursor, start=connection.created_at)
            now = timezone.now()
            for record in page.records:
                _source_store(connection=connection, record=record, received_at=now)
            if not model.objects.filter(pk=connection.pk, sync_cursor=cursor).update(
                sync_cursor=page.cursor
            ):
                sync_run_page(
                    run=run,
                    rows=len(page.records),
                    problems=page.problems,
                    last_error="stopped: another sync moved the cursor first",
                    status=SyncRun.Status.SUCCEEDED,
                    finished_at=timezone.now(),
                )
                return "overtaken by another sync"
            cursor, pages = page.cursor, pages + 1
            sync_run_page(run=run, rows=len(page.records), problems=page.problems, cursor=cursor)
            if page.finished:
                break
    except ConnectorError as error:
        # The next sync starts again from the cursor this one left.
        sync_run_fail(run=run, error=error)
        if error.permanent:
            connection_failing(connection=connection, error=error)
        else:
            logger.warning("%s sync of %s deferred: %s", family, connection.pk, error)
        return "failed"
    sync_run_succeed(run=run)
    model.objects.filter(pk=connection.pk).update(last_sync_at=timezone.now())
    # The platform answered every page: a connection a failed sync marked failing is well again.
    connection_recovered(family=family, connection_id=connection.pk)
    return "synced"
