"""Reads for the tenant pages every family shares: the Integrations page, sync runs, and the
dashboard figures, paging and local days of each family's rows (POS sales, CRM deals).

Every read is scoped to one organization inside the query. The family-specific reads live in
each family's ``page_selectors`` and hand their rows here with what differs (the column rows are
dated by, what the dashboard counts).
"""

from dataclasses import dataclass, field
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
from django.db.models.functions import Abs, RowNumber, TruncHour
from django.utils import timezone

from integrations.base import families, registry, sandbox_accounts
from integrations.base.connectors import FAMILIES, Capability, OAuthConnector
from integrations.base.models import ConnectionBase, SyncRun

FAMILY_TITLES = {"pos": "Point of sale", "crm": "CRM", "erp": "ERP"}
RECENT_SYNC_RUNS = 3

LATENCY = ExpressionWrapper(F("signed_at") - F("received_at"), output_field=DurationField())
ZERO = Decimal("0.00")


class PercentileCont(Aggregate):
    """PostgreSQL's continuous percentile: the value ``fraction`` of the rows lie below."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, *, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def local_midnight(day) -> datetime:
    """The start of a day in the current (Lagos) time zone."""
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


# --- Integrations page --------------------------------------------------------------------------


@dataclass(frozen=True)
class FamilyPages:
    """Where a family's tenant pages live. Each family names its connection actions and sync
    run page alike (``<namespace>:connection_test``, ``<namespace>:sync_run``...)."""

    namespace: str
    # What a sync run pulls, singular ("sale"), and the list it lands in.
    rows_noun: str
    rows_url_name: str
    # What of a connected account becomes e-invoices, plural ("won deals").
    invoiced_rows: str


# The families whose connections these pages manage; the others are listed as coming soon.
FAMILY_PAGES = {
    "pos": FamilyPages(
        namespace="pos", rows_noun="sale", rows_url_name="pos:transactions", invoiced_rows="sales"
    ),
    "crm": FamilyPages(
        namespace="crm", rows_noun="deal", rows_url_name="crm:deals", invoiced_rows="won deals"
    ),
    "erp": FamilyPages(
        namespace="erp",
        rows_noun="document",
        rows_url_name="erp:documents",
        invoiced_rows="posted documents",
    ),
}


@dataclass
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
    # The page's form for a platform that connects with typed-in credentials, set by the view.
    credentials_form: object = None
    # What the tenant sets up at the platform to send deliveries (the connector's).
    delivery_setup: tuple[tuple[str, str], ...] = ()
    # For an OAuth platform whose accounts choose their login host: the field's help.
    login_host_help: str = ""


@dataclass(frozen=True)
class FamilySection:
    name: str
    title: str
    platforms: list[PlatformCard]
    # None for a family whose pages do not exist yet: shown as coming soon, without actions.
    pages: FamilyPages | None


def _connection_state(connection: ConnectionBase) -> str:
    # Refused credentials show as failing, with the last error saying to re-authorise.
    if connection.health in (ConnectionBase.Health.FAILING, ConnectionBase.Health.NEEDS_REAUTH):
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
                    has_sandbox=sandbox_accounts.provisioner_for(key) is not None,
                    backfills=Capability.BACKFILL in connector.capabilities,
                    delivery_setup=connector.delivery_setup,
                    login_host_help=getattr(connector, "login_host_help", ""),
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
        live_connection_list(organization=organization, family=family).order_by("-created_at")
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


def live_connection_list(*, organization, family: str) -> QuerySet[ConnectionBase]:
    """The family's connections of the organization that are not disconnected."""
    return (
        families.get(family)
        .connection_model.objects.filter(organization=organization)
        .exclude(health=ConnectionBase.Health.DISCONNECTED)
    )


def connection_get(*, organization, family: str, connection_id) -> ConnectionBase:
    """A connection of the organization that is not disconnected; DoesNotExist otherwise."""
    return live_connection_list(organization=organization, family=family).get(pk=connection_id)


def sync_run_get(*, organization, family: str, sync_run_id) -> SyncRun:
    return SyncRun.objects.filter(organization=organization, family=family).get(pk=sync_run_id)


# --- Dashboard ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardReads:
    """How a family's dashboard reads its rows (sales, deals)."""

    # The column the rows are dated and bounded by, so reads skip old partitions or index ranges.
    dated_by: str
    # The rows the figures and the chart count: sales (not refunds), won deals.
    counted: Q
    # A row is signed within this long of its date: reads of what was signed in a window look
    # at the rows dated this much before it.
    signing_slack: timedelta
    # What a live row is held to, received to signed (p99).
    latency_target: timedelta
    # The chart's name for the counted rows: its CSS modifier and its bars' key.
    series: str


