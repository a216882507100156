import json
import logging
from datetime import timedelta

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from taxpoynt.lib.crypto import multi_fernet, newest_fernet
from taxpoynt.lib.fields import EncryptedTextField
from taxpoynt.ops.models import WorkerHeartbeat
from taxpoynt.ops.schedules import SCHEDULE

logger = logging.getLogger(__name__)

SCHEDULE_PREFIX = "taxpoynt: "


def heartbeat_record(*, queue: str, hostname: str) -> None:
    if not queue:
        return
    WorkerHeartbeat.objects.update_or_create(
        queue=queue, hostname=hostname, defaults={"seen_at": timezone.now()}
    )


def beat_schedule_install() -> dict:
    """Make django-celery-beat's tables match ``SCHEDULE``; safe to run on every start."""
    names = set()
    created = updated = 0
    for entry in SCHEDULE:
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=entry.every_seconds, period=IntervalSchedule.SECONDS
        )
        name = SCHEDULE_PREFIX + entry.name
        names.add(name)
        task, was_created = PeriodicTask.objects.update_or_create(
            name=name,
            defaults={
                "task": entry.task,
                "interval": interval,
                "crontab": None,
                "queue": entry.queue,
                "routing_key": entry.queue,
                "kwargs": json.dumps(entry.kwargs, sort_keys=True),
                "enabled": True,
            },
        )
        if was_created:
            # Beat first runs an entry one interval after it appears: a daily one (FIRS's code
            # lists, partitions ahead) would wait a day on a new deployment. Due at once instead.
            task.last_run_at = timezone.now() - timedelta(seconds=entry.every_seconds)
            task.save(update_fields=["last_run_at"])
        created += was_created
        updated += not was_created
    removed, _ = (
        PeriodicTask.objects.filter(name__startswith=SCHEDULE_PREFIX)
        .exclude(name__in=names)
        .delete()
    )
    return {"created": created, "updated": updated, "removed": removed}


def encrypted_columns() -> list[tuple[str, str, str]]:
    """(table, primary key column, column) for every encrypted field of every installed model."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                found.append((model._meta.db_table, model._meta.pk.column, field.column))
    return found


def encryption_keys_rotate(*, batch_size: int = 500, progress=None) -> dict:
    """Re-encrypt every stored secret under the newest key.

    Works in primary-key order, one transaction per batch, skipping tokens the newest key already
    reads; so a crash loses at most the open batch's work and a re-run picks up where it stopped.
    A token no configured key can read is left untouched and counted.
    """
    fernet, newest = multi_fernet(), newest_fernet()
    totals = {"rotated": 0, "already_current": 0, "unreadable": 0}
    for table, pk, column in encrypted_columns():
        select_sql, update_sql = _rotation_sql(table, pk, column)
        last_pk = None
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(select_sql, [last_pk, last_pk, batch_size])
                rows = cursor.fetchall()
                for row_pk, token in rows:
                    outcome, new_token = _rotated(token, fernet, newest)
                    totals[outcome] += 1
                    if new_token:
                        cursor.execute(update_sql, [new_token, row_pk])
            if not rows:
                break
            last_pk = rows[-1][0]
            if progress:
                progress(table, column, last_pk, totals)
    return totals


def _rotation_sql(table: str, pk: str, column: str) -> tuple[str, str]:
    # Identifiers come from model metadata, never from input; values are parameters.
    table, pk, column = (connection.ops.quote_name(name) for name in (table, pk, column))
    select_sql = (
        f"SELECT {pk}, {column} FROM {table} "  # noqa: S608
        f"WHERE {column} IS NOT NULL AND {column} <> '' AND (%s::bigint IS NULL OR {pk} > %s) "
        f"ORDER BY {pk} LIMIT %s FOR UPDATE"
    )
    update_sql = f"UPDATE {table} SET {column} = %s WHERE {pk} = %s"  # noqa: S608
    return select_sql, update_sql


def _rotated(token: str, fernet, newest) -> tuple[str, str | None]:
    raw = token.encode("ascii")
    try:
        newest.decrypt(raw)
        return "already_current", None
    except InvalidToken:
        pass
    try:
        return "rotated", fernet.rotate(raw).decode("ascii")
    except InvalidToken:
        logger.warning("A secret in a stored row cannot be decrypted by any configured key")
        return "unreadable", None
