"""The one Celery app. Queues follow the source's priority (design §1):

- ``realtime``: POS sales, invoice work for POS (SLA 2 s);
- ``standard``: CRM deals, ERP documents and their invoices (SLA 30 s), scheduled syncs;
- ``batch``: back-fills, re-drives, rollups and maintenance.

Tasks name their queue with ``@app.task(queue=...)``; anything unnamed goes to ``standard``.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taxpoynt.settings.development")

app = Celery("taxpoynt")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

QUEUES = ("realtime", "standard", "batch")
