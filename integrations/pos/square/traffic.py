"""Square traffic for the sandbox: shop sales, and the webhooks Square sends about them.

``traffic_run`` makes completed sales in the sandbox (orders from a small Nigerian grocery
catalogue in NGN, paid by card or cash through the sandbox's payments, some refunded) and POSTs
the webhook deliveries Square would send for them to a receiver, signed as Square signs them:
``order.created`` (API orders only: Square sends none for orders rung up on its POS),
``payment.created``, ``order.updated`` (COMPLETED), ``payment.updated`` and, for refunded sales,
``refund.created`` (PENDING) and ``refund.updated`` (COMPLETED). Deliveries can be paced,
repeated (Square delivers at least once), shuffled and sent concurrently.

``orders_backfill`` writes historical completed orders (and their payments) straight into the
sandbox's tables, with no webhooks and no HTTP, for back-fill tests.

Sales are made as the deliveries go out, in the calling thread; worker threads only POST.
"""

import json
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import requests
from django.db import connection, transaction

from integrations.pos.models import (
    SquareSandboxAccessToken,
    SquareSandboxLocation,
    SquareSandboxMerchant,
    SquareSandboxOrder,
    SquareSandboxPayment,
)
from integrations.pos.square.sandbox import (
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
    square_id,
    square_timestamp,
)
from integrations.pos.square.signatures import SIGNATURE_HEADER, square_signature

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


@dataclass(frozen=True)
class Receiver:
    """Where deliveries go (``webhook_url``), and what Square's signature covers: the
    subscription's ``notification_url`` and ``signature_key``."""

    webhook_url: str
    notification_url: str
    signature_key: str


@dataclass
class TrafficSummary:
    """What a run did. ``deliveries_sent`` counts every POST (copies included); those answered
    outside 2xx are ``non_2xx``, those never answered (connection error, timeout)
    ``transport_errors``. ``ack_latencies`` are the seconds each answered POST took."""

    orders_created: int = 0
    refunds_created: int = 0
    events: int = 0
    deliveries_sent: int = 0
    non_2xx: int = 0
    transport_errors: int = 0
    ack_latencies: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class _Delivery:
    body: bytes
    created_at: str
    retry_number: int  # 0 for the first delivery, then 1, 2, ... for the copies


def traffic_run(
    *,
    merchant: SquareSandboxMerchant | str,
    receiver: Receiver,
    location_id: str = "",
    count: int = 10,
    rate_per_second: float = 0.0,
    duplicates: int = 1,
    shuffle_window: int = 1,
    refund_share: float = 0.0,
    api_order_share: float = 0.5,
    concurrency: int = 1,
    signature_key: str = "",
    timeout: float = 10.0,
    seed: int | None = None,
) -> TrafficSummary:
    """Make ``count`` completed sales and deliver their webhooks to ``receiver``.

    ``merchant``: a sandbox seller or its access token; ``location_id`` defaults to its first
    location. ``rate_per_second`` paces deliveries (0: as fast as they go). Each event is sent
    1 to ``duplicates`` times (the same bytes; copies say ``square-retry-number``) and within
    ``shuffle_window`` deliveries the order is random. A ``refund_share`` of sales is refunded,
    fully or in part; an ``api_order_share`` of orders counts as made through the Orders API and
    gets ``order.created``. ``signature_key`` overrides the receiver's key, to send deliveries
    the receiver must refuse. ``seed`` makes a run repeatable.
    """
    if count < 0 or duplicates < 1 or shuffle_window < 1 or concurrency < 1:
        raise ValueError("count >= 0, duplicates >= 1, shuffle_window >= 1, concurrency >= 1")
    if not 0 <= refund_share <= 1 or not 0 <= api_order_share <= 1 or rate_per_second < 0:
        raise ValueError("refund_share and api_order_share are shares (0-1); rate is >= 0")
    if not (signature_key or receiver.signature_key) or not receiver.notification_url:
        raise ValueError("Square signs with a signature key and the notification URL: give both")
    rng = random.Random(seed)  # noqa: S311 (made-up sales, repeatable by seed)
    seller = _seller(merchant)
    location = _location(seller, location_id)
    summary = TrafficSummary()
    events = _sales_events(
        merchant=seller,
        location=location,
        count=count,
        refund_share=refund_share,
        api_order_share=api_order_share,
        rng=rng,
        summary=summary,
    )
    deliveries = _shuffled(
        _repeated(events, duplicates=duplicates, rng=rng), window=shuffle_window, rng=rng
    )
    _deliver(
        deliveries,
        receiver=receiver,
        signature_key=signature_key or receiver.signature_key,
        rate_per_second=rate_per_second,
        concurrency=concurrency,
        timeout=timeout,
        summary=summary,
    )
    return summary


