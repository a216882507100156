"""Square's part of the sandbox traffic (sandboxes/kit/traffic.py): shop sales, and the
webhooks Square sends about them.

A change is a completed sale in the sandbox (an order from a small Nigerian grocery catalogue in
NGN, paid by card or cash through the sandbox's payments, some refunded), announced as Square
announces it: ``order.created`` (API orders only: Square sends none for orders rung up on its
POS), ``payment.created``, ``order.updated`` (COMPLETED), ``payment.updated`` and, for refunded
sales, ``refund.created`` (PENDING) and ``refund.updated`` (COMPLETED). Each delivery is one
event, signed over the subscription's notification URL and the body; a retry is the same bytes
with ``square-retry-number``.

``orders_backfill`` writes historical completed orders (and their payments) straight into the
sandbox's tables, with no webhooks and no HTTP, for back-fill tests.
"""

import json
import random
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from integrations.pos.square.signatures import SIGNATURE_HEADER, square_signature
from sandboxes.kit.traffic import Event, Receiver, TrafficPlatform
from sandboxes.square.api import square_id
from sandboxes.square.models import (
    SquareSandboxAccessToken,
    SquareSandboxLocation,
    SquareSandboxMerchant,
    SquareSandboxOrder,
    SquareSandboxPayment,
)
from sandboxes.square.server import (
    card_source_details,
    order_priced,
    order_settled,
    payment_captured,
    payment_json,
    sandbox_order_create,
    sandbox_payment_complete,
    sandbox_payment_create,
    sandbox_refund_complete,
    sandbox_refund_create,
    square_timestamp,
)

# (name, price in kobo, sold by weight): what a Lagos supermarket rings up.
CATALOGUE = (
    ("Mama Gold Rice 5kg", 1_250_000, False),
    ("Indomie Chicken 70g (carton of 40)", 850_000, False),
    ("Golden Penny Semovita 1kg", 180_000, False),
    ("Peak Milk Powder 400g", 320_000, False),
    ("Dangote Sugar 500g", 95_000, False),
    ("Kings Vegetable Oil 1L", 290_000, False),
    ("Milo Refill 500g", 375_000, False),
    ("Hollandia Yoghurt 1L", 185_000, False),
    ("Gala Sausage Roll", 20_000, False),
    ("Eva Table Water 75cl (pack of 12)", 240_000, False),
    ("Ijebu Garri (per kg)", 120_000, True),
    ("Honey Beans (per kg)", 210_000, True),
    ("Tomatoes (per kg)", 150_000, True),
)
# How each item is classified for VAT (HS code, product category, treatment): the demo shop's
# own classification, and what the till charges VAT on (exempt items carry none).
CATALOGUE_CLASSIFICATION = {
    "Mama Gold Rice 5kg": ("1006.3000", "Basic food items", "exempt"),
    "Indomie Chicken 70g (carton of 40)": ("1902.3000", "Packaged food", "standard"),
    "Golden Penny Semovita 1kg": ("1103.1100", "Packaged food", "standard"),
    "Peak Milk Powder 400g": ("0402.2100", "Dairy", "standard"),
    "Dangote Sugar 500g": ("1701.9900", "Packaged food", "standard"),
    "Kings Vegetable Oil 1L": ("1507.9000", "Packaged food", "standard"),
    "Milo Refill 500g": ("1806.9000", "Beverages", "standard"),
    "Hollandia Yoghurt 1L": ("0403.2000", "Dairy", "standard"),
    "Gala Sausage Roll": ("1905.9000", "Snacks", "standard"),
    "Eva Table Water 75cl (pack of 12)": ("2201.1000", "Beverages", "standard"),
    "Ijebu Garri (per kg)": ("1106.2000", "Produce", "standard"),
    "Honey Beans (per kg)": ("0713.3300", "Produce", "standard"),
    "Tomatoes (per kg)": ("0702.0000", "Produce", "standard"),
}
VAT_PERCENT = "7.5"
WEIGHTS = ("0.5", "0.75", "1", "1.5", "2.25")
# Card or cash, and how often a sale carries a customer, a tip or a discount.
CARD_SHARE = 0.7
CUSTOMER_SHARE = 0.4
TIP_SHARE = 0.1
LINE_DISCOUNT_SHARE = 0.2
ORDER_DISCOUNT_SHARE = 0.1
ORDER_DISCOUNT_KOBO = 50_000
FULL_REFUND_SHARE = 0.5
CASH_NOTE_KOBO = 100_000  # buyers hand over whole ₦1,000 notes


