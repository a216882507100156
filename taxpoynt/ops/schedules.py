"""Periodic work, declared in code and installed into django-celery-beat by
``manage.py install_beat_schedule``. Each entry names its queue explicitly."""

from dataclasses import dataclass, field

from taxpoynt.celery import QUEUES


@dataclass(frozen=True)
class ScheduleEntry:
    name: str
    task: str
    every_seconds: int
    queue: str
    kwargs: dict = field(default_factory=dict)


SCHEDULE: tuple[ScheduleEntry, ...] = (
    *(
        ScheduleEntry(
            name=f"worker heartbeat: {queue}",
            task="taxpoynt.ops.tasks.worker_heartbeat",
            every_seconds=30,
            queue=queue,
        )
        for queue in QUEUES
    ),
    # On standard, not batch: a long back-fill on batch must not delay the rescue of a sale.
    ScheduleEntry(
        name="invoices: re-enqueue stuck invoices",
        task="invoices.sweep",
        every_seconds=15,
        queue="standard",
    ),
    ScheduleEntry(
        name="pos: re-enqueue stuck events and transactions",
        task="pos.sweep",
        every_seconds=15,
        queue="standard",
    ),
    ScheduleEntry(
        name="pos: create pos_transactions partitions ahead",
        task="pos.ensure_partitions",
        every_seconds=24 * 3600,
        queue="batch",
    ),
    ScheduleEntry(
        name="invoices: refresh FIRS code lists",
        task="invoices.refresh_code_lists",
        every_seconds=24 * 3600,
        queue="batch",
    ),
    ScheduleEntry(
        name="crm: re-enqueue stuck events and deals",
        task="crm.sweep",
        every_seconds=15,
        queue="standard",
    ),
    # Each connection's own schedule (sync_every_minutes) decides whether it is synced now.
    ScheduleEntry(
        name="crm: incremental sync of the connections that are due",
        task="crm.sync_due",
        every_seconds=60,
        queue="standard",
    ),
    # The fallback for lost webhooks: each connection's schedule decides; a due connection's
    # poll rides the realtime queue, since its sales are late already.
    ScheduleEntry(
        name="pos: poll the connections that are due for sales their webhooks missed",
        task="pos.sync_due",
        every_seconds=60,
        queue="standard",
    ),
    ScheduleEntry(
        name="erp: re-enqueue stuck events and documents",
        task="erp.sweep",
        every_seconds=15,
        queue="standard",
    ),
    # An ERP may send no webhooks: its changes are pulled on each connection's schedule.
    ScheduleEntry(
        name="erp: incremental sync of the connections that are due",
        task="erp.sync_due",
        every_seconds=60,
        queue="standard",
    ),
)
