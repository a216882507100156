import json
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from integrations.base.canonical import Deal, Line, Party, Sale, SaleKind
from invoices.builder import InvoiceBuildError, InvoiceReference, invoice_build
from invoices.codes import CodeLists
from invoices.validation import decimal_from_json, invoice_validate
from tests.factories import OrganizationFactory

LAGOS = ZoneInfo("Africa/Lagos")
BUSINESS_ID = "7b1e3c52-9a4d-4f0e-8c21-5d6f0a9e4b13"

KOBALT = OrganizationFactory.build(
    legal_name="Kobalt Systems Nigeria Limited",
    tin="20847316-0001",
    contact_email="billing@kobaltsystems.ng",
    telephone="+2348031234567",
    street_name="14 Adeola Odeku Street",
    city_name="Victoria Island",
    postal_zone="101241",
    state="NG-LA",
    country="NG",
)
SAVANNAH = Party(
    name="Savannah Agro-Allied Processors Limited",
    tin="17402958-0001",
    email="accounts.payable@savannahagro.com.ng",
    telephone="+2349062345678",
    street_name="Plot 1021 Aminu Kano Crescent",
    city_name="Wuse II",
    postal_zone="900288",
    state="NG-FC",
)
OJA_OYINBO = OrganizationFactory.build(
    legal_name="Oja Oyinbo Mart Limited",
    tin="22950417-0001",
    contact_email="receipts@ojaoyinbomart.ng",
    telephone="08055501122",  # a local number: the builder adds +234
    street_name="22 Ring Road",
    city_name="Ibadan",
    postal_zone="200273",
    state="NG-OY",
    country="NG",
)
LAPTOP = Line(
    name="Business laptop 14-inch, 16GB RAM, 512GB SSD",
    quantity=Decimal(5),
    unit_price=Decimal("650000.00"),
    hs_code="8471.3000",
    product_category="Computers and office equipment",
    sku="KBL-LTP-1416",
    description="Portable computer with 3-year manufacturer warranty",
)


def build(source, *, codes, supplier=KOBALT, invoice_number="INV0001", **overrides):
    arguments = {
        "source": source,
        "supplier": supplier,
        "codes": codes,
        "invoice_number": invoice_number,
        "issue_datetime": datetime(2026, 1, 15, 12, 0, tzinfo=LAGOS),
        "service_id": "A7K3Q9ZD",
        "business_id": BUSINESS_ID,
        **overrides,
    }
    return invoice_build(**arguments)


def pos_sale(*lines, total, **fields):
    return Sale(
        external_id="sale-1",
        occurred_at=datetime(2026, 1, 15, 12, 0, tzinfo=LAGOS),
        currency=fields.pop("currency", "NGN"),
        lines=lines,
        total=Decimal(total),
        **fields,
    )


def item(name="Detergent", *, quantity="1", price, hs_code="3402.5000", **fields):
    return Line(
        name=name,
        quantity=Decimal(quantity),
        unit_price=Decimal(price),
        hs_code=hs_code,
        product_category=fields.pop("product_category", "Household goods"),
        **fields,
    )


def key_figures(payload: dict) -> dict:
    """What must match an example: identity, type, parties' money-relevant parts, all amounts."""
    keys = (
        "irn",
        "issue_date",
        "issue_time",
        "invoice_type_code",
        "invoice_kind",
        "document_currency_code",
        "tax_currency_code",
        "billing_reference",
        "allowance_charge",
        "tax_total",
        "legal_monetary_total",
        "invoice_line",
    )
    return {key: payload.get(key) for key in keys}


def party_without_description(party: dict) -> dict:
    return {key: value for key, value in party.items() if key != "business_description"}


def amount(payload: dict, *path) -> Decimal:
    value = payload
    for key in path:
        value = value[key]
    return decimal_from_json(value)


# The three worked examples: the canonical source that should produce each one.


