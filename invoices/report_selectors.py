"""Reads behind the reports an owner or accountant files from: the monthly VAT summary and the
CSV exports. Each takes the organization and scopes inside the query.

Only invoices FIRS has signed count towards VAT; a credit note (a refund) counts against its
month with its amounts negated, so a month's figures are what the business owes net of refunds.
"""

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, Count, DecimalField, F, Q, QuerySet, Sum, Value, When

from invoices.codes import STANDARD_VAT, ZERO_VAT
from invoices.models import Invoice, InvoiceLine, InvoiceTaxSubtotal
from invoices.selectors import code_lists, invoice_list
from taxpoynt.lib.csv_export import export_rows

CREDIT_NOTE = "credit_note"
ZERO = Decimal("0.00")


def _signed_for_credit_notes(amount: str, *, purpose: str = "purpose"):
    """``amount`` negated on credit notes: a refund takes its VAT back off the month."""
    return Case(
        When(**{purpose: CREDIT_NOTE}, then=-F(amount)),
        default=F(amount),
        output_field=DecimalField(max_digits=18, decimal_places=2),
    )


def month_bounds(month: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The first and last day of ``month``'s calendar month."""
    first = month.replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    return first, following - datetime.timedelta(days=1)


def signed_invoices_issued(*, organization, first_day, last_day) -> QuerySet[Invoice]:
    """The organization's invoices and credit notes FIRS signed, issued in the days given."""
    return invoice_list(organization=organization).filter(
        signed_at__isnull=False, issue_date__gte=first_day, issue_date__lte=last_day
    )


@dataclass(frozen=True)
class VatRate:
    """One tax category and rate of a month: what was sold at it and the VAT on it, invoices
    and credit notes apart and netted."""

    currency: str
    category: str
    percent: Decimal
    invoiced_taxable: Decimal
    invoiced_vat: Decimal
    credited_taxable: Decimal
    credited_vat: Decimal

    @property
    def net_taxable(self) -> Decimal:
        return self.invoiced_taxable - self.credited_taxable

    @property
    def net_vat(self) -> Decimal:
        return self.invoiced_vat - self.credited_vat


@dataclass(frozen=True)
class VatTotals:
    """A currency's lines of the return, each net of credit notes."""

    currency: str
    invoices: int = 0
    credit_notes: int = 0
    standard_rated_sales: Decimal = ZERO
    output_vat: Decimal = ZERO
    zero_rated_sales: Decimal = ZERO
    exempt_sales: Decimal = ZERO
    # Sales at a rate other than the standard or zero one (should there be any).
    other_sales: Decimal = ZERO

    @property
    def total_sales(self) -> Decimal:
        return (
            self.standard_rated_sales + self.zero_rated_sales + self.exempt_sales + self.other_sales
        )


@dataclass(frozen=True)
class VatSummary:
    first_day: datetime.date
    last_day: datetime.date
    rates: list[VatRate] = field(default_factory=list)
    totals: list[VatTotals] = field(default_factory=list)


def vat_summary(*, organization, month: datetime.date) -> VatSummary:
    """The month's VAT return figures, by issue date: output VAT by rate, zero-rated and exempt
    sales, credit notes netted. FIRS has no exempt category (exempt supplies go out at 0 %), so
    a zero-rate line is exempt when its HS code is on the FIRS VAT-exemption list and
    zero-rated otherwise."""
    first_day, last_day = month_bounds(month)
    invoices = signed_invoices_issued(
        organization=organization, first_day=first_day, last_day=last_day
    )
    rates = _vat_rates(invoices)
    lists = code_lists()
    exempt = _exempt_sales_by_currency(invoices)
    counts = {
        (row["currency"], row["purpose"]): row["count"]
        for row in invoices.order_by().values("currency", "purpose").annotate(count=Count("id"))
    }
    currencies = sorted({currency for currency, _ in counts})
    totals = []
    for currency in currencies:
        standard = [r for r in rates if r.currency == currency and _is_standard(r, lists)]
        zero = sum(
            (r.net_taxable for r in rates if r.currency == currency and r.category == ZERO_VAT),
            ZERO,
        )
        exempt_sales = exempt.get(currency, ZERO)
        totals.append(
            VatTotals(
                currency=currency,
                invoices=counts.get((currency, "invoice"), 0),
                credit_notes=counts.get((currency, CREDIT_NOTE), 0),
                standard_rated_sales=sum((r.net_taxable for r in standard), ZERO),
                output_vat=sum((r.net_vat for r in rates if r.currency == currency), ZERO),
                zero_rated_sales=zero - exempt_sales,
                exempt_sales=exempt_sales,
                other_sales=sum(
                    (
                        r.net_taxable
                        for r in rates
                        if r.currency == currency
                        and r.category != ZERO_VAT
                        and not _is_standard(r, lists)
                    ),
                    ZERO,
                ),
            )
        )
    return VatSummary(first_day=first_day, last_day=last_day, rates=rates, totals=totals)


def _is_standard(rate: VatRate, lists) -> bool:
    """Standard-rated: VAT at the standard rate (tax charged above it is another rate)."""
    return rate.category == STANDARD_VAT and rate.percent == lists.tax_percent(STANDARD_VAT)


def _vat_rates(invoices: QuerySet[Invoice]) -> list[VatRate]:
    credit = Q(invoice__purpose=CREDIT_NOTE)
    rows = (
        InvoiceTaxSubtotal.objects.filter(invoice__in=invoices)
        .values("invoice__currency", "category", "percent")
        .annotate(
            invoiced_taxable=Sum("taxable_amount", filter=~credit, default=ZERO),
            invoiced_vat=Sum("tax_amount", filter=~credit, default=ZERO),
            credited_taxable=Sum("taxable_amount", filter=credit, default=ZERO),
            credited_vat=Sum("tax_amount", filter=credit, default=ZERO),
        )
        .order_by("invoice__currency", "-percent", "category")
    )
    return [
        VatRate(
            currency=row["invoice__currency"],
            category=row["category"],
            percent=row["percent"],
            invoiced_taxable=row["invoiced_taxable"],
            invoiced_vat=row["invoiced_vat"],
            credited_taxable=row["credited_taxable"],
            credited_vat=row["credited_vat"],
        )
        for row in rows
    ]


def _exempt_sales_by_currency(invoices: QuerySet[Invoice]) -> dict[str, Decimal]:
    """Net amounts of the lines whose HS code FIRS lists as VAT-exempt, per currency: summed per
    HS code in the database, the few distinct codes then checked against the list."""
    lists = code_lists()
    exempt: dict[str, Decimal] = {}
    rows = (
        InvoiceLine.objects.filter(invoice__in=invoices)
        .exclude(hs_code="")
        .values("invoice__currency", "hs_code")
        .annotate(
            amount=Sum(
                _signed_for_credit_notes("line_extension_amount", purpose="invoice__purpose")
            )
        )
        .order_by()
    )
    for row in rows:
        if lists.is_vat_exempt(row["hs_code"]):
            currency = row["invoice__currency"]
            exempt[currency] = exempt.get(currency, ZERO) + row["amount"]
    return exempt


# --- CSV exports --------------------------------------------------------------------------------

INVOICE_EXPORT_HEADER = [
    "Number",
    "IRN",
    "Document",
    "Credits IRN",
    "Kind",
    "Issue date",
    "Currency",
    "Before tax",
    "VAT",
    "Payable",
    "Status",
    "Payment",
    "Source",
    "Source reference",
    "Signed at (WAT)",
]


def invoice_export_rows(invoices: QuerySet[Invoice]) -> Iterator[tuple]:
    """The invoices oldest first as ``INVOICE_EXPORT_HEADER`` lists them; a credit note's
    amounts are negative, as they count against the sales."""
    documents = invoices.order_by("issue_date", "id").annotate(
        document=Case(
            When(purpose=CREDIT_NOTE, then=Value("Credit note")),
            default=Value("Invoice"),
        ),
        signed_tax_exclusive=_signed_for_credit_notes("tax_exclusive_amount"),
        signed_tax=_signed_for_credit_notes("tax_amount"),
        signed_payable=_signed_for_credit_notes("payable_amount"),
    )
    return export_rows(
        documents,
        fields=[
            "number",
            "irn",
            "document",
            "billing_reference_irn",
            "kind",
            "issue_date",
            "currency",
            "signed_tax_exclusive",
            "signed_tax",
            "signed_payable",
            "status",
            "payment_status",
            "source_type",
            "source_reference",
            "signed_at",
        ],
    )


VAT_SUMMARY_HEADER = [
    "Currency",
    "Line",
    "Tax category",
    "Rate %",
    "Invoiced taxable",
    "Invoiced VAT",
    "Credited taxable",
    "Credited VAT",
    "Net taxable",
    "Net VAT",
]


def vat_summary_rows(summary: VatSummary) -> Iterator[tuple]:
    """The summary as ``VAT_SUMMARY_HEADER`` rows: each rate, then each currency's totals."""
    for rate in summary.rates:
        yield (
            rate.currency,
            "Rate",
            rate.category,
            rate.percent,
            rate.invoiced_taxable,
            rate.invoiced_vat,
            rate.credited_taxable,
            rate.credited_vat,
            rate.net_taxable,
            rate.net_vat,
        )
    for totals in summary.totals:
        for label, taxable, vat in (
            ("Standard-rated sales", totals.standard_rated_sales, totals.output_vat),
            ("Zero-rated sales", totals.zero_rated_sales, ZERO),
            ("Exempt sales", totals.exempt_sales, ZERO),
            ("Total", totals.total_sales, totals.output_vat),
        ):
            yield (totals.currency, label, "", "", "", "", "", "", taxable, vat)
