import pytest

from invoices.validation import Problem, invoice_validate

EXAMPLES = (
    "b2b-invoice-it-equipment",
    "b2c-pos-receipt-mixed-vat",
    "b2b-credit-note-laptop-return",
)


def paths(problems: list[Problem]) -> list[str]:
    return [problem.path for problem in problems]


@pytest.mark.parametrize("name", EXAMPLES)
def test_worked_examples_pass(codes, firs_example, name):
    # The worked examples were made arithmetically consistent; this checks that they are.
    assert invoice_validate(firs_example(name), codes=codes) == []


def test_official_sample_figures_fail_the_arithmetic(codes, firs_example):
    # The figures of the official FIRS sample, whose totals do not add up.
    payload = firs_example("b2b-invoice-it-equipment")
    payload["legal_monetary_total"] = {
        "line_extension_amount": 340.50,
        "tax_exclusive_amount": 400,
        "tax_inclusive_amount": 430,
        "payable_amount": 30,
    }
    payload["tax_total"] = [
        {
            "tax_amount": 56.07,
            "tax_subtotal": [
                {
                    "taxable_amount": 800,
                    "tax_amount": 8,
                    "tax_category": {"id": "LOCAL_SALES_TAX", "percent": 2.3},
                }
            ],
        }
    ]

    problems = invoice_validate(payload, codes=codes)

    assert paths(problems) == [
        "tax_total[0].tax_subtotal[0].tax_amount",  # 800 x 2.3 % = 18.40, not 8
        "tax_total[0].tax_amount",  # 56.07 is not the sum of its subtotals
        "legal_monetary_total.line_extension_amount",  # the lines add up to 3,980,000
        "legal_monetary_total.tax_exclusive_amount",  # not line extension - allowances
        "legal_monetary_total.tax_exclusive_amount",  # and no VAT subtotal covers it
        "legal_monetary_total.tax_inclusive_amount",
        "legal_monetary_total.payable_amount",
    ]
    assert "taxable 800.00 x 2.3 % = 18.40" in problems[0].message


def test_not_an_object(codes):
    assert invoice_validate(["not", "an", "invoice"], codes=codes) == [
        Problem("", "The invoice must be a JSON object")
    ]


def test_empty_object_lists_every_mandatory_field(codes):
    assert paths(invoice_validate({}, codes=codes)) == [
        "business_id",
        "issue_date",
        "irn",
        "invoice_type_code",
        "document_currency_code",
        "tax_currency_code",
        "accounting_supplier_party",
        "accounting_customer_party",
        "invoice_line",
        "tax_total",
        "legal_monetary_total",
    ]


@pytest.mark.parametrize(
    ("change", "path", "message_part"),
    [
        ({"business_id": "7b1e3c52"}, "business_id", "not a UUID"),
        ({"issue_date": "14/01/2026"}, "issue_date", "YYYY-MM-DD"),
        ({"issue_date": "20260114"}, "issue_date", "YYYY-MM-DD"),
        ({"due_date": "2026-02-30"}, "due_date", "YYYY-MM-DD"),
        ({"issue_time": "25:00:00"}, "issue_time", "HH:MM:SS"),
        ({"irn": "INV-2026-011401-A7K3Q9ZD-20260114"}, "irn", "InvoiceNumber-ServiceID-YYYYMMDD"),
        ({"irn": "INV2026011401-A7K3Q9ZD-20260115"}, "irn", "differs from issue_date"),
        ({"invoice_type_code": "383"}, "invoice_type_code", "invoice-types"),
        ({"invoice_type_code": 381}, "invoice_type_code", "Expected text"),
        ({"payment_status": "SETTLED"}, "payment_status", "PENDING, PAID, REJECTED"),
        ({"invoice_kind": "P2P"}, "invoice_kind", "B2B, B2C, B2G"),
        ({"document_currency_code": "NAIRA"}, "document_currency_code", "currencies"),
        ({"tax_currency_code": ""}, "tax_currency_code", "required"),
    ],
)
def test_header_formats(codes, firs_example, change, path, message_part):
    payload = firs_example("b2b-invoice-it-equipment") | change

    problems = invoice_validate(payload, codes=codes)

    assert paths(problems) == [path]
    assert message_part in problems[0].message


@pytest.mark.parametrize(
    ("field", "value", "message_part"),
    [
        ("tin", "TIN-000001", "12345678-0001"),
        ("tin", "", "required"),
        ("email", "accounts", "email address"),
        ("telephone", "08031234567", "must start with +"),
        ("party_name", None, "required"),
    ],
)
def test_party_formats(codes, firs_example, field, value, message_part):
    payload = firs_example("b2b-invoice-it-equipment")
    payload["accounting_supplier_party"][field] = value

    problems = invoice_validate(payload, codes=codes)

    assert paths(problems) == [f"accounting_supplier_party.{field}"]
    assert message_part in problems[0].message


