"""Writes shared by every family: accepting webhook deliveries, the quarantine, sync runs.

A delivery is verified on its raw bytes before anything is parsed, then each event is stored
(deduplicated on the connection and the event's key) before the platform gets its 2xx; the
family's task is queued only once the rows are committed, so a worker never looks for a row
that is not there yet.
"""

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from integrations.base import families, registry
from integrations.base.connectors import BaseConnector, Capability, WebhookEvent
from integrations.base.errors import MappingError
from integrations.base.models import InboundEvent, QuarantinedDelivery, SyncRun
from taxpoynt.lib import pgtext
from taxpoynt.lib.rows import row_by_pk

logger = logging.getLogger(__name__)

# Header values never kept in quarantine: they are signatures or credentials.
_SECRET_HEADER_WORDS = ("signature", "authorization", "cookie", "token", "secret")


class DeliveryRefused(Exception):
    """A delivery we do not accept: ``status`` is the HTTP answer, ``reason`` says why."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class DeliveryAccepted:
    stored: int = 0
    duplicates: int = 0
    event_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Delivery:
    """One HTTP request to a webhook endpoint, as received."""

    family: str
    platform: str
    headers: Mapping[str, str]
    body: bytes
    method: str = "POST"
    # The URI the request was made to (HubSpot signs it); Square signs the configured URL.
    uri: str = ""
    body_truncated: bool = False


# Either kind of webhooks makes events that are stored, replayed and processed alike.
ANY_WEBHOOKS = (Capability.WEBHOOKS, Capability.SECRET_URL_WEBHOOKS)


def delivery_connector_class(
    *, family: str, platform: str, capabilities: tuple[str, ...] = (Capability.WEBHOOKS,)
) -> type[BaseConnector]:
    """The connector class a delivery's URL names; 404 for a platform not of that family."""
    try:
        connector = registry.get(platform)
    except KeyError:
        raise DeliveryRefused(404, f"No platform {platform!r}") from None
    if connector.family != family:
        raise DeliveryRefused(404, f"{platform!r} is not a {family} platform")
    if not set(capabilities) & connector.capabilities:
        raise DeliveryRefused(404, f"{platform!r} sends no webhooks")
    return connector


def delivery_accept_for_connection(*, delivery: Delivery, connection_id) -> DeliveryAccepted:
    """A delivery to a connection's own endpoint, signed with the tenant's own key."""
    connector = delivery_connector_class(family=delivery.family, platform=delivery.platform)
    model = families.get(delivery.family).connection_model
    connection = row_by_pk(model, connection_id)
    if connection is None or connection.platform != delivery.platform:
        _refuse(delivery, reason="unknown connection", status=404, connection_id=None)
    secret = connection.webhook_secret
    # The URL the platform signs is the one it was configured with, not the one we see.
    url = connection.notification_url or delivery.uri
    if not secret or not url:
        _refuse(
            delivery,
            reason="the connection has no webhook signing secret or notification URL",
            status=401,
            connection_id=connection.pk,
        )
    events = _verified_events(
        delivery, connector=connector, secret=secret, url=url, connection_id=connection.pk
    )
    for event in events:
        if connection.account_id and event.account_id and event.account_id != connection.account_id:
            _refuse(
                delivery,
                reason=f"event for account {event.account_id}, not this connection's",
                status=400,
                connection_id=connection.pk,
            )
    return _events_store(delivery, [(connection, event) for event in events])


