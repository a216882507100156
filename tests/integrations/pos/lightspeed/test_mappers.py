"""Lightspeed sales (API 1.0 webhook and API 2.0 shapes) to canonical sales: every sample maps,
lines reconcile to the sale's totals to the cent, returns and voids credit their sale."""

import copy
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from integrations.base.canonical import SaleKind
from integrations.base.errors import MappingError
from integrations.pos.lightspeed import mappers
from invoices.builder import InvoiceReference, invoice_build
from invoices.validation import invoice_validate
from tests.integrations.pos.lightspeed.support import FIXTURES, at_nigerian_vat, sample
from tests.integrations.pos.square.support import CODES, SUPPLIER

VAT_RATE_ID = "b1dfed8b-f019-11e3-a0f5-b8ca3a64f8f5"
ORIGINAL = InvoiceReference(irn="LS0000-TPT12345-20261121", issue_date=date(2026, 11, 21))
HS = {"default_hs_code": "1006.3000", "default_product_category": "Food"}


def spec_sale(name: str, index: int) -> dict:
    return at_nigerian_vat(sample(name)["data"][index])


def invoice(sale):
    payload = invoice_build(
        source=sale,
        supplier=SUPPLIER,
        codes=CODES,
        invoice_number="LS0001",
        issue_datetime=datetime(2026, 11, 22, 19, tzinfo=UTC),
        service_id=SUPPLIER.firs_service_id,
        business_id=SUPPLIER.firs_business_id,
        billing_reference=ORIGINAL if sale.kind == SaleKind.REFUND else None,
    )
    assert invoice_validate(payload, codes=CODES) == []
    return payload


def payable(payload) -> Decimal:
    return Decimal(str(payload["legal_monetary_total"]["payable_amount"]))


@pytest.mark.parametrize(
    ("name", "index", "total", "tax"),
    [
        ("GET_sales.json", 0, Decimal("215.00"), Decimal("15.00")),
        ("GET_sales.json", 1, Decimal("13.88"), Decimal("0.97")),
    ],
)
def test_the_spec_sales_map_and_invoice_to_their_totals(name, index, total, tax):
    sale = mappers.sale_from_api(spec_sale(name, index), currency="NZD", **HS)

    assert sale.total == total and sale.tax_total == tax
    assert sum((line.tax_amount for line in sale.lines), Decimal(0)) == tax
    assert payable(invoice(sale)) == total


def test_a_line_total_kept_to_five_places_is_reconciled_to_the_sale_total_by_the_cent():
    # 3 x 4.30435 is 12.91305 (12.91), but each line rounds to 4.30: one line takes the cent.
    sale = mappers.sale_from_api(spec_sale("GET_sales.json", 1), currency="NZD", **HS)

    amounts = sorted(line.quantity * line.unit_price for line in sale.lines)
    assert [round(amount, 2) for amount in amounts] == [
        Decimal("4.30"),
        Decimal("4.30"),
        Decimal("4.31"),
    ]
    assert sorted(line.tax_amount for line in sale.lines) == [
        Decimal("0.32"),
        Decimal("0.32"),
        Decimal("0.33"),
    ]


def test_an_adjustment_is_an_untaxed_line_of_its_own():
    sale = mappers.sale_from_api(
        at_nigerian_vat(sample("GET_sales_sale_id.json")["data"]), currency="NZD", **HS
    )

    fee = [line for line in sale.lines if line.name == "Non-cash Fee"]
    assert len(fee) == 1 and fee[0].unit_price == Decimal("1.5") and fee[0].tax_amount == 0
    assert sale.total == Decimal("216.50")
    assert payable(invoice(sale)) == Decimal("216.50")


def test_the_webhook_and_the_api_shapes_map_to_the_same_sale():
    products = {
        "188a87aa-06fe-11e4-a0f5-b8ca3a64f8f4": {"name": "Jollof Rice", "sku": "10001"},
        "188a87aa-06fe-11e4-a0f5-b8ca3a64f8f5": {"name": "Chapman", "sku": "10002"},
    }
    options = {
        "currency": "NGN",
        "products": products,
        "tax_rates": {VAT_RATE_ID: Decimal("0.075")},
        **HS,
    }
    api = sample("xseries-api2-sale-of-the-webhook.json")["data"]
    webhook = mappers.sale_from_webhook_payload(
        sample("xseries-webhook-sale.update.payload.json"), outlet_id=api["outlet_id"]
    )

    from_api = mappers.sale_from_api(api, **options)
    from_webhook = mappers.sale_from_api(webhook, **options)

    assert from_webhook == from_api
    assert from_api.total == Decimal("6987.50") and from_api.tax_total == Decimal("487.50")
    assert [line.tax_rate for line in from_api.lines] == [Decimal("7.5"), Decimal("7.5")]
    assert from_api.location_id == "b1e04bd8-f019-11e3-a0f5-b8ca3a64f8f4"
    assert from_api.raw["register_id"] == "b1e198a9-f019-11e3-a0f5-b8ca3a64f8f4"
    assert from_api.payment_means == ("10",)
    assert payable(invoice(from_api)) == Decimal("6987.50")