def test_party_address_fields(codes, firs_example):
    payload = firs_example("b2b-invoice-it-equipment")
    address = payload["accounting_customer_party"]["postal_address"]
    address.update(postal_zone="", country="Nigeria", state="FCT")

    assert paths(invoice_validate(payload, codes=codes)) == [
        "accounting_customer_party.postal_address.postal_zone",
        "accounting_customer_party.postal_address.country",
        "accounting_customer_party.postal_address.state",
    ]


def test_party_id_stands_in_for_name_and_address(codes, firs_example):
    payload = firs_example("b2b-invoice-it-equipment")
    customer = payload["accounting_customer_party"]
    del customer["party_name"], customer["postal_address"]
    customer["id"] = "0f5ed8f3-3c1f-4cbe-a1cf-1a4c7e3e7a10"

    assert invoice_validate(payload, codes=codes) == []


def test_anonymous_buyer_is_accepted_only_on_b2c(codes, firs_example):
    payload = firs_example("b2c-pos-receipt-mixed-vat")
    payload["accounting_customer_party"] = {"party_name": "Walk-in customer"}

    assert invoice_validate(payload, codes=codes) == []

    payload["invoice_kind"] = "B2B"
    assert paths(invoice_validate(payload, codes=codes)) == [
        "accounting_customer_party.tin",
        "accounting_customer_party.email",
        "accounting_customer_party.postal_address",
    ]


def test_credit_note_needs_a_billing_reference(codes, firs_example):
    payload = firs_example("b2b-credit-note-laptop-return")
    del payload["billing_reference"]

    problems = invoice_validate(payload, codes=codes)

    assert paths(problems) == ["billing_reference"]
    assert "original invoice" in problems[0].message


def test_billing_reference_entries_are_checked(codes, firs_example):
    payload = firs_example("b2b-credit-note-laptop-return")
    payload["billing_reference"] = [{"irn": "INV-1", "issue_date": "yesterday"}, "INV1"]

    assert paths(invoice_validate(payload, codes=codes)) == [
        "billing_reference[1]",
        "billing_reference[0].irn",
        "billing_reference[0].issue_date",
    ]


def test_payment_means_code_comes_from_the_code_list(codes, firs_example):
    payload = firs_example("b2b-invoice-it-equipment")
    payload["payment_means"][0]["payment_means_code"] = "CASH"

    problems = invoice_validate(payload, codes=codes)

    assert paths(problems) == ["payment_means[0].payment_means_code"]
    assert "payment-means" in problems[0].message


def test_amounts_must_be_numbers_with_two_places(codes, firs_example):
    payload = firs_example("b2b-invoice-it-equipment")
    payload["legal_monetary_total"]["payable_amount"] = "4278500.00"
    payload["invoice_line"][0]["line_extension_amount"] = 3250000.001

    problems = invoice_validate(payload, codes=codes)

    assert paths(problems) == [
        "invoice_line[0].line_extension_amount",
        "legal_monetary_total.payable_amount",
    ]
    assert "at most 2 decimal places" in problems[0].message
    assert "Expected a number" in problems[1].message


def test_negative_amounts_are_refused(codes, firs_example):
    payload = firs_example("b2b-credit-note-laptop-return")
    payload["legal_monetary_total"]["payable_amount"] = -698750.00

    problems = invoice_validate(payload, codes=codes)

    assert paths(problems) == ["legal_monetary_total.payable_amount"]
    assert "positive amounts" in problems[0].message


def test_line_arithmetic(codes, firs_example):
    payload = firs_example("b2b-invoice-it-equipment")
    payload["invoice_line"][0]["price"]["price_amount"] = 640000.00

    problems = invoice_validate(payload, codes=codes)

    assert paths(problems) == ["invoice_line[0].line_extension_amount"]
    assert "= 3200000.00" in problems[0].message


def test_line_discount_and_fee_enter_the_line_arithmetic(codes, firs_example):
    payload = firs_example("b2b-invoice-it-equipment")
    line = payload["invoice_line"][0]
    line.update(discount_amount=50000.00, fee_amount=25000.00)
    line["line_extension_amount"] = 3225000.00

    problems = invoice_validate(payload, codes=codes)

    # The line is right; the totals above it now are not.
    assert "invoice_line[0].line_extension_amount" not in paths(problems)
    assert "legal_monetary_total.line_extension_amount" in paths(problems)