def delivery_accept_by_url_secret(
    *, delivery: Delivery, connection_id, secret: str
) -> DeliveryAccepted:
    """An unsigned delivery to a connection's secret URL. Anything but the connection's own
    secret is answered 404 and kept nowhere, not even in quarantine: without a signature the
    body is anybody's, and the URL must not be told apart from one that does not exist."""
    try:
        connector = delivery_connector_class(
            family=delivery.family,
            platform=delivery.platform,
            capabilities=(Capability.SECRET_URL_WEBHOOKS,),
        )
    except DeliveryRefused:
        raise DeliveryRefused(404, "not found") from None
    model = families.get(delivery.family).connection_model
    connection = model.objects.filter(pk=connection_id).first()
    known = connection is not None and connection.platform == delivery.platform
    if not connector.url_secret_valid(
        presented=secret, secret=connection.webhook_secret if known else ""
    ):
        raise DeliveryRefused(404, "not found")
    if delivery.body_truncated:
        _refuse(
            delivery,
            reason=f"body larger than {settings.WEBHOOK_MAX_BODY_BYTES} bytes",
            status=413,
            connection_id=connection.pk,
        )
    unstorable = _unstorable_text(delivery.body)
    if unstorable:
        _refuse(delivery, reason=unstorable, status=400, connection_id=connection.pk)
    try:
        events = list(connector.parse_webhook(delivery.body))
    except MappingError as error:
        _refuse(
            delivery, reason=f"malformed body: {error}", status=400, connection_id=connection.pk
        )
    if not events:
        _refuse(delivery, reason="no events in the body", status=400, connection_id=connection.pk)
    for event in events:
        if connection.account_id and event.account_id and event.account_id != connection.account_id:
            _refuse(
                delivery,
                reason=f"event for account {event.account_id}, not this connection's",
                status=400,
                connection_id=connection.pk,
            )
    return _events_store(delivery, [(connection, event) for event in events])


def delivery_accept_for_app(*, delivery: Delivery) -> DeliveryAccepted:
    """A delivery to our platform app's endpoint: signed with the app's key from settings,
    each event routed to the connection of the account it names."""
    connector = delivery_connector_class(family=delivery.family, platform=delivery.platform)
    app = settings.PLATFORM_APPS.get(delivery.platform, {})
    secret = app.get("signing_secret", "")
    url = app.get("notification_url", "") or delivery.uri
    if not secret or not url:
        _refuse(
            delivery,
            reason="our app's webhook signing secret or notification URL is not configured",
            status=401,
            connection_id=None,
        )
    events = _verified_events(
        delivery, connector=connector, secret=secret, url=url, connection_id=None
    )
    model = families.get(delivery.family).connection_model
    accounts = {event.account_id for event in events}
    connections = {
        row.account_id: row
        for row in model.objects.filter(account_id__in=accounts, is_active=True).order_by(
            "created_at"
        )
        if row.platform == delivery.platform
    }
    routed, unrouted = [], []
    for event in events:
        target = connections.get(event.account_id)
        (routed if target else unrouted).append((target, event))
    if unrouted:
        # Signed by our app, so genuine: keep them to replay once the account is connected.
        _quarantine(
            delivery,
            reason=f"no active connection for account(s) "
            f"{sorted({event.account_id for _, event in unrouted})}",
            connection_id=None,
        )
    return _events_store(delivery, routed)


def _verified_events(
    delivery: Delivery, *, connector: type[BaseConnector], secret: str, url: str, connection_id
) -> list[WebhookEvent]:
    if delivery.body_truncated:
        _refuse(
            delivery,
            reason=f"body larger than {settings.WEBHOOK_MAX_BODY_BYTES} bytes",
            status=413,
            connection_id=connection_id,
        )
    if not connector.verify_webhook(
        headers=delivery.headers,
        body=delivery.body,
        secret=secret,
        url=url,
        method=delivery.method,
    ):
        _refuse(delivery, reason="bad signature", status=401, connection_id=connection_id)
    unstorable = _unstorable_text(delivery.body)
    if unstorable:
        _refuse(delivery, reason=unstorable, status=400, connection_id=connection_id)
    try:
        events = list(connector.parse_webhook(delivery.body))
    except MappingError as error:
        _refuse(
            delivery, reason=f"malformed body: {error}", status=400, connection_id=connection_id
        )
    if not events:
        _refuse(delivery, reason="no events in the body", status=400, connection_id=connection_id)
    return events