class SquareTraffic(TrafficPlatform):
    """Sales of one seller (or the seller an access token acts for) at one location (default:
    its first). A ``refund_share`` of sales is refunded, fully or in part; an
    ``api_order_share`` of orders counts as made through the Orders API and gets
    ``order.created``. Deliveries are signed with ``signing_key``, the subscription's key."""

    key = "square"

    @classmethod
    def add_arguments(cls, parser) -> None:
        parser.add_argument("--location-id", default="", help="default: the first location")
        # A till's day by default: a few refunds, sales rung up on the POS (no order.created).
        parser.add_argument("--refund-share", type=float, default=0.05)
        parser.add_argument(
            "--api-order-share",
            type=float,
            default=0.0,
            help="share of orders made through the Orders API (these get order.created)",
        )

    @classmethod
    def from_options(cls, *, account_id: str, signing_key: str, options: dict):
        return cls(
            merchant=_merchant(account_id),
            signing_key=signing_key,
            location_id=options["location_id"],
            refund_share=options["refund_share"],
            api_order_share=options["api_order_share"],
        )

    def __init__(
        self,
        *,
        merchant: SquareSandboxMerchant | str,
        signing_key: str,
        location_id: str = "",
        refund_share: float = 0.0,
        api_order_share: float = 0.5,
    ):
        if not 0 <= refund_share <= 1 or not 0 <= api_order_share <= 1:
            raise ValueError("refund_share and api_order_share are shares (0-1)")
        if not signing_key:
            raise ValueError("Square signs with the subscription's signature key: give it")
        self.merchant = _seller(merchant)
        self.location = _location(self.merchant, location_id)
        self.signing_key = signing_key
        self.refund_share = refund_share
        self.api_order_share = api_order_share
        self.orders_created = 0
        self.refunds_created = 0

    def change_make(self, *, rng: random.Random) -> list[Event]:
        """One completed sale, its events in the order Square sends them."""
        merchant = self.merchant
        order = sandbox_order_create(
            merchant=merchant,
            body={
                "idempotency_key": str(uuid.uuid4()),
                "order": sale_request(location_id=self.location.location_id, rng=rng),
            },
        )
        self.orders_created += 1
        events = []
        if rng.random() < self.api_order_share:
            events.append(_order_event("order.created", merchant=merchant, order=order))
        payment = sandbox_payment_create(
            merchant=merchant, body=_payment_request(order.data, rng=rng)
        )
        events.append(_object_event("payment.created", merchant=merchant, row=payment))
        payment = sandbox_payment_complete(
            merchant=merchant, payment_id=payment.payment_id, body={}
        )
        order.refresh_from_db()
        events.append(_order_event("order.updated", merchant=merchant, order=order))
        events.append(_object_event("payment.updated", merchant=merchant, row=payment))
        if rng.random() < self.refund_share:
            self.refunds_created += 1
            events += _refund_events(merchant=merchant, payment=payment, rng=rng)
        return events

    def event_retried(self, event: Event) -> Event:
        return event  # the same bytes again; the headers say it is a retry

    def body(self, events: tuple[Event, ...]) -> bytes:
        (event,) = events
        return json.dumps(event.payload).encode()

    def headers(self, *, body: bytes, events: tuple[Event, ...], receiver: Receiver) -> dict:
        (event,) = events
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Square Connect v2",
            SIGNATURE_HEADER: square_signature(
                signature_key=self.signing_key,
                notification_url=receiver.signed_url,
                body=body,
            ),
            "square-initial-delivery-timestamp": event.payload["created_at"],
        }
        if event.attempt:
            headers["square-retry-number"] = str(event.attempt)
            headers["square-retry-reason"] = "http_timeout"
        return headers

    def counts(self) -> dict:
        return {"orders_created": self.orders_created, "refunds_created": self.refunds_created}

    @classmethod
    def history_write(
        cls, *, account_id: str, count: int, days: int, seed: int | None, options: dict
    ) -> int:
        end = timezone.now()
        return orders_backfill(
            merchant=_merchant(account_id),
            location_id=options["location_id"],
            count=count,
            start=end - timedelta(days=days),
            end=end,
            seed=seed,
        )


