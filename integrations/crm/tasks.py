"""The CRM family's own task besides the shared pipeline's (``integrations.base.tasks``)."""

from celery import shared_task

from integrations.base.errors import ConnectorError
from integrations.crm import services

# A platform that is down is asked again for about a day.
NOTE_RETRIES = 48
NOTE_RETRY_SECONDS = 1800


@shared_task(bind=True, name="crm.deal_irn_note", max_retries=NOTE_RETRIES, queue="standard")
def deal_irn_note(self, *, deal_id: str):
    try:
        return services.deal_irn_note(deal_id=deal_id)
    except ConnectorError as error:
        if error.permanent:
            return f"not noted: {error}"
        delay = getattr(error, "retry_after", None) or NOTE_RETRY_SECONDS
        raise self.retry(countdown=delay) from error
