"""The one Celery app. Queues follow the source's priority:

- ``realtime``: POS sales, invoice work for POS (SLA 2 s);
- ``standard``: CRM deals, ERP documents and their invoices (SLA 30 s), scheduled syncs;
- ``batch``: back-fills, re-drives, rollups and maintenance.

Tasks name their queue with ``@app.task(queue=...)``; anything unnamed goes to ``standard``.
"""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taxpoynt.settings.development")

app = Celery("taxpoynt")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

QUEUES = ("realtime", "standard", "batch")


@task_prerun.connect
@task_postrun.connect
def database_connections_tidy(*, task=None, **kwargs):
    """Django's own rule for a worker's database connections: kept for CONN_MAX_AGE, dropped
    when broken. Celery's Django fix-up would close them after every task instead (settings'
    CELERY_DB_REUSE_MAX turns that off): a new PostgreSQL session per task."""
    if task is not None and getattr(task.request, "is_eager", False):
        return  # inside the caller's (a test's) transaction
    from django.db import close_old_connections

    close_old_connections()
