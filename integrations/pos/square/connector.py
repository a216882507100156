"""Square as a POS connector: OAuth with PKCE, signed webhooks, orders to sales."""

import json
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings

from integrations.base.canonical import Sale
from integrations.base.connectors import Capability, OAuthConnector, TokenSet, WebhookEvent
from integrations.base.errors import AuthenticationError, MappingError
from integrations.pos.connectors import POSConnector, SalesPage, SandboxAccount
from integrations.pos.square import mappers
from integrations.pos.square.client import SEARCH_PAGE_LIMIT, SquareClient
from integrations.pos.square.signatures import SIGNATURE_HEADER, square_signature_valid

ORDER_EVENT_OBJECTS = {"order.created": "order_created", "order.updated": "order_updated"}
PAYMENT_EVENTS = frozenset({"payment.created", "payment.updated"})
REFUND_EVENTS = frozenset({"refund.created", "refund.updated"})


class SquareConnector(POSConnector, OAuthConnector):
    key = "square"
    family = "pos"
    display_name = "Square"
    auth = "oauth2"
    capabilities = frozenset({Capability.BACKFILL, Capability.PKCE, Capability.SANDBOX})
    default_base_url = "https://connect.squareup.com"
    authorize_url = "https://connect.squareup.com/oauth2/authorize"
    token_url = "https://connect.squareup.com/oauth2/token"  # noqa: S105 (a URL)
    search_page_limit = SEARCH_PAGE_LIMIT
    scopes = ("ORDERS_READ", "PAYMENTS_READ", "CUSTOMERS_READ", "MERCHANT_PROFILE_READ")

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
            base_url=self.connection.base_url or self.default_base_url,
            account=self.connection.account_id,
            access_token=self.credentials.get("access_token", ""),
        )

    @property
    def credentials(self) -> dict:
        text = self.connection.credentials_encrypted
        return json.loads(text) if text else {}

    def _mapping_options(self) -> dict:
        options = self.connection.connection_settings or {}
        return {
            "default_hs_code": options.get("default_hs_code", ""),
            "default_product_category": options.get("default_product_category", ""),
        }

    @classmethod
    def sandbox_account_create(cls, *, site_url: str) -> SandboxAccount:
        from integrations.base.connections import sandbox_base_url
        from integrations.pos.square.sandbox import sandbox_merchant_create

        merchant = sandbox_merchant_create()
        location = merchant.locations.first()
        return SandboxAccount(
            account_id=merchant.merchant_id,
            credentials={"access_token": merchant.access_token},
            base_url=sandbox_base_url(site_url=site_url, platform=cls.key),
            location_id=location.location_id,
            location_name=location.name,
            # The sandbox's shop sells groceries.
            connection_settings={
                "default_hs_code": "1006.3000",
                "default_product_category": "Food",
            },
        )

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
        body = (event.payload.get("data") or {}).get("object") or {}
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
        body = data.get("object") if isinstance(data, Mapping) else None
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

    # --- OAuth --------------------------------------------------------------------------------

    @property
    def app(self) -> Mapping:
        return settings.PLATFORM_APPS["square"]

    def authorization_url(self, *, state, redirect_uri, code_challenge="") -> str:
        base = (self.connection.base_url or self.default_base_url).rstrip("/")
        query = {
            "client_id": self.app["client_id"],
            "scope": " ".join(self.scopes),
            "session": "false",
            "state": state,
            "redirect_uri": redirect_uri,
        }
        if code_challenge:
            query |= {"code_challenge": code_challenge, "code_challenge_method": "S256"}
        return f"{base}/oauth2/authorize?{urlencode(query)}"

    def tokens_from_code(self, *, code, redirect_uri, code_verifier="") -> TokenSet:
        form = {
            "client_id": self.app["client_id"],
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
        }
        # With PKCE the verifier replaces the secret (Square: a public client sends none).
        form |= (
            {"code_verifier": code_verifier}
            if code_verifier
            else {"client_secret": self.app["client_secret"]}
        )
        return _token_set(self.client.token_obtain(form))

    def tokens_refresh(self, *, refresh_token) -> TokenSet:
        form = {
            "client_id": self.app["client_id"],
            "client_secret": self.app["client_secret"],
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }
        return _token_set(self.client.token_obtain(form))

    def tokens_revoke(self, *, access_token) -> None:
        self.client.token_revoke(
            client_id=self.app["client_id"],
            client_secret=self.app["client_secret"],
            access_token=access_token,
        )


def _token_set(body: Mapping) -> TokenSet:
    access_token = body.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise AuthenticationError("Square's token answer carries no access_token")
    expires_at = body.get("expires_at")
    return TokenSet(
        access_token=access_token,
        refresh_token=str(body.get("refresh_token") or ""),
        expires_at=datetime.fromisoformat(expires_at) if expires_at else None,
        account_id=str(body.get("merchant_id") or ""),
    )


def _mapping(value: object, path: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise MappingError(f"{path} is not an object")
    return value
