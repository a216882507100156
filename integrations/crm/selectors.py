"""CRM reads, always scoped to one organization inside the query."""

from django.db.models import QuerySet

from integrations.base.models import SyncRun
from integrations.crm.models import CRMConnection, CRMDeal


def connection_list(*, organization) -> QuerySet[CRMConnection]:
    return CRMConnection.objects.filter(organization=organization).order_by("-created_at")


def deal_list(*, organization) -> QuerySet[CRMDeal]:
    return CRMDeal.objects.filter(connection__organization=organization).select_related(
        "connection", "invoice"
    )


def sync_run_list(*, organization) -> QuerySet[SyncRun]:
    return SyncRun.objects.filter(organization=organization, family="crm")
