"""ERP documents -> FIRS invoices: the document's own lines and taxes are stated as the ERP
booked them (VAT not recomputed), and a document whose taxes or total disagree with its lines,
an unposted one, or a credit note without its original is refused."""

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from integrations.base.canonical import Document, DocumentKind, DocumentTax, Line, Party
from invoices.builder import InvoiceBuildError, InvoiceReference, invoice_build
from invoices.validation import invoice_validate
from tests.factories import OrganizationFactory

LAGOS = ZoneInfo("Africa/Lagos")
SUPPLIER = OrganizationFactory.build(
    legal_name="Kobalt Systems Nigeria Limited",
    tin="20847316-0001",
    contact_email="billing@kobaltsystems.ng",
    street_name="14 Adeola Odeku Street",
    city_name="Victoria Island",
    postal_zone="101241",
    state="NG-LA",
)
BUYER = Party(
    name="Lagos Builders Ltd",
    tin="31569955-0001",
    email="ap@builders.ng",
    street_name="3 Marina",
    city_name="Lagos",
    postal_zone="101001",
    state="NG-LA",
)
HOUR = Line(
    name="Consulting hour",
    quantity=Decimal(1),
    unit_price=Decimal("10.10"),
    tax_rate=Decimal("7.5"),
    hs_code="6202",
    product_category="Computer consultancy services",
)
BOOK = Line(
    name="Printed manual",
    quantity=Decimal(2),
    unit_price=Decimal("5000.00"),
    tax_rate=Decimal(0),
    hs_code="4901.9900",
    product_category="Books",
)
# Three hours, VAT booked per line (0.76 each): 2.28, where 7.5 % of 30.30 is 2.27.
POSTED = Document(
    external_id="INV-1",
    number="INV/2026/0001",
    kind=DocumentKind.INVOICE,
    issued_at=datetime(2026, 1, 15, 12, 0, tzinfo=LAGOS),
    modified_at=datetime(2026, 1, 15, 12, 0, tzinfo=LAGOS),
    currency="NGN",
    lines=(HOUR, HOUR, HOUR),
    taxes=(
        DocumentTax(
            rate=Decimal("7.5"), taxable_amount=Decimal("30.30"), tax_amount=Decimal("2.28")
        ),
    ),
    total=Decimal("32.58"),
    is_posted=True,
    state="posted",
    buyer=BUYER,
)


def build(source, *, codes, **overrides):
    return invoice_build(
        source=source,
        supplier=SUPPLIER,
        codes=codes,
        invoice_number="ERP0001",
        issue_datetime=source.issued_at,
        service_id="A7K3Q9ZD",
        business_id="7b1e3c52-9a4d-4f0e-8c21-5d6f0a9e4b13",
        **overrides,
    )


def test_the_documents_own_tax_is_stated_not_recomputed(codes):
    payload = build(POSTED, codes=codes)

    [subtotal] = payload["tax_total"][0]["tax_subtotal"]
    assert (subtotal["taxable_amount"], subtotal["tax_amount"]) == (30.30, 2.28)
    assert payload["tax_total"][0]["tax_amount"] == 2.28
    totals = payload["legal_monetary_total"]
    assert (totals["tax_exclusive_amount"], totals["payable_amount"]) == (30.30, 32.58)
    assert payload["payment_status"] == "PENDING" and payload["note"] == "INV/2026/0001"
    assert [line["price"]["price_amount"] for line in payload["invoice_line"]] == [10.10] * 3
    assert invoice_validate(payload, codes=codes) == []


def test_each_rate_the_document_booked_becomes_its_own_subtotal(codes):
    document = replace(
        POSTED,
        lines=(HOUR, BOOK),
        taxes=(
            DocumentTax(
                rate=Decimal("7.5"), taxable_amount=Decimal("10.10"), tax_amount=Decimal("0.76")
            ),
            DocumentTax(rate=Decimal(0), taxable_amount=Decimal("10000.00"), tax_amount=Decimal(0)),
        ),
        total=Decimal("10010.86"),
        is_paid=True,
    )

    payload = build(document, codes=codes)

    subtotals = payload["tax_total"][0]["tax_subtotal"]
    assert [
        (s["tax_category"]["percent"], s["taxable_amount"], s["tax_amount"]) for s in subtotals
    ] == [
        (7.5, 10.10, 0.76),
        (0, 10000.00, 0.0),
    ]
    assert payload["payment_status"] == "PAID"


def test_a_credit_note_references_the_invoice_it_corrects(codes):
    credit = replace(POSTED, kind=DocumentKind.CREDIT_NOTE, original_external_id="INV-1")
    original = InvoiceReference(irn="ERP0000-A7K3Q9ZD-20260110", issue_date=date(2026, 1, 10))

    payload = build(credit, codes=codes, billing_reference=original)

    assert payload["invoice_type_code"] == codes.invoice_type_for("credit_note")
    assert payload["billing_reference"] == [{"irn": original.irn, "issue_date": "2026-01-10"}]
    with pytest.raises(InvoiceBuildError, match="reference the original invoice"):
        build(credit, codes=codes)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"total": Decimal("40.00")}, "not the document's total 40.00"),
        (
            {
                "taxes": (
                    DocumentTax(
                        rate=Decimal("7.5"),
                        taxable_amount=Decimal("30.00"),
                        tax_amount=Decimal("2.28"),
                    ),
                )
            },
            "is on 30.00, but its lines at that rate come to 30.30",
        ),
        ({"taxes": ()}, "no tax at that rate"),
        (
            {
                "taxes": (
                    *POSTED.taxes,
                    DocumentTax(rate=Decimal(0), taxable_amount=Decimal(0), tax_amount=Decimal(0)),
                )
            },
            "taxes at 0 % but no lines at that rate",
        ),
        ({"is_posted": False, "state": "draft"}, "is not posted"),
    ],
)
def test_a_document_that_disagrees_with_itself_is_refused(codes, changes, message):
    with pytest.raises(InvoiceBuildError, match=message):
        build(replace(POSTED, **changes), codes=codes)
