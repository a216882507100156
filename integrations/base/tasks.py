"""The ingest pipeline's Celery tasks, made once per registered family and named after it
(``pos.process_event``, ``crm.invoice_deal``): the names that beat schedules and messages already
on a queue carry. Thin wrappers over ``integrations.base.pipeline``, ids as keyword arguments."""

from collections.abc import Callable
from dataclasses import dataclass

from celery import shared_task

from integrations.base import families, pipeline
from integrations.base.events import RetryLater

# Pages a back-fill or sync pulls per task run: then back on the queue, so other work gets turns.
PAGES_PER_RUN = 20


@dataclass(frozen=True)
class FamilyTasks:
    process_event: Callable
    invoice_source: Callable
    backfill: Callable
    sweep: Callable
    # Only for a family whose adapter pulls changes on a schedule.
    sync_due: Callable | None = None
    sync_connection: Callable | None = None


_tasks: dict[str, FamilyTasks] = {}


def family_tasks(name: str) -> FamilyTasks:
    return _tasks[name]


def family_tasks_make(family: families.Family) -> FamilyTasks:
    """The family's tasks, registered with Celery once (a second registration keeps them)."""
    if family.name in _tasks:
        return _tasks[family.name]
    name, adapter = family.name, family.adapter

    @shared_task(bind=True, name=f"{name}.process_event", max_retries=None)
    def process_event(self, *, event_id: int):
        # The task id doubles as the invoice claim token: a redelivery may resume at once.
        try:
            return pipeline.event_process(
                family=name, event_id=event_id, claim_token=self.request.id or ""
            )
        except RetryLater as later:
            raise self.retry(countdown=later.delay, queue=family.queue) from later

    # Keyword named as the family names its rows (transaction_id, deal_id): messages queued
    # before the pipeline was shared carry it.
    @shared_task(bind=True, name=f"{name}.{adapter.invoice_task_name}")
    def invoice_source(self, **source_id):
        return pipeline.source_invoice_again(
            family=name,
            source_id=source_id[adapter.source_id_kwarg],
            claim_token=self.request.id or "",
        )

    @shared_task(bind=True, name=f"{name}.backfill", max_retries=None)
    def backfill(self, *, sync_run_id: str):
        try:
            status = pipeline.backfill_run(sync_run_id=sync_run_id, page_budget=PAGES_PER_RUN)
        except RetryLater as later:
            raise self.retry(countdown=later.delay, queue=family.batch_queue) from later
        if status == "running":
            backfill.apply_async(kwargs={"sync_run_id": sync_run_id}, queue=family.batch_queue)
        return status

    @shared_task(name=f"{name}.sweep", queue=family.maintenance_queue)
    def sweep():
        return pipeline.sweep(family=name)

    sync_due = sync_connection = None
    if adapter.incremental_sync:

        @shared_task(name=f"{name}.sync_due", queue=family.maintenance_queue)
        def sync_due():
            return pipeline.connections_sync_due(family=name)

        @shared_task(name=f"{name}.sync_connection", queue=family.queue)
        def sync_connection(*, connection_id: str):
            # The cursor keeps what this run leaves for the next one.
            return pipeline.connection_sync(
                family=name, connection_id=connection_id, page_budget=PAGES_PER_RUN
            )

    _tasks[name] = FamilyTasks(
        process_event=process_event,
        invoice_source=invoice_source,
        backfill=backfill,
        sweep=sweep,
        sync_due=sync_due,
        sync_connection=sync_connection,
    )
    return _tasks[name]