def sale_request(*, location_id: str, rng: random.Random) -> dict:
    """A CreateOrder ``order`` for a random basket: 1-5 lines, VAT 7.5 % inclusive or additive
    on the standard-rated lines (none on exempt ones), sometimes a discount and a customer."""
    lines = []
    for index, (name, price, by_weight) in enumerate(rng.sample(CATALOGUE, rng.randint(1, 5))):
        lines.append(
            {
                "uid": f"line-{index}",
                "name": name,
                "quantity": rng.choice(WEIGHTS) if by_weight else str(rng.randint(1, 4)),
                "base_price_money": {"amount": price, "currency": "NGN"},
            }
        )
    order: dict = {"location_id": location_id, "line_items": lines}
    vat = {"uid": "vat", "name": "VAT", "percentage": VAT_PERCENT}
    order["taxes"] = [
        {**vat, "type": "INCLUSIVE" if rng.random() < 0.6 else "ADDITIVE", "scope": "LINE_ITEM"}
    ]
    for line in lines:
        if CATALOGUE_CLASSIFICATION[line["name"]][2] == "standard":
            line["applied_taxes"] = [{"tax_uid": "vat"}]
    discounts = []
    if rng.random() < LINE_DISCOUNT_SHARE:
        discounts.append(
            {
                "uid": "promo",
                "name": "Promo 10%",
                "type": "FIXED_PERCENTAGE",
                "percentage": "10",
                "scope": "LINE_ITEM",
            }
        )
        rng.choice(lines)["applied_discounts"] = [{"discount_uid": "promo"}]
    gross = sum(Decimal(line["quantity"]) * line["base_price_money"]["amount"] for line in lines)
    # Only on baskets it cannot swallow: a sale of nothing has nothing to pay.
    if gross > 10 * ORDER_DISCOUNT_KOBO and rng.random() < ORDER_DISCOUNT_SHARE:
        discounts.append(
            {
                "uid": "loyalty",
                "name": "Loyalty ₦500 off",
                "type": "FIXED_AMOUNT",
                "amount_money": {"amount": ORDER_DISCOUNT_KOBO, "currency": "NGN"},
                "scope": "ORDER",
            }
        )
    if discounts:
        order["discounts"] = discounts
    if rng.random() < CUSTOMER_SHARE:
        order["customer_id"] = f"CUST{rng.getrandbits(64):016X}"
    return order


