"""What a POS connector adds to the base contract: turning events and pages into sales, by
capability (a POS platform's webhooks also name and fetch the sales; its back-fill pages them;
its incremental sync pages what changed since the last poll, the fallback for lost webhooks)."""

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


@dataclass(frozen=True)
class SalesChangesPage:
    """One page of the sales changed since a poll's anchor: the completed sales and refunds on
    it, where the next page starts (``modified_after``, the anchor, and ``cursor``, the
    platform's own position: a page number, a version), whether there is more now, how many
    records the page held, and the ones that could not be mapped."""

    sales: list[Sale]
    modified_after: datetime
    cursor: str
    has_more: bool
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


class IncrementalSync(base.IncrementalSync):
    """Sales are polled on the connection's ``sync_every_minutes`` (the fallback for webhooks
    a platform gave up on); a sale already recorded is not recorded again."""

    @abstractmethod
    def sales_changes_page(self, *, modified_after: datetime, cursor: str = "") -> SalesChangesPage:
        """Completed sales and refunds changed since ``modified_after``, from the platform's
        ``cursor`` on ("" starts at ``modified_after``), oldest change first. The page's
        ``modified_after`` and ``cursor`` are stored once its sales are recorded and given back
        on the next call, so the platform decides how they move."""
