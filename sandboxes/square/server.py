"""Square sandbox: the Square API the connector calls, played by our own app.

Mounted at /sandbox/square/ when ``settings.SANDBOX_ENABLED``, with Square's own paths below
(``/sandbox/square/v2/orders/search``, ``/sandbox/square/oauth2/token``). Sellers are
``SquareSandboxMerchant`` rows (``sandbox_merchant_create``). Square's HTTP conventions (bearer
tokens and scopes, errors, rate-limit headers, faults, OAuth) are in ``sandboxes/square/api.py``,
on the sandbox kit; this module is Square's own semantics.

Orders are priced as Square prices them, in int64 minor units (never float):
- line gross = quantity x base price, rounded half up to the minor unit;
- discounts, in the order listed: FIXED_PERCENTAGE of the line's gross, or FIXED_AMOUNT (off
  each line naming it; an ORDER-scoped amount is spread over the lines by what they have left,
  the remainder on the last line); never more than a line has left;
- taxes on the discounted amount: INCLUSIVE ones are already inside it (backed out), ADDITIVE
  ones are added on top of the amount net of inclusive tax; ORDER-scoped taxes apply to every
  line, LINE_ITEM-scoped ones to the lines that name them in ``applied_taxes``.
Rounding is per line, as Square does; service charges and modifiers are not modelled.

Payments: once the COMPLETED payments naming an order cover its ``total_money``, the order is
COMPLETED as PayOrder leaves it (``tenders``, tips added to its totals, ``closed_at``, version + 1).
Refunds are linked to a payment and start PENDING; settling one (RefundPayment over HTTP settles at
once) shows it as Square does: ``refunded_money`` on the payment, ``refunds[]`` (APPROVED),
``return_amounts`` and ``net_amounts`` on the order. Unlinked refunds and return orders are not
modelled: a refund's ``order_id`` is the sale order's.

Lists (SearchOrders, ListPayments, ListPaymentRefunds) page by keyset: the cursor is the signed
(sort value, id) of the page's last row and the query it belongs to, so rows that change while a
client pages are not skipped, and an altered cursor or one sent with another query is refused
(INVALID_CURSOR).
"""

import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import IntegrityError, connection, transaction
from django.db.models import TextField
from django.db.models.functions import Cast
from django.http import HttpResponse, JsonResponse
from django.utils import timezone

from integrations.pos.square.mappers import QUANTITY_PATTERN
from sandboxes.kit.cursors import fingerprint, keyset_page
from sandboxes.kit.endpoints import query_params
from sandboxes.square.api import (
    SquareError,
    api,
    flag_field,
    sandbox_oauth_client,
    square_id,
    text_field,
)
from sandboxes.square.models import (
    SquareSandboxLocation,
    SquareSandboxMerchant,
    SquareSandboxOrder,
    SquareSandboxPayment,
    SquareSandboxRefund,
)

MAX_SEARCH_LIMIT = 1000
MAX_SEARCH_LOCATIONS = 10
MAX_BATCH_RETRIEVE = 100
# ListPayments / ListPaymentRefunds: the default and the maximum; a larger limit is ignored.
MAX_LIST_LIMIT = 100
# Lists look back a year unless ``begin_time`` says otherwise, as Square's do.
LIST_DEFAULT_LOOKBACK = timedelta(days=365)
HUNDRED = Decimal(100)
ORDER_STATES = frozenset({"OPEN", "COMPLETED", "CANCELED", "DRAFT"})
SORT_FIELDS = {"CREATED_AT": "created_at", "UPDATED_AT": "updated_at"}
ORDER_SORT_FIELDS = {**SORT_FIELDS, "CLOSED_AT": "closed_at"}
# Only these states have a closed_at: Square asks for them with a closed_at filter or sort.
CLOSED_STATES = frozenset({"COMPLETED", "CANCELED"})
SORT_ORDERS = frozenset({"ASC", "DESC"})
DATE_FILTER_FIELDS = ("created_at", "updated_at", "closed_at")
REFUND_STATUSES = frozenset({"PENDING", "COMPLETED", "REJECTED", "FAILED"})
# The PaymentRefund status -> the order's Refund status (RefundStatus has no COMPLETED).
ORDER_REFUND_STATUS = {"PENDING": "PENDING", "COMPLETED": "APPROVED"}

# Square's sandbox test sources: card nonces (``cnon:``) and cards on file (``ccof:``) pay, the
# declined-card nonce is declined; CASH and EXTERNAL need their details.
DECLINED_CARD_NONCE = "cnon:card-nonce-declined"
CARD_SOURCE_PREFIXES = ("cnon:", "ccof:")
SANDBOX_CARD = {
    "card_brand": "VISA",
    "last_4": "1111",
    "exp_month": 12,
    "exp_year": 2030,
    "card_type": "DEBIT",
    "prepaid_type": "NOT_PREPAID",
    "bin": "411111",
    "fingerprint": "sq-1-sandbox-visa-debit-1111",
}
TENDER_TYPE_BY_SOURCE = {"CARD": "CARD", "CASH": "CASH", "EXTERNAL": "OTHER"}
# An APPROVED card payment is held a week, then canceled (Square's default delay).
CARD_HOLD = timedelta(hours=168)
RECEIPT_URL = "https://squareupsandbox.com/receipt/preview/{payment_id}"

CURSOR_SALT = "square-sandbox:cursor"

_random = secrets.SystemRandom()
ORDER_JSON_SQL = (
    f"SELECT data::text FROM {SquareSandboxOrder._meta.db_table} "  # noqa: S608 (the model's own)
    "WHERE merchant_id = %s AND order_id = %s"
)


# --- locations -----------------------------------------------------------------------------


def location_json(location: SquareSandboxLocation) -> dict:
    return {
        "id": location.location_id,
        "name": location.name,
        "merchant_id": location.merchant.merchant_id,
        "country": location.country,
        "currency": location.currency,
        "status": "ACTIVE",
        "type": "PHYSICAL",
    }


# --- orders --------------------------------------------------------------------------------


