"""Reads for the POS pages, each scoped to one organization inside the query; what every family
reads alike is in integrations.base.page_selectors.

``pos_transactions`` is partitioned by month on ``transaction_timestamp``: every read here either
bounds that column or looks a row up by id, so PostgreSQL reads the partitions it needs only and
nothing counts the whole table.
"""

from collections.abc import Iterator
from datetime import datetime, timedelta

from django.db.models import Case, DecimalField, F, Q, QuerySet, When
from django.db.models.functions import Abs, Greatest

from integrations.base import page_selectors
from integrations.base.page_selectors import LATENCY, Dashboard, Period, Summary, SummaryWindow
from integrations.pos import selectors
from integrations.pos.models import POSTransaction
from invoices.models import Invoice
from taxpoynt.lib.csv_export import export_rows

# What a live sale is held to: received from the platform to signed by FIRS.
LATENCY_TARGET = timedelta(seconds=2)
# Live sales reach us within minutes of happening; reads of recent activity bound the sale's
# timestamp by this much more than their window so old partitions are skipped.
ARRIVAL_SLACK = timedelta(days=1)

FAILED = Q(status=POSTransaction.Status.FAILED) | Q(invoice__status=Invoice.Status.NEEDS_ATTENTION)

SALES = page_selectors.DashboardReads(
    dated_by="transaction_timestamp",
    counted=Q(kind=POSTransaction.Kind.SALE),
    signing_slack=ARRIVAL_SLACK,
    latency_target=LATENCY_TARGET,
    series="sales",
)


def location_choices(*, organization) -> list[tuple[str, str]]:
    """(location id, name) of the locations the organization's connections take sales from."""
    rows = (
        selectors.connection_list(organization=organization)
        .exclude(external_location_id="")
        .values_list("external_location_id", "display_name", "location_name")
        .distinct()
    )
    # The tenant's name for the connection wins: two shops the platform names alike differ.
    named = {
        (location_id, display_name or location_name or location_id)
        for location_id, display_name, location_name in rows
    }
    return sorted(named, key=lambda choice: (choice[1].casefold(), choice[0]))


# --- Dashboard ----------------------------------------------------------------------------------


class SalesSummary(Summary):
    """A window's summary; what it counts is sales."""

    @property
    def sales(self) -> int:
        return self.count


def dashboard(*, organization, now: datetime, period: Period) -> Dashboard:
    transactions = selectors.transaction_list(organization=organization)
    return page_selectors.dashboard(
        transactions,
        reads=SALES,
        summaries=sales_summaries(transactions, now=now, period=period),
        now=now,
    )


def sales_summaries(
    transactions: QuerySet, *, now: datetime, period: Period
) -> dict[str, SalesSummary]:
    """Today's and the period's sales and refunds (by when they happened, local time), their
    totals, the net of refunds and the VAT collected, with how many of their invoices (credit
    notes, for refunds) FIRS signed and how many failed."""
    today, _ = page_selectors.local_today_and_month(now)
    windows = {
        "today": Q(transaction_timestamp__gte=today),
        "period": Q(transaction_timestamp__gte=period.start, transaction_timestamp__lt=period.end),
    }
    signed = Q(signed_at__isnull=False)
    refunds = Q(kind=POSTransaction.Kind.REFUND)
    return page_selectors.currency_summaries(
        transactions.filter(
            transaction_timestamp__gte=min(today, period.start),
            transaction_timestamp__lte=max(now, period.end),
        ),
        amount="transaction_amount",
        tax="tax_amount",
        windows={
            name: SummaryWindow(
                counted=window & SALES.counted,
                signed=window & SALES.counted & signed,
                failed=window & FAILED,
                refunds=window & refunds,
                signed_refunds=window & refunds & signed,
            )
            for name, window in windows.items()
        },
        summary=SalesSummary,
    )


# --- Transactions -------------------------------------------------------------------------------


