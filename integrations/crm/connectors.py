"""What a CRM connector adds to the base contract: turning events and searches into deals, by
capability (a CRM's webhooks also fetch the deals; its pulls search them)."""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime

from integrations.base import connectors as base
from integrations.base.canonical import Deal
from integrations.base.connectors import BaseConnector, WebhookEvent


@dataclass(frozen=True)
class DealsPage:
    """One page of a pull of won deals, oldest change first.

    ``modified_after`` and ``after_cursor`` say where the next page starts: the search's anchor
    and the platform's cursor from it ("" starts the anchor's search afresh). ``has_more`` is
    False once the search is exhausted; ``modified_after`` is then the next sync's anchor.
    ``problems`` are the deals on the page that could not be mapped.
    """

    deals: list[Deal]
    modified_after: datetime
    after_cursor: str
    has_more: bool
    records: int
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PipelineStage:
    pipeline_id: str
    pipeline_label: str
    stage_id: str
    label: str
    is_won: bool


class CRMConnector(BaseConnector):
    family = "crm"

    @abstractmethod
    def pipelines(self) -> list[PipelineStage]:
        """Every stage of every deal pipeline of the account, in the platform's order."""


class _DealEvents(ABC):
    @abstractmethod
    def deals_for_event(self, event: WebhookEvent) -> list[Deal]:
        """The deals an event tells of, fetched from the platform now: a won one with its line
        items and buyer (company, else contact); one that is not won without them. Empty when
        the event cannot change whether a deal is invoiced (another property, a deletion)."""

    def deal_ids_for_event(self, event: WebhookEvent) -> list[str] | None:
        """The platform ids of the deals an event is about, read from the event alone (no
        HTTP), or None when that takes a fetch. Lets a repeat event about a deal already
        invoiced be settled without asking the platform again."""
        return None


class Webhooks(_DealEvents, base.Webhooks):
    """Signed deliveries tell of deals."""


class SecretUrlWebhooks(_DealEvents, base.SecretUrlWebhooks):
    """Unsigned deliveries to the connection's secret URL tell of deals, re-read from the CRM
    before anything is recorded."""


class _DealsPages(ABC):
    @abstractmethod
    def deals_page(self, *, modified_after: datetime, after_cursor: str = "") -> DealsPage:
        """Won deals modified at or after ``modified_after``, one page at a time, with their
        line items and buyer."""


class Backfill(_DealsPages, base.Backfill):
    pass


class IncrementalSync(_DealsPages, base.IncrementalSync):
    pass


class IrnNotes(base.CapabilityMixin):
    """The platform's deal is told its invoice's IRN once the invoice is signed."""

    capability = "irn_notes"

    @abstractmethod
    def deal_irn_note(self, *, deal_id: str, irn: str) -> None:
        """Record ``irn`` on the deal, once however often this is called."""
