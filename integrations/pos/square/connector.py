"""Square as a POS connector: OAuth with PKCE, signed webhooks, orders to sales, refunds to
credit notes and back-fills."""

from collections.abc import Mapping
from datetime import datetime

from integrations.base.canonical import Sale
from integrations.base.connectors import OAuthConnector, Pkce, Refunds, WebhookEvent
from integrations.base.errors import MappingError
from integrations.pos.connectors import (
    Backfill,
    POSConnector,
    SalesPage,
    Webhooks,
)
from integrations.pos.square import mappers
from integrations.pos.square.client import SEARCH_PAGE_LIMIT, SquareClient
from integrations.pos.square.oauth import SquareOAuth2
from integrations.pos.square.signatures import SIGNATURE_HEADER, square_signature_valid

ORDER_EVENT_OBJECTS = {"order.created": "order_created", "order.updated": "order_updated"}
PAYMENT_EVENTS = frozenset({"payment.created", "payment.updated"})
REFUND_EVENTS = frozenset({"refund.created", "refund.updated"})


class SquareConnector(POSConnector, Webhooks, Backfill, Refunds, OAuthConnector, Pkce):
    key = "square"
    family = "pos"
    display_name = "Square"
    default_base_url = "https://connect.squareup.com"
    search_page_limit = SEARCH_PAGE_LIMIT

    oauth_backend = SquareOAuth2
    scopes = ("ORDERS_READ", "PAYMENTS_READ", "CUSTOMERS_READ", "MERCHANT_PROFILE_READ")
    account_id_key = "merchant_id"
    # A PKCE grant's refresh token is single-use: each refresh answers with its successor.
    refresh_token_rotates = True

    # --- webhooks ---------------------------------------------------------------------------

    @classmethod
    def verify_webhook(cls, *, headers, body, secret, url, method="POST") -> bool:
        return square_signature_valid(
            signature_key=secret,
            notification_url=url,
            body=body,
            header_value=headers.get(SIGNATURE_HEADER),
        )

    @classmethod
    def parse_webhook(cls, body: bytes) -> list[WebhookEvent]:
        return mappers.webhook_events(body)

    # --- pulling ------------------------------------------------------------------------------

    @property
    def client(self) -> SquareClient:
        return SquareClient(
            base_url=self.base_url,
            account=self.connection.account_id,
            access_token=self.credentials.get("access_token", ""),
        )

    def _mapping_options(self) -> dict:
        options = self.connection.connection_settings or {}
        return {
            "default_hs_code": options.get("default_hs_code", ""),
            "default_product_category": options.get("default_product_category", ""),
        }

    def test_connection(self) -> None:
        self.client.locations()

    def sales_for_event(self, event: WebhookEvent) -> list[Sale]:
        data = _mapping(event.payload.get("data"), "data")
        body = _mapping(data.get("object"), "data.object")
        if event.event_type in ORDER_EVENT_OBJECTS:
            summary = _mapping(body.get(ORDER_EVENT_OBJECTS[event.event_type]), "data.object")
            if summary.get("state") != "COMPLETED":
                return []
            return self._completed_sale(str(summary.get("order_id") or event.object_id))
        if event.event_type in PAYMENT_EVENTS:
            payment = _mapping(body.get("payment"), "data.object.payment")
            if payment.get("status") != "COMPLETED" or not payment.get("order_id"):
                return []
            return self._completed_sale(str(payment["order_id"]), payments=[payment])
        if event.event_type in REFUND_EVENTS:
            refund = _mapping(body.get("refund"), "data.object.refund")
            if not mappers.refund_is_completed(refund):
                return []
            return self._refund_with_original(refund)
        return []

    @classmethod
    def event_needs_processing(cls, event: WebhookEvent) -> bool:
        # What sales_for_event looks at before it fetches anything.
        data = event.payload.get("data")
        body = (data if isinstance(data, Mapping) else {}).get("object") or {}
        if not isinstance(body, Mapping):
            return True  # malformed: processing records why
        if event.event_type in ORDER_EVENT_OBJECTS:
            summary = body.get(ORDER_EVENT_OBJECTS[event.event_type])
            return not isinstance(summary, Mapping) or summary.get("state") == "COMPLETED"
        if event.event_type in PAYMENT_EVENTS:
            payment = body.get("payment")
            return not isinstance(payment, Mapping) or bool(
                payment.get("status") == "COMPLETED" and payment.get("order_id")
            )
        return event.event_type in REFUND_EVENTS

    @classmethod
    def sale_ids_for_event(cls, event: WebhookEvent) -> list[str] | None:
        # Only events that can make a sale: an open order or pending payment makes none anyway.
        # Read at intake too, so a malformed event gives None here, never an error.
        data = event.payload.get("data")
        body = (data if isinstance(data, Mapping) else {}).get("object") or {}
        if not isinstance(body, Mapping):
            return None
        if event.event_type in ORDER_EVENT_OBJECTS:
            summary = body.get(ORDER_EVENT_OBJECTS[event.event_type])
            completed = isinstance(summary, Mapping) and summary.get("state") == "COMPLETED"
            order_id = summary.get("order_id") if completed else None
        elif event.event_type in PAYMENT_EVENTS:
            payment = body.get("payment")
            completed = isinstance(payment, Mapping) and payment.get("status") == "COMPLETED"
            order_id = payment.get("order_id") if completed else None
        else:
            return None
        return [order_id] if isinstance(order_id, str) and order_id else None

    def _completed_sale(self, order_id: str, payments=()) -> list[Sale]:
        order = self.client.order(order_id)
        if not mappers.order_is_completed(order):
            return []
        return [mappers.sale_from_order(order, payments=payments, **self._mapping_options())]

    def _refund_with_original(self, refund: Mapping) -> list[Sale]:
        order = (
            self.client.order(str(refund.get("order_id", ""))) if refund.get("order_id") else None
        )
        credit = mappers.refund_from_refund_object(refund, order=order, **self._mapping_options())
        original = (
            order
            if order is not None and order.get("id") == credit.original_external_id
            else self.client.order(credit.original_external_id)
        )
        if not mappers.order_is_completed(original):
            raise MappingError(
                f"Square refund {credit.external_id} credits order "
                f"{credit.original_external_id}, which is not a completed sale"
            )
        return [mappers.sale_from_order(original, **self._mapping_options()), credit]

    def sales_page(self, *, start: datetime, end: datetime, cursor: str = "") -> SalesPage:
        client = self.client
        location_ids = (
            [self.connection.external_location_id]
            if self.connection.external_location_id
            else [location["id"] for location in client.locations()]
        )
        body = client.completed_orders_search(
            location_ids=location_ids,
            start=start,
            end=end,
            cursor=cursor,
            limit=self.search_page_limit,
        )
        sales, problems = [], []
        orders = body.get("orders", [])
        for order in orders:
            try:
                sales.append(mappers.sale_from_order(order, **self._mapping_options()))
            except MappingError as error:
                problems.append(str(error))
        return SalesPage(
            sales=sales, cursor=body.get("cursor", ""), records=len(orders), problems=problems
        )


def _mapping(value: object, path: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise MappingError(f"{path} is not an object")
    return value