def sales_deliveries(
    *,
    merchant: SquareSandboxMerchant | str,
    count: int,
    location_id: str = "",
    duplicates: int = 1,
    shuffle_window: int = 1,
    refund_share: float = 0.0,
    api_order_share: float = 0.0,
    seed: int | None = None,
) -> tuple[list[_Delivery], TrafficSummary]:
    """Make ``count`` completed sales now and return their deliveries in sending order, unsent,
    with the summary of what was made: a paced run (a benchmark) then spends its time sending."""
    rng = random.Random(seed)  # noqa: S311 (made-up sales, repeatable by seed)
    seller = _seller(merchant)
    summary = TrafficSummary()
    events = list(
        _sales_events(
            merchant=seller,
            location=_location(seller, location_id),
            count=count,
            refund_share=refund_share,
            api_order_share=api_order_share,
            rng=rng,
            summary=summary,
        )
    )
    deliveries = _shuffled(
        _repeated(events, duplicates=duplicates, rng=rng), window=shuffle_window, rng=rng
    )
    return list(deliveries), summary


def deliveries_send(
    deliveries: Iterable[_Delivery],
    *,
    receiver: Receiver,
    rate_per_second: float = 0.0,
    concurrency: int = 1,
    timeout: float = 10.0,
    summary: TrafficSummary | None = None,
) -> TrafficSummary:
    """Send deliveries made by ``sales_deliveries``, paced at ``rate_per_second``."""
    summary = summary or TrafficSummary()
    _deliver(
        deliveries,
        receiver=receiver,
        signature_key=receiver.signature_key,
        rate_per_second=rate_per_second,
        concurrency=concurrency,
        timeout=timeout,
        summary=summary,
    )
    return summary


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


def _sales_events(
    *,
    merchant: SquareSandboxMerchant,
    location: SquareSandboxLocation,
    count: int,
    refund_share: float,
    api_order_share: float,
    rng: random.Random,
    summary: TrafficSummary,
) -> Iterator[_Delivery]:
    """One sale at a time, each yielding its events in the order Square sends them."""
    for _ in range(count):
        order = sandbox_order_create(
            merchant=merchant,
            body={
                "idempotency_key": str(uuid.uuid4()),
                "order": sale_request(location_id=location.location_id, rng=rng),
            },
        )
        summary.orders_created += 1
        events = []
        if rng.random() < api_order_share:
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
        if rng.random() < refund_share:
            summary.refunds_created += 1
            events += _refund_events(merchant=merchant, payment=payment, rng=rng)
        summary.events += len(events)
        yield from events


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
) -> list[_Delivery]:
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
) -> _Delivery:
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
    return _delivery(
        merchant_id=merchant.merchant_id,
        event_type=event_type,
        data={"type": object_type, "id": order.order_id, "object": {object_type: summary}},
        created_at=data["updated_at"],
    )


def _object_event(event_type: str, *, merchant: SquareSandboxMerchant, row) -> _Delivery:
    """payment.* and refund.*: the whole object, as it is now."""
    object_type = event_type.split(".")[0]
    return _delivery(
        merchant_id=merchant.merchant_id,
        event_type=event_type,
        data={"type": object_type, "id": row.data["id"], "object": {object_type: row.data}},
        created_at=row.data["updated_at"],
    )


