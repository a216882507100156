"""The POS fallback poll: a connection of a platform that can be polled is polled on its own
schedule through the one pipeline, page by page, and a sale recorded by its webhook and by the
poll is recorded once; a platform that cannot be polled is never asked."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.base import families, pipeline, registry
from integrations.base.canonical import SaleKind
from integrations.base.models import SyncRun
from integrations.base.tasks import family_tasks
from integrations.pos.models import POSTransaction
from tests.factories import POSConnectionFactory
from tests.integrations.pos.polled_connector import PolledPOSConnector, polled_sale

pytestmark = pytest.mark.django_db


@pytest.fixture
def polled_platform():
    registry.load(
        {
            **registry.CONNECTORS,
            "pollpos": "tests.integrations.pos.polled_connector.PolledPOSConnector",
        }
    )
    PolledPOSConnector.changes, PolledPOSConnector.calls = [], []
    yield PolledPOSConnector
    registry.load()


@pytest.fixture
def connection(polled_platform):
    made = POSConnectionFactory(pos_type="pollpos", sync_every_minutes=1)
    type(made).objects.filter(pk=made.pk).update(created_at=timezone.now() - timedelta(hours=1))
    made.refresh_from_db()
    return made


def test_the_pos_family_polls_and_its_beat_task_exists():
    assert families.get("pos").adapter.incremental_sync
    assert family_tasks("pos").sync_due.name == "pos.sync_due"
    assert family_tasks("pos").sync_connection.name == "pos.sync_connection"


def test_only_connections_with_a_schedule_are_due(connection, monkeypatch):
    square = POSConnectionFactory()  # sync_every_minutes 0: Square is never polled
    queued = []
    monkeypatch.setattr(
        family_tasks("pos").sync_connection,
        "apply_async",
        lambda *, kwargs, queue: queued.append((kwargs, queue)),
    )

    assert pipeline.connections_sync_due(family="pos") == 1
    assert queued == [({"connection_id": str(connection.pk)}, "realtime")]
    assert square.sync_every_minutes == 0


def test_a_poll_pages_to_the_end_and_the_next_starts_where_it_stopped(connection, polled_platform):
    now = timezone.now()
    polled_platform.changes = [
        (now - timedelta(minutes=50 - i), polled_sale(i, at=now - timedelta(minutes=50 - i)))
        for i in range(5)
    ]

    assert pipeline.connection_sync(family="pos", connection_id=connection.pk) == "synced"

    rows = POSTransaction.objects.filter(connection=connection)
    assert sorted(rows.values_list("external_transaction_id", flat=True)) == [
        f"POLLED-{i}" for i in range(5)
    ]
    assert [cursor for _, cursor in polled_platform.calls] == ["", "2", "4"]
    assert polled_platform.calls[0][0] == connection.created_at
    run = SyncRun.objects.get(connection_id=connection.pk)
    assert (run.kind, run.status, run.pages, run.rows) == ("incremental", "succeeded", 3, 5)

    # The next poll starts at the last change seen: the overlap records nothing twice.
    polled_platform.calls = []
    assert pipeline.connection_sync(family="pos", connection_id=connection.pk) == "synced"
    assert polled_platform.calls[0] == (polled_platform.changes[-1][0], "")
    assert rows.count() == 5


def test_a_sale_its_webhook_recorded_is_not_recorded_again_by_the_poll(connection, polled_platform):
    at = timezone.now() - timedelta(minutes=10)
    sale = polled_sale(7, at=at)
    pipeline.source_record(connection=connection, record=sale, received_at=timezone.now())
    polled_platform.changes = [(at, sale)]

    pipeline.connection_sync(family="pos", connection_id=connection.pk)

    (row,) = POSTransaction.objects.filter(connection=connection)
    assert (row.external_transaction_id, row.kind) == ("POLLED-7", SaleKind.SALE)


def test_a_platform_that_cannot_be_polled_is_never_asked():
    square = POSConnectionFactory(sync_every_minutes=1)

    assert pipeline.connection_sync(family="pos", connection_id=square.pk) == "synced"
    assert not POSTransaction.objects.filter(connection=square).exists()
