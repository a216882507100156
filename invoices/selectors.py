"""Invoice reads. Tenant-facing ones take the organization and scope inside the query."""

import re
import time
from datetime import datetime

from django.db.models import Q, QuerySet

from invoices.codes import ADDRESS_CODE_KEYS, AddressCodes, CodeLists
from invoices.models import FirsCodeListEntry, Invoice

CODE_LISTS_TTL_SECONDS = 300
ACTIVE_STATUSES = (
    Invoice.Status.BUILT,
    Invoice.Status.VALIDATED,
    Invoice.Status.SIGNED,
    Invoice.Status.TRANSMITTED,
)

_code_lists_cache: tuple[float, CodeLists] | None = None


def invoice_for_source(*, organization, source_type: str, source_id) -> Invoice | None:
    return Invoice.objects.filter(
        organization=organization, source_type=source_type, source_id=source_id
    ).first()


def invoice_list(*, organization) -> QuerySet[Invoice]:
    return Invoice.objects.filter(organization=organization)


def invoice_get(*, organization, invoice_id: int) -> Invoice:
    """Raises Invoice.DoesNotExist for another tenant's invoice, as for a missing one."""
    return invoice_list(organization=organization).get(pk=invoice_id)


def invoice_count_waiting_setup(*, organization, up_to: int) -> int:
    """How many invoices wait for the organization's FIRS set-up, counted up to ``up_to`` + 1
    (pages never COUNT a whole table: more than ``up_to`` reads as "``up_to``+")."""
    waiting = invoice_list(organization=organization).filter(status=Invoice.Status.WAITING_SETUP)
    return len(waiting.values_list("pk", flat=True)[: up_to + 1])


def invoices_stuck(*, idle_since: datetime, now: datetime) -> QuerySet[Invoice]:
    """Invoices no worker holds and none will pick up unless they are enqueued again."""
    unclaimed = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    idle_active = Q(status__in=ACTIVE_STATUSES, updated_at__lt=idle_since)
    overdue_retry = Q(status=Invoice.Status.RETRYING, next_attempt_at__lt=idle_since)
    return (
        Invoice.objects.filter(unclaimed & (idle_active | overdue_retry))
        .only("id", "source_type")
        .order_by("id")
    )


FAILING_STATUSES = (Invoice.Status.NEEDS_ATTENTION, Invoice.Status.RETRYING)


def invoices_failing(*, organization) -> QuerySet[Invoice]:
    """The organization's invoices that need attention or wait for FIRS."""
    return invoice_list(organization=organization).filter(status__in=FAILING_STATUSES)


# The problem a re-drive can clear: FIRS was down, not wrong about the invoice.
RETRYABLE_PROBLEM = {"code": "firs_unavailable"}


def invoices_retryable(*, organization) -> QuerySet[Invoice]:
    """The organization's invoices a retry can move now: waiting for FIRS, or parked after FIRS
    kept failing."""
    return invoice_list(organization=organization).filter(
        Q(status=Invoice.Status.RETRYING)
        | Q(
            status=Invoice.Status.NEEDS_ATTENTION,
            problems__contains=[RETRYABLE_PROBLEM],
        )
    )


def invoices_waiting_on_firs(*, host: str, now: datetime) -> QuerySet[Invoice]:
    """Invoices retrying later than ``now`` whose organization's FIRS is at ``host``."""
    base_url = rf"^[a-z]+://{re.escape(host)}(/|$)"
    return (
        Invoice.objects.filter(
            status=Invoice.Status.RETRYING,
            next_attempt_at__gt=now,
            organization__firs_base_url__iregex=base_url,
        )
        .only("id", "source_type", "pipeline_queue")
        .order_by("next_attempt_at", "id")
    )


def code_lists() -> CodeLists:
    """The FIRS code lists synced into the database, else the bundled snapshot; cached briefly
    in each process because every invoice build reads them."""
    global _code_lists_cache
    if _code_lists_cache and time.monotonic() - _code_lists_cache[0] < CODE_LISTS_TTL_SECONDS:
        return _code_lists_cache[1]
    resources: dict[str, list] = {}
    for resource, data in FirsCodeListEntry.objects.values_list("resource", "data"):
        resources.setdefault(resource, []).append(data)
    snapshot_names = (
        "invoice-types",
        "tax-categories",
        "payment-means",
        "currencies",
        "vat-exemptions",
    )
    if all(name in resources for name in snapshot_names):
        lists = CodeLists.from_resources(resources)
    else:
        lists = CodeLists.from_snapshot()
    _code_lists_cache = (time.monotonic(), lists)
    return lists


def code_lists_forget() -> None:
    global _code_lists_cache
    _code_lists_cache = None


def address_codes() -> AddressCodes:
    """The FIRS country and state lists stored in the database, else the bundled snapshot."""
    resources: dict[str, list] = {}
    for resource, data in FirsCodeListEntry.objects.filter(
        resource__in=ADDRESS_CODE_KEYS
    ).values_list("resource", "data"):
        resources.setdefault(resource, []).append(data)
    if all(name in resources for name in ADDRESS_CODE_KEYS):
        return AddressCodes.from_resources(resources)
    return AddressCodes.from_snapshot()