def test_crm_deal_builds_the_b2b_it_equipment_example(codes, firs_example):
    example = firs_example("b2b-invoice-it-equipment")
    deal = Deal(
        external_id="D-4471",
        name="Supply and installation of laptops for head office, per CRM deal D-4471",
        stage="closedwon",
        pipeline="default",
        amount=Decimal("3980000.00"),
        currency="NGN",
        closed_at=datetime(2026, 1, 14, 9, 0, tzinfo=LAGOS),
        modified_at=datetime(2026, 1, 14, 9, 0, tzinfo=LAGOS),
        lines=(
            LAPTOP,
            item(
                "Installation and configuration",
                quantity="10",
                price="25000.00",
                hs_code="6202",
                product_category="Computer consultancy services",
                sku="KBL-SVC-INST",
                description="On-site imaging, domain join and data migration (hours)",
            ),
            item(
                "Annual support plan",
                price="480000.00",
                hs_code="6209",
                product_category="IT support services",
                sku="KBL-SVC-AMC12",
                description="12-month helpdesk and on-site support for 5 devices",
            ),
        ),
        buyer=SAVANNAH,
        is_won=True,
    )

    payload = build(
        deal,
        codes=codes,
        invoice_number="INV2026011401",
        issue_datetime=datetime(2026, 1, 14, 10, 42, 18, tzinfo=LAGOS),
    )

    assert key_figures(payload) == key_figures(example)
    assert payload["note"] == example["note"]
    assert payload["payment_status"] == "PENDING"
    assert payload["accounting_supplier_party"] == party_without_description(
        example["accounting_supplier_party"]
    )
    assert payload["accounting_customer_party"] == party_without_description(
        example["accounting_customer_party"]
    )
    assert invoice_validate(payload, codes=codes) == []


def test_vat_inclusive_pos_basket_builds_the_b2c_mixed_vat_example(codes, firs_example):
    example = firs_example("b2c-pos-receipt-mixed-vat")
    # The till charged VAT-inclusive prices: 4,515 is 4,200 + 7.5 %; rice is exempt (its
    # classification gives it rate 0, the till says nothing of tax).
    sale = pos_sale(
        item(
            "Parboiled long-grain rice 5kg",
            quantity="2",
            price="9500.00",
            tax_rate=Decimal(0),
            hs_code="1006.3000",
            product_category="Basic food items",
            sku="SKU-100631",
            description="Milled rice, 5kg bag (VAT-exempt basic food item)",
        ),
        item(
            "Laundry detergent 2kg",
            quantity="3",
            price="4515.00",
            product_category="Household cleaning products",
            sku="SKU-340250",
            description="Powder detergent, 2kg pack",
        ),
        item(
            "Rechargeable LED lantern",
            price="16985.00",
            hs_code="8513.1000",
            product_category="Electrical household goods",
            sku="SKU-851310",
            description="Portable lamp with 12-hour battery",
        ),
        total="49530.00",
        payment_means=("10",),
        # The example's buyer has a TIN; a walk-in buyer without one is what makes a sale B2C
        # here (with a TIN the builder says B2B, see test_buyer_with_a_tin_makes_it_b2b).
        customer=Party(
            name="Adaeze Okonkwo",
            email="adaeze.okonkwo@example.com",
            telephone="+2348129876543",
            street_name="5 Oluyole Estate Road",
            city_name="Ibadan",
            postal_zone="200263",
            state="NG-OY",
        ),
    )

    payload = build(
        sale,
        codes=codes,
        supplier=OJA_OYINBO,
        invoice_number="POS0381992",
        service_id="5TRB82QX",
        business_id="c4f09d7e-2b61-4a8e-9f35-0e7d1b6a2c48",
        issue_datetime=datetime(2026, 1, 15, 18, 7, 55, tzinfo=LAGOS),
    )

    assert key_figures(payload) == key_figures(example)
    assert amount(payload, "legal_monetary_total", "payable_amount") == sale.total
    for key in ("payment_status", "actual_delivery_date", "payment_means"):
        assert payload[key] == example[key]
    assert payload["accounting_supplier_party"] == party_without_description(
        example["accounting_supplier_party"]
    )
    assert "tin" not in payload["accounting_customer_party"]
    assert invoice_validate(payload, codes=codes) == []


@pytest.mark.parametrize("sign", [1, -1], ids=["positive refund", "negative refund"])
def test_refund_builds_the_credit_note_example(codes, firs_example, sign):
    example = firs_example("b2b-credit-note-laptop-return")
    returned = replace(
        LAPTOP,
        quantity=Decimal(sign),
        description="Returned unit, serial KBL1416-00357",
    )
    refund = pos_sale(
        returned,
        total=sign * Decimal("698750.00"),
        kind=SaleKind.REFUND,
        prices_include_tax=False,
        customer=SAVANNAH,
    )

    payload = build(
        refund,
        codes=codes,
        invoice_number="CN2026012001",
        issue_datetime=datetime(2026, 1, 20, 14, 15, tzinfo=LAGOS),
        billing_reference=InvoiceReference(
            irn="INV2026011401-A7K3Q9ZD-20260114", issue_date=date(2026, 1, 14)
        ),
    )

    assert key_figures(payload) == key_figures(example)
    assert payload["invoice_type_code"] == codes.invoice_type_for("credit_note") == "380"
    assert invoice_validate(payload, codes=codes) == []


