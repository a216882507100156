"""ERP tasks of the family's own; the ingest tasks are the shared ones (integrations.base.tasks)."""

from celery import shared_task

from integrations.base.errors import ConnectorError
from integrations.erp import services

# A write-back waits at most this long between tries, and gives up after this many.
WRITE_BACK_MAX_DELAY_SECONDS = 600
WRITE_BACK_MAX_RETRIES = 30


@shared_task(bind=True, name="erp.irn_write_back", max_retries=WRITE_BACK_MAX_RETRIES)
def irn_write_back_task(self, *, document_id: str):
    try:
        return services.document_irn_write_back(document_id=document_id)
    except ConnectorError as error:
        delay = min(WRITE_BACK_MAX_DELAY_SECONDS, 2 ** (self.request.retries + 1))
        raise self.retry(countdown=delay, queue="standard", exc=error) from error


@shared_task(bind=True, name="erp.payment_report", max_retries=WRITE_BACK_MAX_RETRIES)
def payment_report_task(self, *, document_id: str):
    try:
        return services.document_payment_report(document_id=document_id)
    except (ConnectorError, services.PaymentNotYetReportable) as error:
        delay = min(WRITE_BACK_MAX_DELAY_SECONDS, 2 ** (self.request.retries + 1))
        raise self.retry(countdown=delay, queue="standard", exc=error) from error
