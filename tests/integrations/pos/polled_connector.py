"""A POS connector that exists only for tests: polled for its sales, with no webhooks, pulls
over windows or sandbox. Its sales are a list the test sets, paged two at a time."""

from datetime import datetime
from decimal import Decimal

from integrations.base.canonical import Line, Sale
from integrations.base.connectors import ApiKeyConnector, CredentialField
from integrations.pos.connectors import IncrementalSync, POSConnector, SalesChangesPage

PAGE_SIZE = 2


def polled_sale(number: int, *, at: datetime) -> Sale:
    return Sale(
        external_id=f"POLLED-{number}",
        occurred_at=at,
        currency="NGN",
        lines=(Line(name="Jollof rice", quantity=Decimal(1), unit_price=Decimal("1075.00")),),
        total=Decimal("1075.00"),
    )


class PolledPOSConnector(POSConnector, IncrementalSync, ApiKeyConnector):
    key = "pollpos"
    display_name = "Polled POS"
    default_base_url = "https://pollpos.example"
    credential_fields = (CredentialField("api_key", "API key"),)
    # (modified at, sale) the platform holds; the test sets it.
    changes: list[tuple[datetime, Sale]] = []
    calls: list[tuple[datetime, str]] = []

    def credentials_check(self, credentials):
        return "POLLED"

    def test_connection(self) -> None:
        return None

    def sales_changes_page(self, *, modified_after, cursor=""):
        type(self).calls.append((modified_after, cursor))
        changed = sorted(
            (change for change in self.changes if change[0] >= modified_after),
            key=lambda change: change[0],
        )
        start = int(cursor or 0)
        page = changed[start : start + PAGE_SIZE]
        has_more = start + PAGE_SIZE < len(changed)
        return SalesChangesPage(
            sales=[sale for _, sale in page],
            # Caught up: the next poll starts at the last change seen (the platform overlaps).
            modified_after=modified_after
            if has_more
            else (page[-1][0] if page else modified_after),
            cursor=str(start + PAGE_SIZE) if has_more else "",
            has_more=has_more,
            records=len(page),
        )
