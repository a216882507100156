"""Reads for the POS and integrations pages, each scoped to one organization inside the query.

``pos_transactions`` is partitioned by month on ``transaction_timestamp``: every read here either
bounds that column or looks a row up by id, so PostgreSQL reads the partitions it needs only and
nothing counts the whole table.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Window,
)
from django.db.models.functions import Greatest, RowNumber, TruncHour
from django.utils import timezone

from integrations.base import families, registry
from integrations.base.connectors import FAMILIES, Capability, OAuthConnector
from integrations.base.models import ConnectionBase, SyncRun
from integrations.pos import selectors
from integrations.pos.models import POSConnection, POSTransaction
from invoices.models import Invoice

# What a live sale is held to: received from the platform to signed by FIRS.
LATENCY_TARGET = timedelta(seconds=2)
# Live sales reach us within minutes of happening; reads of recent activity bound the sale's
# timestamp by this much more than their window so old partitions are skipped.
ARRIVAL_SLACK = timedelta(days=1)
FAMILY_TITLES = {"pos": "Point of sale", "crm": "CRM", "erp": "ERP"}
RECENT_SYNC_RUNS = 3

FAILED = Q(status=POSTransaction.Status.FAILED) | Q(invoice__status=Invoice.Status.NEEDS_ATTENTION)
LATENCY = ExpressionWrapper(F("signed_at") - F("received_at"), output_field=DurationField())


class PercentileCont(Aggregate):
    """PostgreSQL's continuous percentile: the value ``fraction`` of the rows lie below."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, *, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


# --- Integrations page --------------------------------------------------------------------------


@dataclass(frozen=True)
class FamilyPages:
    """Where a family's tenant pages live. Each family names its connection actions and sync
    run page alike (``<namespace>:connection_test``, ``<namespace>:sync_run``...)."""

    namespace: str
    # What a sync run pulls, singular ("sale"), and the list it lands in.
    rows_noun: str
    rows_url_name: str


# The families whose connections these pages manage; the others are listed as coming soon.
FAMILY_PAGES = {
    "pos": FamilyPages(namespace="pos", rows_noun="sale", rows_url_name="pos:transactions"),
    "crm": FamilyPages(namespace="crm", rows_noun="deal", rows_url_name="crm:deals"),
}


@dataclass(frozen=True)
class PlatformCard:
    key: str
    name: str
    family: str
    # "connected", "failing" or "not_connected": the worst of its live connections.
    state: str
    connections: list[ConnectionBase]
    connects_by_oauth: bool
    has_sandbox: bool
    backfills: bool


@dataclass(frozen=True)
class FamilySection:
    name: str
    title: str
    platforms: list[PlatformCard]
    # None for a family whose pages do not exist yet: shown as coming soon, without actions.
    pages: FamilyPages | None


def _connection_state(connection: ConnectionBase) -> str:
    if connection.health == ConnectionBase.Health.FAILING:
        return "failing"
    if connection.is_active and connection.health == ConnectionBase.Health.CONNECTED:
        return "connected"
    return "not_connected"


def integration_families(*, organization) -> list[FamilySection]:
    """Every family with its registered platforms; the platforms of families with pages with
    this organization's connections (disconnected ones left out), their recent sync runs
    attached."""
    sections = []
    for family in FAMILIES:
        pages = FAMILY_PAGES.get(family)
        by_platform: dict[str, list[ConnectionBase]] = {}
        if pages is not None:
            for connection in _live_connections(organization=organization, family=family):
                by_platform.setdefault(connection.platform, []).append(connection)
        platforms = []
        for key, connector in sorted(registry.for_family(family).items()):
            own = by_platform.get(key, [])
            states = {connection.state for connection in own}
            platforms.append(
                PlatformCard(
                    key=key,
                    name=connector.display_name,
                    family=family,
                    state=next(
                        (s for s in ("failing", "connected") if s in states), "not_connected"
                    ),
                    connections=own,
                    connects_by_oauth=issubclass(connector, OAuthConnector),
                    has_sandbox=Capability.SANDBOX in connector.capabilities,
                    backfills=Capability.BACKFILL in connector.capabilities,
                )
            )
        sections.append(
            FamilySection(
                name=family,
                title=FAMILY_TITLES.get(family, family.upper()),
                platforms=platforms,
                pages=pages,
            )
        )
    return sections