# VAT-inclusive back-calculation


def test_vat_inclusive_price_is_split_not_taxed_on_top(codes):
    payload = build(pos_sale(item(price="1075.00"), total="1075.00"), codes=codes)

    assert payload["legal_monetary_total"] == {
        "line_extension_amount": 1000.0,
        "tax_exclusive_amount": 1000.0,
        "tax_inclusive_amount": 1075.0,
        "payable_amount": 1075.0,
    }
    assert payload["tax_total"][0]["tax_amount"] == 75.0
    assert payload["invoice_line"][0]["price"]["price_amount"] == 1000.0


def test_net_unit_price_gets_the_places_its_line_needs(codes):
    # 3 x 1,000 gross = 3,000 = 2,790.70 net + 209.30 VAT; 930.23 x 3 would give 2,790.69.
    payload = build(pos_sale(item(quantity="3", price="1000.00"), total="3000.00"), codes=codes)

    line = payload["invoice_line"][0]
    assert line["line_extension_amount"] == 2790.70
    assert line["price"]["price_amount"] == 930.2333
    assert payload["tax_total"][0]["tax_amount"] == 209.30
    assert invoice_validate(payload, codes=codes) == []


def test_gross_with_no_exact_vat_split_still_pays_the_sale_total(codes):
    # No taxable amount N has N + round2(N x 7.5 %) = 1,000.11: 930.34 gives 1,000.11 only with
    # VAT 69.77 (round2 says 69.78). The customer paid 1,000.11, so that is what the invoice says.
    payload = build(pos_sale(item(price="1000.11"), total="1000.11"), codes=codes)

    subtotal = payload["tax_total"][0]["tax_subtotal"][0]
    taxable, tax = (
        decimal_from_json(subtotal["taxable_amount"]),
        decimal_from_json(subtotal["tax_amount"]),
    )
    assert taxable + tax == Decimal("1000.11")
    assert abs(tax - (taxable * Decimal("0.075")).quantize(Decimal("0.01"))) == Decimal("0.01")
    assert amount(payload, "legal_monetary_total", "payable_amount") == Decimal("1000.11")
    assert invoice_validate(payload, codes=codes) == []


def test_many_inclusive_lines_spread_rounding_so_lines_add_up(codes):
    lines = [
        item(f"Item {index}", price=f"{index}.99", quantity=str(index)) for index in range(1, 12)
    ]
    total = sum(Decimal(f"{index}.99") * index for index in range(1, 12))

    payload = build(pos_sale(*lines, total=total), codes=codes)

    line_sum = sum(amount(line, "line_extension_amount") for line in payload["invoice_line"])
    assert line_sum == amount(payload, "legal_monetary_total", "line_extension_amount")
    assert amount(payload, "legal_monetary_total", "payable_amount") == total
    assert invoice_validate(payload, codes=codes) == []


def test_sale_total_that_the_lines_do_not_explain_is_refused(codes):
    sale = pos_sale(item(price="1075.00"), total="1175.00")  # e.g. a tip the mapper left out

    with pytest.raises(InvoiceBuildError, match=r"not the sale total 1175\.00"):
        build(sale, codes=codes)


# Tax categories come from the code lists


def test_an_exempt_hs_code_never_zeroes_the_vat_the_till_charged(codes):
    # The till charged 7.5 % VAT on an item whose HS code is on the exemption list: the buyer
    # paid 662.79 VAT, and that is what the invoice reports.
    rice = item(
        "Rice",
        price="9500.00",
        hs_code="1006.30.00",
        tax_rate=Decimal("7.5"),
        tax_amount=Decimal("662.79"),
    )

    payload = build(pos_sale(rice, total="9500.00"), codes=codes)

    assert payload["tax_total"] == [
        {
            "tax_amount": 662.79,
            "tax_subtotal": [
                {
                    "taxable_amount": 8837.21,
                    "tax_amount": 662.79,
                    "tax_category": {"id": "STANDARD_VAT", "percent": 7.5},
                }
            ],
        }
    ]
    assert invoice_validate(payload, codes=codes) == []


