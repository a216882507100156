"""Lightspeed Retail (X-Series) as a POS connector: OAuth on the store's own host, form-encoded
signed webhooks (API 1.0 shapes) that only name the sale, re-read through API 2.0 before it is
invoiced, the version-cursor poll for the webhooks Lightspeed does not guarantee, and the
search by date for back-fills."""

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache

from integrations.base.canonical import Sale
from integrations.base.connectors import OAuthConnector, Refunds, TokenSet, WebhookEvent
from integrations.base.errors import AuthenticationError, MappingError, PermanentConnectorError
from integrations.base.oauth import token_set
from integrations.pos.connectors import (
    Backfill,
    IncrementalSync,
    POSConnector,
    SalesChangesPage,
    SalesPage,
    Webhooks,
)
from integrations.pos.lightspeed import mappers
from integrations.pos.lightspeed.client import LightspeedClient
from integrations.pos.lightspeed.constants import (
    AUTHORIZE_URL,
    CLOSED_STATUSES,
    DEFAULT_TIN_FIELD,
    SALES_PAGE_SIZE,
    SEARCH_PAGE_SIZE,
    SIGNATURE_HEADER,
    VOIDED,
)
from integrations.pos.lightspeed.oauth import (
    DOMAIN_PREFIX,
    LightspeedOAuth2,
    domain_prefix_checked,
    store_url,
)
from integrations.pos.lightspeed.signatures import lightspeed_signature_match
from integrations.pos.selectors import sale_invoiced

# What the store's catalogue and set-up say about a sale changes rarely: read once an hour.
REFERENCE_CACHE_SECONDS = 3600
# A customer's TIN may be filled in at the till: read again after a few minutes.
CUSTOMER_CACHE_SECONDS = 300
DEFAULT_CURRENCY = "NGN"