def _live_connections(*, organization, family: str) -> list[ConnectionBase]:
    """The family's connections that are not disconnected, newest first, each with its state
    and recent sync runs."""
    connections = list(
        families.get(family)
        .connection_model.objects.filter(organization=organization)
        .exclude(health=ConnectionBase.Health.DISCONNECTED)
        .order_by("-created_at")
    )
    runs: dict = {}
    for run in recent_sync_runs(
        organization=organization, family=family, connection_ids=[c.pk for c in connections]
    ):
        runs.setdefault(run.connection_id, []).append(run)
    for connection in connections:
        connection.state = _connection_state(connection)
        connection.recent_sync_runs = runs.get(connection.pk, [])
    return connections


def recent_sync_runs(*, organization, family: str, connection_ids) -> QuerySet[SyncRun]:
    """The last few runs of each connection, newest first."""
    return (
        SyncRun.objects.filter(
            organization=organization, family=family, connection_id__in=connection_ids
        )
        .annotate(recency=Window(RowNumber(), partition_by="connection_id", order_by="-created_at"))
        .filter(recency__lte=RECENT_SYNC_RUNS)
        .order_by("connection_id", "-created_at")
    )


def connection_get(*, organization, connection_id) -> POSConnection:
    """A connection of the organization that is not disconnected; DoesNotExist otherwise."""
    return (
        selectors.connection_list(organization=organization)
        .exclude(health=POSConnection.Health.DISCONNECTED)
        .get(pk=connection_id)
    )


def location_choices(*, organization) -> list[tuple[str, str]]:
    """(location id, name) of the locations the organization's connections take sales from."""
    rows = (
        selectors.connection_list(organization=organization)
        .exclude(external_location_id="")
        .order_by("location_name")
        .values_list("external_location_id", "location_name")
        .distinct()
    )
    return [(location_id, name or location_id) for location_id, name in rows]


def sync_run_get(*, organization, sync_run_id) -> SyncRun:
    return selectors.sync_run_list(organization=organization).get(pk=sync_run_id)


# --- Dashboard ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SalesSummary:
    sales: int
    # (currency, total of the sales) for each currency sold in.
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
class HourOfSales:
    hour: datetime
    sales: int
    signed: int


def sales_summaries(*, organization, now: datetime) -> dict[str, SalesSummary]:
    """Today's and this month's sales (by when they happened, local time) with how many of
    their invoices FIRS signed and how many failed: one query, one row per currency."""
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    month = today.replace(day=1)
    windows = {"today": Q(transaction_timestamp__gte=today), "month": Q()}
    sale = Q(kind=POSTransaction.Kind.SALE)
    aggregates = {}
    for name, window in windows.items():
        aggregates[f"{name}_sales"] = Count("id", filter=window & sale)
        aggregates[f"{name}_total"] = Sum("transaction_amount", filter=window & sale)
        aggregates[f"{name}_signed"] = Count("id", filter=window & Q(signed_at__isnull=False))
        aggregates[f"{name}_failed"] = Count("id", filter=window & FAILED)
    rows = list(
        selectors.transaction_list(organization=organization)
        .filter(transaction_timestamp__gte=month, transaction_timestamp__lte=now)
        .order_by()
        .values("currency")
        .annotate(**aggregates)
        .order_by("currency")
    )
    return {
        name: SalesSummary(
            sales=sum(row[f"{name}_sales"] for row in rows),
            totals=[
                (row["currency"], row[f"{name}_total"]) for row in rows if row[f"{name}_sales"]
            ],
            signed=sum(row[f"{name}_signed"] for row in rows),
            failed=sum(row[f"{name}_failed"] for row in rows),
        )
        for name in windows
    }


