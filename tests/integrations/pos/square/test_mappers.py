"""Square JSON -> canonical sales, refunds and webhook events, and on to FIRS invoices.

Fixtures are Square's own examples from its OpenAPI spec (``../shared/platforms/square``, repo
square/connect-api-specification @5733f662): every sample that holds an order, a payment, a
refund or a customer, and every webhook sample. Generated orders follow Square's arithmetic.
"""

import copy
import json
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from integrations.base.canonical import Party, SaleKind
from integrations.base.errors import MappingError
from integrations.pos.square.mappers import (
    CURRENCY_DIGITS,
    order_is_completed,
    refund_from_refund_object,
    refund_is_completed,
    sale_from_order,
    webhook_events,
)
from invoices.builder import InvoiceReference, invoice_build
from invoices.validation import decimal_from_json, invoice_validate
from tests.integrations.pos.square.support import CODES, SUPPLIER
from tests.integrations.pos.support import at_nigerian_vat

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
ISSUED_AT = datetime(2026, 1, 15, 18, 7, 55, tzinfo=ZoneInfo("Africa/Lagos"))
RECEIVED_AT = datetime(2026, 1, 15, 17, 7, 50, tzinfo=UTC)
ORIGINAL_INVOICE = InvoiceReference(irn="SQ0001-TPT12345-20260114", issue_date=date(2026, 1, 14))
# Square has no HS codes: a connection's defaults stand in (a standard-rated and an exempt one).
STANDARD_HS_CODE = "3402.5000"
EXEMPT_HS_CODE = "1006.3000"
CATEGORY = "Retail goods"
ORDER_SAMPLES = (
    "CreateOrderResponse",
    "RetrieveOrderResponse",
    "UpdateOrderResponse",
    "PayOrderResponse",
    "BatchRetrieveOrdersResponse",
)
WEBHOOK_SAMPLES = sorted(path.stem for path in FIXTURES_DIR.glob("webhook-*.json"))


def load(name: str) -> dict:
    return json.loads((FIXTURES_DIR / f"{name}.json").read_text(encoding="utf-8"))


def orders_in(name: str) -> list[dict]:
    sample = load(name)
    return sample["orders"] if "orders" in sample else [sample["order"]]


def money(value) -> Decimal:
    return decimal_from_json(value)


def major(money_object: dict) -> Decimal:
    return Decimal(money_object["amount"]).scaleb(-CURRENCY_DIGITS[money_object["currency"]])


def to_sale(order: dict, **arguments):
    return sale_from_order(
        order,
        default_hs_code=arguments.pop("default_hs_code", STANDARD_HS_CODE),
        default_product_category=CATEGORY,
        received_at=arguments.pop("received_at", RECEIVED_AT),
        **arguments,
    )


def to_refund(refund: dict, *, order=None):
    return refund_from_refund_object(
        refund, order=order, default_hs_code=STANDARD_HS_CODE, default_product_category=CATEGORY
    )


def build(source) -> dict:
    is_refund = source.kind == SaleKind.REFUND
    return invoice_build(
        source=source,
        supplier=SUPPLIER,
        codes=CODES,
        invoice_number="SQ0002",
        issue_datetime=ISSUED_AT,
        service_id=SUPPLIER.firs_service_id,
        business_id=SUPPLIER.firs_business_id,
        billing_reference=ORIGINAL_INVOICE if is_refund else None,
    )


def payable(payload: dict) -> Decimal:
    return money(payload["legal_monetary_total"]["payable_amount"])


def minimal_order(**fields) -> dict:
    """A small valid NGN order; ``fields`` replace its top-level keys."""
    order = {
        "id": "ORDER1",
        "location_id": "LOC1",
        "state": "COMPLETED",
        "created_at": "2026-01-15T16:00:00Z",
        "closed_at": "2026-01-15T16:05:00.123Z",
        "line_items": [
            {
                "uid": "L1",
                "name": "Jollof rice",
                "quantity": "2",
                "base_price_money": ngn(250_000),
                "total_money": ngn(500_000),
            }
        ],
        "total_money": ngn(500_000),
    }
    order.update(fields)
    return order


def ngn(amount: int) -> dict:
    return {"amount": amount, "currency": "NGN"}


# --- Square's samples ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ORDER_SAMPLES)
def test_every_sample_order_invoices_to_its_total_in_its_currency(name):
    for order in orders_in(name):
        sale = to_sale(order)
        if any(line.tax_rate not in (None, 0, Decimal("7.5")) for line in sale.lines):
            # A US sales tax at 9 % is signed as charged, never re-rated.
            assert {
                subtotal["tax_category"]["percent"]
                for subtotal in build(sale)["tax_total"][0]["tax_subtotal"]
            } == {9}
            sale = to_sale(at_nigerian_vat(order))
        payload = build(sale)

        assert payable(payload) == major(order["total_money"]) == sale.total
        assert sale.currency == payload["document_currency_code"] == "USD"  # never converted
        # The VAT Square charged, line by line (back-calculated where Square says nothing).
        if all(line.tax_amount is not None for line in sale.lines):
            assert money(payload["tax_total"][0]["tax_amount"]) == sum(
                major(item["total_tax_money"]) for item in order["line_items"]
            )
        assert sale.external_id == order["id"]
        assert sale.prices_include_tax
        assert all(line.hs_code == STANDARD_HS_CODE for line in sale.lines)


