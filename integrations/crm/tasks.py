"""CRM tasks: thin wrappers over integrations.crm.services (ids as keyword arguments)."""

from celery import shared_task

from integrations.base.events import RetryLater
from integrations.crm import services


@shared_task(bind=True, name="crm.process_event", max_retries=None)
def event_process_task(self, *, event_id: int):
    # The task id doubles as the invoice claim token: a redelivery may resume at once.
    try:
        return services.event_process(event_id=event_id, claim_token=self.request.id or "")
    except RetryLater as later:
        raise self.retry(countdown=later.delay, queue="standard") from later


@shared_task(bind=True, name="crm.invoice_deal")
def deal_invoice_task(self, *, deal_id: str):
    return services.deal_invoice_again(deal_id=deal_id, claim_token=self.request.id or "")


@shared_task(name="crm.sync_due", queue="standard")
def sync_due_task():
    return services.connections_sync_due()


@shared_task(name="crm.sync_connection", queue="standard")
def connection_sync_task(*, connection_id: str):
    # A bounded number of pages per run; the cursor keeps the rest for the next minute.
    return services.connection_sync(connection_id=connection_id, page_budget=20)


@shared_task(bind=True, name="crm.backfill", max_retries=None)
def backfill_task(self, *, sync_run_id: str):
    # A bounded number of pages per run, then back on the queue: other batch work gets turns.
    try:
        status = services.backfill_run(sync_run_id=sync_run_id, page_budget=20)
    except RetryLater as later:
        raise self.retry(countdown=later.delay, queue="batch") from later
    if status == "running":
        backfill_task.apply_async(kwargs={"sync_run_id": sync_run_id}, queue="batch")
    return status


@shared_task(name="crm.sweep", queue="standard")
def crm_sweep_task():
    return services.crm_sweep()
