"""Stored events become transactions and signed invoices: the task bodies, run in-process
against the Square and FIRS sandboxes over real HTTP (live_server)."""

import uuid
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
from django.core.cache import cache
from django.db import connection as db
from django.utils import timezone

from integrations.base import pipeline
from integrations.base.canonical import Line, Sale, SaleKind
from integrations.base.errors import TransientConnectorError
from integrations.base.events import RetryLater
from integrations.base.models import InboundEvent
from integrations.base.tasks import family_tasks
from integrations.pos.models import POSTransaction
from integrations.pos.pipeline import POSAdapter
from integrations.pos.square.client import SquareClient
from integrations.pos.tasks import partitions_ensure_task
from invoices.firs.client import SharedCircuitBreaker
from invoices.models import Invoice
from sandboxes.firs.server import FAULTS_CACHE_KEY
from taxpoynt.lib.partitions import monthly_partitions_ensure
from tests.integrations.pos.support import completed_order, order_event, square_connection

event_process_task = family_tasks("pos").process_event
transaction_invoice_task = family_tasks("pos").invoice_source

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def connection(live_server):
    cache.delete(FAULTS_CACHE_KEY)
    SharedCircuitBreaker(name=live_server.url.split("//")[1]).reset()
    return square_connection(site_url=live_server.url)


@pytest.fixture
def published(monkeypatch):
    sent = []
    for task in (event_process_task, transaction_invoice_task):
        monkeypatch.setattr(
            task,
            "apply_async",
            lambda *, kwargs, queue, task=task: sent.append((task.name, kwargs)),
        )
    return sent


def _stored(connection, envelope) -> InboundEvent:
    return InboundEvent.objects.create(
        family="pos",
        platform="square",
        connection_id=connection.pk,
        event_id=envelope["event_id"],
        event_type=envelope["type"],
        object_id=envelope["data"]["id"],
        payload=envelope,
        received_at=timezone.now(),
    )


def _process(event, token="task-1"):
    status = pipeline.event_process(family="pos", event_id=event.pk, claim_token=token)
    event.refresh_from_db()
    return status


def test_a_completed_order_becomes_a_signed_invoice(connection):
    order = completed_order(connection, amounts=(250000, 120000))
    event = _stored(connection, order_event(connection, order))

    assert _process(event) == "processed"

    row = POSTransaction.objects.get()
    invoice = row.invoice
    assert row.external_transaction_id == order["id"]
    assert row.status == POSTransaction.Status.INVOICED
    assert row.transaction_amount == Decimal("3700.00")
    assert invoice.payable_amount == Decimal("3700.00")
    assert invoice.status == Invoice.Status.CONFIRMED
    assert invoice.source_platform == "square"
    assert row.received_at == event.received_at == invoice.source_received_at
    assert row.received_at <= row.invoiced_at <= row.signed_at
    assert row.signed_at == invoice.signed_at
    assert row.invoice_generated and row.invoice_transmitted


def test_every_event_about_one_sale_gives_one_transaction_and_one_invoice(connection):
    order = completed_order(connection)
    payment = {
        "id": "PAY-1",
        "order_id": order["id"],
        "status": "COMPLETED",
        "amount_money": order["total_money"],
        "source_type": "CARD",
    }
    envelopes = [
        order_event(connection, order),
        order_event(connection, order, event_type="order.created"),
        {
            "merchant_id": connection.account_id,
            "type": "payment.updated",
            "event_id": str(uuid.uuid4()),
            "created_at": order["updated_at"],
            "data": {"type": "payment", "id": "PAY-1", "object": {"payment": payment}},
        },
    ]
    for number, envelope in enumerate(envelopes):
        _process(_stored(connection, envelope), token=f"task-{number}")

    assert POSTransaction.objects.count() == 1
    assert Invoice.objects.count() == 1
    # Processing a processed event again does nothing.
    assert _process(InboundEvent.objects.first()) == "processed"
    assert Invoice.objects.count() == 1


def test_an_event_of_a_sale_in_hand_elsewhere_waits_without_asking_the_platform(
    connection, monkeypatch
):
    order = completed_order(connection)
    first = _stored(connection, order_event(connection, order))
    second = _stored(connection, order_event(connection, order, event_type="order.created"))
    fetched = []
    original = SquareClient.order
    monkeypatch.setattr(
        SquareClient,
        "order",
        lambda self, order_id: fetched.append(order_id) or original(self, order_id),
    )
    with _sale_held_elsewhere(connection, order["id"]):
        with pytest.raises(RetryLater) as waiting:
            _process(second, token="task-2")
        assert waiting.value.delay == pipeline.SIBLING_EVENT_WAIT_SECONDS
        assert fetched == [] and second.status == "pending"
        # Its holder finishes while this one waits: the lock goes with its session.
    assert _process(first, token="task-1") == "processed"
    assert _process(second, token="task-2") == "processed"

    assert fetched == [order["id"]]
    assert POSTransaction.objects.count() == Invoice.objects.count() == 1


def _stored_with_subject(connection, envelope, *, sale_id) -> InboundEvent:
    """An event stored as the webhook intake stores it now: with the sale it is about."""
    event = _stored(connection, envelope)
    InboundEvent.objects.filter(pk=event.pk).update(subject_id=sale_id)
    event.refresh_from_db()
    return event


