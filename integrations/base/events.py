"""Processing stored webhook events, the part every family shares: the retry policy for a
platform that cannot be asked now, finishing an event once, and a connection's health.

A family's ``event_process`` turns an event into its rows (sales, deals); these functions are the
bookkeeping around it, so every family fails, waits and recovers the same way.
"""

import logging
import random
from urllib.parse import urljoin

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Organization
from integrations.base import families
from integrations.base.connectors import WebhookEvent
from integrations.base.errors import (
    AuthenticationError,
    ConnectorError,
    MappingError,
    RateLimited,
)
from integrations.base.models import InboundEvent
from taxpoynt.lib.rows import row_by_pk

logger = logging.getLogger(__name__)


class RetryLater(Exception):
    """The platform could not be asked now; the task should run again after ``delay`` seconds."""

    def __init__(self, delay: float, reason: str):
        super().__init__(reason)
        self.delay = delay


def retry_delay(attempts: int, error: ConnectorError) -> float:
    """Exponential backoff with jitter, capped at a minute, never before the platform's own
    Retry-After."""
    delay = min(60.0, 0.5 * 2 ** (attempts - 1)) * random.uniform(0.5, 1.0)  # noqa: S311
    if isinstance(error, RateLimited) and error.retry_after:
        delay = max(delay, error.retry_after)
    return delay


def webhook_event_of(event: InboundEvent, *, account_id: str) -> WebhookEvent:
    return WebhookEvent(
        event_id=event.event_id,
        event_type=event.event_type,
        account_id=account_id,
        object_id=event.object_id,
        payload=event.payload,
    )


def event_finish(event: InboundEvent, status: str, *, error: str = "", connection=None) -> None:
    """Settle a pending event; a second worker finishing it too changes nothing.

    ``connection``: the event's, as this task read it; one that was not failing then is not
    written to (the usual case costs no statement)."""
    InboundEvent.objects.filter(pk=event.pk, status=InboundEvent.Status.PENDING).update(
        status=status, error=error[:2000], processed_at=timezone.now()
    )
    if status == InboundEvent.Status.PROCESSED and (
        connection is None or connection.health == connection.Health.FAILING
    ):
        connection_recovered(family=event.family, connection_id=event.connection_id)


def event_failed_try(event: InboundEvent, *, connection, error: ConnectorError) -> str:
    """Record a try the platform failed: FAILED once it is permanent or the tries are used up
    (a rate limit is a wait and uses none), else RetryLater with the backoff."""
    InboundEvent.objects.filter(pk=event.pk).update(attempts=F("attempts") + 1)
    attempts = event.attempts + 1
    gave_up = attempts >= settings.INTEGRATIONS_MAX_ATTEMPTS and not isinstance(error, RateLimited)
    if error.permanent or gave_up:
        event_finish(event, InboundEvent.Status.FAILED, error=str(error))
        # One unreadable sale or deal is not the account's fault.
        if not isinstance(error, MappingError):
            connection_failing(connection=connection, error=error)
        return InboundEvent.Status.FAILED
    raise RetryLater(retry_delay(attempts, error), str(error)) from error


def connection_failing(*, connection, error: ConnectorError) -> None:
    """Record a platform call's failure as the connection's health: refused credentials need
    the tenant to re-authorise; anything else is failing until a call succeeds again."""
    if isinstance(error, AuthenticationError):
        connection_reauthorization_needed(connection=connection, error=error)
        return
    type(connection).objects.filter(pk=connection.pk).update(
        health=connection.Health.FAILING, last_error=str(error)[:2000]
    )


def connection_reauthorization_needed(*, connection, error: ConnectorError) -> None:
    """The platform refused the stored credentials (revoked, expired, scopes removed): only
    connecting again mends it, so the connection says so until then, and the organization's
    owners and admins are mailed once, when it first says so."""
    rows = type(connection).objects.filter(pk=connection.pk)
    last_error = f"Re-authorise the connection: {error}"[:2000]
    newly = rows.exclude(health=connection.Health.NEEDS_REAUTH).update(
        health=connection.Health.NEEDS_REAUTH, last_error=last_error
    )
    if not newly:
        rows.update(last_error=last_error)
        return
    transaction.on_commit(
        lambda: _reauthorization_mail(connection=connection, error=str(error)[:500])
    )