class LightspeedConnector(
    POSConnector, Webhooks, Backfill, IncrementalSync, Refunds, OAuthConnector
):
    key = "lightspeed"
    family = "pos"
    display_name = "Lightspeed Retail"
    # The consent host; a connection's calls go to its store's own host (``base_url``).
    default_base_url = AUTHORIZE_URL.rsplit("/", 1)[0]
    search_page_size = SEARCH_PAGE_SIZE
    sales_page_size = SALES_PAGE_SIZE
    # The webhooks are "reliable but not guaranteed": every connection is polled each minute.
    connection_defaults = {"sync_every_minutes": 1}

    oauth_backend = LightspeedOAuth2
    # No scopes: an application is granted the whole store.
    scopes = ()
    account_id_key = DOMAIN_PREFIX
    callback_parameters = (DOMAIN_PREFIX,)
    # A refresh may answer with a new refresh token, which then replaces the old one.
    refresh_token_rotates = True
    revoke_with = ""
    # Access tokens last 24 h: refreshed in the last hour.
    token_refresh_margin_seconds = 3600
    # The body is signed with the app's secret; the URL it was sent to is not.
    webhook_signs_url = False

    # --- webhooks ---------------------------------------------------------------------------

    @classmethod
    def verify_webhook(cls, *, headers, body, secret, url, method="POST") -> bool:
        app = settings.PLATFORM_APPS.get(cls.key, {})
        return bool(
            lightspeed_signature_match(
                secret=secret,
                body=body,
                header_value=_header(headers, SIGNATURE_HEADER),
                decoded_payload=bool(app.get("decoded_payload_signatures")),
            )
        )

    @classmethod
    def parse_webhook(cls, body: bytes) -> list[WebhookEvent]:
        return mappers.webhook_events(body)

    @classmethod
    def event_needs_processing(cls, event: WebhookEvent) -> bool:
        # An open sale (saved, layby, on account) fires too: only a closed or voided one counts.
        return _event_status(event) in CLOSED_STATUSES | {VOIDED}

    @classmethod
    def sale_ids_for_event(cls, event: WebhookEvent) -> list[str] | None:
        # A void is news about an invoiced sale: never settled as a repeat of its sale.
        return [event.object_id] if _event_status(event) in CLOSED_STATUSES else None

    @classmethod
    def event_subject(cls, event: WebhookEvent) -> str:
        return event.object_id if cls.event_needs_processing(event) else ""

    def webhooks_subscribe(self) -> None:
        """Our ``sale.update`` webhook to the connection's URL, replacing any earlier one to it.
        Lightspeed signs with our app's client secret, which the endpoint then checks."""
        connection = self.connection
        url = connection.webhook_url
        if not url:
            return
        secret = settings.PLATFORM_APPS[self.key]["client_secret"]
        if connection.webhook_secret != secret or connection.notification_url != url:
            connection.webhook_secret, connection.notification_url = secret, url
            connection.save(update_fields=["webhook_secret", "notification_url", "updated_at"])
        self.webhooks_unsubscribe()
        self.client.webhook_create(url=url)

    def webhooks_unsubscribe(self) -> None:
        url = self.connection.notification_url or self.connection.webhook_url
        client = self.client
        for webhook in client.webhooks():
            if url and webhook.get("url") == url and webhook.get("id"):
                client.webhook_delete(str(webhook["id"]))

    # --- the store ----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self.connection.base_url:
            return self.connection.base_url.rstrip("/")
        prefix = domain_prefix_checked(
            self.credentials.get(DOMAIN_PREFIX) or self.connection.account_id
        )
        return store_url(prefix) if prefix else ""

    @property
    def client(self) -> LightspeedClient:
        return LightspeedClient(
            base_url=self.base_url,
            account=self.connection.account_id,
            access_token=self.credentials.get("access_token", ""),
        )

    def test_connection(self) -> None:
        self.client.retailer()

    # --- sales --------------------------------------------------------------------------------

    def sales_for_event(self, event: WebhookEvent) -> list[Sale]:
        # The delivery is a 1.0 snapshot that may be stale: the sale is read as it is now.
        sale = self.client.sale(event.object_id)
        return self._sales_of(sale, seen_closed=_event_status(event) in CLOSED_STATUSES)

    def sales_page(self, *, start: datetime, end: datetime, cursor: str = "") -> SalesPage:
        offset = _whole(cursor)
        answer = self.client.sales_search(
            date_from=start, date_to=end, offset=offset, page_size=self.search_page_size
        )
        records = [one for one in answer.get("data") or [] if isinstance(one, Mapping)]
        sales, problems = self._sales_of_page(records)
        full = len(answer.get("data") or []) >= self.search_page_size
        return SalesPage(
            sales=sales,
            cursor=str(offset + len(records)) if full else "",
            records=len(records),
            problems=problems,
        )

    def sales_changes_page(self, *, modified_after: datetime, cursor: str = "") -> SalesChangesPage:
        """The sales changed after the version ``cursor`` (API 2.0's global, increasing version;
        the next page starts at the page's ``version.max``). Without a cursor, from the store's
        first version, skipping what changed before ``modified_after``."""
        version = _whole(cursor)
        answer = self.client.sales_after(version=version, page_size=self.sales_page_size)
        records = [one for one in answer.get("data") or [] if isinstance(one, Mapping)]
        recent = [
            record for record in records if _changed_since(record, modified_after=modified_after)
        ]
        sales, problems = self._sales_of_page(recent)
        reached = (answer.get("version") or {}).get("max") if records else None
        next_version = reached if isinstance(reached, int) and reached > version else version
        return SalesChangesPage(
            sales=sales,
            modified_after=modified_after,
            cursor=str(next_version),
            has_more=len(records) >= self.sales_page_size,
            records=len(records),
            problems=problems,
        )

    def _sales_of_page(self, records: list[Mapping]) -> tuple[list[Sale], list[str]]:
        sales, problems = [], []
        for record in records:
            try:
                sales.extend(self._sales_of(record, seen_closed=False))
            except MappingError as error:
                problems.append(str(error))
        return sales, problems

    def _sales_of(self, sale: Mapping, *, seen_closed: bool) -> list[Sale]:
        """What an API 2.0 sale makes, in the order to record it: a closed sale, a return after
        the sale it returns, and a void after the invoiced sale it credits (which the delivery
        saw closed, or which has its invoice here). Nothing for an open sale."""
        status = sale.get("status")
        return_for = sale.get("return_for")
        if status in CLOSED_STATUSES and return_for:
            original = self.client.sale(str(return_for))
            # A sale voided since is recorded only as the invoice it already has.
            if original.get("status") not in CLOSED_STATUSES and not (
                original.get("status") == VOIDED
                and sale_invoiced(connection=self.connection, external_id=str(return_for))
            ):
                raise MappingError(
                    f"Lightspeed return {sale.get('id')} is of sale {return_for}, "
                    "which has no invoice to credit"
                )
            return [self._map(original), self._map(sale)]
        if status in CLOSED_STATUSES:
            return [self._map(sale)]
        if status == VOIDED and not return_for:
            sale_id = str(sale.get("id") or "")
            if not (seen_closed or sale_invoiced(connection=self.connection, external_id=sale_id)):
                return []  # voided before it was ever closed: nothing was invoiced
            invoiced = self._map(sale)
            voided_at = mappers.sale_updated_at(sale)
            return [invoiced, mappers.void_credit(invoiced, voided_at=voided_at)]
        return []

    def _map(self, sale: Mapping) -> Sale:
        options = self.connection.connection_settings or {}
        product_ids = {
            str(line.get("product_id"))
            for line in sale.get("line_items") or []
            if isinstance(line, Mapping) and line.get("product_id")
        }
        products = {
            product_id: product
            for product_id in sorted(product_ids)
            if (product := self._product(product_id)) is not None
        }
        return mappers.sale_from_api(
            sale,
            currency=self._currency(str(sale.get("outlet_id") or "")),
            customer=self._customer(str(sale.get("customer_id") or "")),
            products=products,
            tax_rates=self._tax_rates(),
            tin_field=options.get("tin_custom_field", DEFAULT_TIN_FIELD),
            default_hs_code=options.get("default_hs_code", ""),
            default_product_category=options.get("default_product_category", ""),
        )

    def _customer(self, customer_id: str) -> Mapping | None:
        if not customer_id:
            return None
        return self._cached(
            f"customer:{customer_id}",
            lambda: _found(lambda: self.client.customer(customer_id)),
            CUSTOMER_CACHE_SECONDS,
        )

    def _product(self, product_id: str) -> Mapping | None:
        return self._cached(
            f"product:{product_id}",
            lambda: _found(lambda: self.client.product(product_id)),
            REFERENCE_CACHE_SECONDS,
        )

    def _tax_rates(self) -> dict[str, Decimal]:
        def fetch() -> dict[str, Decimal]:
            rates = {}
            for tax in self.client.taxes():
                for rate in tax.get("rates") or []:
                    if isinstance(rate, Mapping) and rate.get("id") is not None:
                        rates[str(rate["id"])] = mappers.money(rate.get("rate"), path="tax.rate")
            return rates

        return self._cached("taxes", fetch, REFERENCE_CACHE_SECONDS) or {}

    def _currency(self, outlet_id: str) -> str:
        outlets = self._cached(
            "outlets",
            lambda: {str(one.get("id")): one for one in self.client.outlets()},
            REFERENCE_CACHE_SECONDS,
        )
        currency = ((outlets or {}).get(outlet_id) or {}).get("currency")
        options = self.connection.connection_settings or {}
        return currency if isinstance(currency, str) else options.get("currency", DEFAULT_CURRENCY)

    def _cached(self, name: str, fetch, timeout: int):
        key = f"lightspeed:{self.connection.pk}:{name}"
        value = cache.get(key)
        if value is None:
            value = fetch()
            cache.set(key, value if value is not None else {}, timeout=timeout)
        return value or None

    # --- OAuth (the shared adapter, with the store's prefix kept) -----------------------------

    def oauth_tokens(self, answer: Mapping, *, received_at: datetime) -> TokenSet:
        tokens = token_set(answer, received_at=received_at, connector=self)
        prefix = domain_prefix_checked(
            answer.get(DOMAIN_PREFIX)
            or self.credentials.get(DOMAIN_PREFIX)
            or self.connection.account_id
        )
        # Only our sandbox, one host for every store, can do without knowing the store.
        if not prefix and not self.connection.base_url:
            raise AuthenticationError("Lightspeed named no usable domain_prefix for the store")
        return TokenSet(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_at=tokens.expires_at,
            account_id=prefix,
            scopes=tokens.scopes,
            extra={DOMAIN_PREFIX: prefix} if prefix else {},
        )


def _event_status(event: WebhookEvent) -> str:
    payload = event.payload.get("payload") if isinstance(event.payload, Mapping) else None
    status = payload.get("status") if isinstance(payload, Mapping) else None
    return status if isinstance(status, str) else ""


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def _whole(cursor: str) -> int:
    return int(cursor) if cursor.isdigit() else 0


def _changed_since(record: Mapping, *, modified_after: datetime) -> bool:
    # Lightspeed's times are whole seconds: a change in the anchor's second counts.
    try:
        return mappers.sale_updated_at(record) >= modified_after.replace(microsecond=0)
    except MappingError:
        return True  # mapping it says what is wrong


def _found(fetch):
    """The object ``fetch`` reads, or None when the store has no such object any more."""
    try:
        return fetch()
    except AuthenticationError:
        raise
    except PermanentConnectorError as error:
        if error.status == 404:
            return None
        raise
