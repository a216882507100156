"""Classification reads, scoped to one organization."""

import csv
import io
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from catalog.models import ProductClassification, TaxAlert
from invoices import selectors as invoice_selectors


def classification_list(*, organization, search: str = "") -> QuerySet[ProductClassification]:
    rows = ProductClassification.objects.filter(organization=organization)
    if search:
        rows = rows.filter(
            Q(name__icontains=search) | Q(item_key__icontains=search) | Q(hs_code__icontains=search)
        )
    return rows.order_by("vat_treatment", "name")


def classification_get(*, organization, pk: int) -> ProductClassification:
    return ProductClassification.objects.get(organization=organization, pk=pk)


# Suggestions shown for an item; words shorter than this (sizes, "of", "5kg") match too much.
SUGGESTION_WORD_MIN = 3
SUGGESTIONS_SHOWN = 20


def hs_code_suggestions(*, typed: str = "", name: str = "") -> list[tuple[str, str]]:
    """Codes on the FIRS HS list for what was typed in the HS code field, else for any word of
    the item's name ("Peak Milk 400g" finds milk), each code once, at most SUGGESTIONS_SHOWN."""
    lists = invoice_selectors.code_lists()
    if typed.strip():
        return lists.hs_code_suggestions(typed, limit=SUGGESTIONS_SHOWN)
    found: dict[str, str] = {}
    for word in name.split():
        if len(word) >= SUGGESTION_WORD_MIN and word.isalpha():
            found.update(lists.hs_code_suggestions(word, limit=SUGGESTIONS_SHOWN))
    return sorted(found.items())[:SUGGESTIONS_SHOWN]


def tax_alerts_open(*, organization) -> QuerySet[TaxAlert]:
    return (
        TaxAlert.objects.filter(organization=organization, resolved_at__isnull=True)
        .select_related("classification")
        .order_by("-last_seen_at")
    )


@dataclass(frozen=True)
class TaxAlertsSummary:
    """What a dashboard says of the open tax alerts: how many, and the items they name."""

    count: int
    items: list[str]

    @property
    def more_items(self) -> int:
        return self.count - len(self.items)


def tax_alerts_summary(*, organization, items_named: int = 3) -> TaxAlertsSummary | None:
    """The open alerts' count and their newest items' names, or None when there are none."""
    alerts = tax_alerts_open(organization=organization)
    count = alerts.count()
    if not count:
        return None
    names = list(alerts.values_list("classification__name", flat=True)[:items_named])
    return TaxAlertsSummary(count=count, items=names)


def classifications_csv(*, organization) -> str:
    """Every classification of the organization as CSV, in the columns the import reads."""
    from catalog.services import CSV_COLUMNS

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in classification_list(organization=organization).values_list(*CSV_COLUMNS):
        writer.writerow(row)
    return buffer.getvalue()
