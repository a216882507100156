"""Generated sales and deals: every built invoice validates and adds up to the cent."""

import json
from dataclasses import replace
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.base.canonical import Deal, Line, Party, Sale, SaleKind
from invoices.builder import InvoiceReference, invoice_build
from invoices.codes import CodeLists
from invoices.validation import decimal_from_json, invoice_validate, round2
from tests.factories import OrganizationFactory

# Module-level, not fixtures: hypothesis reruns the test body, not function-scoped fixtures.
CODES = CodeLists.from_snapshot()
SUPPLIER = OrganizationFactory.build(
    legal_name="Oja Oyinbo Mart Limited",
    tin="22950417-0001",
    contact_email="receipts@ojaoyinbomart.ng",
    telephone="+2348055501122",
    street_name="22 Ring Road",
    city_name="Ibadan",
    postal_zone="200273",
    state="NG-OY",
)
ISSUED_AT = datetime(2026, 1, 15, 18, 7, 55, tzinfo=ZoneInfo("Africa/Lagos"))
ORIGINAL_INVOICE = InvoiceReference(
    irn="POS0381990-5TRB82QX-20260114", issue_date=date(2026, 1, 14)
)
STANDARD_CODES = ("3402.5000", "8513.1000", "8471.3000", "6202")
EXEMPT_CODES = ("1006.3000", "2915.3100")
BUYERS = (
    None,
    Party(name="Adaeze Okonkwo"),
    Party(
        name="Savannah Agro-Allied Processors Limited",
        tin="17402958-0001",
        email="accounts.payable@savannahagro.com.ng",
        street_name="Plot 1021 Aminu Kano Crescent",
        city_name="Wuse II",
        postal_zone="900288",
        state="NG-FC",
    ),
)
STANDARD_RATE = CODES.tax_percent("STANDARD_VAT")

CENT = Decimal("0.01")
# Strategies are built once, at module level, and money is drawn as whole cents: hypothesis is
# several times faster that way than with st.decimals() or strategies built inside each draw.
amounts = st.integers(min_value=0, max_value=200_000_000).map(lambda cents: cents * CENT)
quantities = st.one_of(
    st.integers(min_value=1, max_value=60).map(Decimal),
    st.integers(min_value=1, max_value=250_000).map(
        lambda thousandths: thousandths * Decimal("0.001")
    ),
)
fractions = st.integers(min_value=0, max_value=1000)  # of a line or basket, in thousandths
names = st.sampled_from(("Detergent", "Rice 5kg", "Lantern", "Installation"))
tax_rates = st.sampled_from((None, Decimal("7.5"), Decimal(0)))
hs_codes = st.sampled_from(STANDARD_CODES + EXEMPT_CODES)
currencies = st.sampled_from(("NGN", "USD", "EUR", "GBP"))
kinds = st.sampled_from(SaleKind)
buyers = st.sampled_from(BUYERS)
payment_means = st.lists(st.sampled_from(("10", "48", "30")), max_size=2)


def part_of(amount: Decimal, thousandths: int) -> Decimal:
    """A whole-cent part of ``amount``, never more than it."""
    return (amount * thousandths / 1000).quantize(CENT, rounding=ROUND_DOWN)


@st.composite
def lines(draw) -> Line:
    quantity = draw(quantities)
    unit_price = draw(amounts)
    return Line(
        name=draw(names),
        quantity=quantity,
        unit_price=unit_price,
        discount=(
            part_of(round2(quantity * unit_price), draw(fractions))
            if draw(st.booleans())
            else Decimal(0)
        ),
        tax_rate=draw(tax_rates),
        hs_code=draw(hs_codes),
        product_category="Household goods",
    )


line_lists = st.lists(lines(), min_size=1, max_size=8)


def line_amount(line: Line) -> Decimal:
    """What a till charges for a line: its total after its discount, to the cent."""
    return round2(line.quantity * line.unit_price) - line.discount


@st.composite
def sales(draw) -> Sale:
    sale_lines = draw(line_lists)
    basket = sum((line_amount(line) for line in sale_lines), Decimal(0))
    order_discount = part_of(basket, draw(fractions)) if draw(st.booleans()) else Decimal(0)
    kind = draw(kinds)
    # Some platforms report refunds with negative quantities and totals.
    sign = -1 if kind == SaleKind.REFUND and draw(st.booleans()) else 1
    return Sale(
        external_id="sale",
        occurred_at=ISSUED_AT,
        currency=draw(currencies),
        lines=tuple(
            replace(line, quantity=sign * line.quantity, discount=sign * line.discount)
            for line in sale_lines
        ),
        total=sign * (basket - order_discount),
        prices_include_tax=draw(st.booleans()),
        kind=kind,
        customer=draw(buyers),
        order_discount=sign * order_discount,
        payment_means=tuple(draw(payment_means)),
    )


