"""The monthly VAT summary: what an accountant files from, to the cent."""

import datetime
import random
from decimal import Decimal

import pytest

from invoices import report_selectors
from invoices.codes import STANDARD_VAT
from invoices.models import Invoice, InvoiceTaxSubtotal
from tests.factories import InvoiceFactory
from tests.invoices.report_support import EXPORT_SERVICE, MILO, RICE, signed_document

NOVEMBER = datetime.date(2026, 11, 1)


def _amount(rng) -> Decimal:
    return Decimal(rng.randint(0, 5_000_000)) / 100


@pytest.mark.django_db
def test_a_months_summary_is_its_signed_invoices_less_its_credit_notes_to_the_cent(org_a, org_b):
    rng = random.Random(15)
    counted = []
    for index in range(40):
        counted.append(
            signed_document(
                org_a,
                issue_date=NOVEMBER + datetime.timedelta(days=index % 30),
                credit_note=index % 5 == 0,
                standard=_amount(rng),
                exempt=_amount(rng) if index % 2 else Decimal(0),
                zero=_amount(rng) if index % 3 == 0 else Decimal(0),
            )
        )
    # Not counted: unsigned, issued in October or December, another organization's.
    noise = dict(standard=Decimal("1000.00"), exempt=Decimal("500.00"), zero=Decimal("250.00"))
    signed_document(org_a, issue_date=datetime.date(2026, 11, 15), signed=False, **noise)
    signed_document(org_a, issue_date=datetime.date(2026, 10, 31), **noise)
    signed_document(org_a, issue_date=datetime.date(2026, 12, 1), **noise)
    signed_document(org_b, issue_date=datetime.date(2026, 11, 15), **noise)

    summary = report_selectors.vat_summary(organization=org_a, month=datetime.date(2026, 11, 20))

    def sign(invoice):
        return -1 if invoice.is_credit_note else 1

    def line_total(invoice, hs_code):
        return sum(
            (line.line_extension_amount for line in invoice.lines.filter(hs_code=hs_code)),
            Decimal(0),
        )

    (totals,) = summary.totals
    assert (summary.first_day, summary.last_day) == (NOVEMBER, datetime.date(2026, 11, 30))
    assert totals.currency == "NGN"
    assert (totals.invoices, totals.credit_notes) == (32, 8)
    assert totals.output_vat == sum(sign(i) * i.tax_amount for i in counted)
    assert totals.standard_rated_sales == sum(sign(i) * line_total(i, MILO) for i in counted)
    assert totals.exempt_sales == sum(sign(i) * line_total(i, RICE) for i in counted)
    assert totals.zero_rated_sales == sum(sign(i) * line_total(i, EXPORT_SERVICE) for i in counted)
    assert totals.total_sales == sum(sign(i) * i.tax_exclusive_amount for i in counted)
    standard = next(rate for rate in summary.rates if rate.category == STANDARD_VAT)
    assert standard.credited_vat == sum(i.tax_amount for i in counted if i.is_credit_note)
    assert standard.net_vat == totals.output_vat


@pytest.mark.django_db
def test_invoice_is_signed_negative_when_it_is_a_credit_note(org_a):
    credit = InvoiceFactory(organization=org_a, purpose="credit_note")
    assert credit.signed_payable_amount == -credit.payable_amount
    assert Invoice.objects.get(pk=credit.pk).is_credit_note


@pytest.mark.django_db
def test_sales_at_another_rate_are_neither_standard_rated_nor_left_out(org_a):
    standard = signed_document(
        org_a, issue_date=NOVEMBER, standard=Decimal("100.00"), exempt=0, zero=0
    )
    # Signed as the till charged: 10 % above the standard rate, 5 % below it.
    for category, percent, taxable, vat in (
        (STANDARD_VAT, Decimal(10), Decimal("200.00"), Decimal("20.00")),
        ("REDUCED_VAT", Decimal(5), Decimal("300.00"), Decimal("15.00")),
    ):
        InvoiceTaxSubtotal.objects.create(
            invoice=standard,
            category=category,
            percent=percent,
            taxable_amount=taxable,
            tax_amount=vat,
        )

    (totals,) = report_selectors.vat_summary(organization=org_a, month=NOVEMBER).totals

    assert totals.standard_rated_sales == Decimal("100.00")
    assert totals.other_sales == Decimal("500.00")
    assert totals.output_vat == Decimal("7.50") + Decimal("20.00") + Decimal("15.00")