def _reauthorization_mail(*, connection, error: str) -> None:
    from django.template.loader import render_to_string
    from django.urls import reverse

    from accounts.models import Membership
    from integrations.base import registry

    organization = connection.organization
    recipients = sorted(
        {
            membership.user.email
            for membership in Membership.objects.filter(
                organization=organization,
                role__in=(Membership.Role.OWNER, Membership.Role.ADMIN),
            ).select_related("user")
            if membership.user.email
        }
    )
    if not recipients:
        return
    platform = registry.get(connection.platform).display_name
    context = {
        "platform": platform,
        "name": connection.name,
        "organization": organization.legal_name,
        "error": error,
        # Our site's address is the one the connection's webhooks come to (no request here).
        "url": urljoin(connection.webhook_url or "/", reverse("pos:integrations")),
    }
    try:
        send_mail(
            subject=f"Re-authorise {platform} on TaxPoynt",
            message=render_to_string("integrations/email/reauthorization_needed.txt", context),
            from_email=None,
            recipient_list=recipients,
        )
    except OSError:
        # The connection says so on its card whatever the mail does.
        logger.warning("Could not mail %s about re-authorising %s", recipients, connection.pk)


def connection_recovered(*, family: str, connection_id) -> None:
    """The platform answered again: a connection marked failing is healthy once more (a write
    only when it was failing)."""
    model = families.get(family).connection_model
    model.objects.filter(pk=connection_id, health=model.Health.FAILING).update(
        health=model.Health.CONNECTED, last_error=""
    )


def connection_healthy(*, connection) -> None:
    type(connection).objects.filter(pk=connection.pk).update(
        health=connection.Health.CONNECTED, last_error=""
    )


def connection_activate(*, connection) -> int:
    """Turn the connection on and queue the events that waited for it. Returns that count."""
    family = families.get(connection.family)
    type(connection).objects.filter(pk=connection.pk).update(
        is_active=True, health=connection.Health.CONNECTED, last_error=""
    )
    waiting = list(
        InboundEvent.objects.filter(
            family=family.name, connection_id=connection.pk, status=InboundEvent.Status.PENDING
        ).values_list("id", flat=True)
    )
    transaction.on_commit(
        lambda: [
            family.tasks.process_event.apply_async(
                kwargs={"event_id": event_id}, queue=family.queue
            )
            for event_id in waiting
        ]
    )
    return len(waiting)


def connection_deactivate(*, connection) -> None:
    """Stop processing: deliveries are still stored, and wait until the connection is back on."""
    type(connection).objects.filter(pk=connection.pk).update(is_active=False)


class EventNotReady(Exception):
    """The stored event is not to be processed now; ``status`` says why (its own status when it
    is no longer pending, "missing", or waiting for an active connection)."""

    def __init__(self, status: str):
        super().__init__(status)
        self.status = status


def event_to_process(*, event_id: int, family: str):
    """The pending event, its active connection (organization loaded) and the event as the
    connector reads it. Raises EventNotReady otherwise."""
    # Hand-written lookups: the realtime path reads these three rows for every event.
    event = row_by_pk(InboundEvent, event_id)
    if event is None or event.family != family:
        raise EventNotReady("missing")
    if event.status != InboundEvent.Status.PENDING:
        raise EventNotReady(event.status)
    model = families.get(family).connection_model
    connection = row_by_pk(model, event.connection_id)
    if connection is None or not connection.is_active:
        # Kept pending: activating the connection (or the sweeper then) picks it up.
        raise EventNotReady("waiting for an active connection")
    connection.organization = row_by_pk(Organization, connection.organization_id)
    return event, connection, webhook_event_of(event, account_id=connection.account_id)


def all_invoiced(rows, *, id_field: str, ids) -> bool:
    """Whether every platform id in ``ids`` has a row (of ``rows``, a connection's) with its
    invoice: an event about them then changes nothing and needs no fetch."""
    if not ids:
        return False
    invoiced = (
        rows.filter(**{f"{id_field}__in": ids}, invoice__isnull=False)
        .values_list(id_field, flat=True)
        .distinct()
    )
    return set(invoiced) == set(ids)
