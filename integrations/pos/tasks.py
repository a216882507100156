"""POS maintenance of its own; the ingest tasks are the shared ones (integrations.base.tasks)."""

from celery import shared_task
from django.conf import settings

from integrations.pos.models import TRANSACTIONS_PARTITION_COLUMN, TRANSACTIONS_TABLE
from taxpoynt.lib.partitions import monthly_partitions_ensure


@shared_task(name="pos.ensure_partitions", queue="batch")
def partitions_ensure_task():
    return monthly_partitions_ensure(
        table=TRANSACTIONS_TABLE,
        column=TRANSACTIONS_PARTITION_COLUMN,
        months_ahead=settings.PARTITION_MONTHS_AHEAD,
    )