def test_the_webhook_delivery_is_one_event_named_by_sale_change_and_status():
    body = (FIXTURES / "xseries-webhook-sale.update.form-body.txt").read_bytes()

    [event] = mappers.webhook_events(body)

    assert event.event_id == "0a6f1e2d-3c4b-11ef-f3a1-8e3c2b1a0d9f:2026-11-22 18:26:41:CLOSED"
    assert event.event_type == "sale.update"
    assert event.account_id == "acme"
    assert event.object_id == "0a6f1e2d-3c4b-11ef-f3a1-8e3c2b1a0d9f"
    assert event.payload["payload"]["status"] == "CLOSED"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"type=sale.update",
        b"payload=not-json",
        b"payload=%5B%5D",
        b"payload=%7B%7D&payload=%7B%7D",
        b"payload=%7B%22id%22%3A%22s1%22%7D",
        b"\xff\xfe",
        b"payload=%7B%22id%22%3A%22s1%22%2C%22status%22%3A%22CLOSED%22%7D",
    ],
)
def test_a_malformed_delivery_is_a_mapping_error(body):
    with pytest.raises(MappingError):
        mappers.webhook_events(body)


def test_the_customer_tin_comes_from_the_configured_field_else_the_sale_is_b2c():
    sale = spec_sale("GET_sales.json", 0)
    customer = copy.deepcopy(sample("GET_customers_customer_id.json")["data"])
    customer["id"] = sale["customer_id"]
    customer["custom_field_2"] = "12345678-0001"

    b2b = mappers.sale_from_api(
        sale, currency="NGN", customer=customer, tin_field="custom_field_2", **HS
    )
    b2c = mappers.sale_from_api(
        sale, currency="NGN", customer=customer, tin_field="custom_field_3", **HS
    )

    assert b2b.customer.tin == "12345678-0001" and b2b.customer.name == "Stark Industries Inc"
    assert invoice(b2b)["invoice_kind"] == "B2B"
    assert b2c.customer.tin == "" and invoice(b2c)["invoice_kind"] == "B2C"


def _return_of(sale: dict) -> dict:
    returned = copy.deepcopy(sale)
    returned["id"] = "return-1"
    returned["return_for"] = sale["id"]
    returned["total_price"] = -sale["total_price"]
    returned["total_tax"] = -sale["total_tax"]
    for line in returned["line_items"]:
        for key in ("quantity", "price_total", "tax_total", "discount_total"):
            line[key] = -line[key]
        line["tax_components"] = [
            {**component, "total_tax": -component["total_tax"]}
            for component in line["tax_components"]
        ]
        line["is_return"] = True
    return returned


def test_a_return_is_a_positive_credit_of_the_sale_it_names():
    sale = spec_sale("GET_sales.json", 0)

    credit = mappers.sale_from_api(_return_of(sale), currency="NGN", **HS)

    assert credit.kind == SaleKind.REFUND and credit.original_external_id == sale["id"]
    assert credit.total == Decimal("215.00") and credit.tax_total == Decimal("15.00")
    assert all(line.quantity > 0 and line.unit_price >= 0 for line in credit.lines)
    assert payable(invoice(credit)) == Decimal("215.00")


def test_a_return_without_return_for_and_a_mixed_sale_are_refused():
    sale = spec_sale("GET_sales.json", 0)
    orphan = _return_of(sale)
    orphan["return_for"] = None
    mixed = copy.deepcopy(sale)
    mixed["line_items"][1]["quantity"] = -1

    with pytest.raises(MappingError, match="return_for"):
        mappers.sale_from_api(orphan, currency="NGN", **HS)
    with pytest.raises(MappingError, match="both sells and returns"):
        mappers.sale_from_api(mixed, currency="NGN", **HS)


def test_a_void_credits_the_sale_with_its_own_lines():
    sale = mappers.sale_from_api(spec_sale("GET_sales.json", 0), currency="NGN", **HS)
    voided_at = datetime(2026, 11, 23, 9, tzinfo=UTC)

    credit = mappers.void_credit(sale, voided_at=voided_at)

    assert credit.kind == SaleKind.REFUND and credit.original_external_id == sale.external_id
    assert credit.external_id == f"{sale.external_id}-void" and credit.occurred_at == voided_at
    assert credit.lines == sale.lines and credit.total == sale.total


def test_a_discounted_line_keeps_its_discount_and_its_amount():
    sale = copy.deepcopy(spec_sale("GET_sales.json", 0))
    line = sale["line_items"][0]
    line.update(
        price=Decimal("180"),
        price_total=Decimal("360"),
        discount=Decimal("20"),
        discount_total=Decimal("40"),
        quantity=2,
        tax_components=[{"rate_id": "r", "total_tax": Decimal("27")}],
    )
    sale.update(total_price=Decimal("360"), total_tax=Decimal("27"))

    mapped = mappers.sale_from_api(sale, currency="NGN", **HS)

    first = mapped.lines[0]
    assert first.discount == Decimal("40.00") and first.unit_price == Decimal("200")
    assert payable(invoice(mapped)) == Decimal("387.00")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"total_price": Decimal("250")}, "total_price"),
        ({"total_tax": Decimal("16")}, "total_tax"),
        ({"line_items": []}, "no line items"),
        ({"sale_date": "yesterday"}, "sale_date"),
        ({"total_price": "200"}, "not a number"),
    ],
)
def test_totals_the_lines_do_not_make_and_malformed_sales_are_refused(change, message):
    sale = {**spec_sale("GET_sales.json", 0), **change}

    with pytest.raises(MappingError, match=message):
        mappers.sale_from_api(sale, currency="NGN", **HS)


def test_voided_lines_are_not_sold():
    sale = copy.deepcopy(spec_sale("GET_sales.json", 0))
    sale["line_items"][1].update(status="VOIDED", price=50, price_total=50)

    mapped = mappers.sale_from_api(sale, currency="NGN", **HS)

    assert len(mapped.lines) == 1
