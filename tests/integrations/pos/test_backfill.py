"""Back-fill: historical orders pulled page by page on the batch queue, with progress on a sync
run; overlapping with live traffic or with itself never makes a second invoice."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.base import pipeline
from integrations.base.models import InboundEvent, SyncRun
from integrations.pos.models import POSTransaction
from integrations.pos.square.connector import SquareConnector
from invoices import services as invoice_services
from invoices.models import Invoice
from sandboxes.square.traffic import orders_backfill
from tests.integrations.pos.support import merchant_of, order_event, square_connection

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def connection(live_server, monkeypatch):
    monkeypatch.setattr(SquareConnector, "search_page_limit", 25)
    return square_connection(site_url=live_server.url)


@pytest.fixture
def enqueued(monkeypatch):
    queues = []
    monkeypatch.setattr(
        invoice_services,
        "invoice_enqueue",
        lambda *, invoice, countdown=None: queues.append(invoice.queue),
    )
    return queues


def test_a_backfill_pulls_every_completed_order_once_with_progress(connection, enqueued):
    now = timezone.now()
    orders_backfill(
        merchant=merchant_of(connection),
        count=110,
        start=now - timedelta(days=80),
        end=now - timedelta(days=1),
        seed=3,
    )
    run = pipeline.backfill_start(connection=connection, start=now - timedelta(days=90), end=now)

    assert pipeline.backfill_run(sync_run_id=run.pk, page_budget=2) == "running"
    run.refresh_from_db()
    assert (run.pages, run.rows, run.status) == (2, 50, "running") and run.cursor

    assert pipeline.backfill_run(sync_run_id=run.pk) == "succeeded"
    run.refresh_from_db()
    assert (run.pages, run.rows, run.errors, run.status) == (5, 110, 0, "succeeded")
    assert POSTransaction.objects.count() == 110
    assert Invoice.objects.count() == 110
    # The invoices' whole pipeline stays on the batch queue, off the realtime path.
    assert set(enqueued) == {"batch"} and len(enqueued) == 110


def test_a_backfill_lets_live_sales_go_first_before_each_row(connection, enqueued, monkeypatch):
    now = timezone.now()
    orders_backfill(
        merchant=merchant_of(connection),
        count=60,
        start=now - timedelta(days=10),
        end=now - timedelta(days=1),
        seed=4,
    )
    run = pipeline.backfill_start(connection=connection, start=now - timedelta(days=11), end=now)
    rows_before_each_wait = []
    monkeypatch.setattr(
        pipeline,
        "batch_wait_for_realtime",
        lambda: rows_before_each_wait.append(POSTransaction.objects.count()) or 0.0,
    )

    assert pipeline.backfill_run(sync_run_id=run.pk) == "succeeded"
    assert rows_before_each_wait == list(range(60))
    assert Invoice.objects.count() == 60


def test_backfill_and_live_webhooks_overlapping_give_one_invoice_per_sale(connection, enqueued):
    now = timezone.now()
    orders_backfill(
        merchant=merchant_of(connection),
        count=30,
        start=now - timedelta(days=3),
        end=now - timedelta(hours=1),
        seed=5,
    )
    # A live event for one of those orders is processed first.
    order = merchant_of(connection).orders.order_by("closed_at").first().data
    envelope = order_event(connection, order)
    event = InboundEvent.objects.create(
        family="pos",
        platform="square",
        connection_id=connection.pk,
        event_id=envelope["event_id"],
        event_type=envelope["type"],
        object_id=order["id"],
        payload=envelope,
        received_at=now,
    )
    pipeline.event_process(family="pos", event_id=event.pk)

    for _ in range(2):
        run = pipeline.backfill_start(connection=connection, start=now - timedelta(days=4), end=now)
        pipeline.backfill_run(sync_run_id=run.pk)

    assert POSTransaction.objects.count() == 30
    assert Invoice.objects.count() == 30
    assert SyncRun.objects.filter(status="succeeded").count() == 2


def test_a_backfill_window_must_be_ordered(connection):
    now = timezone.now()
    with pytest.raises(ValueError, match="before its end"):
        pipeline.backfill_start(connection=connection, start=now, end=now)