def _unstorable_text(body: bytes) -> str:
    """Why the body's text cannot go into the inbox (jsonb), or "" when it can. Checked before
    any event is written: PostgreSQL would refuse the insert, and a 500 makes the platform retry
    for days. A body that is not JSON at all is left to the connector's parser to refuse."""
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError as error:
        problem = f"invalid UTF-8 at byte {error.start}"
    else:
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            return ""
        problem = pgtext.json_problem(document)
    return f"body contains text PostgreSQL cannot store ({problem})" if problem else ""


def quarantined_delivery_replay(*, delivery: QuarantinedDelivery) -> DeliveryAccepted:
    """Store the events of a refused delivery an operator vouches for (after a secret mix-up):
    parsed again, routed to its connection or by account id, deduplicated as usual."""
    replayed = Delivery(
        family=delivery.family,
        platform=delivery.platform,
        headers=delivery.headers,
        body=bytes(delivery.body),
        body_truncated=delivery.body_truncated,
    )
    if replayed.body_truncated:
        raise DeliveryRefused(413, "the body was cut at the size cap: it cannot be replayed")
    unstorable = _unstorable_text(replayed.body)
    if unstorable:
        raise DeliveryRefused(400, unstorable)
    connector = delivery_connector_class(
        family=delivery.family, platform=delivery.platform, capabilities=ANY_WEBHOOKS
    )
    try:
        events = list(connector.parse_webhook(replayed.body))
    except MappingError as error:
        raise DeliveryRefused(400, f"malformed body: {error}") from None
    model = families.get(delivery.family).connection_model
    routed = []
    for event in events:
        target = (
            model.objects.filter(pk=delivery.connection_id).first()
            if delivery.connection_id
            else model.objects.filter(account_id=event.account_id, is_active=True)
            .order_by("created_at")
            .first()
        )
        if target is None or target.platform != delivery.platform:
            raise DeliveryRefused(404, f"no connection for account {event.account_id}")
        routed.append((target, event))
    accepted = _events_store(replayed, routed)
    delivery.delete()
    return accepted