def test_create_order_sample_discounts_and_additive_tax():
    # Square: Strip Steak 15.99 - 0.87 order discounts + 1.36 tax = 16.48; Steak (Larger) 2 x 22
    # + 2 x 0.50 modifier = 45.00 - 2.46 order - 1.00 line discount + 3.74 tax = 45.28.
    # The 9 % tax is ADDITIVE, so each discount saved the buyer its amount plus 9 %.
    sale = to_sale(orders_in("CreateOrderResponse")[0])

    strip, steak = sale.lines
    assert (strip.name, strip.quantity, strip.unit_price, strip.discount) == (
        "New York Strip Steak",
        Decimal(1),
        Decimal("17.43"),  # 16.48 + 0.09 + 0.86
        Decimal("0.00"),
    )
    assert (steak.name, steak.quantity, steak.unit_price, steak.discount) == (
        "New York Steak (Larger)",
        Decimal(2),
        Decimal("24.5250"),  # (45.28 + 0.24 + 2.44 + 1.09) / 2
        Decimal("1.09"),  # 1.00 + 9 %
    )
    assert steak.sku == "BEMYCSMIJL46OCDV4KYIKXIB"
    assert steak.description == "Well"
    assert sale.order_discount == Decimal("3.63")
    assert sale.total == Decimal("61.76")
    assert sale.tax_total == Decimal("5.10")
    assert sale.occurred_at == datetime(2020, 1, 17, 20, 47, 53, 293000, tzinfo=UTC)
    assert sale.location_id == "057P5VYJ4A5X1"
    assert not order_is_completed(sale.raw)

    # The tax Square charged, line by line: 1.36 + 3.74 = 5.10, its type and rate.
    assert [(line.tax_amount, line.tax_rate, line.tax_type) for line in sale.lines] == [
        (Decimal("1.36"), Decimal(9), "ADDITIVE"),
        (Decimal("3.74"), Decimal(9), "ADDITIVE"),
    ]
    assert sum(line.tax_amount for line in sale.lines) == sale.tax_total
    # Signed at the 9 % charged, to the cent.
    payload = build(sale)
    (subtotal,) = payload["tax_total"][0]["tax_subtotal"]
    assert subtotal["tax_category"] == {"id": "STANDARD_VAT", "percent": 9}
    assert money(subtotal["tax_amount"]) == Decimal("5.10")
    assert payable(payload) == Decimal("61.76")


def test_retrieve_order_sample_order_discount_without_tax():
    sale = to_sale(orders_in("RetrieveOrderResponse")[0])

    assert [(line.quantity, line.unit_price, line.discount) for line in sale.lines] == [
        (Decimal(1), Decimal("5.00"), Decimal("0.00")),
        (Decimal(2), Decimal("3.00"), Decimal("0.00")),
    ]
    assert sale.order_discount == Decimal("5.50")  # the 50 % ORDER discount
    assert sale.total == Decimal("5.50")


def test_pay_order_sample_is_a_completed_card_sale():
    order = orders_in("PayOrderResponse")[0]
    sale = to_sale(order)

    assert order_is_completed(order)
    assert sale.payment_means == ("48",)  # two CARD tenders, one code
    assert sale.occurred_at == datetime(2019, 8, 6, 2, 47, 37, 140000, tzinfo=UTC)  # closed_at
    assert build(sale)["payment_means"] == [
        {"payment_means_code": "48", "payment_due_date": "2026-01-15"}
    ]


def test_batch_retrieve_sample_has_no_timestamp_so_received_at_stands_in():
    order = orders_in("BatchRetrieveOrdersResponse")[0]

    assert to_sale(order).occurred_at == RECEIVED_AT
    with pytest.raises(MappingError, match="no closed_at, created_at or updated_at"):
        to_sale(order, received_at=None)
    with pytest.raises(ValueError, match="timezone-aware"):
        to_sale(order, received_at=datetime(2026, 1, 15, 17, 7, 50))  # naive
    assert not order_is_completed(order)  # no state at all


@pytest.mark.parametrize(
    ("state", "completed"),
    [("COMPLETED", True), ("OPEN", False), ("DRAFT", False), ("CANCELED", False), (None, False)],
)
def test_order_is_completed(state, completed):
    assert order_is_completed(minimal_order(state=state)) is completed


def test_order_is_completed_on_odd_input():
    assert not order_is_completed(None)
    assert not order_is_completed(["COMPLETED"])


