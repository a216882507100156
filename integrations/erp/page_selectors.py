"""Reads for the ERP pages, each scoped to one organization inside the query; what every family
reads alike is in integrations.base.page_selectors.

A document's ``received_at`` is when the version it holds reached us; for a posted document that
is when we learnt it was posted, the start of the posted -> signed latency.
"""

from datetime import datetime, timedelta

from django.db.models import Q, QuerySet

from integrations.base import page_selectors
from integrations.base.page_selectors import Dashboard, Period, Summary, SummaryWindow
from integrations.erp import selectors
from integrations.erp.models import ERPDocument
from invoices.models import Invoice

# What a document is held to: posted (its posted version received) to signed by FIRS.
LATENCY_TARGET = timedelta(seconds=30)
# A document is signed within minutes of being posted: reads of what was signed in a window look
# at the documents received this much before it.
SIGNING_SLACK = timedelta(days=1)

FAILED = Q(status=ERPDocument.Status.FAILED) | Q(invoice__status=Invoice.Status.NEEDS_ATTENTION)

POSTED_DOCUMENTS = page_selectors.DashboardReads(
    dated_by="received_at",
    counted=Q(is_posted=True),
    signing_slack=SIGNING_SLACK,
    latency_target=LATENCY_TARGET,
    series="posted",
)


class DocumentSummary(Summary):
    """A window's summary; what it counts is posted documents."""

    @property
    def posted(self) -> int:
        return self.count


def dashboard(*, organization, now: datetime, period: Period) -> Dashboard:
    documents = selectors.document_list(organization=organization)
    return page_selectors.dashboard(
        documents,
        reads=POSTED_DOCUMENTS,
        summaries=document_summaries(documents, now=now, period=period),
        now=now,
    )


def document_summaries(
    documents: QuerySet, *, now: datetime, period: Period
) -> dict[str, DocumentSummary]:
    """Today's and the period's posted documents (by when they were received, local time), the
    invoices FIRS signed for them and the documents that failed."""
    today, _ = page_selectors.local_today_and_month(now)
    tomorrow = today + timedelta(days=1)
    windows = {}
    for name, start, end in (("today", today, tomorrow), ("period", period.start, period.end)):
        received = Q(received_at__gte=start, received_at__lt=end)
        windows[name] = SummaryWindow(
            counted=received & POSTED_DOCUMENTS.counted,
            signed=received & POSTED_DOCUMENTS.counted & Q(signed_at__isnull=False),
            failed=received & FAILED,
        )
    return page_selectors.currency_summaries(
        documents.filter(
            received_at__gte=min(today, period.start) - SIGNING_SLACK,
            received_at__lte=max(now, period.end),
        ),
        amount="total_amount",
        windows=windows,
        summary=DocumentSummary,
    )


def documents_filtered(*, organization, filters: dict) -> QuerySet[ERPDocument]:
    """The organization's documents matching the list's filters (dates are local days of when
    the document's version reached us)."""
    documents = selectors.document_list(organization=organization)
    if filters.get("q"):
        documents = documents.filter(
            Q(external_document_id=filters["q"]) | Q(document_number=filters["q"])
        )
    if filters.get("status"):
        documents = documents.filter(status=filters["status"])
    if filters.get("kind"):
        documents = documents.filter(document_kind=filters["kind"])
    if filters.get("invoiced") is not None:
        documents = documents.filter(invoice__isnull=not filters["invoiced"])
    if filters.get("failed") is not None:
        documents = documents.filter(FAILED) if filters["failed"] else documents.exclude(FAILED)
    if filters.get("platform"):
        documents = documents.filter(connection__erp_type=filters["platform"])
    return page_selectors.local_days_filtered(documents, dated_by="received_at", filters=filters)


def documents_failed(*, organization, since: datetime, limit: int) -> list[ERPDocument]:
    """The documents that failed before they had an invoice, or were cancelled in the ERP after
    it, changed since ``since``, newest first."""
    return list(
        selectors.document_list(organization=organization)
        .filter(updated_at__gte=since, status=ERPDocument.Status.FAILED)
        .order_by("-updated_at", "-id")[:limit]
    )


def document_with_history(*, organization, document_id) -> ERPDocument:
    """The document with its connection, invoice and the invoice's status history."""
    return (
        selectors.document_list(organization=organization)
        .prefetch_related("invoice__history")
        .get(pk=document_id)
    )