def sandbox_order_create(*, merchant: SquareSandboxMerchant, body: Mapping) -> SquareSandboxOrder:
    """CreateOrder: a priced OPEN order; a repeated idempotency key returns the first order."""
    key = body.get("idempotency_key", "")
    if not isinstance(key, str) or len(key) > 192:
        raise SquareError(
            "idempotency_key must be a string of at most 192 characters", field="idempotency_key"
        )
    if key:
        existing = SquareSandboxOrder.objects.filter(merchant=merchant, idempotency_key=key).first()
        if existing is not None:
            return existing
    request = _object(body.get("order"), "order")
    location_id = request.get("location_id")
    location = SquareSandboxLocation.objects.filter(
        merchant=merchant, location_id=location_id
    ).first()
    if location is None:
        raise SquareError(
            f"Location `{location_id}` not found",
            status=404,
            code="NOT_FOUND",
            field="order.location_id",
        )
    now = _now()
    order = order_priced(request, currency=location.currency)
    order.update(
        id=square_id(),
        location_id=location.location_id,
        state="OPEN",
        version=1,
        created_at=square_timestamp(now),
        updated_at=square_timestamp(now),
    )
    try:
        with transaction.atomic():
            return SquareSandboxOrder.objects.create(
                merchant=merchant,
                order_id=order["id"],
                location_id=location.location_id,
                idempotency_key=key,
                state="OPEN",
                version=1,
                created_at=now,
                updated_at=now,
                data=order,
            )
    except IntegrityError:
        # A concurrent request with the same key won the race: answer with its order.
        return SquareSandboxOrder.objects.get(merchant=merchant, idempotency_key=key)


def sandbox_order_update_state(
    *, merchant: SquareSandboxMerchant, order_id: str, body: Mapping
) -> SquareSandboxOrder:
    """UpdateOrder, state changes only (OPEN -> COMPLETED or CANCELED), checked by version."""
    request = _object(body.get("order"), "order")
    state = request.get("state")
    if state not in ("COMPLETED", "CANCELED"):
        raise SquareError(
            "Only a state of COMPLETED or CANCELED can be set here", field="order.state"
        )
    with transaction.atomic():
        order = _order_for_update(merchant=merchant, order_id=order_id)
        if request.get("version") != order.version:
            raise SquareError(
                f"Order version {request.get('version')!r} does not match {order.version}",
                code="VERSION_MISMATCH",
                field="order.version",
            )
        if order.state != "OPEN":
            raise SquareError(f"An order in state {order.state} cannot change", field="order.state")
        now = _now()
        order.state, order.version, order.updated_at = state, order.version + 1, now
        order.closed_at = now
        currency = order.data["total_money"]["currency"]
        order.data = {
            **order.data,
            "state": state,
            "version": order.version,
            "updated_at": square_timestamp(now),
            "closed_at": square_timestamp(now),
            **({"net_amount_due_money": _money(0, currency)} if state == "COMPLETED" else {}),
        }
        order.save()
    return order


def sandbox_order_complete(*, merchant: SquareSandboxMerchant, order_id: str) -> SquareSandboxOrder:
    """Mark an OPEN order paid, as if a payment had settled it (the demo's shortcut)."""
    order = _order_get(merchant=merchant, order_id=order_id)
    return sandbox_order_update_state(
        merchant=merchant,
        order_id=order_id,
        body={"order": {"state": "COMPLETED", "version": order.version}},
    )


def sandbox_orders_search(*, merchant: SquareSandboxMerchant, body: Mapping) -> str:
    """SearchOrders over the seller's locations, a keyset page at a time: the answer's JSON,
    made of the orders' stored JSON text (a page of 500 is never parsed and dumped again)."""
    location_ids = body.get("location_ids")
    if not isinstance(location_ids, list) or not 1 <= len(location_ids) <= MAX_SEARCH_LOCATIONS:
        raise SquareError("location_ids must name 1 to 10 locations", field="location_ids")
    orders = SquareSandboxOrder.objects.filter(
        merchant=merchant, location_id__in=location_ids
    ).annotate(data_text=Cast("data", TextField()))
    query = _object(body.get("query") or {}, "query")
    filters = _object(query.get("filter") or {}, "query.filter")
    states = _object(filters.get("state_filter") or {}, "query.filter.state_filter").get("states")
    if states is not None:
        if not isinstance(states, list) or not set(states) <= ORDER_STATES:
            raise SquareError(
                "states must be a list of order states", field="query.filter.state_filter.states"
            )
        orders = orders.filter(state__in=states)
    date_filter = _object(filters.get("date_time_filter") or {}, "query.filter.date_time_filter")
    for field in DATE_FILTER_FIELDS:
        path = f"query.filter.date_time_filter.{field}"
        window = _object(date_filter.get(field) or {}, path)
        if "start_at" in window:
            start = _parsed_time(window["start_at"], field=f"{path}.start_at")
            orders = orders.filter(**{f"{field}__gte": start})
        if "end_at" in window:
            end = _parsed_time(window["end_at"], field=f"{path}.end_at")
            orders = orders.filter(**{f"{field}__lte": end})
    sort = _object(query.get("sort") or {}, "query.sort")
    sort_field = ORDER_SORT_FIELDS.get(sort.get("sort_field", "CREATED_AT"))
    if sort_field is None:
        raise SquareError(
            "sort_field must be CREATED_AT, UPDATED_AT or CLOSED_AT", field="query.sort.sort_field"
        )
    if (sort_field == "closed_at" or date_filter.get("closed_at")) and not (
        states and set(states) <= CLOSED_STATES
    ):
        raise SquareError(
            "A closed_at filter or sort needs a state_filter of COMPLETED or CANCELED",
            field="query.filter.state_filter",
        )
    # Square refuses a date filter on one field with a sort on another.
    if any(date_filter.get(field) for field in DATE_FILTER_FIELDS if field != sort_field):
        raise SquareError(
            "The sort field must match the date_time_filter field", field="query.sort.sort_field"
        )
    sort_order = sort.get("sort_order", "DESC")
    if sort_order not in SORT_ORDERS:
        raise SquareError("sort_order must be ASC or DESC", field="query.sort.sort_order")
    limit = body.get("limit", 500)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_SEARCH_LIMIT:
        raise SquareError(f"limit must be 1 to {MAX_SEARCH_LIMIT}", field="limit")
    page, cursor = _keyset_page(
        orders.only("order_id", sort_field),
        sort_field=sort_field,
        id_field="order_id",
        descending=sort_order == "DESC",
        limit=limit,
        cursor=body.get("cursor"),
        query={key: value for key, value in body.items() if key not in ("cursor", "limit")},
        endpoint="SearchOrders",
    )
    orders_json = ", ".join(order.data_text for order in page)
    more = f', "cursor": {json.dumps(cursor)}' if cursor else ""
    return f'{{"orders": [{orders_json}]{more}}}'


def sandbox_orders_batch_retrieve(*, merchant: SquareSandboxMerchant, body: Mapping) -> dict:
    """BatchRetrieveOrders: the orders found, in the order asked; unknown ids are left out."""
    order_ids = body.get("order_ids")
    if (
        not isinstance(order_ids, list)
        or not 1 <= len(order_ids) <= MAX_BATCH_RETRIEVE
        or not all(isinstance(order_id, str) for order_id in order_ids)
    ):
        raise SquareError(f"order_ids must list 1 to {MAX_BATCH_RETRIEVE} ids", field="order_ids")
    found = {
        order.order_id: order.data
        for order in SquareSandboxOrder.objects.filter(merchant=merchant, order_id__in=order_ids)
    }
    return {"orders": [found[order_id] for order_id in order_ids if order_id in found]}


