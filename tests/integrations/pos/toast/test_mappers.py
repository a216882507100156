"""Toast orders -> sales: one per paid check, to the cent, with voids, inclusive and exclusive
taxes, discounts, service charges, tips and refunds as the module says."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from integrations.base.canonical import SaleKind
from integrations.base.errors import MappingError
from integrations.pos.toast import mappers
from invoices.builder import InvoiceReference, invoice_build
from invoices.validation import decimal_from_json, invoice_validate
from sandboxes.toast.pricing import refund_apply
from tests.integrations.pos.square.support import CODES, SUPPLIER
from tests.integrations.pos.toast.support import NOW, paid_check, toast_order

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ORIGINAL = InvoiceReference(irn="TS0001-TPT12345-20261122", issue_date=date(2026, 11, 22))
OPTIONS = {"default_hs_code": "2106.9000", "default_product_category": "Restaurant meals"}


def invoiced(sale) -> Decimal:
    """The payable amount of the sale's FIRS invoice, which passes the local checks."""
    payload = invoice_build(
        source=sale,
        supplier=SUPPLIER,
        codes=CODES,
        invoice_number="TS0002",
        issue_datetime=datetime(2026, 11, 22, 19, tzinfo=UTC),
        service_id=SUPPLIER.firs_service_id,
        business_id=SUPPLIER.firs_business_id,
        billing_reference=ORIGINAL if sale.kind == SaleKind.REFUND else None,
    )
    assert invoice_validate(payload, codes=CODES) == []
    return decimal_from_json(payload["legal_monetary_total"]["payable_amount"])


def sample(name: str) -> object:
    return mappers.json_loads((FIXTURES / name).read_bytes())


def test_the_closed_order_sample_is_one_sale_to_the_cent():
    (sale,) = mappers.sales_from_order(sample("order-closed.json"), **OPTIONS)

    assert sale.external_id == "8a9b0c1d-2e3f-4a5b-9c6d-7e8f9a0b1c2d"
    assert (sale.total, sale.tax_total) == (Decimal("6987.50"), Decimal("487.50"))
    assert [
        (line.name, line.quantity, line.unit_price, line.tax_amount) for line in sale.lines
    ] == [
        ("Jollof Rice", Decimal("2.0"), Decimal("2687.50"), Decimal("375.00")),
        ("Chapman", Decimal("1.0"), Decimal("1612.50"), Decimal("112.50")),
    ]
    assert {line.tax_rate for line in sale.lines} == {Decimal("7.5")}
    assert sale.customer.name == "Ada Okafor" and sale.customer.telephone == "+2348035550100"
    assert sale.payment_means == ("48",)
    # The 500 tip stays off the invoice, kept with the sale.
    assert sale.raw["tip_total"] == "500.00"
    assert sale.prices_include_tax and sale.kind == SaleKind.SALE
    assert invoiced(sale) == Decimal("6987.50")


def test_the_bulk_and_webhook_samples_map_alike():
    (bulk_order,) = sample("ordersBulk-response.json")
    webhook = sample("webhook-order_updated.json")
    closed = mappers.sales_from_order(sample("order-closed.json"))

    assert mappers.sales_from_order(bulk_order) == closed
    assert mappers.sales_from_order(webhook["details"]["order"]) == closed


def test_money_is_read_from_the_text_not_through_a_float():
    order = mappers.json_loads(b'{"a": 0.1, "b": 4.300000000000001, "c": 2.675}')

    assert order["a"] == Decimal("0.1")
    assert mappers.money(order, "b", path="") == Decimal("4.30")
    # As a float 2.675 is 2.67499...; its text rounds half up to 2.68.
    assert mappers.money(order, "c", path="") == Decimal("2.68")
    with pytest.raises(MappingError):
        mappers.json_loads(b'{"a": NaN}')


def _sale_of(order):
    (sale,) = mappers.sales_from_order(mappers.json_loads(json.dumps(order)), **OPTIONS)
    assert invoiced(sale) == sale.total
    return sale


def test_voided_selections_are_left_out():
    order = toast_order(
        paid_check(
            {"displayName": "Suya", "price": 3000},
            {"displayName": "Sent back", "price": 1800, "voided": True},
        )
    )

    sale = _sale_of(order)

    assert [line.name for line in sale.lines] == ["Suya"]
    assert sale.total == Decimal("3225.00")


def test_inclusive_and_exclusive_taxes_both_give_what_the_buyer_paid():
    order = toast_order(
        paid_check(
            {"displayName": "Zobo", "price": 1000, "taxInclusion": "INCLUDED", "quantity": 3},
            {"displayName": "Pepper soup", "price": 4000, "taxInclusion": "NOT_INCLUDED"},
        )
    )

    sale = _sale_of(order)
    zobo, soup = sale.lines

    assert zobo.quantity * zobo.unit_price == Decimal("3000.00")  # the menu price held its tax
    assert zobo.tax_amount == Decimal("209.30") and zobo.tax_type == "INCLUDED"
    assert soup.unit_price == Decimal("4300.00") and soup.tax_amount == Decimal("300.00")
    assert (
        sale.total
        == Decimal("7300.00")
        == sum(line.unit_price * line.quantity for line in sale.lines)
    )