@pytest.mark.parametrize(
    "payment",
    [
        load("webhook-payment.created")["data"]["object"]["payment"],
        load("webhook-payment.updated")["data"]["object"]["payment"],
        load("GetPaymentResponse")["payment"],
        *load("ListPaymentsResponse")["payments"],
    ],
    ids=["webhook-created", "webhook-updated", "get", "list"],
)
def test_payment_samples_give_the_payment_means_of_their_order(payment):
    amount = payment["amount_money"]
    order = {
        "id": payment["order_id"],
        "created_at": payment["created_at"],
        "line_items": [{"name": "Item", "quantity": "1", "total_money": amount}],
        "total_money": amount,
    }
    sale = to_sale(order, payments=[payment])

    assert sale.payment_means == ("48",)  # source_type CARD
    assert payable(build(sale)) == major(amount)


def test_a_payment_of_another_order_is_refused():
    payment = load("GetPaymentResponse")["payment"]
    with pytest.raises(MappingError, match=r"payments\[0\] belongs to order"):
        to_sale(orders_in("PayOrderResponse")[0], payments=[payment])


@pytest.mark.parametrize(
    "refund",
    [
        load("webhook-refund.created")["data"]["object"]["refund"],
        load("webhook-refund.updated")["data"]["object"]["refund"],
        *load("ListPaymentRefundsResponse")["refunds"],
    ],
    ids=["webhook-created", "webhook-updated", "list"],
)
def test_refund_samples_become_credit_notes_of_the_refunded_amount(refund):
    sale = to_refund(refund)
    payload = build(sale)

    assert sale.kind == SaleKind.REFUND
    assert sale.external_id == refund["id"]
    assert sale.original_external_id == refund["order_id"]  # no order given: all there is
    assert sale.total == major(refund["amount_money"]) == payable(payload)
    assert sale.currency == payload["document_currency_code"] == "USD"
    assert payload["invoice_type_code"] == CODES.invoice_type_for("credit_note")
    assert invoice_validate(payload, codes=CODES) == []
    assert refund_is_completed(refund) is (refund["status"] == "COMPLETED")


def test_refund_sample_reason_names_the_line():
    refund = load("ListPaymentRefundsResponse")["refunds"][0]
    (line,) = to_refund(refund).lines
    assert line.name == "Refund: Example Refund"
    assert (line.quantity, line.unit_price) == (Decimal(1), Decimal("5.55"))


@pytest.mark.parametrize("name", WEBHOOK_SAMPLES)
def test_every_webhook_sample_parses_to_one_event(name):
    envelope = load(name)
    (event,) = webhook_events((FIXTURES_DIR / f"{name}.json").read_bytes())

    assert event.event_id == envelope["event_id"]
    assert event.event_type == envelope["type"] == name.removeprefix("webhook-")
    assert event.account_id == envelope["merchant_id"]
    assert event.object_id == envelope["data"]["id"]
    assert event.payload == envelope


def test_order_webhook_names_the_order_to_fetch():
    (event,) = webhook_events((FIXTURES_DIR / "webhook-order.updated.json").read_bytes())
    order_updated = event.payload["data"]["object"]["order_updated"]
    assert event.object_id == order_updated["order_id"] == "eA3vssLHKJrv9H0IdJCM3gNqfdcZY"
    assert order_updated["state"] == "OPEN"


def test_customer_sample_becomes_a_buyer_without_a_tin():
    customer = load("RetrieveCustomerResponse")["customer"]
    order = minimal_order(customer_id=customer["id"])
    sale = to_sale(order, customer=customer)

    assert sale.customer == Party(
        name="Amelia Earhart",
        email="Amelia.Earhart@example.com",
        telephone="+1-212-555-4240",
        street_name="500 Electric Ave, Suite 600",
        city_name="New York",
        postal_zone="10003",
        state="US-NY",
        country="US",
        external_id="JDKYHBWT1D4F8MFH63DBMEN8Y4",
    )
    payload = build(sale)
    buyer = payload["accounting_customer_party"]
    assert "tin" not in buyer
    assert payload["invoice_kind"] == "B2C"
    assert buyer["telephone"] == "+12125554240"
    assert invoice_validate(payload, codes=CODES) == []


def test_webhook_customer_sample_without_a_country_keeps_the_default():
    customer = load("webhook-customer.created")["data"]["object"]["customer"]
    party = to_sale(minimal_order(customer_id=customer["id"]), customer=customer).customer
    assert (party.name, party.city_name, party.country, party.state) == (
        "Jenkins Smorly",
        "Oakland",
        "NG",
        "",
    )


# --- customers, tenders, service charges, tips -------------------------------------------------


def test_a_customer_id_alone_identifies_the_buyer():
    sale = to_sale(minimal_order(customer_id="CUST1"))
    assert sale.customer == Party(name="", external_id="CUST1")
    assert build(sale)["accounting_customer_party"] == {"party_name": "Walk-in customer"}


def test_a_tender_customer_id_is_used_when_the_order_has_none():
    order = minimal_order(tenders=[{"type": "CARD", "customer_id": "CUST2"}])
    assert to_sale(order).customer == Party(name="", external_id="CUST2")