@contextmanager
def _sale_held_elsewhere(connection, sale_id):
    """Another worker (its own database session) is working on this sale: it holds its lock."""
    with psycopg.connect(**_session_params(), autocommit=True) as other:
        other.execute(
            "SELECT pg_advisory_lock(hashtextextended(%s, 0))",
            [f"pos:{connection.pk}:{sale_id}"],
        )
        yield


@pytest.fixture
def left_to_the_holder(connection):
    """Two stored events of one sale: the second found the sale held elsewhere and left itself
    to the first, which has not run yet."""
    order = completed_order(connection)
    first = _stored_with_subject(connection, order_event(connection, order), sale_id=order["id"])
    second = _stored_with_subject(
        connection, order_event(connection, order, event_type="order.created"), sale_id=order["id"]
    )
    with _sale_held_elsewhere(connection, order["id"]):
        assert _process(second, token="task-2") == "pending"
    assert second.status == "pending"
    return first, second


def test_an_event_of_a_sale_in_hand_is_settled_by_the_holder_without_coming_back(
    left_to_the_holder, published
):
    first, second = left_to_the_holder

    assert _process(first, token="task-1") == "processed"

    second.refresh_from_db()
    assert second.status == "processed" and second.processed_at is not None
    assert published == []
    assert POSTransaction.objects.count() == Invoice.objects.count() == 1


def test_events_left_to_a_holder_that_did_not_invoice_the_sale_are_queued_again(
    left_to_the_holder, published, monkeypatch
):
    first, second = left_to_the_holder

    def unavailable(self, order_id):
        raise TransientConnectorError("Square answered 503")

    monkeypatch.setattr(SquareClient, "order", unavailable)
    with pytest.raises(RetryLater):
        _process(first, token="task-1")

    assert published == [("pos.process_event", {"event_id": second.pk})]
    second.refresh_from_db()
    assert second.status == "pending"
    assert not POSTransaction.objects.exists()


def _session_params() -> dict:
    params = db.get_connection_params()
    return {key: params[key] for key in ("dbname", "user", "host", "port") if params.get(key)}


def test_an_open_order_is_not_a_sale_yet(connection):
    order = completed_order(connection)
    order["state"] = "OPEN"
    event = _stored(connection, order_event(connection, order))

    assert _process(event) == "ignored"
    assert not POSTransaction.objects.exists()


def test_a_refund_becomes_a_credit_note_of_the_sale(connection):
    order = completed_order(connection, amounts=(500000,))
    _process(_stored(connection, order_event(connection, order)))
    sale = POSTransaction.objects.get()
    refund = Sale(
        external_id="REFUND-1",
        occurred_at=timezone.now(),
        currency="NGN",
        lines=(
            Line(
                name="Refund",
                quantity=Decimal(1),
                unit_price=Decimal("1000.00"),
                hs_code="1006.3000",
                product_category="Food",
            ),
        ),
        total=Decimal("1000.00"),
        kind=SaleKind.REFUND,
        original_external_id=order["id"],
    )

    row = pipeline.source_record(
        connection=connection, record=refund, received_at=timezone.now(), advance_with="t"
    )

    assert row.kind == "refund", row.processing_errors
    assert row.status == POSTransaction.Status.INVOICED, row.processing_errors
    assert row.invoice.billing_reference_irn == sale.invoice.irn
    assert row.invoice.purpose == "credit_note"
    assert row.invoice.status == Invoice.Status.CONFIRMED


def test_a_refund_of_an_unknown_sale_waits_for_an_operator(connection):
    refund = Sale(
        external_id="REFUND-2",
        occurred_at=timezone.now(),
        currency="NGN",
        lines=(Line(name="Refund", quantity=Decimal(1), unit_price=Decimal("10.00")),),
        total=Decimal("10.00"),
        kind=SaleKind.REFUND,
        original_external_id="NEVER-SEEN",
    )

    row = pipeline.source_record(connection=connection, record=refund, received_at=timezone.now())

    assert row.status == POSTransaction.Status.FAILED
    assert "NEVER-SEEN" in row.processing_errors["error_message"]
    assert row.invoice is None


def test_transactions_of_three_months_land_in_three_partitions(connection):
    now = timezone.now()
    two_months_ago = now - timedelta(days=62)
    monthly_partitions_ensure(
        table="pos_transactions", column="transaction_timestamp", today=two_months_ago
    )
    moments = [two_months_ago, now - timedelta(days=31), now, now + timedelta(days=3650)]
    for number, moment in enumerate(moments):
        POSAdapter().upsert(
            connection=connection,
            record=Sale(
                external_id=f"P-{number}",
                occurred_at=moment,
                currency="NGN",
                lines=(Line(name="x", quantity=Decimal(1), unit_price=Decimal(1)),),
                total=Decimal(1),
            ),
            received_at=now,
        )

    def partitions():
        with db.cursor() as cursor:
            cursor.execute(
                "SELECT external_transaction_id, tableoid::regclass::text FROM pos_transactions"
            )
            return dict(cursor.fetchall())

    def month(moment):
        return f"pos_transactions_p{moment:%Y%m}"

    assert partitions() == {
        "P-0": month(moments[0]),
        "P-1": month(moments[1]),
        "P-2": month(moments[2]),
        "P-3": "pos_transactions_default",
    }
    # The beat task creates the far month and moves the row out of DEFAULT.
    assert month(moments[3]) in partitions_ensure_task()
    assert partitions()["P-3"] == month(moments[3])
    assert POSTransaction.objects.filter(external_transaction_id="P-3").exists()
