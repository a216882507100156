"""The queues worked in the test's own process, for acceptance tests whose scenario is the
platform's mapping and deliveries rather than the queues (those run real Celery workers)."""

import uuid

from integrations.base import pipeline
from integrations.base.tasks import family_tasks
from invoices import services as invoice_services
from invoices.tasks import invoice_advance


def tasks_captured(monkeypatch, *, family: str, also=()) -> list[tuple[str, dict]]:
    """Every task of the family's pipeline, the invoice's and ``also`` handed to a queue, by
    name and keyword arguments, in order (nothing reaches the broker)."""
    sent = []
    tasks = family_tasks(family)
    for task in (tasks.process_event, tasks.invoice_source, invoice_advance, *also):
        monkeypatch.setattr(
            task,
            "apply_async",
            lambda *, kwargs, queue, countdown=None, task=task: sent.append((task.name, kwargs)),
        )
    return sent


def tasks_worked(published: list, *, family: str, also=None) -> None:
    """Work the captured tasks as the workers would, until none is left. ``also`` maps the
    name of another captured task to what works it (None: the test runs that work itself)."""
    tasks = family_tasks(family)
    also = also or {}
    while published:
        name, kwargs = published.pop(0)
        token = uuid.uuid4().hex
        if name == tasks.process_event.name:
            pipeline.event_process(family=family, event_id=kwargs["event_id"], claim_token=token)
        elif name == invoice_advance.name:
            invoice_services.invoice_advance(invoice_id=kwargs["invoice_id"], claim_token=token)
        elif name == tasks.invoice_source.name:
            (source_id,) = kwargs.values()
            pipeline.source_invoice_again(family=family, source_id=source_id)
        elif also[name] is not None:
            also[name](**kwargs)