@st.composite
def deals(draw) -> Deal:
    return Deal(
        external_id="deal",
        name="Supply of equipment",
        stage="closedwon",
        pipeline="default",
        amount=draw(amounts),
        currency="NGN",
        closed_at=ISSUED_AT,
        modified_at=ISSUED_AT,
        lines=tuple(draw(line_lists)),
        buyer=BUYERS[2],
        is_won=True,
        prices_include_tax=draw(st.booleans()),
    )


def build(source, **overrides) -> dict:
    return invoice_build(
        source=source,
        supplier=SUPPLIER,
        codes=CODES,
        invoice_number="POS/0381992",
        issue_datetime=ISSUED_AT,
        service_id="5TRB82QX",
        business_id="c4f09d7e-2b61-4a8e-9f35-0e7d1b6a2c48",
        **overrides,
    )


def money(value) -> Decimal:
    return decimal_from_json(value)


def assert_adds_up(payload: dict) -> None:
    """The totals' equalities (lines sum to the line extension amount, tax-exclusive plus tax
    is tax-inclusive, ...), recomputed here rather than trusted to the validator alone."""
    assert invoice_validate(payload, codes=CODES) == []
    assert json.loads(json.dumps(payload)) == payload
    totals = {key: money(value) for key, value in payload["legal_monetary_total"].items()}
    line_sum = sum(money(line["line_extension_amount"]) for line in payload["invoice_line"])
    allowances = sum(
        (money(entry["amount"]) for entry in payload.get("allowance_charge", [])), Decimal(0)
    )
    subtotals = payload["tax_total"][0]["tax_subtotal"]
    taxable_sum = sum(money(subtotal["taxable_amount"]) for subtotal in subtotals)
    tax_sum = sum(money(subtotal["tax_amount"]) for subtotal in subtotals)
    assert totals["line_extension_amount"] == line_sum
    assert totals["tax_exclusive_amount"] == line_sum - allowances == taxable_sum
    assert totals["tax_inclusive_amount"] == taxable_sum + tax_sum == totals["payable_amount"]
    for subtotal in subtotals:
        exact_tax = money(subtotal["taxable_amount"]) * money(subtotal["tax_category"]["percent"])
        assert abs(money(subtotal["tax_amount"]) - exact_tax / 100) <= Decimal("0.015")


@settings(max_examples=2000, deadline=None)
@given(sale=sales())
def test_every_sale_builds_a_valid_invoice_that_adds_up(sale):
    is_refund = sale.kind == SaleKind.REFUND
    payload = build(sale, billing_reference=ORIGINAL_INVOICE if is_refund else None)

    assert_adds_up(payload)
    totals = payload["legal_monetary_total"]
    if sale.prices_include_tax:
        # Back-calculated, never taxed on top: the invoice asks for what the customer paid.
        assert money(totals["payable_amount"]) == abs(sale.total)
    else:
        assert money(totals["tax_exclusive_amount"]) == abs(sale.total)
        assert sum(
            (money(entry["amount"]) for entry in payload.get("allowance_charge", [])), Decimal(0)
        ) == abs(sale.order_discount)
    purpose = "credit_note" if is_refund else "invoice"
    assert payload["invoice_type_code"] == CODES.invoice_type_for(purpose)
    assert ("billing_reference" in payload) is is_refund
    assert payload["invoice_kind"] == ("B2B" if sale.customer and sale.customer.tin else "B2C")
    assert payload["document_currency_code"] == sale.currency
    # Zero-rated lines carry no VAT whatever their HS code; exempt HS codes zero nothing.
    if all(line.tax_rate == 0 for line in sale.lines):
        assert money(payload["tax_total"][0]["tax_amount"]) == 0


@settings(max_examples=400, deadline=None)
@given(deal=deals())
def test_every_deal_builds_a_valid_invoice_that_adds_up(deal):
    payload = build(deal)

    assert_adds_up(payload)
    assert payload["invoice_kind"] == "B2B"
    if not deal.prices_include_tax:
        net = sum((line_amount(line) for line in deal.lines), Decimal(0))
        assert money(payload["legal_monetary_total"]["tax_exclusive_amount"]) == net


@settings(max_examples=800, deadline=None)
@given(gross=amounts)
def test_single_standard_line_splits_any_gross_to_the_cent(gross):
    sale = Sale(
        external_id="sale",
        occurred_at=ISSUED_AT,
        currency="NGN",
        lines=(
            Line(
                name="Lantern",
                quantity=Decimal(1),
                unit_price=gross,
                hs_code="8513.1000",
                product_category="Electrical household goods",
            ),
        ),
        total=gross,
    )

    payload = build(sale)

    assert_adds_up(payload)
    subtotal = payload["tax_total"][0]["tax_subtotal"][0]
    taxable, tax = money(subtotal["taxable_amount"]), money(subtotal["tax_amount"])
    assert taxable + tax == gross
    assert abs(tax - round2(taxable * STANDARD_RATE / 100)) <= Decimal("0.01")
