"""The figures `make bench` derives from a run, on rows made here."""

import pytest

from bench.run import http_floor, percentile
from invoices.models import FirsExchange
from tests.factories import InvoiceFactory

pytestmark = pytest.mark.django_db


def test_percentiles_are_nearest_rank():
    values = [float(number) for number in range(1, 101)]

    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values[:10], 0.99) == 10.0
    assert percentile([], 0.99) is None


def test_the_http_floor_prices_every_exchange_of_a_sale_at_one_yardstick_request():
    invoices = InvoiceFactory.create_batch(2)
    for invoice in invoices:
        for operation in ("validate_irn", "validate", "sign"):
            FirsExchange.objects.create(invoice=invoice, operation=operation, ok=True)
    # Not a sale of the run: its calls are not counted.
    FirsExchange.objects.create(invoice=InvoiceFactory(), operation="sign", ok=True)

    floor = http_floor(
        yardstick_per_second=700.0,
        deliveries=6,
        sales=2,
        invoice_ids=[invoice.pk for invoice in invoices],
    )

    assert floor["exchanges_per_sale"] == {
        "webhook_deliveries": 3.0,
        "platform_fetches": 1,
        "firs_calls": 3.0,
        "total": 7.0,
    }
    assert floor["ceiling_sales_per_second"] == 100.0