@dataclass(frozen=True)
class Summary:
    """One window's figures: the rows counted (sales, won deals), their totals, the invoices
    signed for them and the failures; where the family has refunds, the refunds, the credit
    notes signed for them, and the totals net of refunds; where it has tax, the VAT collected
    (net of refunds)."""

    count: int
    # (currency, total of the counted rows) for each currency counted in.
    totals: list[tuple[str, Decimal]]
    # Invoices signed for the counted rows only, so it can be read against ``count``.
    signed: int
    failed: int
    refunds: int = 0
    refund_totals: list[tuple[str, Decimal]] = field(default_factory=list)
    # Credit notes signed for the refunds.
    signed_refunds: int = 0
    net_totals: list[tuple[str, Decimal]] = field(default_factory=list)
    vat_totals: list[tuple[str, Decimal]] = field(default_factory=list)


@dataclass(frozen=True)
class SummaryWindow:
    """What one window of the summary counts, as filters on the family's rows. ``signed`` and
    ``signed_refunds`` pick the signed ones among ``counted`` and ``refunds``."""

    counted: Q
    signed: Q
    failed: Q
    refunds: Q | None = None
    signed_refunds: Q | None = None


@dataclass(frozen=True)
class Period:
    """The dashboard's chosen period: rows dated from ``start`` until before ``end``."""

    key: str
    label: str
    start: datetime
    end: datetime


def dashboard_period(*, now: datetime, choice: str = "", first_day=None, last_day=None) -> Period:
    """This month (the default), last month, or the local days from ``first_day`` to
    ``last_day``; this month's period runs to the end of today."""
    today, month = local_today_and_month(now)
    if choice == "last_month":
        start = local_midnight((month.date() - timedelta(days=1)).replace(day=1))
        return Period(key=choice, label=f"{start:%B %Y}", start=start, end=month)
    if choice == "custom" and first_day and last_day:
        return Period(
            key=choice,
            label=f"{first_day:%-d %b %Y} to {last_day:%-d %b %Y}",
            start=local_midnight(first_day),
            end=local_midnight(last_day + timedelta(days=1)),
        )
    tomorrow = local_midnight(today.date() + timedelta(days=1))
    return Period(key="this_month", label="This month", start=month, end=tomorrow)


@dataclass(frozen=True)
class Latency:
    window: str
    signed: int
    p50: timedelta | None
    p99: timedelta | None
    target: timedelta
    # Rows received in the window and still unsigned longer than the target: late already,
    # whatever the signed ones' percentiles say.
    stuck: int = 0

    @property
    def within_target(self) -> bool | None:
        if self.stuck:
            return False
        return None if self.p99 is None else self.p99 <= self.target


@dataclass(frozen=True)
class HourCounts:
    hour: datetime
    # The rows counted (sales, won deals) dated in the hour.
    count: int
    # The invoices FIRS signed in the hour.
    signed: int


@dataclass(frozen=True)
class Dashboard:
    summaries: dict[str, Summary]
    latencies: list[Latency]
    hours: list[HourCounts]
    latency_target: timedelta
    series: str


def local_today_and_month(now: datetime) -> tuple[datetime, datetime]:
    """The starts of ``now``'s local day and month."""
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return today, today.replace(day=1)


def dashboard(
    rows: QuerySet, *, reads: DashboardReads, summaries: dict[str, Summary], now: datetime
) -> Dashboard:
    """The dashboard of ``rows`` (the organization's): the family's ``summaries``, the signing
    latencies and the last 24 hours."""
    return Dashboard(
        summaries=summaries,
        latencies=signing_latencies(rows, reads=reads, now=now),
        hours=counts_by_hour(rows, reads=reads, now=now),
        latency_target=reads.latency_target,
        series=reads.series,
    )


def currency_summaries(
    rows: QuerySet,
    *,
    amount: str,
    windows: dict[str, SummaryWindow],
    summary: type[Summary] = Summary,
    tax: str | None = None,
) -> dict[str, Summary]:
    """Each window's figures, the counted rows' ``amount`` (and ``tax``) totalled, refunds taken
    off the net: one query, one row per currency."""
    aggregates = {}
    for name, window in windows.items():
        aggregates[f"{name}_count"] = Count("id", filter=window.counted)
        aggregates[f"{name}_total"] = Sum(amount, filter=window.counted, default=ZERO)
        aggregates[f"{name}_signed"] = Count("id", filter=window.signed)
        aggregates[f"{name}_failed"] = Count("id", filter=window.failed)
        if window.refunds is not None:
            aggregates[f"{name}_refunds"] = Count("id", filter=window.refunds)
            # Platforms sign refunds either way; a refund always takes money off.
            aggregates[f"{name}_refund_total"] = Sum(
                Abs(amount), filter=window.refunds, default=ZERO
            )
            aggregates[f"{name}_signed_refunds"] = Count("id", filter=window.signed_refunds)
        if tax is not None:
            aggregates[f"{name}_vat"] = Sum(tax, filter=window.counted, default=ZERO)
            if window.refunds is not None:
                aggregates[f"{name}_refund_vat"] = Sum(
                    Abs(tax), filter=window.refunds, default=ZERO
                )
    currencies = list(
        rows.order_by().values("currency").annotate(**aggregates).order_by("currency")
    )
    summaries = {}
    for name in windows:

        def figure(key, row, name=name):
            return row.get(f"{name}_{key}", 0) or 0

        active = [row for row in currencies if figure("count", row) or figure("refunds", row)]
        summaries[name] = summary(
            count=sum(figure("count", row) for row in currencies),
            totals=[
                (row["currency"], row[f"{name}_total"]) for row in active if figure("count", row)
            ],
            signed=sum(figure("signed", row) for row in currencies),
            failed=sum(figure("failed", row) for row in currencies),
            refunds=sum(figure("refunds", row) for row in currencies),
            refund_totals=[
                (row["currency"], figure("refund_total", row))
                for row in active
                if figure("refunds", row)
            ],
            signed_refunds=sum(figure("signed_refunds", row) for row in currencies),
            net_totals=[
                (row["currency"], row[f"{name}_total"] - figure("refund_total", row))
                for row in active
            ],
            vat_totals=[
                (row["currency"], figure("vat", row) - figure("refund_vat", row)) for row in active
            ]
            if tax is not None
            else [],
        )
    return summaries


