from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from taxpoynt.celery import QUEUES
from taxpoynt.celery import app as celery_app
from taxpoynt.ops.models import WorkerHeartbeat


def health_report() -> dict:
    """Each dependency's state; ``ok`` only when all of them are."""
    checks = {"database": _database_check(), "broker": _broker_check()}
    checks.update(_queue_checks())
    return {"ok": all(check["ok"] for check in checks.values()), "checks": checks}


def _database_check() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:  # any failure means unhealthy; the reason is for the operator
        return {"ok": False, "error": type(exc).__name__}


def _broker_check() -> dict:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def _queue_checks() -> dict:
    try:
        since = timezone.now() - timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_AGE)
        seen = dict(
            WorkerHeartbeat.objects.filter(seen_at__gte=since)
            .order_by("queue", "-seen_at")
            .distinct("queue")
            .values_list("queue", "seen_at")
        )
    except Exception as exc:
        return {f"queue:{queue}": {"ok": False, "error": type(exc).__name__} for queue in QUEUES}
    return {
        f"queue:{queue}": (
            {"ok": True, "last_seen": seen[queue].isoformat()}
            if queue in seen
            else {"ok": False, "error": "no worker seen recently"}
        )
        for queue in QUEUES
    }
