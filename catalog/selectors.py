"""Classification reads, scoped to one organization."""

import csv
import io

from django.db.models import Q, QuerySet

from catalog.models import ProductClassification, TaxAlert


def classification_list(*, organization, search: str = "") -> QuerySet[ProductClassification]:
    rows = ProductClassification.objects.filter(organization=organization)
    if search:
        rows = rows.filter(
            Q(name__icontains=search) | Q(item_key__icontains=search) | Q(hs_code__icontains=search)
        )
    return rows.order_by("vat_treatment", "name")


def classification_get(*, organization, pk: int) -> ProductClassification:
    return ProductClassification.objects.get(organization=organization, pk=pk)


def tax_alerts_open(*, organization) -> QuerySet[TaxAlert]:
    return (
        TaxAlert.objects.filter(organization=organization, resolved_at__isnull=True)
        .select_related("classification")
        .order_by("-last_seen_at")
    )


def classifications_csv(*, organization) -> str:
    """Every classification of the organization as CSV, in the columns the import reads."""
    from catalog.services import CSV_COLUMNS

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in classification_list(organization=organization).values_list(*CSV_COLUMNS):
        writer.writerow(row)
    return buffer.getvalue()