# --- pricing -------------------------------------------------------------------------------


def order_priced(request: Mapping, *, currency: str) -> dict:
    """The order Square would store for a CreateOrder ``order``: every total computed."""
    items = request.get("line_items")
    if not isinstance(items, list) or not items:
        raise SquareError("An order needs at least one line item", field="order.line_items")
    taxes = _entries(request, "taxes", currency=currency)
    discounts = _entries(request, "discounts", currency=currency)
    lines = [
        _line_started(
            item, path=f"order.line_items[{i}]", currency=currency, taxes=taxes, discounts=discounts
        )
        for i, item in enumerate(items)
    ]
    for uid, discount in discounts.items():
        applied = [line for line in lines if uid in line["_discounts"]]
        _discount_apply(discount, uid=uid, lines=applied, currency=currency)
    for line in lines:
        _line_taxed(line, taxes=taxes, currency=currency)
    for uid, entry in [*taxes.items(), *discounts.items()]:
        entry["applied_money"] = _money(
            sum(
                applied["applied_money"]["amount"]
                for line in lines
                for applied in [*line["applied_taxes"], *line["applied_discounts"]]
                if applied.get("tax_uid", applied.get("discount_uid")) == uid
            ),
            currency,
        )
    for line in lines:
        del line["_discounts"]
    totals = {
        key: _money(sum(line[key]["amount"] for line in lines), currency)
        for key in ("total_money", "total_tax_money", "total_discount_money")
    }
    order = {
        **{key: value for key, value in request.items() if key in ("reference_id", "customer_id")},
        "line_items": lines,
        "taxes": list(taxes.values()),
        "discounts": list(discounts.values()),
        **totals,
        "total_tip_money": _money(0, currency),
        "total_service_charge_money": _money(0, currency),
    }
    order["net_amounts"] = _order_amounts(order)
    order["net_amount_due_money"] = order["total_money"]
    return order


def _line_started(
    item: object, *, path: str, currency: str, taxes: Mapping, discounts: Mapping
) -> dict:
    """A line's gross and the taxes and discounts that apply to it; amounts come later."""
    item = _object(item, path)
    quantity = item.get("quantity")
    if not isinstance(quantity, str) or not QUANTITY_PATTERN.fullmatch(quantity):
        raise SquareError(f"{path}.quantity must be a decimal string", field=f"{path}.quantity")
    if Decimal(quantity) <= 0:
        raise SquareError(f"{path}.quantity must be positive", field=f"{path}.quantity")
    base = _amount(item.get("base_price_money"), path=f"{path}.base_price_money", currency=currency)
    gross = _rounded(Decimal(quantity) * base)
    named_taxes = _references(item, "applied_taxes", "tax_uid", path=path, entries=taxes)
    named_discounts = _references(
        item, "applied_discounts", "discount_uid", path=path, entries=discounts
    )
    return {
        "uid": item.get("uid") or square_id(),
        "name": str(item.get("name", "")),
        "quantity": quantity,
        **({"note": item["note"]} if isinstance(item.get("note"), str) else {}),
        "base_price_money": _money(base, currency),
        "gross_sales_money": _money(gross, currency),
        "variation_total_price_money": _money(gross, currency),
        "applied_taxes": [
            {"uid": square_id(), "tax_uid": uid}
            for uid, tax in taxes.items()
            if tax["scope"] == "ORDER" or uid in named_taxes
        ],
        "applied_discounts": [],
        "_discounts": [
            uid
            for uid, discount in discounts.items()
            if discount["scope"] == "ORDER" or uid in named_discounts
        ],
        "total_discount_money": _money(0, currency),
    }


