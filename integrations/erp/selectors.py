"""ERP reads, always scoped to one organization inside the query."""

from django.db.models import QuerySet

from integrations.base.models import SyncRun
from integrations.erp.models import ERPConnection, ERPDocument


def connection_list(*, organization) -> QuerySet[ERPConnection]:
    return ERPConnection.objects.filter(organization=organization).order_by("-created_at")


def document_list(*, organization) -> QuerySet[ERPDocument]:
    return ERPDocument.objects.filter(connection__organization=organization).select_related(
        "connection", "invoice"
    )


def sync_run_list(*, organization) -> QuerySet[SyncRun]:
    return SyncRun.objects.filter(organization=organization, family="erp")