def orders_backfill(
    *,
    merchant: SquareSandboxMerchant | str,
    count: int,
    start: datetime,
    end: datetime,
    location_id: str = "",
    templates: int = 200,
    batch_size: int = 5000,
    seed: int | None = None,
) -> int:
    """Write ``count`` COMPLETED, card-paid orders created between ``start`` and ``end`` (and
    their payments) straight into the sandbox's tables: no webhooks, no HTTP. Returns ``count``.

    Fast: pricing is done once per ``templates`` baskets, which the orders reuse (a line uid is
    unique within its order only, so sharing them is harmless), and rows go in by COPY, a
    transaction per ``batch_size`` orders.
    """
    if count < 0 or end <= start or templates < 1 or batch_size < 1:
        raise ValueError("count >= 0, start before end, templates and batch_size >= 1")
    rng = random.Random(seed)  # noqa: S311 (made-up sales, repeatable by seed)
    seller = _seller(merchant)
    location = _location(seller, location_id)
    baskets = [
        order_priced(
            sale_request(location_id=location.location_id, rng=rng), currency=location.currency
        )
        for _ in range(templates)
    ]
    span = (end - start).total_seconds()
    made = 0
    while made < count:
        orders, payments = [], []
        for _ in range(min(batch_size, count - made)):
            created = _to_millisecond(start + timedelta(seconds=rng.uniform(0, span)))
            paid = _to_millisecond(min(created + timedelta(seconds=rng.randint(20, 600)), end))
            order, payment = _paid_order(
                rng.choice(baskets), location=location, created=created, paid=paid
            )
            orders.append(
                {
                    "merchant": seller.pk,
                    "order_id": order["id"],
                    "location_id": location.location_id,
                    "idempotency_key": "",
                    "state": "COMPLETED",
                    "version": order["version"],
                    "created_at": created,
                    "updated_at": paid,
                    "closed_at": paid,
                    "data": order,
                }
            )
            payments.append(
                {
                    "merchant": seller.pk,
                    "payment_id": payment["id"],
                    "location_id": location.location_id,
                    "order_id": order["id"],
                    "idempotency_key": "",
                    "request_fingerprint": "",
                    "status": "COMPLETED",
                    "created_at": paid,
                    "updated_at": paid,
                    "data": payment,
                }
            )
        with transaction.atomic():
            _copy_rows(SquareSandboxOrder, orders)
            _copy_rows(SquareSandboxPayment, payments)
        made += len(orders)
    return made


# --- sales ---------------------------------------------------------------------------------