def test_each_line_carries_the_vat_the_till_charged_to_the_cent(codes):
    # Three lines of 10.75 at 7.5 % inclusive: the till rounds each line's VAT (0.75 each,
    # 2.25 in all) where a back-calculation of the 32.25 would give 2.25 too, but the till
    # here charged 0.76 on one line (its own rounding): the invoice carries 0.76, not 0.75.
    lines = [
        item(f"Item {index}", price="10.75", tax_amount=Decimal(tax))
        for index, tax in enumerate(("0.75", "0.76", "0.75"))
    ]

    payload = build(pos_sale(*lines, total="32.25"), codes=codes)

    subtotal = payload["tax_total"][0]["tax_subtotal"][0]
    assert (subtotal["taxable_amount"], subtotal["tax_amount"]) == (29.99, 2.26)
    assert [line["line_extension_amount"] for line in payload["invoice_line"]] == [
        10.0,
        9.99,
        10.0,
    ]
    assert amount(payload, "legal_monetary_total", "payable_amount") == Decimal("32.25")
    assert invoice_validate(payload, codes=codes) == []


def test_no_tax_charged_is_zero_vat_whatever_the_hs_code(codes):
    payload = build(
        pos_sale(item(price="500.00", tax_amount=Decimal(0)), total="500.00"), codes=codes
    )

    assert payload["tax_total"][0]["tax_subtotal"][0]["tax_category"]["id"] == "ZERO_VAT"
    assert payload["tax_total"][0]["tax_amount"] == 0.0


def test_vat_added_on_top_is_the_charged_amount(codes):
    deal_line = item(price="1000.00", tax_amount=Decimal("75.01"))
    sale = pos_sale(deal_line, total="1075.01", prices_include_tax=False)

    payload = build(sale, codes=codes)

    assert payload["tax_total"][0]["tax_amount"] == 75.01
    assert amount(payload, "legal_monetary_total", "payable_amount") == Decimal("1075.01")


def test_zero_rate_from_the_platform_is_zero_vat(codes):
    payload = build(
        pos_sale(item(price="500.00", tax_rate=Decimal(0)), total="500.00"), codes=codes
    )

    assert payload["tax_total"][0]["tax_subtotal"][0]["tax_category"]["id"] == "ZERO_VAT"


def _subtotals(payload: dict) -> list[tuple]:
    return [
        (
            subtotal["tax_category"]["id"],
            subtotal["tax_category"]["percent"],
            subtotal["taxable_amount"],
            subtotal["tax_amount"],
        )
        for subtotal in payload["tax_total"][0]["tax_subtotal"]
    ]


def test_a_rate_other_than_the_standard_one_is_signed_as_charged(codes):
    # Never re-rated nor zeroed: below the standard rate it is reduced VAT, above it standard
    # VAT, each at the rate charged, beside the lines at 7.5 %.
    sale = pos_sale(
        item("Soap", price="105.00", tax_rate=Decimal(5), tax_amount=Decimal("5.00")),
        item("Wine", price="110.00", tax_rate=Decimal(10), tax_amount=Decimal("10.00")),
        item("Milo", price="107.50", tax_rate=Decimal("7.5"), tax_amount=Decimal("7.50")),
        total="322.50",
    )

    payload = build(sale, codes=codes)

    assert _subtotals(payload) == [
        ("STANDARD_VAT", 10, 100.0, 10.0),
        ("STANDARD_VAT", 7.5, 100.0, 7.5),
        ("REDUCED_VAT", 5, 100.0, 5.0),
    ]
    assert payload["legal_monetary_total"]["payable_amount"] == 322.5
    assert invoice_validate(payload, codes=codes) == []


def test_a_rate_computed_from_the_platform_s_rate_alone_is_that_rate(codes):
    payload = build(
        pos_sale(item(price="105.00", tax_rate=Decimal(5)), total="105.00"), codes=codes
    )

    assert _subtotals(payload) == [("REDUCED_VAT", 5, 100.0, 5.0)]