def test_line_mandatory_fields(codes, firs_example):
    payload = firs_example("b2b-invoice-it-equipment")
    line = payload["invoice_line"][1]
    line["hsn_code"] = ""
    line["invoiced_quantity"] = 0
    del line["item"]["description"], line["price"]["price_unit"]

    assert paths(invoice_validate(payload, codes=codes)) == [
        "invoice_line[1].hsn_code",
        "invoice_line[1].invoiced_quantity",
        "invoice_line[1].item.description",
        "invoice_line[1].price.price_unit",
    ]


def test_subtotal_vat_may_be_off_by_a_cent_and_the_lines_rounding_but_no_more(codes, firs_example):
    # Three lines: one cent for the split of a VAT-inclusive gross, a cent per line for the
    # till's rounding of each line's VAT.
    payload = firs_example("b2c-pos-receipt-mixed-vat")
    assert len(payload["invoice_line"]) == 3
    subtotal = payload["tax_total"][0]["tax_subtotal"][0]
    totals = payload["legal_monetary_total"]
    for vat, expected_paths in (
        (2130.01, []),
        (2130.04, []),
        (2130.05, ["tax_subtotal[0].tax_amount"]),
    ):
        subtotal["tax_amount"] = payload["tax_total"][0]["tax_amount"] = vat
        totals["tax_inclusive_amount"] = totals["payable_amount"] = 47400 + vat

        problems = invoice_validate(payload, codes=codes)

        assert [path.removeprefix("tax_total[0].") for path in paths(problems)] == expected_paths


def test_tax_category_checks(codes, firs_example):
    payload = firs_example("b2c-pos-receipt-mixed-vat")
    standard, zero = payload["tax_total"][0]["tax_subtotal"]
    standard["tax_category"]["percent"] = "7.5"
    zero["tax_category"]["percent"] = 5

    problems = invoice_validate(payload, codes=codes)

    assert paths(problems) == [
        "tax_total[0].tax_subtotal[0].tax_category.percent",
        "tax_total[0].tax_subtotal[1].tax_category.percent",
        "tax_total[0].tax_subtotal[1].tax_amount",
    ]
    assert "Expected a number" in problems[0].message
    assert "ZERO_VAT is 0.0 %, not 5 %" in problems[1].message


@pytest.mark.parametrize(
    ("category", "percent", "message"),
    [
        ("STANDARD_VAT", 5, "Tax at 5 % is REDUCED_VAT, not STANDARD_VAT"),
        ("REDUCED_VAT", 10, "Tax at 10 % is STANDARD_VAT, not REDUCED_VAT"),
        ("STANDARD_VAT", 120, "120 % is not a tax rate"),
    ],
)
def test_a_vat_category_carries_a_rate_of_its_own(codes, firs_example, category, percent, message):
    payload = firs_example("b2c-pos-receipt-mixed-vat")
    standard = payload["tax_total"][0]["tax_subtotal"][0]
    standard["tax_category"] = {"id": category, "percent": percent}

    problems = invoice_validate(payload, codes=codes)

    assert message in problems[0].message
    assert problems[0].path == "tax_total[0].tax_subtotal[0].tax_category.percent"


def test_one_subtotal_per_category_and_rate(codes, firs_example):
    payload = firs_example("b2c-pos-receipt-mixed-vat")
    subtotals = payload["tax_total"][0]["tax_subtotal"]
    subtotals[1]["tax_category"] = {"id": "UNKNOWN_VAT", "percent": 0}
    subtotals.append(dict(subtotals[0], taxable_amount=0.0, tax_amount=0.0))

    problems = invoice_validate(payload, codes=codes)

    assert paths(problems) == [
        "tax_total[0].tax_subtotal[1].tax_category.id",
        "tax_total[0].tax_subtotal[2].tax_category",
    ]


def test_allowances_and_charges_enter_the_tax_exclusive_amount(codes, firs_example):
    payload = firs_example("b2b-invoice-it-equipment")
    payload["allowance_charge"] = [
        {"charge_indicator": False, "amount": 80000.00},
        {"charge_indicator": True, "amount": 30000.00},
    ]

    problems = invoice_validate(payload, codes=codes)

    assert paths(problems) == ["legal_monetary_total.tax_exclusive_amount"]
    assert "= 3930000.00" in problems[0].message

    payload["allowance_charge"][1]["charge_indicator"] = "yes"
    assert "allowance_charge[1].charge_indicator" in paths(invoice_validate(payload, codes=codes))


def test_problem_reads_as_path_and_message():
    assert str(Problem("irn", "This field is required")) == "irn: This field is required"