def test_no_customer_means_no_buyer():
    assert to_sale(minimal_order()).customer is None


def test_a_company_is_the_buyer_when_square_names_one():
    customer = {"id": "CUST1", "company_name": "Savannah Agro Ltd", "given_name": "Ada"}
    assert to_sale(minimal_order(customer_id="CUST1"), customer=customer).customer.name == (
        "Savannah Agro Ltd"
    )


def test_a_customer_other_than_the_orders_is_refused():
    customer = load("RetrieveCustomerResponse")["customer"]
    with pytest.raises(MappingError, match="is not the order's customer"):
        to_sale(minimal_order(customer_id="SOMEONE_ELSE"), customer=customer)


def test_tender_types_map_to_firs_payment_means():
    tenders = [
        {"type": "CASH"},
        {"type": "CARD"},
        {"type": "THIRD_PARTY_CARD"},
        {"type": "WALLET"},  # no clear UNCL4461 code: left out, not guessed
        {"type": "NO_SALE"},
        {"type": "CASH"},
    ]
    assert to_sale(minimal_order(tenders=tenders)).payment_means == ("10", "48")
    assert all(CODES.is_known_payment_means(code) for code in ("10", "48"))


def test_a_payment_with_an_odd_status_is_a_mapping_error():
    payments = [{"order_id": "ORDER1", "source_type": "CARD", "status": ["COMPLETED"]}]
    with pytest.raises(MappingError, match="status is a list"):
        to_sale(minimal_order(), payments=payments)


def test_payments_give_payment_means_only_when_they_took_money():
    payments = [
        {"order_id": "ORDER1", "source_type": "CARD", "status": "FAILED"},
        {"order_id": "ORDER1", "source_type": "CASH", "status": "COMPLETED"},
    ]
    assert to_sale(minimal_order(), payments=payments).payment_means == ("10",)


def test_a_service_charge_becomes_its_own_line():
    # 5,000.00 of food, a 10 % service charge (500.00) plus 7.5 % VAT on it (37.50).
    order = minimal_order(
        service_charges=[
            {
                "uid": "SC1",
                "name": "Service charge",
                "percentage": "10",
                "applied_money": ngn(50_000),
                "total_tax_money": ngn(3_750),
                "total_money": ngn(53_750),
                "calculation_phase": "SUBTOTAL_PHASE",
                "taxable": True,
                "treatment_type": "LINE_ITEM_TREATMENT",
            }
        ],
        total_money=ngn(553_750),
    )
    sale = to_sale(order)

    assert [(line.name, line.unit_price) for line in sale.lines] == [
        ("Jollof rice", Decimal("2500.00")),
        ("Service charge", Decimal("537.50")),
    ]
    assert payable(build(sale)) == Decimal("5537.50")


def test_an_apportioned_service_charge_is_already_in_its_lines():
    item = minimal_order()["line_items"][0] | {
        "total_service_charge_money": ngn(24_000),
        "total_money": ngn(524_000),
    }
    order = minimal_order(
        line_items=[item],
        service_charges=[
            {
                "uid": "SC1",
                "name": "Delivery",
                "amount_money": ngn(24_000),
                "total_money": ngn(24_000),
                "calculation_phase": "APPORTIONED_AMOUNT_PHASE",
                "treatment_type": "APPORTIONED_TREATMENT",
            }
        ],
        total_money=ngn(524_000),
    )
    sale = to_sale(order)

    assert len(sale.lines) == 1
    assert sale.lines[0].unit_price == Decimal("2620.00")
    assert payable(build(sale)) == Decimal("5240.00")


def test_a_tip_stays_off_the_invoice():
    order = minimal_order(total_money=ngn(550_000), total_tip_money=ngn(50_000))
    sale = to_sale(order)
    assert sale.total == Decimal("5000.00")
    assert payable(build(sale)) == Decimal("5000.00")


def test_zero_digit_currency():
    order = minimal_order(
        line_items=[
            {"name": "Ramen", "quantity": "3", "total_money": {"amount": 2970, "currency": "JPY"}}
        ],
        total_money={"amount": 2970, "currency": "JPY"},
    )
    sale = to_sale(order)
    assert (sale.currency, sale.total, sale.lines[0].unit_price) == (
        "JPY",
        Decimal(2970),
        Decimal(990),
    )


def test_an_exempt_default_hs_code_never_zeroes_the_vat_square_charged():
    order = at_nigerian_vat(orders_in("CreateOrderResponse")[0])
    payload = build(to_sale(order, default_hs_code=EXEMPT_HS_CODE))
    assert payload["tax_total"][0]["tax_amount"] == 5.10
    assert payload["tax_total"][0]["tax_subtotal"][0]["tax_category"]["id"] == "STANDARD_VAT"
    assert payable(payload) == Decimal("61.76")


# --- refunds with their orders ------------------------------------------------------------------