def _delivery(*, merchant_id: str, event_type: str, data: dict, created_at: str) -> _Delivery:
    envelope = {
        "merchant_id": merchant_id,
        "type": event_type,
        "event_id": str(uuid.uuid4()),
        "created_at": created_at,
        "data": data,
    }
    return _Delivery(body=json.dumps(envelope).encode(), created_at=created_at, retry_number=0)


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


# --- delivery ------------------------------------------------------------------------------


def _repeated(
    deliveries: Iterable[_Delivery], *, duplicates: int, rng: random.Random
) -> Iterator[_Delivery]:
    for delivery in deliveries:
        for retry_number in range(rng.randint(1, duplicates)):
            yield _Delivery(delivery.body, delivery.created_at, retry_number)


def _shuffled(
    deliveries: Iterable[_Delivery], *, window: int, rng: random.Random
) -> Iterator[_Delivery]:
    """The deliveries, each sent at a random point among the next ``window``."""
    pending: deque[_Delivery] = deque()
    for delivery in deliveries:
        pending.append(delivery)
        if len(pending) == window:
            pending.rotate(-rng.randrange(window))
            yield pending.popleft()
    remaining = list(pending)
    rng.shuffle(remaining)
    yield from remaining


def _deliver(
    deliveries: Iterable[_Delivery],
    *,
    receiver: Receiver,
    signature_key: str,
    rate_per_second: float,
    concurrency: int,
    timeout: float,
    summary: TrafficSummary,
) -> None:
    """POST each delivery from a pool of ``concurrency`` threads, each with its own session,
    starting delivery n at ``n / rate_per_second`` seconds (monotonic clock)."""
    local = threading.local()
    sessions: list[requests.Session] = []
    lock = threading.Lock()
    # A bounded backlog: sales are made only as fast as deliveries go out.
    backlog = threading.BoundedSemaphore(concurrency * 2)

    def post(delivery: _Delivery) -> None:
        try:
            answered = _post(delivery)
        finally:
            backlog.release()
        with lock:
            summary.deliveries_sent += 1
            if answered is None:
                summary.transport_errors += 1
                return
            status, elapsed = answered
            summary.ack_latencies.append(elapsed)
            if not 200 <= status < 300:
                summary.non_2xx += 1

    def _post(delivery: _Delivery) -> tuple[int, float] | None:
        """(status, seconds) of the answer, or None when there was none."""
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            with lock:
                sessions.append(session)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Square Connect v2",
            SIGNATURE_HEADER: square_signature(
                signature_key=signature_key,
                notification_url=receiver.notification_url,
                body=delivery.body,
            ),
            "square-initial-delivery-timestamp": delivery.created_at,
        }
        if delivery.retry_number:
            headers["square-retry-number"] = str(delivery.retry_number)
            headers["square-retry-reason"] = "http_timeout"
        started = time.monotonic()
        try:
            response = session.post(
                receiver.webhook_url, data=delivery.body, headers=headers, timeout=timeout
            )
        except requests.RequestException:
            return None
        return response.status_code, time.monotonic() - started

    failures: list[BaseException] = []

    def failed(future) -> None:
        if future.exception() is not None:
            failures.append(future.exception())

    try:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            began = time.monotonic()
            for index, delivery in enumerate(deliveries):
                if rate_per_second:
                    delay = began + index / rate_per_second - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                backlog.acquire()
                pool.submit(post, delivery).add_done_callback(failed)
    finally:
        for session in sessions:
            session.close()
    if failures:
        raise failures[0]


# --- plumbing ------------------------------------------------------------------------------


def _seller(merchant: SquareSandboxMerchant | str) -> SquareSandboxMerchant:
    """The seller itself, or the one an access token (its own or an OAuth one) acts for."""
    if isinstance(merchant, SquareSandboxMerchant):
        return merchant
    seller = SquareSandboxMerchant.objects.filter(access_token=merchant).first()
    if seller is None:
        token = (
            SquareSandboxAccessToken.objects.select_related("merchant")
            .filter(access_token=merchant, revoked_at__isnull=True)
            .first()
        )
        seller = token.merchant if token is not None else None
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
