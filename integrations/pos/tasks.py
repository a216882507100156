"""POS tasks: thin wrappers over integrations.pos.services (ids as keyword arguments)."""

from celery import shared_task
from django.conf import settings

from integrations.base.events import RetryLater
from integrations.pos import services
from integrations.pos.models import TRANSACTIONS_PARTITION_COLUMN, TRANSACTIONS_TABLE
from taxpoynt.lib.partitions import monthly_partitions_ensure


@shared_task(bind=True, name="pos.process_event", max_retries=None)
def event_process_task(self, *, event_id: int):
    # The task id doubles as the invoice claim token: a redelivery may resume at once.
    try:
        return services.event_process(event_id=event_id, claim_token=self.request.id or "")
    except RetryLater as later:
        raise self.retry(countdown=later.delay, queue="realtime") from later


@shared_task(bind=True, name="pos.invoice_transaction")
def transaction_invoice_task(self, *, transaction_id: str):
    return services.transaction_invoice_again(
        transaction_id=transaction_id, claim_token=self.request.id or ""
    )


@shared_task(bind=True, name="pos.backfill", max_retries=None)
def backfill_task(self, *, sync_run_id: str):
    # A bounded number of pages per run, then back on the queue: other batch work gets turns.
    try:
        status = services.backfill_run(sync_run_id=sync_run_id, page_budget=20)
    except RetryLater as later:
        raise self.retry(countdown=later.delay, queue="batch") from later
    if status == "running":
        backfill_task.apply_async(kwargs={"sync_run_id": sync_run_id}, queue="batch")
    return status


@shared_task(name="pos.sweep", queue="standard")
def pos_sweep_task():
    return services.pos_sweep()


@shared_task(name="pos.ensure_partitions", queue="batch")
def partitions_ensure_task():
    return monthly_partitions_ensure(
        table=TRANSACTIONS_TABLE,
        column=TRANSACTIONS_PARTITION_COLUMN,
        months_ahead=settings.PARTITION_MONTHS_AHEAD,
    )