def _events_store(delivery: Delivery, routed: list) -> DeliveryAccepted:
    """Insert the events, skipping ones already stored; queue the new ones after commit. An
    event its connector needs no processing for is stored as ignored and not queued."""
    accepted = DeliveryAccepted()
    if not routed:
        return accepted
    connector = delivery_connector_class(
        family=delivery.family, platform=delivery.platform, capabilities=ANY_WEBHOOKS
    )
    now = timezone.now()
    rows = []
    for connection, event in routed:
        needed = connector.event_needs_processing(event)
        rows.append(
            (
                delivery.family,
                delivery.platform,
                str(connection.pk),
                event.event_id[:255],
                event.event_type[:100],
                event.object_id[:255],
                connector.event_subject(event)[:255],
                json.dumps(event.payload, cls=DjangoJSONEncoder),
                now,
                InboundEvent.Status.PENDING if needed else InboundEvent.Status.IGNORED,
                None if needed else now,
            )
        )
    placeholders = ", ".join(
        ["(%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, 0, '')"] * len(rows)
    )
    params = [value for row in rows for value in row]
    with transaction.atomic(), db_connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {InboundEvent._meta.db_table}
                (family, platform, connection_id, event_id, event_type, object_id, subject_id,
                 payload, received_at, status, processed_at, attempts, error)
            VALUES {placeholders}
            ON CONFLICT (family, connection_id, event_id) DO NOTHING
            RETURNING id, status
            """,  # noqa: S608 (table name from the model; values are parameters)
            params,
        )
        stored = cursor.fetchall()
        accepted.event_ids = [event_id for event_id, _ in stored]
        accepted.stored = len(stored)
        accepted.duplicates = len(rows) - accepted.stored
        pending = [event_id for event_id, status in stored if status == InboundEvent.Status.PENDING]
        active = {str(connection.pk) for connection, _ in routed if connection.is_active}
        if pending and active:
            family = families.get(delivery.family)
            transaction.on_commit(lambda: events_enqueue(pending, family=family))
    attempt_header = getattr(connector, "delivery_attempt_header", "")
    if attempt_header:
        # Which try of the platform's this was: a repeat attempt means our earlier answer was
        # late or lost (the duplicates count says whether the events were stored already).
        logger.info(
            "%s delivery attempt %s: %d events stored, %d already stored",
            delivery.platform,
            str(delivery.headers.get(attempt_header, "?"))[:8],
            accepted.stored,
            accepted.duplicates,
        )
    return accepted


def events_enqueue(event_ids, *, family: families.Family) -> None:
    delay = {"countdown": family.event_delay_seconds} if family.event_delay_seconds else {}
    for event_id in event_ids:
        family.tasks.process_event.apply_async(
            kwargs={"event_id": event_id}, queue=family.queue, **delay
        )


def _refuse(delivery: Delivery, *, reason: str, status: int, connection_id) -> None:
    _quarantine(delivery, reason=reason, connection_id=connection_id)
    raise DeliveryRefused(status, reason)


def _quarantine(delivery: Delivery, *, reason: str, connection_id) -> None:
    """Keep a refused delivery (capped per platform); a failure here never hides the refusal."""
    try:
        QuarantinedDelivery.objects.create(
            family=delivery.family,
            platform=delivery.platform,
            connection_id=connection_id,
            reason=pgtext.storable(reason)[:255],
            headers=_headers_kept(delivery.headers),
            body=delivery.body,
            body_truncated=delivery.body_truncated,
        )
        _quarantine_trim(family=delivery.family, platform=delivery.platform)
    except Exception:
        logger.exception("Could not quarantine a refused %s delivery", delivery.platform)


def _quarantine_trim(*, family: str, platform: str) -> None:
    keep = settings.WEBHOOK_QUARANTINE_CAP
    oldest_kept = (
        QuarantinedDelivery.objects.filter(family=family, platform=platform)
        .order_by("-received_at", "-id")
        .values_list("id", flat=True)[keep : keep + 1]
    )
    boundary = list(oldest_kept)
    if boundary:
        QuarantinedDelivery.objects.filter(
            family=family, platform=platform, id__lte=boundary[0]
        ).delete()


def _headers_kept(headers: Mapping[str, str]) -> dict:
    return {
        pgtext.storable(name): (
            "(withheld)"
            if any(word in name.lower() for word in _SECRET_HEADER_WORDS)
            else pgtext.storable(value)
        )
        for name, value in headers.items()
    }


# --- Sync runs ----------------------------------------------------------------------------------


def sync_run_create(*, connection, kind: str, **fields) -> SyncRun:
    """A sync run of the connection (its family, platform and organization)."""
    return SyncRun.objects.create(
        family=connection.family,
        platform=connection.platform,
        connection_id=connection.pk,
        organization=connection.organization,
        kind=kind,
        **fields,
    )


def sync_run_page(*, run: SyncRun, rows: int, problems: list[str], **fields) -> None:
    """One page pulled: its rows recorded, its unmappable records counted (the last one's
    reason kept)."""
    if problems:
        fields.setdefault("last_error", problems[-1][:2000])
    sync_run_progress(run=run, pages=1, rows=rows, errors=len(problems), **fields)


def sync_run_succeed(*, run: SyncRun, **fields) -> None:
    sync_run_progress(
        run=run, status=SyncRun.Status.SUCCEEDED, finished_at=timezone.now(), **fields
    )


def sync_run_fail(*, run: SyncRun, error: Exception) -> None:
    sync_run_progress(
        run=run,
        errors=1,
        status=SyncRun.Status.FAILED,
        last_error=str(error)[:2000],
        finished_at=timezone.now(),
    )


def sync_run_progress(*, run: SyncRun, pages: int = 0, rows: int = 0, errors: int = 0, **fields):
    """Add to a run's counters in the database (not read-modify-write) and set other fields."""
    SyncRun.objects.filter(pk=run.pk).update(
        pages=F("pages") + pages,
        rows=F("rows") + rows,
        errors=F("errors") + errors,
        heartbeat_at=timezone.now(),
        **fields,
    )