def return_order_for(sale_order: dict, *, returned: list[tuple[str, str, int]]) -> dict:
    """A return order as Square creates it for a refund, naming the sale it returns from."""
    currency = sale_order["total_money"]["currency"]
    return {
        "id": "RETURN1",
        "location_id": sale_order.get("location_id", ""),
        "state": "COMPLETED",
        "created_at": "2026-01-16T09:00:00Z",
        "returns": [
            {
                "uid": "R1",
                "source_order_id": sale_order["id"],
                "return_line_items": [
                    {
                        "uid": f"RL{index}",
                        "source_line_item_uid": uid,
                        "name": name,
                        "quantity": "1",
                        "total_money": {"amount": amount, "currency": currency},
                    }
                    for index, (uid, name, amount) in enumerate(returned)
                ],
            }
        ],
        "total_money": {"amount": 0, "currency": currency},
    }


def refund_of(amount: int, *, order_id: str, currency: str = "USD") -> dict:
    return {
        "id": "REFUND1",
        "status": "COMPLETED",
        "amount_money": {"amount": amount, "currency": currency},
        "order_id": order_id,
        "payment_id": "PAYMENT1",
        "destination_type": "CARD",
        "created_at": "2026-01-16T09:00:01Z",
    }


def test_a_refund_with_its_return_order_credits_the_returned_items_of_the_sale():
    sale_order = orders_in("PayOrderResponse")[0]
    return_order = return_order_for(
        sale_order, returned=[("zhw8MNfRGdFQMI2WE1UBJD", "Item 2", 750)]
    )
    sale = to_refund(refund_of(750, order_id="RETURN1"), order=return_order)

    assert sale.original_external_id == sale_order["id"]
    assert [(line.name, line.unit_price, line.external_id) for line in sale.lines] == [
        ("Item 2", Decimal("7.50"), "zhw8MNfRGdFQMI2WE1UBJD")
    ]
    assert sale.payment_means == ("48",)
    payload = build(sale)
    assert payable(payload) == Decimal("7.50")
    assert invoice_validate(payload, codes=CODES) == []


def test_a_full_refund_with_the_sale_order_credits_every_item():
    sale_order = orders_in("CreateOrderResponse")[0]
    sale = to_refund(refund_of(6176, order_id="RETURN1"), order=sale_order)

    assert sale.original_external_id == sale_order["id"]
    assert sale.lines == to_sale(sale_order).lines
    assert sale.order_discount == Decimal("3.63")
    nigerian_order = at_nigerian_vat(sale_order)
    credit = build(to_refund(refund_of(6176, order_id="RETURN1"), order=nigerian_order))
    assert payable(credit) == Decimal("61.76")
    assert credit["tax_total"][0]["tax_amount"] == 5.10


def test_a_partial_refund_with_the_sale_order_is_one_line():
    sale_order = orders_in("CreateOrderResponse")[0]
    sale = to_refund(refund_of(1000, order_id="RETURN1"), order=sale_order)

    assert [(line.name, line.unit_price) for line in sale.lines] == [("Refund", Decimal("10.00"))]
    assert sale.original_external_id == sale_order["id"]
    assert payable(build(sale)) == Decimal("10.00")


def test_a_return_order_that_is_not_the_refunds_is_refused():
    return_order = return_order_for(orders_in("PayOrderResponse")[0], returned=[])
    with pytest.raises(MappingError, match="is not the refund's order"):
        to_refund(refund_of(750, order_id="OTHER"), order=return_order)


def test_an_unlinked_return_has_no_invoice_to_credit():
    return_order = return_order_for(orders_in("PayOrderResponse")[0], returned=[])
    del return_order["returns"][0]["source_order_id"]
    with pytest.raises(MappingError, match="unlinked return"):
        to_refund(refund_of(750, order_id="RETURN1"), order=return_order)


def test_a_return_order_is_not_a_sale():
    return_order = return_order_for(orders_in("PayOrderResponse")[0], returned=[])
    with pytest.raises(MappingError, match="return order has no sale"):
        to_sale(return_order)


def test_a_refund_in_another_currency_than_its_order_is_refused():
    with pytest.raises(MappingError, match="the refund is in NGN"):
        to_refund(
            refund_of(6176, order_id="RETURN1", currency="NGN"),
            order=orders_in("CreateOrderResponse")[0],
        )


# --- malformed input ----------------------------------------------------------------------------


def mutated(path: str, value) -> dict:
    """minimal_order() with the value at a dotted path (list indices as numbers) replaced;
    ``...`` deletes it."""
    order = minimal_order()
    *parents, last = [int(part) if part.isdigit() else part for part in path.split(".")]
    container = order
    for part in parents:
        container = container[part]
    if value is ...:
        del container[last]
    else:
        container[last] = value
    return order


