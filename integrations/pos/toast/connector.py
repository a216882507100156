"""Toast as a POS connector: a machine client's credentials, signed orders webhooks, one sale
per paid check, refunds to credit notes, back-fills by date range and a fallback poll (Toast
gives a webhook up after three tries)."""

import json
from collections.abc import Mapping
from datetime import datetime, timedelta

from django.utils import timezone

from integrations.base.canonical import Sale
from integrations.base.connectors import (
    ClientCredentialsConnector,
    CredentialField,
    Refunds,
    WebhookEvent,
)
from integrations.base.errors import MappingError
from integrations.pos.connectors import (
    Backfill,
    IncrementalSync,
    POSConnector,
    SalesChangesPage,
    SalesPage,
    Webhooks,
)
from integrations.pos.toast import mappers
from integrations.pos.toast.client import ToastClient, ToastLogin, TokenCache
from integrations.pos.toast.constants import (
    ATTEMPT_HEADER,
    BULK_MAX_WINDOW_DAYS,
    BULK_PAGE_SIZE,
    DEFAULT_BASE_URL,
    ORDER_EVENT_TYPES,
    POLL_OVERLAP_SECONDS,
    SIGNATURE_HEADER,
)
from integrations.pos.toast.signatures import toast_signature_valid


class ToastConnector(
    POSConnector, Webhooks, Backfill, IncrementalSync, Refunds, ClientCredentialsConnector
):
    key = "toast"
    family = "pos"
    display_name = "Toast"
    default_base_url = DEFAULT_BASE_URL
    bulk_page_size = BULK_PAGE_SIZE
    credential_fields = (
        CredentialField(
            "client_id",
            "Client ID",
            secret=False,
            help_text="Toast Web → Integrations → Toast API access → Manage credentials",
        ),
        CredentialField("client_secret", "Client secret"),
        CredentialField(
            "restaurant_guid",
            "Restaurant GUID",
            secret=False,
            help_text="The location's Toast-Restaurant-External-ID; connect once per location",
        ),
    )
    delivery_setup = (
        ("Webhook subscription", "Orders (order_updated), to this connection's webhook URL"),
        ("Signing secret", "Toast's secret for the subscription, entered on this card"),
    )
    # Toast signs the body and its timestamp with the subscription's secret, not the URL.
    webhook_signs_url = False
    delivery_attempt_header = ATTEMPT_HEADER
    # Toast retries a webhook twice, then gives up: the poll picks up what it dropped.
    connection_defaults = {"sync_every_minutes": 1}

    # --- connecting ---------------------------------------------------------------------------

    def _tokens(self, credentials: Mapping[str, str]) -> TokenCache:
        return TokenCache(
            base_url=self.base_url,
            client_id=credentials.get("client_id", ""),
            client_secret=credentials.get("client_secret", ""),
        )

    def credentials_check(self, credentials: Mapping[str, str]) -> str:
        tokens = self._tokens(credentials)
        # A login of its own: the credentials are new, and it proves them.
        token, expires_in = ToastLogin(
            base_url=self.base_url, account=credentials["client_id"]
        ).login(client_id=credentials["client_id"], client_secret=credentials["client_secret"])
        tokens.seed(token, expires_in)
        restaurant = credentials["restaurant_guid"]
        client = ToastClient(base_url=self.base_url, restaurant_guid=restaurant, tokens=tokens)
        now = timezone.now()
        client.orders_bulk(start=now - timedelta(minutes=1), end=now, page_size=1)
        return restaurant

    def test_connection(self) -> None:
        now = timezone.now()
        self.client.orders_bulk(start=now - timedelta(minutes=1), end=now, page_size=1)

    @property
    def client(self) -> ToastClient:
        credentials = self.credentials
        return ToastClient(
            base_url=self.base_url,
            restaurant_guid=credentials.get("restaurant_guid") or self.connection.account_id,
            tokens=self._tokens(credentials),
        )

    def _mapping_options(self) -> dict:
        options = self.connection.connection_settings or {}
        return {
            "default_hs_code": options.get("default_hs_code", ""),
            "default_product_category": options.get("default_product_category", ""),
            "location_id": self.connection.account_id,
        }

    # --- webhooks -----------------------------------------------------------------------------

    @classmethod
    def verify_webhook(cls, *, headers, body, secret, url, method="POST") -> bool:
        return toast_signature_valid(
            secret=secret, body=body, header_value=headers.get(SIGNATURE_HEADER)
        )

    @classmethod
    def parse_webhook(cls, body: bytes) -> list[WebhookEvent]:
        return mappers.webhook_events(body)

    @classmethod
    def event_needs_processing(cls, event: WebhookEvent) -> bool:
        if not _is_order_event(event):
            return False
        order = _event_order(event)
        if order is None:
            return True  # malformed: processing records why
        return bool(mappers.sale_ids_in_order(order))

    @classmethod
    def sale_ids_for_event(cls, event: WebhookEvent) -> list[str] | None:
        order = _event_order(event) if _is_order_event(event) else None
        return mappers.sale_ids_in_order(order) or None

    def sales_for_event(self, event: WebhookEvent) -> list[Sale]:
        if not _is_order_event(event):
            return []
        order = _event_order(event)
        if order is None:
            raise MappingError("details.order is not an object")
        if not mappers.sale_ids_in_order(order):
            return []
        # The webhook leaves the guests' names out: the order itself names them.
        if not mappers.order_has_guest_details(order):
            order = self.client.order(str(order.get("guid", "")))
        return mappers.sales_from_order(order, **self._mapping_options())

    # --- pulling ------------------------------------------------------------------------------

    def _orders_sales(self, orders: list) -> tuple[list[Sale], list[str]]:
        sales, problems = [], []
        for order in orders:
            try:
                sales.extend(mappers.sales_from_order(order, **self._mapping_options()))
            except MappingError as error:
                problems.append(str(error))
        return sales, problems

    def sales_page(self, *, start: datetime, end: datetime, cursor: str = "") -> SalesPage:
        # Toast takes at most a month of modified time a call: the run walks month by month.
        position = json.loads(cursor) if cursor else {}
        chunk_start = datetime.fromisoformat(position["start"]) if position else start
        page = position.get("page", 1)
        chunk_end = min(chunk_start + timedelta(days=BULK_MAX_WINDOW_DAYS), end)
        orders, has_next = self.client.orders_bulk(
            start=chunk_start, end=chunk_end, page=page, page_size=self.bulk_page_size
        )
        sales, problems = self._orders_sales(orders)
        if has_next:
            after = {"start": chunk_start.isoformat(), "page": page + 1}
        elif chunk_end < end:
            after = {"start": chunk_end.isoformat(), "page": 1}
        else:
            after = None
        return SalesPage(
            sales=sales,
            cursor=json.dumps(after) if after else "",
            records=len(orders),
            problems=problems,
        )

    def sales_changes_page(self, *, modified_after: datetime, cursor: str = "") -> SalesChangesPage:
        # One pass reads [modified_after - overlap, its end) page by page; its end is fixed
        # when the pass starts, so the pages of one pass are of one window.
        position = json.loads(cursor) if cursor else {}
        window_end = datetime.fromisoformat(position["end"]) if position else timezone.now()
        page = position.get("page", 1)
        window_start = max(
            modified_after - timedelta(seconds=POLL_OVERLAP_SECONDS),
            window_end - timedelta(days=BULK_MAX_WINDOW_DAYS),
        )
        orders, has_next = self.client.orders_bulk(
            start=window_start, end=window_end, page=page, page_size=self.bulk_page_size
        )
        sales, problems = self._orders_sales(orders)
        return SalesChangesPage(
            sales=sales,
            modified_after=modified_after if has_next else window_end,
            cursor=json.dumps({"end": window_end.isoformat(), "page": page + 1})
            if has_next
            else "",
            has_more=has_next,
            records=len(orders),
            problems=problems,
        )


def _is_order_event(event: WebhookEvent) -> bool:
    return isinstance(event.event_type, str) and event.event_type in ORDER_EVENT_TYPES


def _event_order(event: WebhookEvent) -> Mapping | None:
    payload = event.payload if isinstance(event.payload, Mapping) else {}
    details = payload.get("details")
    order = details.get("order") if isinstance(details, Mapping) else None
    return order if isinstance(order, Mapping) else None
