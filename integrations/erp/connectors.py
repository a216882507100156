"""What an ERP connector adds to the base contract: turning events and change searches into
posted documents."""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime

from integrations.base import connectors as base
from integrations.base.canonical import Document
from integrations.base.connectors import BaseConnector, CapabilityMixin, WebhookEvent


@dataclass(frozen=True)
class DocumentsPage:
    """One page of a pull of documents, oldest change first.

    ``modified_after`` and ``after_cursor`` say where the next page starts: the search's anchor
    and the platform's cursor from it ("" starts the anchor's search afresh). ``has_more`` is
    False once the search is exhausted; ``modified_after`` is then the next sync's anchor.
    ``problems`` are the documents on the page that could not be mapped.
    """

    documents: list[Document]
    modified_after: datetime
    after_cursor: str
    has_more: bool
    records: int
    problems: list[str] = field(default_factory=list)


class ERPConnector(BaseConnector):
    family = "erp"


class _DocumentEvents(ABC):
    @abstractmethod
    def documents_for_event(self, event: WebhookEvent) -> list[Document]:
        """The documents an event tells of, fetched from the platform now, with their lines,
        taxes and buyer; a credit note after the invoice it corrects. Empty when the event
        cannot change what is invoiced."""

    def document_ids_for_event(self, event: WebhookEvent) -> list[str] | None:
        """The platform ids of the documents an event is about, read from the event alone (no
        HTTP), or None when that takes a fetch."""
        return None


class Webhooks(_DocumentEvents, base.Webhooks):
    """Signed deliveries tell of documents."""


class SecretUrlWebhooks(_DocumentEvents, base.SecretUrlWebhooks):
    """Unsigned deliveries to the connection's secret URL tell of documents, re-read from the
    ERP before anything is recorded."""


class IrnWriteBack(CapabilityMixin):
    """A signed invoice's IRN and QR code are put on the ERP's own document, once."""

    capability = base.Capability.IRN_WRITE_BACK

    @abstractmethod
    def irn_write_back(
        self, *, external_id: str, irn: str, qr_png: bytes, invoice_number: str
    ) -> bool:
        """Put the IRN and the QR image on the document; idempotent: a document that already
        shows this IRN is left alone (False), else True once written. ConnectorError when the
        ERP cannot be asked or refuses."""


class _DocumentsPages(ABC):
    @abstractmethod
    def documents_page(self, *, modified_after: datetime, after_cursor: str = "") -> DocumentsPage:
        """Invoices and credit notes modified at or after ``modified_after``, one page at a
        time, with their lines, taxes and buyer."""


class Backfill(_DocumentsPages, base.Backfill):
    """Past documents are pulled over a window through the same change search."""


class IncrementalSync(_DocumentsPages, base.IncrementalSync):
    """Documents changed since the connection's cursor are pulled on its schedule."""
