"""B3 at test scale: Square's events for many sales, each delivered 1-5 times and shuffled, give
exactly one transaction and one invoice per sale. (`make bench` runs it at full scale.)"""

import pytest

from integrations.base import pipeline
from integrations.base.models import InboundEvent
from integrations.pos.models import POSTransaction
from integrations.pos.square.signatures import SIGNATURE_HEADER, square_signature
from invoices import services as invoice_services
from invoices.models import Invoice
from sandboxes.kit.traffic import Receiver, deliveries_prepare
from sandboxes.square.traffic import SquareTraffic
from tests.integrations.pos.support import merchant_of, square_connection

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SALES = 120


def test_duplicated_and_shuffled_deliveries_give_one_invoice_per_sale(
    live_server, client, monkeypatch
):
    # The FIRS part is proven elsewhere; here every invoice only has to be made, once.
    monkeypatch.setattr(
        invoice_services, "invoice_enqueue", lambda *, invoice, countdown=None: None
    )
    connection = square_connection(site_url=live_server.url)
    platform = SquareTraffic(
        merchant=merchant_of(connection),
        signing_key=connection.webhook_secret,
        refund_share=0.1,
        api_order_share=0.5,
    )
    deliveries, made = deliveries_prepare(
        platform,
        receiver=Receiver(webhook_url=connection.webhook_url),
        count=SALES,
        duplicates=5,
        shuffle_window=60,
        seed=2026,
    )
    assert len(deliveries) > 2 * made.events  # each event sent 1-5 times

    for delivery in deliveries:
        signature = square_signature(
            signature_key=connection.webhook_secret,
            notification_url=connection.notification_url,
            body=delivery.body,
        )
        response = client.post(
            f"/webhooks/pos/square/{connection.pk}/",
            data=delivery.body,
            content_type="application/json",
            headers={SIGNATURE_HEADER: signature},
        )
        assert response.status_code == 200

    assert InboundEvent.objects.count() == made.events
    # Process in the shuffled order the events were stored in, as workers would.
    for event_id in InboundEvent.objects.order_by("received_at", "id").values_list("id", flat=True):
        pipeline.event_process(family="pos", event_id=event_id)
    # A refund whose sale's events came later is retried, as the sweeper would.
    for row in POSTransaction.objects.filter(status=POSTransaction.Status.FAILED):
        pipeline.source_invoice_again(family="pos", source_id=row.pk)

    sales = POSTransaction.objects.filter(kind="sale")
    refunds = POSTransaction.objects.filter(kind="refund")
    assert sales.count() == made.made["orders_created"] == SALES
    assert refunds.count() == made.made["refunds_created"]
    assert Invoice.objects.count() == SALES + made.made["refunds_created"]
    assert not POSTransaction.objects.filter(invoice__isnull=True).exists()
    assert set(InboundEvent.objects.values_list("status", flat=True)) <= {"processed", "ignored"}