@pytest.mark.parametrize("rate", ["-1", "101"])
def test_a_rate_that_is_no_rate_is_refused(codes, rate):
    with pytest.raises(InvoiceBuildError, match=f"taxed at {rate} %"):
        build(pos_sale(item(price="105.00", tax_rate=Decimal(rate)), total="105.00"), codes=codes)


def test_type_codes_and_rates_come_from_the_injected_code_lists():
    custom = CodeLists.from_resources(
        {
            "invoice-types": [{"code": "901", "value": "Commercial Invoice"}],
            "tax-categories": [
                {"code": "STANDARD_VAT", "value": "Standard", "percent": "10"},
                {"code": "ZERO_VAT", "value": "Zero", "percent": "0.0"},
            ],
            "payment-means": [{"code": "10", "value": "Cash"}],
            "currencies": [{"code": "NGN"}],
            "vat-exemptions": [{"harmonized_system_code": "3402.5000"}],
        }
    )
    sale = pos_sale(item(price="110.00", hs_code="8513.1000"), total="110.00")

    payload = build(sale, codes=custom)

    assert payload["invoice_type_code"] == "901"
    assert payload["tax_total"][0]["tax_subtotal"][0]["tax_category"] == {
        "id": "STANDARD_VAT",
        "percent": 10,
    }
    assert payload["tax_total"][0]["tax_amount"] == 10.0
    assert invoice_validate(payload, codes=custom) == []


# Discounts


def test_line_discount_is_sent_on_the_line_net_of_vat(codes):
    sale = pos_sale(
        item(quantity="2", price="1075.00", discount=Decimal("215.00")), total="1935.00"
    )

    payload = build(sale, codes=codes)

    line = payload["invoice_line"][0]
    assert line["discount_amount"] == 200.0
    assert line["line_extension_amount"] == 1800.0
    assert line["price"]["price_amount"] == 1000.0
    assert amount(payload, "legal_monetary_total", "payable_amount") == Decimal("1935.00")
    assert invoice_validate(payload, codes=codes) == []


def test_order_discount_on_inclusive_basket_is_an_allowance_spread_over_categories(codes):
    sale = pos_sale(
        item("Lantern", price="10750.00"),
        item("Rice", price="5000.00", hs_code="1006.3000", tax_rate=Decimal(0)),
        order_discount=Decimal("1575.00"),  # 10 % off the whole basket
        total="14175.00",
    )

    payload = build(sale, codes=codes)

    # 1,075 of the discount falls on the 7.5 % lantern (1,000 net), 500 on the exempt rice.
    assert payload["allowance_charge"] == [{"charge_indicator": False, "amount": 1500.0}]
    assert payload["legal_monetary_total"] == {
        "line_extension_amount": 15000.0,
        "tax_exclusive_amount": 13500.0,
        "tax_inclusive_amount": 14175.0,
        "payable_amount": 14175.0,
    }
    taxable = {
        subtotal["tax_category"]["id"]: subtotal["taxable_amount"]
        for subtotal in payload["tax_total"][0]["tax_subtotal"]
    }
    assert taxable == {"STANDARD_VAT": 9000.0, "ZERO_VAT": 4500.0}
    assert invoice_validate(payload, codes=codes) == []


def test_order_discount_on_exclusive_prices_is_the_allowance_as_given(codes):
    sale = pos_sale(
        item(price="1000.00", quantity="3"),
        order_discount=Decimal("333.33"),
        total="2866.67",
        prices_include_tax=False,
    )

    payload = build(sale, codes=codes)

    assert payload["allowance_charge"] == [{"charge_indicator": False, "amount": 333.33}]
    assert amount(payload, "legal_monetary_total", "tax_exclusive_amount") == Decimal("2666.67")
    assert amount(payload, "tax_total", 0, "tax_amount") == Decimal("200.00")
    assert invoice_validate(payload, codes=codes) == []


def test_order_discount_above_the_basket_is_refused(codes):
    sale = pos_sale(item(price="100.00"), order_discount=Decimal("150.00"), total="-50.00")

    with pytest.raises(InvoiceBuildError, match="Order discount"):
        build(sale, codes=codes)


# Refunds, currencies, parties, dates


def test_refund_without_the_original_invoice_is_refused(codes):
    refund = pos_sale(item(price="-1075.00"), total="-1075.00", kind=SaleKind.REFUND)

    with pytest.raises(InvoiceBuildError, match="billing_reference"):
        build(refund, codes=codes)