MALFORMED_ORDERS = [
    pytest.param(mutated("id", ...), "order.id is missing", id="no-id"),
    pytest.param(mutated("id", 7), "order.id is a number", id="numeric-id"),
    pytest.param(mutated("id", "x" * 300), "300 characters", id="long-id"),
    pytest.param(mutated("total_money", ...), "order.total_money is missing", id="no-total"),
    pytest.param(mutated("total_money.amount", 5000.0), "is a float", id="float-amount"),
    pytest.param(mutated("total_money.amount", float("nan")), "is a float", id="nan-amount"),
    pytest.param(mutated("total_money.amount", "500000"), "is a str", id="string-amount"),
    pytest.param(mutated("total_money.amount", True), "is a bool", id="bool-amount"),
    pytest.param(mutated("total_money.amount", 2**63), "int64", id="huge-amount"),
    pytest.param(mutated("total_money.amount", 10**5000), "int64", id="enormous-amount"),
    pytest.param(mutated("total_money.amount", -500_000), "negative", id="negative-total"),
    pytest.param(mutated("total_money.currency", "ZZZ"), "not a currency", id="unknown-currency"),
    pytest.param(mutated("total_money.currency", "XAU"), "not a currency", id="gold"),
    pytest.param(mutated("total_money.currency", None), "not a currency", id="no-currency"),
    pytest.param(
        mutated("line_items.0.total_money.currency", "USD"),
        "nothing is converted",
        id="mixed-currencies",
    ),
    pytest.param(mutated("line_items", {}), "not a list", id="items-not-list"),
    pytest.param(mutated("line_items", []), "no line items", id="no-items"),
    pytest.param(mutated("line_items.0", "rice"), r"line_items\[0\] is a str", id="item-text"),
    pytest.param(mutated("line_items.0.quantity", "abc"), "quantity is 'abc'", id="qty-text"),
    pytest.param(mutated("line_items.0.quantity", "NaN"), "quantity is 'NaN'", id="qty-nan"),
    pytest.param(mutated("line_items.0.quantity", "1e3"), "quantity is '1e3'", id="qty-exp"),
    pytest.param(mutated("line_items.0.quantity", "-2"), "quantity is '-2'", id="qty-negative"),
    pytest.param(mutated("line_items.0.quantity", "0"), "positive quantity", id="qty-zero"),
    pytest.param(mutated("line_items.0.quantity", 2), "quantity is a number", id="qty-number"),
    pytest.param(mutated("line_items.0.quantity", "٣"), "quantity is", id="qty-arabic-digit"),
    pytest.param(mutated("line_items.0.total_money", ...), "total_money is missing", id="no-line"),
    pytest.param(
        mutated("line_items.0.total_money.amount", 400_000),
        "come to 400000 minor units",
        id="lines-short-of-total",
    ),
    pytest.param(
        mutated(
            "line_items.0.applied_discounts", [{"discount_uid": "D9", "applied_money": ngn(1)}]
        ),
        "names discount D9",
        id="unknown-discount",
    ),
    pytest.param(
        mutated("line_items.0.applied_taxes", [{"tax_uid": "T9"}]),
        "names tax T9",
        id="unknown-tax",
    ),
    pytest.param(
        mutated("rounding_adjustment", {"amount_money": ngn(5)}),
        "cash rounding",
        id="rounding",
    ),
    pytest.param(mutated("closed_at", "yesterday"), "not an RFC 3339", id="bad-time"),
    pytest.param(mutated("closed_at", "2026-01-15"), "not an RFC 3339", id="date-only"),
    pytest.param(mutated("closed_at", "2026-01-15T16:05:00"), "not an RFC 3339", id="naive"),
    pytest.param(mutated("total_tip_money", ngn(600_000)), "more than total_money", id="tip"),
    pytest.param(mutated("tenders", "CASH"), "not a list", id="tenders-text"),
    pytest.param(mutated("id", [10**5000]), "order.id is a list", id="huge-int-in-id"),
    pytest.param(
        mutated("service_charges", [{"calculation_phase": [], "total_money": ngn(0)}]),
        "calculation_phase is a list",
        id="phase-list",
    ),
]


@pytest.mark.parametrize(("order", "message"), MALFORMED_ORDERS)
def test_malformed_orders_are_mapping_errors_that_say_why(order, message):
    with pytest.raises(MappingError, match=message) as caught:
        to_sale(order)
    assert caught.value.permanent


def test_an_order_that_is_not_an_object_is_a_mapping_error():
    with pytest.raises(MappingError, match="order is a list"):
        to_sale([])


def test_additive_tax_without_a_percentage_is_a_mapping_error():
    order = mutated("line_items.0.applied_taxes", [{"tax_uid": "T1"}])
    order["taxes"] = [{"uid": "T1", "type": "ADDITIVE", "percentage": "7,5"}]
    with pytest.raises(MappingError, match="not a percentage"):
        to_sale(order)


def test_applied_discounts_must_add_up_to_the_lines_discount():
    order = mutated(
        "line_items.0.applied_discounts", [{"discount_uid": "D1", "applied_money": ngn(100)}]
    )
    order["discounts"] = [{"uid": "D1", "scope": "LINE_ITEM"}]
    order["line_items"][0]["total_discount_money"] = ngn(200)
    with pytest.raises(MappingError, match="add up to 100, not total_discount_money 200"):
        to_sale(order)


