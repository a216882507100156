"""The pipeline's tasks are made per family under the names queued messages and the beat
schedule carry, and queue where the family says."""

import pytest

from integrations.base import families
from integrations.base.tasks import family_tasks
from taxpoynt.celery import app as celery_app
from taxpoynt.ops.schedules import SCHEDULE

# Names in messages already on a queue before the pipeline was shared: they must still run.
QUEUED_NAMES = {
    "pos": ["pos.process_event", "pos.invoice_transaction", "pos.backfill", "pos.sweep"],
    "crm": [
        "crm.process_event",
        "crm.invoice_deal",
        "crm.backfill",
        "crm.sweep",
        "crm.sync_due",
        "crm.sync_connection",
    ],
}


@pytest.mark.parametrize("family", sorted(QUEUED_NAMES))
def test_the_task_names_queued_before_are_still_registered(family):
    for name in QUEUED_NAMES[family]:
        assert name in celery_app.tasks, name


def test_every_scheduled_task_is_registered():
    # As a worker starting does: import every app's tasks module.
    celery_app.loader.import_default_modules()
    assert {entry.task for entry in SCHEDULE} <= set(celery_app.tasks)


@pytest.mark.parametrize("name", ["pos", "crm", "erp"])
def test_a_familys_tasks_are_its_own(name):
    tasks, adapter = family_tasks(name), families.get(name).adapter

    assert tasks.process_event.name == f"{name}.process_event"
    assert tasks.invoice_source.name == f"{name}.{adapter.invoice_task_name}"
    # Only a family that pulls changes on a schedule has the sync tasks.
    assert (tasks.sync_due is not None) == adapter.incremental_sync
    assert families.get(name).tasks is tasks