def test_negative_line_in_a_sale_is_refused(codes):
    sale = pos_sale(item(price="1075.00"), item(quantity="-1", price="1075.00"), total="0.00")

    with pytest.raises(InvoiceBuildError, match="positive quantity"):
        build(sale, codes=codes)


def test_foreign_currency_is_kept_without_conversion(codes):
    sale = pos_sale(item(price="107.50"), total="107.50", currency="usd")

    payload = build(sale, codes=codes)

    assert payload["document_currency_code"] == payload["tax_currency_code"] == "USD"
    assert payload["invoice_line"][0]["price"]["price_unit"] == "USD per 1"
    assert amount(payload, "legal_monetary_total", "payable_amount") == Decimal("107.50")
    assert invoice_validate(payload, codes=codes) == []


def test_anonymous_buyer_makes_a_b2c_invoice_without_a_tin(codes):
    payload = build(pos_sale(item(price="1075.00"), total="1075.00"), codes=codes)

    assert payload["invoice_kind"] == "B2C"
    assert payload["accounting_customer_party"] == {"party_name": "Walk-in customer"}
    assert invoice_validate(payload, codes=codes) == []


def test_buyer_with_a_tin_makes_it_b2b(codes):
    sale = pos_sale(item(price="1075.00"), total="1075.00", customer=SAVANNAH)

    payload = build(sale, codes=codes)

    assert payload["invoice_kind"] == "B2B"
    assert payload["accounting_customer_party"]["tin"] == "17402958-0001"
    assert invoice_validate(payload, codes=codes) == []


def test_b2b_buyer_without_email_is_reported_by_validation(codes):
    sale = pos_sale(item(price="1075.00"), total="1075.00", customer=replace(SAVANNAH, email=""))

    problems = invoice_validate(build(sale, codes=codes), codes=codes)

    assert [problem.path for problem in problems] == ["accounting_customer_party.email"]


@pytest.mark.parametrize(
    ("telephone", "expected"),
    [
        ("0803 123 4567", "+2348031234567"),
        ("2348031234567", "+2348031234567"),
        ("+44 20 7946 0958", "+442079460958"),
        ("ext. 42", None),
    ],
)
def test_telephone_is_sent_with_its_country_code_or_not_at_all(codes, telephone, expected):
    customer = replace(SAVANNAH, telephone=telephone)

    party = build(pos_sale(item(price="10.75"), total="10.75", customer=customer), codes=codes)[
        "accounting_customer_party"
    ]

    assert party.get("telephone") == expected


def test_free_text_state_is_left_out(codes):
    customer = replace(SAVANNAH, state="Lagos")

    payload = build(pos_sale(item(price="10.75"), total="10.75", customer=customer), codes=codes)

    assert "state" not in payload["accounting_customer_party"]["postal_address"]


def test_issue_date_and_irn_use_lagos_time(codes):
    late_evening_utc = datetime(2026, 1, 14, 23, 30, tzinfo=UTC)

    payload = build(
        pos_sale(item(price="10.75"), total="10.75"),
        codes=codes,
        invoice_number="POS/0001",
        issue_datetime=late_evening_utc,
    )

    assert payload["issue_date"] == "2026-01-15"
    assert payload["issue_time"] == "00:30:00"
    assert payload["irn"] == "POS0001-A7K3Q9ZD-20260115"


def test_deal_without_lines_is_one_line_that_validation_asks_codes_for(codes):
    deal = Deal(
        external_id="D-1",
        name="Consulting retainer",
        stage="closedwon",
        pipeline="default",
        amount=Decimal("500000.00"),
        currency="NGN",
        closed_at=None,
        modified_at=datetime(2026, 1, 14, tzinfo=LAGOS),
        buyer=SAVANNAH,
        is_won=True,
    )

    payload = build(deal, codes=codes)

    assert amount(payload, "legal_monetary_total", "payable_amount") == Decimal("537500.00")
    assert payload["invoice_line"][0]["item"]["name"] == "Consulting retainer"
    assert {problem.path for problem in invoice_validate(payload, codes=codes)} == {
        "invoice_line[0].hsn_code",
        "invoice_line[0].product_category",
    }


def test_payload_is_plain_json(codes):
    payload = build(pos_sale(item(quantity="0.333", price="1234.56"), total="411.11"), codes=codes)

    assert json.loads(json.dumps(payload)) == payload
