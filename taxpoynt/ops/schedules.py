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


SCHEDULE: tuple[ScheduleEntry, ...] = tuple(
    ScheduleEntry(
        name=f"worker heartbeat: {queue}",
        task="taxpoynt.ops.tasks.worker_heartbeat",
        every_seconds=30,
        queue=queue,
    )
    for queue in QUEUES
)