def _discount_apply(discount: Mapping, *, uid: str, lines: list[dict], currency: str) -> None:
    """Record the discount's share on each line it applies to, never beyond what is left."""
    left = [
        line["gross_sales_money"]["amount"] - line["total_discount_money"]["amount"]
        for line in lines
    ]
    if discount["type"] == "FIXED_PERCENTAGE":
        percent = Decimal(discount["percentage"])
        shares = [
            _rounded(line["gross_sales_money"]["amount"] * percent / HUNDRED) for line in lines
        ]
    elif discount["scope"] == "LINE_ITEM":
        # A line-scoped amount is taken off each line that names it.
        shares = [discount["amount_money"]["amount"]] * len(lines)
    else:
        if not lines:
            return
        amount = min(discount["amount_money"]["amount"], sum(left))
        # Spread by what each line has left; the last line takes the rounding remainder.
        shares = [amount * remaining // (sum(left) or 1) for remaining in left[:-1]]
        shares.append(amount - sum(shares))
    for line, share, remaining in zip(lines, shares, left, strict=True):
        share = min(share, remaining)
        line["applied_discounts"].append(
            {"uid": square_id(), "discount_uid": uid, "applied_money": _money(share, currency)}
        )
        line["total_discount_money"] = _money(
            line["total_discount_money"]["amount"] + share, currency
        )


def _line_taxed(line: dict, *, taxes: Mapping, currency: str) -> None:
    """Back out inclusive taxes from the discounted amount, then add additive ones on top."""
    discounted = line["gross_sales_money"]["amount"] - line["total_discount_money"]["amount"]
    applied = [(entry, taxes[entry["tax_uid"]]) for entry in line["applied_taxes"]]
    inclusive_rate = sum(
        (Decimal(tax["percentage"]) for _, tax in applied if tax["type"] == "INCLUSIVE"),
        Decimal(0),
    )
    net = discounted * HUNDRED / (HUNDRED + inclusive_rate)
    total_tax = 0
    for entry, tax in applied:
        amount = _rounded(net * Decimal(tax["percentage"]) / HUNDRED)
        entry["applied_money"] = _money(amount, currency)
        total_tax += amount
    additive = sum(
        entry["applied_money"]["amount"] for entry, tax in applied if tax["type"] == "ADDITIVE"
    )
    line["total_tax_money"] = _money(total_tax, currency)
    line["total_money"] = _money(discounted + additive, currency)


def _entries(request: Mapping, key: str, *, currency: str) -> dict[str, dict]:
    """The order's taxes or discounts by uid, checked and with Square's defaults filled in."""
    value = request.get(key) or []
    if not isinstance(value, list):
        raise SquareError(f"order.{key} must be a list", field=f"order.{key}")
    entries = {}
    for index, entry in enumerate(value):
        path = f"order.{key}[{index}]"
        entry = dict(_object(entry, path))
        uid = entry.setdefault("uid", square_id())
        entry.setdefault("scope", "ORDER")
        if entry["scope"] not in ("ORDER", "LINE_ITEM"):
            raise SquareError(f"{path}.scope must be ORDER or LINE_ITEM", field=f"{path}.scope")
        if key == "taxes":
            entry.setdefault("type", "ADDITIVE")
            if entry["type"] not in ("ADDITIVE", "INCLUSIVE"):
                raise SquareError(
                    f"{path}.type must be ADDITIVE or INCLUSIVE", field=f"{path}.type"
                )
            _percentage(entry, path=path)
        elif entry.get("type") == "FIXED_PERCENTAGE":
            _percentage(entry, path=path)
        elif entry.get("type") == "FIXED_AMOUNT":
            _amount(entry.get("amount_money"), path=f"{path}.amount_money", currency=currency)
        else:
            raise SquareError(
                f"{path}.type must be FIXED_PERCENTAGE or FIXED_AMOUNT", field=f"{path}.type"
            )
        entries[uid] = entry
    return entries


def _references(item: Mapping, key: str, uid_key: str, *, path: str, entries: Mapping) -> set:
    uids = set()
    for index, reference in enumerate(item.get(key) or []):
        uid = _object(reference, f"{path}.{key}[{index}]").get(uid_key)
        if uid not in entries:
            raise SquareError(
                f"{path}.{key}[{index}] names {uid!r}, which the order lacks",
                field=f"{path}.{key}[{index}].{uid_key}",
            )
        uids.add(uid)
    return uids


def _percentage(entry: Mapping, *, path: str) -> None:
    try:
        percent = Decimal(str(entry.get("percentage")))
    except InvalidOperation:
        percent = Decimal(-1)
    if not isinstance(entry.get("percentage"), str) or not 0 <= percent <= HUNDRED:
        raise SquareError(
            f"{path}.percentage must be a string like '7.5'", field=f"{path}.percentage"
        )


def _amount(money: object, *, path: str, currency: str) -> int:
    money = _object(money, path)
    amount = money.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount < 2**63:
        raise SquareError(
            f"{path}.amount must be a whole number of minor units", field=f"{path}.amount"
        )
    if money.get("currency") != currency:
        raise SquareError(
            f"{path}.currency must be the location's {currency}", field=f"{path}.currency"
        )
    return amount


def _rounded(value: Decimal | int) -> int:
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _money(amount: int, currency: str) -> dict:
    return {"amount": amount, "currency": currency}


def _order_amounts(order: Mapping) -> dict:
    """The order's totals as OrderMoneyAmounts (the shape of ``net_amounts``)."""
    return {
        "total_money": order["total_money"],
        "tax_money": order["total_tax_money"],
        "discount_money": order["total_discount_money"],
        "tip_money": order["total_tip_money"],
        "service_charge_money": order["total_service_charge_money"],
    }


# --- payments ------------------------------------------------------------------------------


def sandbox_payment_create(
    *, merchant: SquareSandboxMerchant, body: Mapping
) -> SquareSandboxPayment:
    """CreatePayment: COMPLETED, or APPROVED when ``autocomplete`` is false.

    A repeated request (same idempotency key and body) returns the first payment; the key reused
    for another request is refused. Paying an order needs it OPEN and the amount within what its
    other payments leave; the payment that covers it completes the order.
    """
    key = text_field(body, "idempotency_key", max_length=45, required=True)
    body_fingerprint = fingerprint(body)
    payments = SquareSandboxPayment.objects.filter(merchant=merchant)
    replayed = _replayed(payments, key=key, fingerprint=body_fingerprint)
    if replayed is not None:
        return replayed
    source_type = _source_type(body.get("source_id"))
    autocomplete = flag_field(body, "autocomplete", default=True)
    order_id = text_field(body, "order_id", max_length=192)
    customer_id = text_field(body, "customer_id", max_length=191)
    reference_id = text_field(body, "reference_id", max_length=40)
    note = text_field(body, "note", max_length=500)
    with transaction.atomic():
        order = (
            _order_for_update(merchant=merchant, order_id=order_id, field="order_id")
            if order_id
            else None
        )
        location = _payment_location(
            merchant=merchant, location_id=body.get("location_id"), order=order
        )
        currency = location.currency
        amount = _amount(body.get("amount_money"), path="amount_money", currency=currency)
        if amount < 1:
            raise SquareError(
                "amount_money must be more than 0",
                code="VALUE_TOO_LOW",
                field="amount_money.amount",
            )
        tip = 0
        if body.get("tip_money") is not None:
            tip = _amount(body["tip_money"], path="tip_money", currency=currency)
        if order is not None:
            _order_payable(order, amount=amount)
            customer_id = customer_id or order.data.get("customer_id", "")
        now = _now()
        payment_id = square_id()
        status = "COMPLETED" if autocomplete else "APPROVED"
        data = payment_json(
            payment_id=payment_id,
            location_id=location.location_id,
            currency=currency,
            amount=amount,
            tip=tip,
            source_type=source_type,
            source_details=_source_details(
                body, source_type=source_type, total=amount + tip, currency=currency, now=now
            ),
            now=now,
            order_id=order_id,
            customer_id=customer_id,
            reference_id=reference_id,
            note=note,
        )
        if status == "COMPLETED":
            payment_captured(data, now=now)
        payment = SquareSandboxPayment(
            merchant=merchant,
            payment_id=payment_id,
            location_id=location.location_id,
            order_id=order_id,
            idempotency_key=key,
            request_fingerprint=body_fingerprint,
            status=status,
            created_at=now,
            updated_at=now,
            data=data,
        )
        try:
            with transaction.atomic():
                payment.save()
        except IntegrityError:
            # A concurrent request with the same key won the race.
            return _replayed(payments, key=key, fingerprint=body_fingerprint)
        if order is not None and status == "COMPLETED":
            _order_settle_if_paid(order, now=now)
    return payment


def sandbox_payment_complete(
    *, merchant: SquareSandboxMerchant, payment_id: str, body: Mapping
) -> SquareSandboxPayment:
    """CompletePayment: capture an APPROVED payment (and complete the order it covers)."""
    version_token = body.get("version_token")
    with transaction.atomic():
        payment = _payment_for_update(merchant=merchant, payment_id=payment_id)
        if version_token is not None and version_token != payment.data["version_token"]:
            raise SquareError(
                "version_token does not match the payment's current version",
                code="VERSION_MISMATCH",
                field="version_token",
            )
        if payment.status != "APPROVED":
            raise SquareError(
                f"Payment `{payment_id}` is {payment.status}; only an APPROVED payment completes",
                code="BAD_REQUEST",
            )
        now = _now()
        payment_captured(payment.data, now=now)
        payment.status, payment.updated_at = "COMPLETED", now
        payment.save()
        if payment.order_id:
            order = _order_for_update(merchant=merchant, order_id=payment.order_id)
            _order_settle_if_paid(order, now=now)
    return payment


def sandbox_payments_list(*, merchant: SquareSandboxMerchant, params: Mapping[str, str]) -> dict:
    """ListPayments: ``begin_time``/``end_time`` (created_at; a year back by default),
    ``updated_at_begin_time``/``updated_at_end_time``, ``location_id``, ``sort_field``,
    ``sort_order``, ``limit`` and ``cursor``. With no payments there is no ``payments`` key,
    as Square answers."""
    return _listing(
        SquareSandboxPayment.objects.filter(merchant=merchant),
        params=params,
        id_field="payment_id",
        key="payments",
    )


def _payment_get(*, merchant: SquareSandboxMerchant, payment_id: str) -> SquareSandboxPayment:
    payment = SquareSandboxPayment.objects.filter(merchant=merchant, payment_id=payment_id).first()
    if payment is None:
        raise SquareError(f"Payment `{payment_id}` not found", status=404, code="NOT_FOUND")
    return payment


def _payment_for_update(
    *, merchant: SquareSandboxMerchant, payment_id: str, field: str = ""
) -> SquareSandboxPayment:
    payment = (
        SquareSandboxPayment.objects.select_for_update()
        .filter(merchant=merchant, payment_id=payment_id)
        .first()
    )
    if payment is None:
        raise SquareError(
            f"Payment `{payment_id}` not found", status=404, code="NOT_FOUND", field=field
        )
    return payment


def _source_type(source_id: object) -> str:
    if not isinstance(source_id, str) or not source_id:
        raise SquareError(
            "source_id is required", code="MISSING_REQUIRED_PARAMETER", field="source_id"
        )
    if source_id in ("CASH", "EXTERNAL"):
        return source_id
    if source_id == DECLINED_CARD_NONCE:
        raise SquareError(
            "Authorization error: 'GENERIC_DECLINE'",
            status=402,
            category="PAYMENT_METHOD_ERROR",
            code="GENERIC_DECLINE",
        )
    if source_id.startswith(CARD_SOURCE_PREFIXES):
        return "CARD"
    raise SquareError(
        "source_id must be CASH, EXTERNAL, a sandbox card nonce (cnon:) or card on file (ccof:)",
        field="source_id",
    )


def _source_details(
    body: Mapping, *, source_type: str, total: int, currency: str, now: datetime
) -> dict:
    """The payment's ``card_details``, ``cash_details`` or ``external_details``."""
    if source_type == "CASH":
        cash = _object(body.get("cash_details"), "cash_details")
        supplied = _amount(
            cash.get("buyer_supplied_money"),
            path="cash_details.buyer_supplied_money",
            currency=currency,
        )
        if supplied < total:
            raise SquareError(
                "buyer_supplied_money must cover the payment's total",
                code="VALUE_TOO_LOW",
                field="cash_details.buyer_supplied_money",
            )
        return {
            "cash_details": {
                "buyer_supplied_money": _money(supplied, currency),
                "change_back_money": _money(supplied - total, currency),
            }
        }
    if source_type == "EXTERNAL":
        external = _object(body.get("external_details"), "external_details")
        return {
            "external_details": {
                "type": text_field(
                    external, "type", max_length=50, required=True, path="external_details"
                ),
                "source": text_field(
                    external, "source", max_length=255, required=True, path="external_details"
                ),
            }
        }
    return card_source_details(now=now)


def card_source_details(*, now: datetime) -> dict:
    """An authorized sandbox card payment's ``card_details`` and hold (``delay_*``)."""
    return {
        "card_details": {
            "status": "AUTHORIZED",
            "card": dict(SANDBOX_CARD),
            "entry_method": "KEYED",
            "cvv_status": "CVV_ACCEPTED",
            "avs_status": "AVS_ACCEPTED",
            "statement_description": "SQ *TAXPOYNT SANDBOX",
            "card_payment_timeline": {"authorized_at": square_timestamp(now)},
        },
        "delay_action": "CANCEL",
        "delay_duration": "PT168H",
        "delayed_until": square_timestamp(now + CARD_HOLD),
    }


def payment_json(
    *,
    payment_id: str,
    location_id: str,
    currency: str,
    amount: int,
    tip: int,
    source_type: str,
    source_details: Mapping,
    now: datetime,
    order_id: str = "",
    customer_id: str = "",
    reference_id: str = "",
    note: str = "",
) -> dict:
    """A new APPROVED payment as Square shows it (``payment_captured`` completes it)."""
    return {
        "id": payment_id,
        "created_at": square_timestamp(now),
        "updated_at": square_timestamp(now),
        "amount_money": _money(amount, currency),
        **({"tip_money": _money(tip, currency)} if tip else {}),
        "total_money": _money(amount + tip, currency),
        "approved_money": _money(amount + tip, currency),
        "status": "APPROVED",
        "source_type": source_type,
        **source_details,
        "location_id": location_id,
        **({"order_id": order_id} if order_id else {}),
        **({"customer_id": customer_id} if customer_id else {}),
        **({"reference_id": reference_id} if reference_id else {}),
        **({"note": note} if note else {}),
        "receipt_number": payment_id[:4],
        "application_details": {
            "square_product": "ECOMMERCE_API",
            "application_id": sandbox_oauth_client()[0],
        },
        "version_token": _version_token(),
    }


def payment_captured(data: dict, *, now: datetime) -> None:
    """An APPROVED payment's JSON, made COMPLETED (in place)."""
    data.update(
        status="COMPLETED",
        updated_at=square_timestamp(now),
        receipt_url=RECEIPT_URL.format(payment_id=data["id"]),
        version_token=_version_token(),
    )
    if "card_details" in data:
        data["card_details"]["status"] = "CAPTURED"
        data["card_details"]["card_payment_timeline"]["captured_at"] = square_timestamp(now)


def _payment_location(
    *, merchant: SquareSandboxMerchant, location_id: object, order: SquareSandboxOrder | None
) -> SquareSandboxLocation:
    """The location named, else the order's, else the seller's main (first) location."""
    if order is not None and location_id not in (None, order.location_id):
        raise SquareError(f"The order is at location `{order.location_id}`", field="location_id")
    if order is not None:
        location_id = order.location_id
    locations = SquareSandboxLocation.objects.filter(merchant=merchant).order_by("id")
    location = (
        locations.first()
        if location_id is None
        else locations.filter(location_id=location_id).first()
    )
    if location is None:
        raise SquareError(
            f"Location `{location_id}` not found", status=404, code="NOT_FOUND", field="location_id"
        )
    return location


def _order_payable(order: SquareSandboxOrder, *, amount: int) -> None:
    if order.state != "OPEN":
        raise SquareError(
            f"Order `{order.order_id}` is {order.state}; only an OPEN order takes payments",
            code="BAD_REQUEST",
            field="order_id",
        )
    taken = sum(
        payment.data["amount_money"]["amount"]
        for payment in SquareSandboxPayment.objects.filter(
            merchant_id=order.merchant_id,
            order_id=order.order_id,
            status__in=("APPROVED", "COMPLETED"),
        )
    )
    left = order.data["total_money"]["amount"] - taken
    if amount > left:
        raise SquareError(
            f"amount_money {amount} is more than the {left} the order has left to pay",
            code="PAYMENT_AMOUNT_MISMATCH",
            field="amount_money",
        )


def _order_settle_if_paid(order: SquareSandboxOrder, *, now: datetime) -> None:
    """PayOrder's effect once the order's completed payments cover its total (order locked)."""
    if order.state != "OPEN":
        return
    payments = [
        payment.data
        for payment in SquareSandboxPayment.objects.filter(
            merchant_id=order.merchant_id, order_id=order.order_id, status="COMPLETED"
        ).order_by("created_at", "payment_id")
    ]
    paid = sum(payment["amount_money"]["amount"] for payment in payments)
    if paid < order.data["total_money"]["amount"]:
        return
    order.state, order.version, order.updated_at = "COMPLETED", order.version + 1, now
    order.closed_at = now
    order.data = order_settled(order.data, payments=payments, version=order.version, now=now)
    order.save()


def order_settled(order: Mapping, *, payments: list[Mapping], version: int, now: datetime) -> dict:
    """An OPEN order's JSON once ``payments`` (COMPLETED, covering it) paid it, as PayOrder
    leaves it: tenders, the payments' tips in its totals, nothing due, closed."""
    currency = order["total_money"]["currency"]
    tips = sum(payment.get("tip_money", {}).get("amount", 0) for payment in payments)
    settled = {
        **order,
        "tenders": [_tender(payment) for payment in payments],
        "total_tip_money": _money(tips, currency),
        "total_money": _money(order["total_money"]["amount"] + tips, currency),
        "net_amount_due_money": _money(0, currency),
        "state": "COMPLETED",
        "version": version,
        "updated_at": square_timestamp(now),
        "closed_at": square_timestamp(now),
    }
    settled["net_amounts"] = _order_amounts(settled)
    return settled


def _tender(payment: Mapping) -> dict:
    """The order's Tender for a payment (its id is the payment's)."""
    tender = {
        "id": payment["id"],
        "location_id": payment["location_id"],
        "transaction_id": payment["order_id"],
        "created_at": payment["created_at"],
        "amount_money": payment["total_money"],
        **({"tip_money": payment["tip_money"]} if "tip_money" in payment else {}),
        **({"customer_id": payment["customer_id"]} if "customer_id" in payment else {}),
        "type": TENDER_TYPE_BY_SOURCE[payment["source_type"]],
        "payment_id": payment["id"],
    }
    if "card_details" in payment:
        card = payment["card_details"]
        tender["card_details"] = {
            "status": card["status"],
            "card": card["card"],
            "entry_method": card["entry_method"],
        }
    if "cash_details" in payment:
        tender["cash_details"] = {
            "buyer_tendered_money": payment["cash_details"]["buyer_supplied_money"],
            "change_back_money": payment["cash_details"]["change_back_money"],
        }
    return tender


# --- refunds -------------------------------------------------------------------------------


def sandbox_refund_create(*, merchant: SquareSandboxMerchant, body: Mapping) -> SquareSandboxRefund:
    """RefundPayment, left PENDING (``sandbox_refund_complete`` settles it).

    Of a COMPLETED payment, at most its total less the refunds already pending or completed.
    Idempotent like CreatePayment. The refund is listed on the payment and on its order at once.
    """
    key = text_field(body, "idempotency_key", max_length=192, required=True)
    body_fingerprint = fingerprint(body)
    refunds = SquareSandboxRefund.objects.filter(merchant=merchant)
    replayed = _replayed(refunds, key=key, fingerprint=body_fingerprint)
    if replayed is not None:
        return replayed
    if body.get("unlinked"):
        raise SquareError(
            "The sandbox refunds payments only: unlinked refunds are not modelled",
            code="BAD_REQUEST",
            field="unlinked",
        )
    payment_id = text_field(body, "payment_id", max_length=192, required=True)
    reason = text_field(body, "reason", max_length=192)
    version_token = body.get("payment_version_token")
    with transaction.atomic():
        payment = _payment_for_update(merchant=merchant, payment_id=payment_id, field="payment_id")
        if version_token is not None and version_token != payment.data["version_token"]:
            raise SquareError(
                "payment_version_token does not match the payment's current version",
                code="VERSION_MISMATCH",
                field="payment_version_token",
            )
        if payment.status == "APPROVED":
            raise SquareError(
                "The payment must be completed before it can be refunded",
                category="REFUND_ERROR",
                code="REFUND_ERROR_PAYMENT_NEEDS_COMPLETION",
                field="payment_id",
            )
        if payment.status != "COMPLETED":
            raise SquareError(
                f"A {payment.status} payment cannot be refunded",
                category="REFUND_ERROR",
                code="PAYMENT_NOT_REFUNDABLE",
                field="payment_id",
            )
        currency = payment.data["total_money"]["currency"]
        amount = _amount(body.get("amount_money"), path="amount_money", currency=currency)
        held = sum(
            refund.data["amount_money"]["amount"]
            for refund in refunds.filter(payment_id=payment_id, status__in=("PENDING", "COMPLETED"))
        )
        refundable = payment.data["total_money"]["amount"] - held
        if not 1 <= amount <= refundable:
            raise SquareError(
                f"amount_money must be 1 to {refundable}, what the payment has left to refund",
                category="REFUND_ERROR",
                code="REFUND_AMOUNT_INVALID",
                field="amount_money.amount",
            )
        now = _now()
        refund_id = f"{payment_id}_{square_id()}{square_id()}"
        refund = SquareSandboxRefund(
            merchant=merchant,
            refund_id=refund_id,
            payment_id=payment_id,
            location_id=payment.location_id,
            idempotency_key=key,
            request_fingerprint=body_fingerprint,
            status="PENDING",
            created_at=now,
            updated_at=now,
            data={
                "id": refund_id,
                "status": "PENDING",
                "location_id": payment.location_id,
                "amount_money": _money(amount, currency),
                "payment_id": payment_id,
                **({"order_id": payment.order_id} if payment.order_id else {}),
                **({"reason": reason} if reason else {}),
                "created_at": square_timestamp(now),
                "updated_at": square_timestamp(now),
                "destination_type": payment.data["source_type"],
            },
        )
        try:
            with transaction.atomic():
                refund.save()
        except IntegrityError:
            return _replayed(refunds, key=key, fingerprint=body_fingerprint)
        payment.data = {
            **payment.data,
            "refund_ids": [*payment.data.get("refund_ids", []), refund_id],
            "updated_at": square_timestamp(now),
            "version_token": _version_token(),
        }
        payment.updated_at = now
        payment.save()
        _order_refund_record(merchant=merchant, refund=refund.data, now=now)
    return refund


def sandbox_refund_complete(
    *, merchant: SquareSandboxMerchant, refund_id: str
) -> SquareSandboxRefund:
    """Settle a PENDING refund: COMPLETED, on the payment's ``refunded_money`` and the order's
    ``return_amounts``. A refund already settled is returned as it is."""
    with transaction.atomic():
        refund = (
            SquareSandboxRefund.objects.select_for_update()
            .filter(merchant=merchant, refund_id=refund_id)
            .first()
        )
        if refund is None:
            raise SquareError(f"Refund `{refund_id}` not found", status=404, code="NOT_FOUND")
        if refund.status != "PENDING":
            return refund
        now = _now()
        refund.status, refund.updated_at = "COMPLETED", now
        refund.data = {**refund.data, "status": "COMPLETED", "updated_at": square_timestamp(now)}
        refund.save()
        payment = _payment_for_update(merchant=merchant, payment_id=refund.payment_id)
        amount = refund.data["amount_money"]
        refunded = payment.data.get("refunded_money", {}).get("amount", 0) + amount["amount"]
        payment.data = {
            **payment.data,
            "refunded_money": _money(refunded, amount["currency"]),
            "updated_at": square_timestamp(now),
            "version_token": _version_token(),
        }
        payment.updated_at = now
        payment.save()
        _order_refund_record(merchant=merchant, refund=refund.data, now=now)
    return refund


def sandbox_refunds_list(*, merchant: SquareSandboxMerchant, params: Mapping[str, str]) -> dict:
    """ListPaymentRefunds: ListPayments' parameters, plus ``status`` and ``source_type``."""
    refunds = SquareSandboxRefund.objects.filter(merchant=merchant)
    if "status" in params:
        if params["status"] not in REFUND_STATUSES:
            raise SquareError(
                f"status must be one of {', '.join(sorted(REFUND_STATUSES))}", field="status"
            )
        refunds = refunds.filter(status=params["status"])
    if "source_type" in params:
        refunds = refunds.filter(data__destination_type=params["source_type"])
    return _listing(refunds, params=params, id_field="refund_id", key="refunds")


def _refund_get(*, merchant: SquareSandboxMerchant, refund_id: str) -> SquareSandboxRefund:
    refund = SquareSandboxRefund.objects.filter(merchant=merchant, refund_id=refund_id).first()
    if refund is None:
        raise SquareError(f"Refund `{refund_id}` not found", status=404, code="NOT_FOUND")
    return refund


def _order_refund_record(
    *, merchant: SquareSandboxMerchant, refund: Mapping, now: datetime
) -> None:
    """The refund in its order's ``refunds[]``, with ``return_amounts`` and ``net_amounts``
    recomputed from the settled ones; the order's version goes up."""
    if "order_id" not in refund:
        return
    order = _order_for_update(merchant=merchant, order_id=refund["order_id"])
    entry = {
        "id": refund["id"],
        "location_id": refund["location_id"],
        "transaction_id": refund["order_id"],
        "tender_id": refund["payment_id"],
        "created_at": refund["created_at"],
        "reason": refund.get("reason", ""),
        "amount_money": refund["amount_money"],
        "status": ORDER_REFUND_STATUS[refund["status"]],
    }
    data = dict(order.data)
    data["refunds"] = [
        *(other for other in data.get("refunds", []) if other["id"] != refund["id"]),
        entry,
    ]
    returned = _return_amounts(data)
    if returned is not None:
        data["return_amounts"] = returned
        totals = _order_amounts(data)
        currency = data["total_money"]["currency"]
        data["net_amounts"] = {
            key: _money(totals[key]["amount"] - returned[key]["amount"], currency) for key in totals
        }
    order.version, order.updated_at = order.version + 1, now
    data.update(version=order.version, updated_at=square_timestamp(now))
    order.data = data
    order.save()


def _return_amounts(order: Mapping) -> dict | None:
    """What the order's settled refunds gave back, as OrderMoneyAmounts. A refund names an
    amount, not items: its tax and discount are the order's, in proportion."""
    refunded = sum(
        entry["amount_money"]["amount"]
        for entry in order.get("refunds", [])
        if entry["status"] == "APPROVED"
    )
    if not refunded:
        return None
    currency = order["total_money"]["currency"]
    total = order["total_money"]["amount"]

    def share(key: str) -> dict:
        return _money(_rounded(Decimal(order[key]["amount"]) * refunded / total), currency)

    return {
        "total_money": _money(refunded, currency),
        "tax_money": share("total_tax_money"),
        "discount_money": share("total_discount_money"),
        "tip_money": _money(0, currency),
        "service_charge_money": _money(0, currency),
    }


# --- lists and cursors ---------------------------------------------------------------------


def _listing(rows, *, params: Mapping[str, str], id_field: str, key: str) -> dict:
    """A ListPayments-style page: time windows, location, sort, limit and cursor."""
    sort_field = SORT_FIELDS.get(params.get("sort_field", "CREATED_AT"))
    if sort_field is None:
        raise SquareError("sort_field must be CREATED_AT or UPDATED_AT", field="sort_field")
    sort_order = params.get("sort_order", "DESC")
    if sort_order not in SORT_ORDERS:
        raise SquareError("sort_order must be ASC or DESC", field="sort_order")
    begin = (
        _parsed_time(params["begin_time"], field="begin_time")
        if "begin_time" in params
        else _now() - LIST_DEFAULT_LOOKBACK
    )
    rows = rows.filter(created_at__gte=begin)
    if "end_time" in params:
        end = _parsed_time(params["end_time"], field="end_time")
        if end < begin:
            raise SquareError(
                "end_time is before begin_time", code="INVALID_TIME_RANGE", field="end_time"
            )
        rows = rows.filter(created_at__lt=end)
    if "updated_at_begin_time" in params:
        updated_begin = _parsed_time(params["updated_at_begin_time"], field="updated_at_begin_time")
        rows = rows.filter(updated_at__gte=updated_begin)
    if "updated_at_end_time" in params:
        updated_end = _parsed_time(params["updated_at_end_time"], field="updated_at_end_time")
        rows = rows.filter(updated_at__lt=updated_end)
    if "location_id" in params:
        rows = rows.filter(location_id=params["location_id"])
    limit = params.get("limit", str(MAX_LIST_LIMIT))
    if not limit.isascii() or not limit.isdigit() or int(limit) < 1:
        raise SquareError("limit must be a whole number of at least 1", field="limit")
    page, cursor = _keyset_page(
        rows,
        sort_field=sort_field,
        id_field=id_field,
        descending=sort_order == "DESC",
        limit=min(int(limit), MAX_LIST_LIMIT),
        cursor=params.get("cursor"),
        query={name: value for name, value in params.items() if name not in ("cursor", "limit")},
        endpoint=key,
    )
    answer: dict = {}
    if page:
        answer[key] = [row.data for row in page]
    if cursor:
        answer["cursor"] = cursor
    return answer


def _keyset_page(rows, *, cursor: object, query: Mapping, endpoint: str, **order) -> tuple:
    return keyset_page(
        rows,
        cursor=cursor,
        query=[endpoint, query],
        salt=CURSOR_SALT,
        invalid=lambda: SquareError(
            "The cursor is not one this endpoint returned for this query",
            code="INVALID_CURSOR",
            field="cursor",
        ),
        **order,
    )


# --- plumbing ------------------------------------------------------------------------------


def sandbox_order_json(*, merchant: SquareSandboxMerchant, order_id: str) -> str:
    """RetrieveOrder's order as the database keeps its JSON: served as it is, never parsed."""
    with connection.cursor() as cursor:
        cursor.execute(ORDER_JSON_SQL, [merchant.pk, order_id])
        row = cursor.fetchone()
    if row is None:
        raise SquareError(f"Order `{order_id}` not found", status=404, code="NOT_FOUND")
    return row[0]


def _order_get(*, merchant: SquareSandboxMerchant, order_id: str) -> SquareSandboxOrder:
    order = SquareSandboxOrder.objects.filter(merchant=merchant, order_id=order_id).first()
    if order is None:
        raise SquareError(f"Order `{order_id}` not found", status=404, code="NOT_FOUND")
    return order


def _order_for_update(
    *, merchant: SquareSandboxMerchant, order_id: str, field: str = ""
) -> SquareSandboxOrder:
    order = (
        SquareSandboxOrder.objects.select_for_update()
        .filter(merchant=merchant, order_id=order_id)
        .first()
    )
    if order is None:
        raise SquareError(
            f"Order `{order_id}` not found", status=404, code="NOT_FOUND", field=field
        )
    return order


def _replayed(rows, *, key: str, fingerprint: str):
    """The object an identical earlier request made, or None; a key reused with a different
    request is refused, as Square refuses it."""
    earlier = rows.filter(idempotency_key=key).first()
    if earlier is not None and earlier.request_fingerprint != fingerprint:
        raise SquareError(
            "The idempotency key was already used for a different request",
            code="IDEMPOTENCY_KEY_REUSED",
            field="idempotency_key",
        )
    return earlier


def _parsed_time(value: object, *, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise SquareError(
            f"{value!r} is not an RFC 3339 timestamp", code="INVALID_TIME", field=field
        )
    return parsed


def _now() -> datetime:
    """Now to the millisecond: the stored time is exactly the one the order's JSON shows, so
    a search window ending at an order's ``updated_at`` includes that order."""
    now = timezone.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def square_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _version_token() -> str:
    return secrets.token_urlsafe(32)


def _object(value: object, path: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise SquareError(f"{path} must be an object", field=path)
    return value


# --- views ---------------------------------------------------------------------------------


@api.endpoint("ListLocations", scope="MERCHANT_PROFILE_READ")
def locations_view(request, *, merchant, body):
    locations = merchant.locations.select_related("merchant").order_by("id")
    return JsonResponse({"locations": [location_json(location) for location in locations]})


@api.endpoint("CreateOrder", scope="ORDERS_WRITE")
def order_create_view(request, *, merchant, body):
    order = sandbox_order_create(merchant=merchant, body=body)
    return JsonResponse({"order": order.data})


@api.endpoint("RetrieveOrder", scope="ORDERS_READ")
def order_retrieve_view(request, *, merchant, body, order_id):
    return HttpResponse(
        b'{"order": ' + sandbox_order_json(merchant=merchant, order_id=order_id).encode() + b"}",
        content_type="application/json",
    )


@api.endpoint("UpdateOrder", scope="ORDERS_WRITE")
def order_update_view(request, *, merchant, body, order_id):
    order = sandbox_order_update_state(merchant=merchant, order_id=order_id, body=body)
    return JsonResponse({"order": order.data})


@api.endpoint("BatchRetrieveOrders", scope="ORDERS_READ")
def orders_batch_retrieve_view(request, *, merchant, body):
    return JsonResponse(sandbox_orders_batch_retrieve(merchant=merchant, body=body))


@api.endpoint("SearchOrders", scope="ORDERS_READ")
def orders_search_view(request, *, merchant, body):
    return HttpResponse(
        sandbox_orders_search(merchant=merchant, body=body), content_type="application/json"
    )


# A sandbox control for the bearer token's seller: neither faulted nor counted.
@api.endpoint(faulted=False, counted=False)
def order_complete_view(request, *, merchant, body, order_id):
    return JsonResponse(
        {"order": sandbox_order_complete(merchant=merchant, order_id=order_id).data}
    )


@api.endpoint("CreatePayment", scope="PAYMENTS_WRITE")
def payment_create_view(request, *, merchant, body):
    return JsonResponse({"payment": sandbox_payment_create(merchant=merchant, body=body).data})


@api.endpoint("ListPayments", scope="PAYMENTS_READ")
def payments_list_view(request, *, merchant, body):
    return JsonResponse(sandbox_payments_list(merchant=merchant, params=query_params(request)))


@api.endpoint("GetPayment", scope="PAYMENTS_READ")
def payment_retrieve_view(request, *, merchant, body, payment_id):
    return JsonResponse({"payment": _payment_get(merchant=merchant, payment_id=payment_id).data})


@api.endpoint("CompletePayment", scope="PAYMENTS_WRITE")
def payment_complete_view(request, *, merchant, body, payment_id):
    payment = sandbox_payment_complete(merchant=merchant, payment_id=payment_id, body=body)
    return JsonResponse({"payment": payment.data})


@api.endpoint("RefundPayment", scope="PAYMENTS_WRITE")
def refund_create_view(request, *, merchant, body):
    # Over HTTP a refund settles at once: callers see it COMPLETED.
    refund = sandbox_refund_create(merchant=merchant, body=body)
    refund = sandbox_refund_complete(merchant=merchant, refund_id=refund.refund_id)
    return JsonResponse({"refund": refund.data})


@api.endpoint("ListPaymentRefunds", scope="PAYMENTS_READ")
def refunds_list_view(request, *, merchant, body):
    return JsonResponse(sandbox_refunds_list(merchant=merchant, params=query_params(request)))


@api.endpoint("GetPaymentRefund", scope="PAYMENTS_READ")
def refund_retrieve_view(request, *, merchant, body, refund_id):
    return JsonResponse({"refund": _refund_get(merchant=merchant, refund_id=refund_id).data})