MALFORMED_WEBHOOKS = [
    pytest.param(b"", "not JSON", id="empty"),
    pytest.param(b"{", "not JSON", id="truncated"),
    pytest.param(b"\xff\xfe{}", "not JSON", id="not-utf8"),
    pytest.param(b"[]", "a JSON list", id="list"),
    pytest.param(b'"event"', "a JSON str", id="string"),
    pytest.param(b'{"event_id": NaN}', "NaN", id="nan"),
    pytest.param(b'{"event_id": -Infinity}', "-Infinity", id="infinity"),
    pytest.param(b'{"amount": 1e400}', "too large", id="overflowing-float"),
    pytest.param(b'{"amount": ' + b"9" * 5000 + b"}", "not JSON", id="5000-digit-int"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, "not JSON", id="deeply-nested"),
]


@pytest.mark.parametrize(("body", "message"), MALFORMED_WEBHOOKS)
def test_malformed_webhook_bodies_are_mapping_errors(body, message):
    with pytest.raises(MappingError, match=message):
        webhook_events(body)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("event_id",), ..., "event_id is missing"),
        (("event_id",), "", "event_id is ''"),
        (("type",), 12, "type is a number"),
        (("merchant_id",), ..., "merchant_id is missing"),
        (("data",), ..., "data is missing, not an object"),
        (("data",), [], "data is a list, not an object"),
        (("data", "id"), ..., "data.id is missing"),
        (("data", "object"), ..., "data.object is missing"),
        (("data", "object"), "payment", "data.object is a str"),
    ],
)
def test_webhook_envelopes_without_what_dedupe_needs_are_mapping_errors(path, value, message):
    envelope = load("webhook-payment.created")
    container = envelope
    for key in path[:-1]:
        container = container[key]
    if value is ...:
        del container[path[-1]]
    else:
        container[path[-1]] = value
    with pytest.raises(MappingError, match=message):
        webhook_events(json.dumps(envelope).encode())


@settings(max_examples=500, deadline=None)
@given(body=st.binary(max_size=512))
def test_any_bytes_are_events_or_a_mapping_error(body):
    try:
        events = webhook_events(body)
    except MappingError:
        return
    assert len(events) == 1


# --- generated orders, computed the way Square computes them -------------------------------------

VAT_PERCENT = Decimal("7.5")
TAXES = {
    "INCLUSIVE": {"uid": "vat-in", "name": "VAT", "percentage": "7.5", "type": "INCLUSIVE"},
    "ADDITIVE": {"uid": "vat-add", "name": "VAT", "percentage": "7.5", "type": "ADDITIVE"},
}
quantities = st.one_of(
    st.integers(min_value=1, max_value=24).map(str),
    st.integers(min_value=1, max_value=99_999).map(lambda grams: str(Decimal(grams).scaleb(-3))),
)
base_prices = st.integers(min_value=0, max_value=20_000_000)  # kobo: up to 200,000.00 naira
order_percents = st.sampled_from((None, "5", "10", "12.5", "33", "100"))
tender_types = st.sampled_from(("CASH", "CARD", "WALLET"))


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@st.composite
def square_orders(draw) -> dict:
    """A COMPLETED NGN order: line discounts, an order percentage discount spread over lines
    after them, a 7.5 % VAT per line (ADDITIVE: charged on the discounted amount; INCLUSIVE:
    inside it), maybe a taxable service charge; every total derived as Square derives it."""
    order_percent = draw(order_percents)
    line_items, total, tax_total, discount_total = [], 0, 0, 0
    for index in range(draw(st.integers(min_value=1, max_value=6))):
        quantity = draw(quantities)
        base_price = draw(base_prices)
        tax = TAXES[draw(st.sampled_from(sorted(TAXES)))]
        gross = half_up(Decimal(quantity) * base_price)
        line_off = draw(st.integers(min_value=0, max_value=gross)) if draw(st.booleans()) else 0
        order_off = (
            half_up((gross - line_off) * Decimal(order_percent) / 100) if order_percent else 0
        )
        taxable = gross - line_off - order_off
        if tax["type"] == "ADDITIVE":
            line_tax = half_up(taxable * VAT_PERCENT / 100)
            line_total = taxable + line_tax
        else:
            line_tax = half_up(taxable * VAT_PERCENT / (100 + VAT_PERCENT))
            line_total = taxable
        applied_discounts = [
            {"uid": f"ad{index}-{uid}", "discount_uid": uid, "applied_money": ngn(amount)}
            for uid, amount in (("line-off", line_off), ("order-off", order_off))
            if amount
        ]
        line_items.append(
            {
                "uid": f"li{index}",
                "name": f"Item {index}",
                "quantity": quantity,
                "base_price_money": ngn(base_price),
                "variation_total_price_money": ngn(gross),
                "gross_sales_money": ngn(gross),
                "applied_taxes": [
                    {"uid": f"at{index}", "tax_uid": tax["uid"], "applied_money": ngn(line_tax)}
                ],
                "applied_discounts": applied_discounts,
                "total_discount_money": ngn(line_off + order_off),
                "total_tax_money": ngn(line_tax),
                "total_money": ngn(line_total),
            }
        )
        total += line_total
        tax_total += line_tax
        discount_total += line_off + order_off
    service_charges = []
    if draw(st.booleans()):
        charge = draw(st.integers(min_value=0, max_value=5_000_000))
        charge_tax = half_up(charge * VAT_PERCENT / 100)
        service_charges.append(
            {
                "uid": "sc",
                "name": "Service charge",
                "amount_money": ngn(charge),
                "applied_money": ngn(charge),
                "total_tax_money": ngn(charge_tax),
                "total_money": ngn(charge + charge_tax),
                "calculation_phase": "SUBTOTAL_PHASE",
                "taxable": True,
                "treatment_type": "LINE_ITEM_TREATMENT",
                "applied_taxes": [{"tax_uid": "vat-add", "applied_money": ngn(charge_tax)}],
            }
        )
        total += charge + charge_tax
        tax_total += charge_tax
    return {
        "id": "GENERATED1",
        "location_id": "LOC1",
        "state": "COMPLETED",
        "created_at": "2026-01-15T16:00:00Z",
        "closed_at": "2026-01-15T16:05:00Z",
        "line_items": line_items,
        "taxes": [{**tax, "scope": "LINE_ITEM"} for tax in TAXES.values()],
        "discounts": [
            {
                "uid": "line-off",
                "name": "Line discount",
                "type": "VARIABLE_AMOUNT",
                "scope": "LINE_ITEM",
            },
            {
                "uid": "order-off",
                "name": "Order discount",
                "type": "FIXED_PERCENTAGE",
                "percentage": order_percent or "0",
                "scope": "ORDER",
            },
        ],
        "service_charges": service_charges,
        "tenders": [{"type": draw(tender_types), "amount_money": ngn(total)}],
        "total_money": ngn(total),
        "total_tax_money": ngn(tax_total),
        "total_discount_money": ngn(discount_total),
        "total_tip_money": ngn(0),
    }


