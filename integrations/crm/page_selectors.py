"""Reads for the CRM pages, each scoped to one organization inside the query; what every family
reads alike is in integrations.base.page_selectors.

A deal's ``received_at`` is when the version it holds reached us; for a won deal that is when we
learnt it was won, the start of the won -> signed latency. Reads of recent activity bound it
(indexed per connection) and never count the whole table.
"""

from collections.abc import Iterator
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet

from integrations.base import page_selectors
from integrations.base.page_selectors import Dashboard, Period, Summary, SummaryWindow
from integrations.crm import selectors
from integrations.crm.models import CRMDeal
from invoices.models import Invoice
from taxpoynt.lib.csv_export import export_rows

# What a deal is held to: won (its won version received) to signed by FIRS.
LATENCY_TARGET = timedelta(seconds=30)
# A deal is signed within minutes of being won: reads of what was signed in a window look at the
# deals received this much before it.
SIGNING_SLACK = timedelta(days=1)

FAILED = Q(status=CRMDeal.Status.FAILED) | Q(invoice__status=Invoice.Status.NEEDS_ATTENTION)

WON_DEALS = page_selectors.DashboardReads(
    dated_by="received_at",
    counted=Q(is_won=True),
    signing_slack=SIGNING_SLACK,
    latency_target=LATENCY_TARGET,
    series="won",
)


# --- Dashboard ----------------------------------------------------------------------------------


class DealSummary(Summary):
    """A window's summary; what it counts is won deals."""

    @property
    def won(self) -> int:
        return self.count


def dashboard(*, organization, now: datetime, period: Period) -> Dashboard:
    deals = selectors.deal_list(organization=organization)
    return page_selectors.dashboard(
        deals,
        reads=WON_DEALS,
        summaries=deal_summaries(deals, now=now, period=period),
        now=now,
    )


def deal_summaries(deals: QuerySet, *, now: datetime, period: Period) -> dict[str, DealSummary]:
    """Today's and the period's won deals (by when they were won, local time), the invoices
    FIRS signed for them and the deals that failed."""
    today, _ = page_selectors.local_today_and_month(now)
    windows = {}
    tomorrow = today + timedelta(days=1)
    for name, start, end in (("today", today, tomorrow), ("period", period.start, period.end)):
        received = Q(received_at__gte=start, received_at__lt=end)
        windows[name] = SummaryWindow(
            counted=received & WON_DEALS.counted,
            signed=received & WON_DEALS.counted & Q(signed_at__isnull=False),
            failed=received & FAILED,
        )
    return page_selectors.currency_summaries(
        deals.filter(
            received_at__gte=min(today, period.start), received_at__lte=max(now, period.end)
        ),
        amount="deal_amount",
        windows=windows,
        summary=DealSummary,
    )


# --- Deals --------------------------------------------------------------------------------------


def deals_filtered(*, organization, filters: dict) -> QuerySet[CRMDeal]:
    """The organization's deals matching the list's filters (dates are local days of when the
    deal's version reached us)."""
    deals = selectors.deal_list(organization=organization)
    if filters.get("q"):
        deals = deals.filter(
            Q(external_deal_id=filters["q"]) | Q(deal_title__icontains=filters["q"])
        )
    if filters.get("status"):
        deals = deals.filter(status=filters["status"])
    if filters.get("won") is not None:
        deals = deals.filter(is_won=filters["won"])
    if filters.get("invoiced") is not None:
        deals = deals.filter(invoice__isnull=not filters["invoiced"])
    if filters.get("failed") is not None:
        deals = deals.filter(FAILED) if filters["failed"] else deals.exclude(FAILED)
    if filters.get("stage"):
        deals = deals.filter(deal_stage=filters["stage"])
    if filters.get("platform"):
        deals = deals.filter(connection__crm_type=filters["platform"])
    return page_selectors.local_days_filtered(deals, dated_by="received_at", filters=filters)


def deals_failed_uninvoiced(*, organization, since: datetime, limit: int) -> list[CRMDeal]:
    """The deals received since ``since`` that failed before they had an invoice, newest
    first."""
    return list(
        selectors.deal_list(organization=organization)
        .filter(received_at__gte=since, status=CRMDeal.Status.FAILED, invoice__isnull=True)
        .order_by("-received_at", "-id")[:limit]
    )


def deal_with_history(*, organization, deal_id) -> CRMDeal:
    """The deal with its connection, invoice and the invoice's status history."""
    return (
        selectors.deal_list(organization=organization)
        .prefetch_related("invoice__history")
        .get(pk=deal_id)
    )


# --- CSV export ---------------------------------------------------------------------------------

DEAL_EXPORT_HEADER = [
    "External id",
    "Title",
    "Buyer",
    "Buyer TIN",
    "Stage",
    "Won",
    "Currency",
    "Amount",
    "Status",
    "Received at (WAT)",
    "Signed at (WAT)",
    "Invoice IRN",
]


def deal_export_rows(deals: QuerySet[CRMDeal]) -> Iterator[tuple]:
    """The deals oldest first as ``DEAL_EXPORT_HEADER`` lists them."""
    return export_rows(
        deals.order_by("received_at", "id"),
        fields=[
            "external_deal_id",
            "deal_title",
            "buyer_name",
            "buyer_tin",
            "deal_stage",
            "is_won",
            "currency",
            "deal_amount",
            "status",
            "received_at",
            "signed_at",
            "invoice__irn",
        ],
    )
