"""What a POS connector adds to the base contract: turning events and pages into sales, by
capability (a POS platform's webhooks also name and fetch the sales; its back-fill pages them)."""

from abc import abstractmethod
from dataclasses import dataclass, field
from datetime import datetime

from integrations.base import connectors as base
from integrations.base.canonical import Sale
from integrations.base.connectors import BaseConnector, WebhookEvent


@dataclass(frozen=True)
class SalesPage:
    """One page of a pull: the completed sales on it, the cursor of the next page (empty at the
    end), how many records the page held, and the ones that could not be mapped."""

    sales: list[Sale]
    cursor: str
    records: int
    problems: list[str] = field(default_factory=list)


class POSConnector(BaseConnector):
    family = "pos"


class Webhooks(base.Webhooks):
    @abstractmethod
    def sales_for_event(self, event: WebhookEvent) -> list[Sale]:
        """The completed sales and refunds an event tells of, fetched from the platform, in the
        order they must be recorded (a refund's original sale first). Empty when there is
        nothing to invoice yet (an open order, a pending payment)."""

    @classmethod
    def sale_ids_for_event(cls, event: WebhookEvent) -> list[str] | None:
        """The platform ids of the sales an event is about, read from the event alone (no HTTP),
        or None when that takes a fetch. Lets a repeat event about a sale already invoiced be
        settled without asking the platform again."""
        return None

    @classmethod
    def event_subject(cls, event: WebhookEvent) -> str:
        sale_ids = cls.sale_ids_for_event(event) or []
        return sale_ids[0] if len(sale_ids) == 1 else ""


class Backfill(base.Backfill):
    @abstractmethod
    def sales_page(self, *, start: datetime, end: datetime, cursor: str = "") -> SalesPage:
        """Completed sales closed in [start, end), one page at a time, oldest first."""