def signing_latencies(*, organization, now: datetime) -> list[Latency]:
    """p50 and p99 of received → signed for live sales signed in the last hour and day.

    Back-filled sales ride the batch queue and are not held to the target, so they are left out.
    """
    windows = {"hour": now - timedelta(hours=1), "day": now - timedelta(days=1)}
    aggregates = {}
    for name, start in windows.items():
        signed = Q(signed_at__gte=start)
        aggregates[f"{name}_signed"] = Count("id", filter=signed)
        aggregates[f"{name}_p50"] = PercentileCont(LATENCY, fraction=0.5, filter=signed)
        aggregates[f"{name}_p99"] = PercentileCont(LATENCY, fraction=0.99, filter=signed)
    values = (
        selectors.transaction_list(organization=organization)
        .filter(
            transaction_timestamp__gte=windows["day"] - ARRIVAL_SLACK,
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


def sales_by_hour(*, organization, now: datetime, hours: int = 24) -> list[HourOfSales]:
    """Sales (by when they happened) and invoices signed (by when FIRS signed them) in each of
    the last ``hours`` hours, the current one last; hours without any included."""
    current = timezone.localtime(now).replace(minute=0, second=0, microsecond=0)
    start = current - timedelta(hours=hours - 1)
    transactions = selectors.transaction_list(organization=organization).order_by()
    sales = dict(
        transactions.filter(transaction_timestamp__gte=start, kind=POSTransaction.Kind.SALE)
        .annotate(hour=TruncHour("transaction_timestamp"))
        .values_list("hour")
        .annotate(Count("id"))
    )
    signed = dict(
        transactions.filter(transaction_timestamp__gte=start - ARRIVAL_SLACK, signed_at__gte=start)
        .annotate(hour=TruncHour("signed_at"))
        .values_list("hour")
        .annotate(Count("id"))
    )
    return [
        HourOfSales(hour=hour, sales=sales.get(hour, 0), signed=signed.get(hour, 0))
        for hour in (start + timedelta(hours=offset) for offset in range(hours))
    ]


# --- Transactions -------------------------------------------------------------------------------


def transactions_filtered(*, organization, filters: dict) -> QuerySet[POSTransaction]:
    """The organization's transactions matching the list's filters (dates are local days)."""
    transactions = selectors.transaction_list(organization=organization)
    if filters.get("q"):
        # Exact: the external id is indexed, a substring search would read every partition.
        transactions = transactions.filter(external_transaction_id=filters["q"])
    if filters.get("status"):
        transactions = transactions.filter(status=filters["status"])
    if filters.get("platform"):
        transactions = transactions.filter(connection__pos_type=filters["platform"])
    if filters.get("location"):
        transactions = transactions.filter(external_location_id=filters["location"])
    if filters.get("date_from"):
        transactions = transactions.filter(
            transaction_timestamp__gte=local_midnight(filters["date_from"])
        )
    if filters.get("date_to"):
        transactions = transactions.filter(
            transaction_timestamp__lt=local_midnight(filters["date_to"] + timedelta(days=1))
        )
    return transactions


def transaction_page(
    transactions: QuerySet[POSTransaction], *, before: tuple[datetime, object] | None, size: int
) -> tuple[list[POSTransaction], tuple[datetime, object] | None]:
    """One page, newest sale first, and the (timestamp, id) the next page starts below (None on
    the last page). Keyset pagination: no COUNT, and a page stays put while sales arrive."""
    if before is not None:
        timestamp, row_id = before
        transactions = transactions.filter(
            Q(transaction_timestamp__lt=timestamp)
            | Q(transaction_timestamp=timestamp, id__lt=row_id)
        )
    page = list(transactions.order_by("-transaction_timestamp", "-id")[: size + 1])
    if len(page) > size:
        last = page[size - 1]
        return page[:size], (last.transaction_timestamp, last.pk)
    return page, None


def transaction_with_history(*, organization, transaction_id) -> POSTransaction:
    """The transaction with its connection, invoice and the invoice's status history."""
    return (
        selectors.transaction_list(organization=organization)
        .prefetch_related("invoice__history")
        .get(pk=transaction_id)
    )


def local_midnight(day) -> datetime:
    """The start of a day in the current (Lagos) time zone."""
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


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