def naira(amount: int) -> Decimal:
    return Decimal(amount).scaleb(-2)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order=square_orders())
def test_generated_orders_invoice_to_their_total_and_validate(order):
    sale = to_sale(order)
    payload = build(sale)

    assert payable(payload) == naira(order["total_money"]["amount"])
    assert invoice_validate(payload, codes=CODES) == []
    assert money(payload["tax_total"][0]["tax_amount"]) == naira(order["total_tax_money"]["amount"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order=square_orders())
def test_generated_orders_carry_the_vat_square_charged_whatever_the_hs_code(order):
    sale = to_sale(order, default_hs_code=EXEMPT_HS_CODE)
    payload = build(sale)
    assert payable(payload) == naira(order["total_money"]["amount"])
    # Line by line and in all, to the kobo: an exempt HS code never zeroes charged VAT.
    assert [line.tax_amount for line in sale.lines] == [
        naira(entry["total_tax_money"]["amount"])
        for entry in [*order["line_items"], *order["service_charges"]]
    ]
    assert money(payload["tax_total"][0]["tax_amount"]) == naira(order["total_tax_money"]["amount"])
    assert invoice_validate(payload, codes=CODES) == []


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order=square_orders())
def test_generated_full_refunds_credit_the_whole_order(order):
    assume(order["total_money"]["amount"] > 0)  # Square refunds no zero amounts
    refund = refund_of(order["total_money"]["amount"], order_id="RETURN1", currency="NGN")
    sale = to_refund(refund, order=order)
    payload = build(sale)

    assert sale.original_external_id == order["id"]
    assert len(sale.lines) == len(order["line_items"]) + len(order["service_charges"])
    assert payable(payload) == naira(order["total_money"]["amount"])
    assert invoice_validate(payload, codes=CODES) == []


JUNK = (None, "", "x", -1, 0, 1.5, True, [], {}, 2**64, "1e9", "NaN")


def json_paths(value, prefix=()):
    """Every (path) into a JSON value's objects and lists."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in items:
        yield (*prefix, key)
        if isinstance(child, dict | list) and child:
            yield from json_paths(child, (*prefix, key))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order=square_orders(), data=st.data())
def test_a_corrupted_order_maps_or_is_a_mapping_error(order, data):
    corrupted = copy.deepcopy(order)
    path = data.draw(st.sampled_from(list(json_paths(corrupted))))
    container = corrupted
    for key in path[:-1]:
        container = container[key]
    container[path[-1]] = data.draw(st.sampled_from(JUNK))
    try:
        sale = to_sale(corrupted)
    except MappingError:
        return
    # What still maps (a corrupted field the mapping does not read) invoices to the total.
    assert payable(build(sale)) == sale.total == naira(corrupted["total_money"]["amount"])