def test_discounts_show_on_the_lines_and_the_total_reconciles():
    order = toast_order(
        paid_check(
            {"displayName": "Asun", "price": 5000, "discountPercent": 10},
            {"displayName": "Malt", "price": 800},
            appliedDiscounts=[{"name": "Happy hour", "percent": 5}],
        )
    )
    check = order["checks"][0]

    sale = _sale_of(order)

    assert sale.total == Decimal(str(check["totalAmount"]))
    assert all(line.discount > 0 for line in sale.lines)
    assert sum(line.quantity * line.unit_price - line.discount for line in sale.lines) == sale.total


def test_service_charges_are_supply_and_tips_and_gratuities_are_not():
    order = toast_order(
        paid_check(
            {"displayName": "Ofada", "price": 6000},
            appliedServiceCharges=[
                {"name": "Service 10%", "percent": 10},
                {"name": "Gratuity", "chargeAmount": 700, "gratuity": True},
            ],
            tip=1000,
        )
    )

    sale = _sale_of(order)

    assert [line.name for line in sale.lines] == ["Ofada", "Service 10%"]
    assert sale.lines[1].unit_price == Decimal("645.00") and sale.lines[1].tax_amount == Decimal(
        "45.00"
    )
    assert sale.total == Decimal("7095.00")
    assert sale.raw["tip_total"] == "1700.00"


def test_each_paid_check_of_a_split_order_is_a_sale_and_open_or_voided_checks_are_not():
    order = toast_order(
        paid_check({"displayName": "A", "price": 1000}),
        paid_check({"displayName": "B", "price": 2000}),
        {"selections": [{"displayName": "Still open", "price": 500}]},
        paid_check({"displayName": "Voided", "price": 900}, voided=True),
    )

    sales = mappers.sales_from_order(mappers.json_loads(json.dumps(order)))

    assert [sale.external_id for sale in sales] == [c["guid"] for c in order["checks"][:2]]
    assert mappers.sale_ids_in_order(order) == [c["guid"] for c in order["checks"][:2]]


@pytest.mark.parametrize("flag", ["deleted", "voided"])
def test_a_deleted_combined_or_voided_order_makes_no_invoice(flag):
    order = toast_order(paid_check())
    order[flag] = True

    assert mappers.sales_from_order(order) == []
    assert mappers.sale_ids_in_order(order) == []


def test_a_refund_is_a_credit_note_of_its_check():
    order = toast_order(paid_check({"displayName": "Isi ewu", "price": 8000}, displayNumber="12"))
    refund = refund_apply(order["checks"][0], amount=Decimal("2150"), now=NOW)

    sale, credit = mappers.sales_from_order(mappers.json_loads(json.dumps(order)), **OPTIONS)

    assert credit.kind == SaleKind.REFUND
    assert credit.original_external_id == sale.external_id
    assert credit.external_id == f"refund:{refund['refundTransaction']['guid']}"
    assert credit.total == Decimal("2150.00") and credit.lines[0].tax_rate == Decimal("7.5")
    assert credit.lines[0].name == "Refund of check 12"
    assert mappers.sale_ids_in_order(order) == [sale.external_id, credit.external_id]
    assert invoiced(credit) == Decimal("2150.00")


def test_a_check_that_does_not_add_up_is_refused_naming_the_numbers():
    order = toast_order(paid_check())
    order["checks"][0]["totalAmount"] += 0.01

    with pytest.raises(MappingError, match="totalAmount"):
        mappers.sales_from_order(order)


def test_the_webhook_sample_is_one_event_keyed_on_the_order_version():
    (event,) = mappers.webhook_events((FIXTURES / "webhook-order_updated.json").read_bytes())

    assert event.event_id == "7f1c2a9e-3b4d-4e5f-8a6b-1c2d3e4f5a6b@2026-11-22T18:30:01.512+0000"
    assert (event.event_type, event.account_id) == (
        "order_updated",
        "b2c3d4e5-0000-4000-8000-00000000a001",
    )
    assert event.object_id == "7f1c2a9e-3b4d-4e5f-8a6b-1c2d3e4f5a6b"


@pytest.mark.parametrize(
    "body", [b"", b"[]", b"{}", b'{"guid": "x"}', b'{"guid":"x","eventType":"order_updated"}']
)
def test_a_malformed_webhook_is_a_mapping_error(body):
    with pytest.raises(MappingError):
        mappers.webhook_events(body)


def test_the_login_samples_are_the_shapes_the_client_reads():
    answer = sample("authentication-login-response.json")
    request = sample("authentication-login-request.json")

    assert answer["token"]["expiresIn"] == 86400 and answer["token"]["accessToken"]
    assert request["userAccessType"] == "TOAST_MACHINE_CLIENT"