def _payment_request(order: dict, *, rng: random.Random) -> dict:
    """CreatePayment for the whole order, held (``autocomplete`` false) so that
    ``payment.created`` and ``payment.updated`` both come, as Square sends them."""
    total = order["total_money"]
    request = {
        "idempotency_key": str(uuid.uuid4()),
        "order_id": order["id"],
        "amount_money": total,
        "autocomplete": False,
    }
    if rng.random() < CARD_SHARE:
        request["source_id"] = "cnon:card-nonce-ok"
        if rng.random() < TIP_SHARE:
            tip = total["amount"] // 20  # 5 %
            request["tip_money"] = {"amount": tip, "currency": total["currency"]}
    else:
        notes = -(-total["amount"] // CASH_NOTE_KOBO) * CASH_NOTE_KOBO
        request["source_id"] = "CASH"
        request["cash_details"] = {
            "buyer_supplied_money": {"amount": notes, "currency": total["currency"]}
        }
    return request


def _refund_events(
    *, merchant: SquareSandboxMerchant, payment: SquareSandboxPayment, rng: random.Random
) -> list[Event]:
    total = payment.data["total_money"]
    amount = total["amount"]
    if rng.random() >= FULL_REFUND_SHARE and amount > 1:
        amount = rng.randint(1, amount - 1)
    refund = sandbox_refund_create(
        merchant=merchant,
        body={
            "idempotency_key": str(uuid.uuid4()),
            "payment_id": payment.payment_id,
            "amount_money": {"amount": amount, "currency": total["currency"]},
            "reason": rng.choice(("Damaged item", "Customer changed mind", "Overcharged")),
        },
    )
    created = _object_event("refund.created", merchant=merchant, row=refund)
    refund = sandbox_refund_complete(merchant=merchant, refund_id=refund.refund_id)
    return [created, _object_event("refund.updated", merchant=merchant, row=refund)]


def _order_event(
    event_type: str, *, merchant: SquareSandboxMerchant, order: SquareSandboxOrder
) -> Event:
    """order.created / order.updated: ids, state and version only (fetch the order)."""
    data = order.data
    summary = {
        "order_id": order.order_id,
        "location_id": order.location_id,
        "state": order.state,
        "version": order.version,
        "created_at": data["created_at"],
    }
    if event_type == "order.updated":
        summary["updated_at"] = data["updated_at"]
    object_type = event_type.replace(".", "_")
    return _event(
        merchant_id=merchant.merchant_id,
        event_type=event_type,
        data={"type": object_type, "id": order.order_id, "object": {object_type: summary}},
        created_at=data["updated_at"],
    )


def _object_event(event_type: str, *, merchant: SquareSandboxMerchant, row) -> Event:
    """payment.* and refund.*: the whole object, as it is now."""
    object_type = event_type.split(".")[0]
    return _event(
        merchant_id=merchant.merchant_id,
        event_type=event_type,
        data={"type": object_type, "id": row.data["id"], "object": {object_type: row.data}},
        created_at=row.data["updated_at"],
    )


def _event(*, merchant_id: str, event_type: str, data: dict, created_at: str) -> Event:
    envelope = {
        "merchant_id": merchant_id,
        "type": event_type,
        "event_id": str(uuid.uuid4()),
        "created_at": created_at,
        "data": data,
    }
    return Event(payload=envelope)


def _paid_order(
    basket: dict, *, location: SquareSandboxLocation, created: datetime, paid: datetime
) -> tuple[dict, dict]:
    """A priced basket as an order created at ``created`` and paid by card at ``paid``."""
    order_id = square_id()
    order = {
        **basket,
        "id": order_id,
        "location_id": location.location_id,
        "state": "OPEN",
        "version": 1,
        "created_at": square_timestamp(created),
        "updated_at": square_timestamp(created),
    }
    total = basket["total_money"]
    payment = payment_json(
        payment_id=square_id(),
        location_id=location.location_id,
        currency=total["currency"],
        amount=total["amount"],
        tip=0,
        source_type="CARD",
        source_details=card_source_details(now=paid),
        now=paid,
        order_id=order_id,
        customer_id=basket.get("customer_id", ""),
    )
    payment_captured(payment, now=paid)
    return order_settled(order, payments=[payment], version=2, now=paid), payment


# --- plumbing ------------------------------------------------------------------------------


def _merchant(merchant_id: str) -> SquareSandboxMerchant:
    merchant = SquareSandboxMerchant.objects.filter(merchant_id=merchant_id).first()
    if merchant is None:
        raise ValueError(f"No sandbox seller {merchant_id!r}")
    return merchant


def _seller(merchant: SquareSandboxMerchant | str) -> SquareSandboxMerchant:
    """The seller itself, or the one an access token (its own or an OAuth one) acts for."""
    if isinstance(merchant, SquareSandboxMerchant):
        return merchant
    seller = SquareSandboxMerchant.objects.filter(access_token=merchant).first()
    if seller is None:
        token = (
            SquareSandboxAccessToken.objects.select_related("account")
            .filter(access_token=merchant, revoked_at__isnull=True)
            .first()
        )
        seller = token.account if token is not None else None
    if seller is None:
        raise ValueError("No sandbox seller has that access token")
    return seller


def _location(merchant: SquareSandboxMerchant, location_id: str) -> SquareSandboxLocation:
    locations = SquareSandboxLocation.objects.filter(merchant=merchant).order_by("id")
    location = (
        locations.filter(location_id=location_id).first() if location_id else locations.first()
    )
    if location is None:
        raise ValueError(f"The seller has no location {location_id!r}")
    return location


def _to_millisecond(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _copy_rows(model, rows: list[dict]) -> None:
    """Insert rows (field name -> value) with COPY. Not bulk_create: on PostgreSQL, Django 5.2
    escapes every JSON document into an array literal in Python, several times slower here."""
    if not rows:
        return
    names = list(rows[0])
    fields = [model._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    is_json = [field.get_internal_type() == "JSONField" for field in fields]
    with connection.cursor() as cursor:
        statement = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
        with cursor.cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(
                    [
                        json.dumps(row[name]) if as_json else row[name]
                        for name, as_json in zip(names, is_json, strict=True)
                    ]
                )
