"""Received -> signed, measured on a running site (``manage.py sandbox_traffic --measure``).

The traffic goes to a connection of its own (``MEASURE_NAME``, one per organization and
platform, made once in a fresh sandbox account and reused), so that every source row it holds
from the start of a run on is the run's: the demo traffic of ``make run`` keeps its own
connection. Figures are read from the database once the run has settled: every stored event
worked, every invoiceable row signed or failed (or the timeout). An event is known by the id
our webhook intake gives it (the connector's parse of the body sent): a platform whose events
carry no id of their own (Lightspeed's two saves of a sale in one second) sends some that are
one event to us, and counting them twice would call the second lost.
"""

import math
import time
from datetime import datetime

from django.db.models import Count

from integrations.base import families, registry
from integrations.base.models import InboundEvent
from integrations.base.sandbox_accounts import connection_sandbox_create
from invoices.models import Invoice

# The name the measurement connection goes by on the pages.
MEASURE_NAME = "sandbox_traffic --measure"


def measure_connection_ensure(*, family: str, connection_id: str, site_url: str):
    """The measurement connection beside the demo connection ``connection_id`` (same
    organization, user and platform), made in a fresh sandbox account the first time."""
    model = families.get(family).connection_model
    demo = model.objects.filter(pk=connection_id).first()
    if demo is None:
        raise ValueError(f"No {family} connection {connection_id}")
    mine = model.objects.filter(
        organization=demo.organization_id,
        is_sandbox=True,
        is_active=True,
        display_name=MEASURE_NAME,
        **{model.platform_field: demo.platform},
    ).order_by("created_at")
    connection = mine.first()
    if connection is None:
        connection = connection_sandbox_create(
            family=family,
            platform=demo.platform,
            organization=demo.organization,
            user=demo.user,
            site_url=site_url,
        )
        connection.display_name = MEASURE_NAME
        connection.save(update_fields=["display_name"])
    return connection


def measure_event_ids(*, platform: str, bodies: list[bytes]) -> set[str]:
    """The stored ids of the events in the delivery ``bodies``, as the webhook intake reads
    them."""
    connector = registry.get(platform)
    return {event.event_id[:255] for body in bodies for event in connector.parse_webhook(body)}


def _stored(*, family: str, connection, event_ids: set[str]):
    return InboundEvent.objects.filter(
        family=family, connection_id=connection.pk, event_id__in=event_ids
    )


def _rows(*, family: str, connection, since: datetime):
    adapter = families.get(family).adapter
    return adapter.source_model.objects.filter(connection=connection, received_at__gte=since)


def measure_settle(
    *,
    family: str,
    connection,
    since: datetime,
    event_ids: set[str],
    timeout: float,
    sleep=time.sleep,
) -> float:
    """Wait until the run's events are stored and worked and its invoiceable rows are signed
    or failed, or ``timeout`` seconds; the seconds waited."""
    adapter = families.get(family).adapter
    started = time.monotonic()
    while True:
        events = _stored(family=family, connection=connection, event_ids=event_ids)
        rows = _rows(family=family, connection=connection, since=since).filter(
            **adapter.invoiceable_filter
        )
        settled = (
            events.count() >= len(event_ids)
            and not events.filter(status=InboundEvent.Status.PENDING).exists()
            and not rows.filter(signed_at__isnull=True).exclude(status="failed").exists()
        )
        waited = time.monotonic() - started
        if settled or waited >= timeout:
            return round(waited, 1)
        sleep(1.0)


def measure_report(*, family: str, connection, since: datetime, event_ids: set[str]) -> dict:
    """The run's figures from the database: rows received, invoiced and signed; received ->
    signed percentiles; events acknowledged but not stored (lost); duplicates (two rows of one
    platform id, or two invoices with one IRN)."""
    adapter = families.get(family).adapter
    rows = _rows(family=family, connection=connection, since=since)
    invoiceable = rows.filter(**adapter.invoiceable_filter)
    timings = list(
        invoiceable.filter(signed_at__isnull=False).values_list("received_at", "signed_at")
    )
    latencies = sorted((signed - received).total_seconds() for received, signed in timings)
    invoice_ids = rows.exclude(invoice=None).values("invoice_id")
    invoices = Invoice.objects.filter(pk__in=invoice_ids)
    events_stored = _stored(family=family, connection=connection, event_ids=event_ids).count()
    return {
        "connection": str(connection.pk),
        "rows_received": rows.count(),
        "rows_invoiceable": invoiceable.count(),
        "invoiced": invoices.count(),
        "signed": len(latencies),
        "confirmed": invoices.filter(status=Invoice.Status.CONFIRMED).count(),
        "failed": invoiceable.filter(status="failed").count(),
        "not_signed": invoiceable.filter(signed_at__isnull=True).count(),
        "events_sent": len(event_ids),
        "events_stored": events_stored,
        "lost_events": len(event_ids) - events_stored,
        "duplicate_rows": rows.values(adapter.external_id_field)
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count(),
        "duplicate_invoices": invoices.values("irn")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count(),
        **{
            f"received_to_signed_p{percent}_s": _percentile(latencies, percent)
            for percent in (50, 99)
        },
        "received_to_signed_max_s": round(latencies[-1], 3) if latencies else None,
    }


def _percentile(ordered: list[float], percent: int) -> float | None:
    """Nearest-rank percentile."""
    if not ordered:
        return None
    rank = max(math.ceil(percent / 100 * len(ordered)), 1)
    return round(ordered[rank - 1], 3)
