"""Reads for the CRM pages, each scoped to one organization inside the query.

A deal's ``received_at`` is when the version it holds reached us; for a won deal that is when we
learnt it was won, the start of the won -> signed latency. Reads of recent activity bound it
(indexed per connection) and never count the whole table.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from integrations.base.models import SyncRun
from integrations.crm import selectors
from integrations.crm.models import CRMConnection, CRMDeal
from integrations.pos.page_selectors import PercentileCont, local_midnight
from invoices.models import Invoice

# What a deal is held to: won (its won version received) to signed by FIRS.
LATENCY_TARGET = timedelta(seconds=30)
# A deal is signed within minutes of being won: reads of what was signed in a window look at the
# deals received this much before it.
SIGNING_SLACK = timedelta(days=1)

FAILED = Q(status=CRMDeal.Status.FAILED) | Q(invoice__status=Invoice.Status.NEEDS_ATTENTION)
LATENCY = ExpressionWrapper(F("signed_at") - F("received_at"), output_field=DurationField())


# --- Connections and sync runs --------------------------------------------------------------------


def connection_get(*, organization, connection_id) -> CRMConnection:
    """A connection of the organization that is not disconnected; DoesNotExist otherwise."""
    return (
        selectors.connection_list(organization=organization)
        .exclude(health=CRMConnection.Health.DISCONNECTED)
        .get(pk=connection_id)
    )


def sync_run_get(*, organization, sync_run_id) -> SyncRun:
    return selectors.sync_run_list(organization=organization).get(pk=sync_run_id)


# --- Dashboard ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DealSummary:
    won: int
    # (currency, value of the won deals) for each currency won in.
    totals: list[tuple[str, Decimal]]
    signed: int
    failed: int


@dataclass(frozen=True)
class Latency:
    window: str
    signed: int
    p50: timedelta | None
    p99: timedelta | None

    @property
    def within_target(self) -> bool | None:
        return None if self.p99 is None else self.p99 <= LATENCY_TARGET


@dataclass(frozen=True)
class HourOfDeals:
    hour: datetime
    won: int
    signed: int


def deal_summaries(*, organization, now: datetime) -> dict[str, DealSummary]:
    """Today's and this month's won deals (by when they were won, local time), the invoices FIRS
    signed and the deals that failed: one query, one row per currency."""
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    month = today.replace(day=1)
    aggregates = {}
    for name, start in {"today": today, "month": month}.items():
        received = Q(received_at__gte=start)
        won = received & Q(is_won=True)
        aggregates[f"{name}_won"] = Count("id", filter=won)
        aggregates[f"{name}_total"] = Sum("deal_amount", filter=won)
        aggregates[f"{name}_signed"] = Count("id", filter=Q(signed_at__gte=start))
        aggregates[f"{name}_failed"] = Count("id", filter=received & FAILED)
    rows = list(
        selectors.deal_list(organization=organization)
        .filter(received_at__gte=month - SIGNING_SLACK, received_at__lte=now)
        .order_by()
        .values("currency")
        .annotate(**aggregates)
        .order_by("currency")
    )
    return {
        name: DealSummary(
            won=sum(row[f"{name}_won"] for row in rows),
            totals=[(row["currency"], row[f"{name}_total"]) for row in rows if row[f"{name}_won"]],
            signed=sum(row[f"{name}_signed"] for row in rows),
            failed=sum(row[f"{name}_failed"] for row in rows),
        )
        for name in ("today", "month")
    }


def signing_latencies(*, organization, now: datetime) -> list[Latency]:
    """p50 and p99 of won -> signed for the deals signed in the last hour and day.

    Back-filled deals ride the batch queue and are not held to the target, so they are left out.
    """
    windows = {"hour": now - timedelta(hours=1), "day": now - timedelta(days=1)}
    aggregates = {}
    for name, start in windows.items():
        signed = Q(signed_at__gte=start)
        aggregates[f"{name}_signed"] = Count("id", filter=signed)
        aggregates[f"{name}_p50"] = PercentileCont(LATENCY, fraction=0.5, filter=signed)
        aggregates[f"{name}_p99"] = PercentileCont(LATENCY, fraction=0.99, filter=signed)
    values = (
        selectors.deal_list(organization=organization)
        .filter(
            received_at__gte=windows["day"] - SIGNING_SLACK,
            signed_at__gte=windows["day"],
            invoice__pipeline_queue="",
        )
        .aggregate(**aggregates)
    )
    return [
        Latency(
            window=name,
            signed=values[f"{name}_signed"],
            p50=values[f"{name}_p50"],
            p99=values[f"{name}_p99"],
        )
        for name in windows
    ]


def deals_by_hour(*, organization, now: datetime, hours: int = 24) -> list[HourOfDeals]:
    """Deals won and invoices signed in each of the last ``hours`` hours, the current one last;
    hours without any included."""
    current = timezone.localtime(now).replace(minute=0, second=0, microsecond=0)
    start = current - timedelta(hours=hours - 1)
    deals = selectors.deal_list(organization=organization).order_by()
    won = dict(
        deals.filter(received_at__gte=start, is_won=True)
        .annotate(hour=TruncHour("received_at"))
        .values_list("hour")
        .annotate(Count("id"))
    )
    signed = dict(
        deals.filter(received_at__gte=start - SIGNING_SLACK, signed_at__gte=start)
        .annotate(hour=TruncHour("signed_at"))
        .values_list("hour")
        .annotate(Count("id"))
    )
    return [
        HourOfDeals(hour=hour, won=won.get(hour, 0), signed=signed.get(hour, 0))
        for hour in (start + timedelta(hours=offset) for offset in range(hours))
    ]


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
    if filters.get("date_from"):
        deals = deals.filter(received_at__gte=local_midnight(filters["date_from"]))
    if filters.get("date_to"):
        deals = deals.filter(received_at__lt=local_midnight(filters["date_to"] + timedelta(days=1)))
    return deals


def deal_page(
    deals: QuerySet[CRMDeal], *, before: tuple[datetime, object] | None, size: int
) -> tuple[list[CRMDeal], tuple[datetime, object] | None]:
    """One page, newest first, and the (received_at, id) the next page starts below (None on the
    last page). Keyset pagination: no COUNT, and a page stays put while deals arrive."""
    if before is not None:
        received_at, row_id = before
        deals = deals.filter(
            Q(received_at__lt=received_at) | Q(received_at=received_at, id__lt=row_id)
        )
    page = list(deals.order_by("-received_at", "-id")[: size + 1])
    if len(page) > size:
        last = page[size - 1]
        return page[:size], (last.received_at, last.pk)
    return page, None


def deal_with_history(*, organization, deal_id) -> CRMDeal:
    """The deal with its connection, invoice and the invoice's status history."""
    return (
        selectors.deal_list(organization=organization)
        .prefetch_related("invoice__history")
        .get(pk=deal_id)
    )
