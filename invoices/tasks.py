from celery import shared_task

from invoices import services
from taxpoynt.lib.priority import batch_wait_for_realtime


@shared_task(bind=True, name="invoices.advance")
def invoice_advance(self, *, invoice_id: int):
    if (self.request.delivery_info or {}).get("routing_key") == "batch":
        # A back-filled invoice waits while live sales are being signed late.
        batch_wait_for_realtime()
    # The task id is the claim token: a redelivery of this same message may resume at once.
    return services.invoice_advance(invoice_id=invoice_id, claim_token=self.request.id or "")


@shared_task(name="invoices.sweep", queue="standard")
def invoices_sweep():
    return services.invoices_sweep()


@shared_task(name="invoices.refresh_code_lists", queue="batch")
def code_lists_refresh():
    return services.code_lists_refresh()


@shared_task(name="invoices.retry_all", queue="batch")
def invoices_retry_all_task(*, organization_id: int, actor_id: int):
    return services.invoices_redrive_retryable(organization_id=organization_id, actor_id=actor_id)


@shared_task(name="invoices.redrive_waiting_on_firs", queue="batch")
def invoices_redrive_waiting_on_firs_task(*, host: str):
    return services.invoices_redrive_waiting_on_firs(host=host)
