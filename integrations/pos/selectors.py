"""POS reads, always scoped to one organization inside the query."""

from django.db.models import QuerySet

from integrations.base.models import SyncRun
from integrations.pos.models import POSConnection, POSTransaction


def connection_list(*, organization) -> QuerySet[POSConnection]:
    return POSConnection.objects.filter(organization=organization).order_by("-created_at")


def connection_get(*, organization, connection_id) -> POSConnection:
    return connection_list(organization=organization).get(pk=connection_id)


def transaction_list(*, organization) -> QuerySet[POSTransaction]:
    return POSTransaction.objects.filter(connection__organization=organization).select_related(
        "connection", "invoice"
    )


def sync_run_list(*, organization) -> QuerySet[SyncRun]:
    return SyncRun.objects.filter(organization=organization, family="pos")


def sale_invoiced(*, connection, external_id: str) -> bool:
    """Whether the connection's sale of that platform id has its invoice here."""
    return POSTransaction.objects.filter(
        connection=connection,
        external_transaction_id=external_id,
        kind=POSTransaction.Kind.SALE,
        invoice__isnull=False,
    ).exists()
