"""A test-only ERP platform: a connector over an in-memory ledger of documents per account, with
HMAC-signed webhooks, so the ERP family can be driven end to end before a real ERP exists.

``LEDGERS[account_id]`` holds the account's documents by id; an event names a document, and a
change search reads them oldest change first, two to a page.
"""

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from integrations.base.canonical import Document, DocumentKind, DocumentTax, Line, Party
from integrations.base.connectors import ApiKeyConnector, CredentialField, WebhookEvent
from integrations.base.errors import MappingError
from integrations.erp import connectors as erp
from integrations.erp.connectors import DocumentsPage, ERPConnector
from integrations.erp.models import ERPConnection
from tests.factories import MembershipFactory

PLATFORM = "ledgerly"
SIGNATURE_HEADER = "X-Ledgerly-Signature"
PAGE_SIZE = 2

LEDGERS: dict[str, dict[str, Document]] = {}


class LedgerlyConnector(ERPConnector, erp.Webhooks, erp.IncrementalSync, ApiKeyConnector):
    key = PLATFORM
    display_name = "Ledgerly (test)"
    credential_fields = (CredentialField("api_key", "API key"),)

    @classmethod
    def verify_webhook(cls, *, headers, body, secret, url, method="POST") -> bool:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(headers.get(SIGNATURE_HEADER, ""), expected)

    @classmethod
    def parse_webhook(cls, body: bytes):
        try:
            events = json.loads(body)["events"]
            return [
                WebhookEvent(
                    event_id=str(event["id"]),
                    event_type=str(event["type"]),
                    account_id=str(event["account"]),
                    object_id=str(event["document_id"]),
                    payload=event,
                )
                for event in events
            ]
        except (ValueError, KeyError, TypeError) as error:
            raise MappingError(f"not a Ledgerly delivery: {error}") from None

    def credentials_check(self, credentials) -> str:
        # Every key opens the one test ledger; a real ERP answers with the company it opens.
        return "books-1"

    def test_connection(self) -> None:
        LEDGERS.setdefault(self.connection.account_id, {})

    def document_ids_for_event(self, event):
        return [event.object_id]

    def documents_for_event(self, event):
        document = self._ledger().get(event.object_id)
        return [document] if document else []

    def documents_page(self, *, modified_after: datetime, after_cursor: str = ""):
        changed = sorted(
            (doc for doc in self._ledger().values() if doc.modified_at >= modified_after),
            key=lambda doc: (doc.modified_at, doc.external_id),
        )
        offset = int(after_cursor or 0)
        page = changed[offset : offset + PAGE_SIZE]
        has_more = offset + PAGE_SIZE < len(changed)
        if has_more:
            return DocumentsPage(
                documents=page,
                modified_after=modified_after,
                after_cursor=str(offset + PAGE_SIZE),
                has_more=True,
                records=len(page),
            )
        # Exhausted: the next search starts just after the last change seen.
        anchor = page[-1].modified_at + timedelta(microseconds=1) if page else modified_after
        return DocumentsPage(
            documents=page,
            modified_after=anchor,
            after_cursor="",
            has_more=False,
            records=len(page),
        )

    def _ledger(self) -> dict[str, Document]:
        return LEDGERS.setdefault(self.connection.account_id, {})


def ledgerly_connection(*, organization, account_id: str = "books-1", **fields) -> ERPConnection:
    user = MembershipFactory(organization=organization, role="owner").user
    return ERPConnection.objects.create(
        erp_type=PLATFORM,
        organization=organization,
        user=user,
        account_id=account_id,
        credentials_encrypted=json.dumps({"api_key": "ledgerly-key"}),
        webhook_secret="ledgerly-signing-secret",
        notification_url="https://taxpoynt.example/webhooks/erp/ledgerly/",
        sync_every_minutes=5,
        **fields,
    )


def ten_ten_invoice(external_id: str = "INV-1", *, modified_at=None, **fields) -> Document:
    """Three lines of 10.10 at 7.5 %, VAT booked per line as an ERP does: 0.76 each, 2.28 in
    all, where VAT on the 30.30 subtotal would be 2.27."""
    lines = tuple(
        Line(
            name=f"Consulting hour {number}",
            quantity=Decimal(1),
            unit_price=Decimal("10.10"),
            tax_rate=Decimal("7.5"),
            hs_code="6202",
            product_category="Computer consultancy services",
        )
        for number in (1, 2, 3)
    )
    now = timezone.now()
    values = {
        "external_id": external_id,
        "number": f"INV/2026/{external_id}",
        "kind": DocumentKind.INVOICE,
        "issued_at": now,
        "modified_at": modified_at or now,
        "currency": "NGN",
        "lines": lines,
        "taxes": (
            DocumentTax(
                rate=Decimal("7.5"), taxable_amount=Decimal("30.30"), tax_amount=Decimal("2.28")
            ),
        ),
        "total": Decimal("32.58"),
        "is_posted": True,
        "state": "posted",
        "buyer": Party(
            name="Lagos Builders Ltd",
            tin="31569955-0001",
            email="ap@builders.ng",
            street_name="14 Adeola Odeku Street",
            city_name="Lagos",
            postal_zone="101241",
            state="NG-LA",
        ),
        **fields,
    }
    return Document(**values)


def signed_delivery(connection: ERPConnection, *events: dict) -> tuple[bytes, dict]:
    body = json.dumps({"events": list(events)}).encode()
    signature = hmac.new(connection.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {SIGNATURE_HEADER: signature}