def transactions_filtered(*, organization, filters: dict) -> QuerySet[POSTransaction]:
    """The organization's transactions matching the list's filters (dates are local days)."""
    transactions = selectors.transaction_list(organization=organization)
    if filters.get("q"):
        # Exact: the external id is indexed, a substring search would read every partition.
        transactions = transactions.filter(external_transaction_id=filters["q"])
    if filters.get("status"):
        transactions = transactions.filter(status=filters["status"])
    if filters.get("failed") is not None:
        transactions = (
            transactions.filter(FAILED) if filters["failed"] else transactions.exclude(FAILED)
        )
    if filters.get("platform"):
        transactions = transactions.filter(connection__pos_type=filters["platform"])
    if filters.get("location"):
        transactions = transactions.filter(external_location_id=filters["location"])
    return page_selectors.local_days_filtered(
        transactions, dated_by="transaction_timestamp", filters=filters
    )


def transactions_failed_uninvoiced(
    *, organization, since: datetime, limit: int
) -> list[POSTransaction]:
    """The sales since ``since`` that failed before they had an invoice (their platform data
    could not be read), newest first."""
    return list(
        selectors.transaction_list(organization=organization)
        .filter(
            transaction_timestamp__gte=since,
            status=POSTransaction.Status.FAILED,
            invoice__isnull=True,
        )
        .order_by("-transaction_timestamp", "-id")[:limit]
    )


def transaction_with_history(*, organization, transaction_id) -> POSTransaction:
    """The transaction with its connection, invoice and the invoice's status history."""
    return (
        selectors.transaction_list(organization=organization)
        .prefetch_related("invoice__history")
        .get(pk=transaction_id)
    )


# --- Live monitor -------------------------------------------------------------------------------


def monitor_rows(
    *, organization, now: datetime, limit: int, changed_after: datetime | None = None
) -> list[POSTransaction]:
    """Today's activity: the transactions that arrived or moved on (their own row or their
    invoice's), most recent change first; only those changed after ``changed_after`` if given."""
    rows = (
        selectors.transaction_list(organization=organization)
        .filter(transaction_timestamp__gte=now - ARRIVAL_SLACK)
        .annotate(changed_at=Greatest("updated_at", "invoice__updated_at"), latency=LATENCY)
    )
    if changed_after is not None:
        rows = rows.filter(changed_at__gt=changed_after)
    return list(rows.order_by("-changed_at", "-id")[:limit])


# --- CSV export ---------------------------------------------------------------------------------

TRANSACTION_EXPORT_HEADER = [
    "External id",
    "Kind",
    "Refunds sale",
    "Sold at (WAT)",
    "Location",
    "Currency",
    "Amount",
    "Tax",
    "Status",
    "Received at (WAT)",
    "Signed at (WAT)",
    "Invoice IRN",
]


def _refund_negated(amount: str):
    """``amount`` negative on refunds (platforms sign them either way): a refund takes money
    back off the sales."""
    return Case(
        When(kind=POSTransaction.Kind.REFUND, then=-Abs(amount)),
        default=F(amount),
        output_field=DecimalField(max_digits=15, decimal_places=2),
    )


def transaction_export_rows(transactions: QuerySet[POSTransaction]) -> Iterator[tuple]:
    """The transactions oldest first as ``TRANSACTION_EXPORT_HEADER`` lists them, refunds
    negative."""
    return export_rows(
        transactions.order_by("transaction_timestamp", "id").annotate(
            signed_amount=_refund_negated("transaction_amount"),
            signed_tax=_refund_negated("tax_amount"),
        ),
        fields=[
            "external_transaction_id",
            "kind",
            "original_external_id",
            "transaction_timestamp",
            "connection__location_name",
            "currency",
            "signed_amount",
            "signed_tax",
            "status",
            "received_at",
            "signed_at",
            "invoice__irn",
        ],
    )