def signing_latencies(rows: QuerySet, *, reads: DashboardReads, now: datetime) -> list[Latency]:
    """p50 and p99 of received → signed for the rows signed in the last hour and day.

    Back-filled rows ride the batch queue and are not held to the target, so they are left out.
    """
    windows = {"hour": now - timedelta(hours=1), "day": now - timedelta(days=1)}
    aggregates = {}
    for name, start in windows.items():
        signed = Q(signed_at__gte=start)
        aggregates[f"{name}_signed"] = Count("id", filter=signed)
        aggregates[f"{name}_p50"] = PercentileCont(LATENCY, fraction=0.5, filter=signed)
        aggregates[f"{name}_p99"] = PercentileCont(LATENCY, fraction=0.99, filter=signed)
    recent = rows.filter(**{f"{reads.dated_by}__gte": windows["day"] - reads.signing_slack})
    values = recent.filter(signed_at__gte=windows["day"], invoice__pipeline_queue="").aggregate(
        **aggregates
    )
    stuck = (
        recent.filter(
            reads.counted,
            Q(invoice__isnull=True) | Q(invoice__pipeline_queue=""),
            signed_at__isnull=True,
            received_at__gte=windows["day"],
            received_at__lt=now - reads.latency_target,
        )
        .order_by()
        .aggregate(
            **{
                f"{name}_stuck": Count("id", filter=Q(received_at__gte=start))
                for name, start in windows.items()
            }
        )
    )
    return [
        Latency(
            window=name,
            signed=values[f"{name}_signed"],
            p50=values[f"{name}_p50"],
            p99=values[f"{name}_p99"],
            target=reads.latency_target,
            stuck=stuck[f"{name}_stuck"],
        )
        for name in windows
    ]


def counts_by_hour(
    rows: QuerySet, *, reads: DashboardReads, now: datetime, hours: int = 24
) -> list[HourCounts]:
    """The counted rows (by their date) and the invoices signed (by when FIRS signed them) in
    each of the last ``hours`` hours, the current one last; hours without any included."""
    current = timezone.localtime(now).replace(minute=0, second=0, microsecond=0)
    start = current - timedelta(hours=hours - 1)
    rows = rows.order_by()
    counted = dict(
        rows.filter(reads.counted, **{f"{reads.dated_by}__gte": start})
        .annotate(hour=TruncHour(reads.dated_by))
        .values_list("hour")
        .annotate(Count("id"))
    )
    signed = dict(
        rows.filter(**{f"{reads.dated_by}__gte": start - reads.signing_slack}, signed_at__gte=start)
        .annotate(hour=TruncHour("signed_at"))
        .values_list("hour")
        .annotate(Count("id"))
    )
    return [
        HourCounts(hour=hour, count=counted.get(hour, 0), signed=signed.get(hour, 0))
        for hour in (start + timedelta(hours=offset) for offset in range(hours))
    ]


# --- Lists --------------------------------------------------------------------------------------


def keyset_page(
    rows: QuerySet, *, ordered_by: str, before: tuple[datetime, object] | None, size: int
) -> tuple[list, tuple[datetime, object] | None]:
    """One page, newest (by ``ordered_by``) first, and the (timestamp, id) the next page starts
    below (None on the last page). Keyset pagination: no COUNT, and a page stays put while rows
    arrive."""
    if before is not None:
        timestamp, row_id = before
        rows = rows.filter(
            Q(**{f"{ordered_by}__lt": timestamp}) | Q(**{ordered_by: timestamp}, id__lt=row_id)
        )
    page = list(rows.order_by(f"-{ordered_by}", "-id")[: size + 1])
    if len(page) > size:
        last = page[size - 1]
        return page[:size], (getattr(last, ordered_by), last.pk)
    return page, None


def local_days_filtered(rows: QuerySet, *, dated_by: str, filters: dict) -> QuerySet:
    """The rows dated on the local days from the list's ``date_from`` to its ``date_to`` (either
    may be unset)."""
    if filters.get("date_from"):
        rows = rows.filter(**{f"{dated_by}__gte": local_midnight(filters["date_from"])})
    if filters.get("date_to"):
        end = local_midnight(filters["date_to"] + timedelta(days=1))
        rows = rows.filter(**{f"{dated_by}__lt": end})
    return rows
