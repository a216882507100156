"""Square sandbox: the Locations and Orders endpoints the Square connector calls (design §5, §7).

Mounted at /sandbox/square/ when ``settings.SANDBOX_ENABLED``, with Square's own paths below
(``/sandbox/square/v2/orders/search``). Sellers are ``SquareSandboxMerchant`` rows
(``sandbox_merchant_create``); requests carry ``Authorization: Bearer <access_token>``.

Orders are priced as Square prices them, in int64 minor units (never float):
- line gross = quantity x base price, rounded half up to the minor unit;
- discounts, in the order listed: FIXED_PERCENTAGE of the line's gross, or FIXED_AMOUNT (off
  each line naming it; an ORDER-scoped amount is spread over the lines by what they have left,
  the remainder on the last line); never more than a line has left;
- taxes on the discounted amount: INCLUSIVE ones are already inside it (backed out), ADDITIVE
  ones are added on top of the amount net of inclusive tax; ORDER-scoped taxes apply to every
  line, LINE_ITEM-scoped ones to the lines that name them in ``applied_taxes``.
Rounding is per line, as Square does; service charges, tips and modifiers are not modelled yet.
"""

import base64
import json
import secrets
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from integrations.pos.models import SquareSandboxLocation, SquareSandboxMerchant, SquareSandboxOrder
from integrations.pos.square.mappers import QUANTITY_PATTERN
from taxpoynt.lib.sandboxes import method_dispatch

MAX_SEARCH_LIMIT = 1000
MAX_SEARCH_LOCATIONS = 10
MAX_BATCH_RETRIEVE = 100
HUNDRED = Decimal(100)
ORDER_STATES = frozenset({"OPEN", "COMPLETED", "CANCELED", "DRAFT"})
SORT_FIELDS = {"CREATED_AT": "created_at", "UPDATED_AT": "updated_at"}
DATE_FILTER_FIELDS = ("created_at", "updated_at")


class SquareError(Exception):
    """A Square error answer: ``{"errors": [{category, code, detail, field?}]}``."""

    def __init__(
        self,
        detail: str,
        *,
        status: int = 400,
        category: str = "INVALID_REQUEST_ERROR",
        code: str = "INVALID_VALUE",
        field: str = "",
    ):
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.category = category
        self.code = code
        self.field = field

    def response(self) -> JsonResponse:
        error = {"category": self.category, "code": self.code, "detail": self.detail}
        if self.field:
            error["field"] = self.field
        return JsonResponse({"errors": [error]}, status=self.status)


# --- sellers -------------------------------------------------------------------------------


def sandbox_merchant_create(
    *, locations: tuple[tuple[str, str], ...] = (("Lekki Store", "NGN"),)
) -> SquareSandboxMerchant:
    """A seller with a fresh token and one location per (name, currency)."""
    merchant = SquareSandboxMerchant.objects.create(
        merchant_id=_square_id(), access_token=f"EAAA{secrets.token_urlsafe(48)}"
    )
    for name, currency in locations:
        SquareSandboxLocation.objects.create(
            merchant=merchant, location_id=_square_id(), name=name, currency=currency
        )
    return merchant


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
        id=_square_id(),
        location_id=location.location_id,
        state="OPEN",
        version=1,
        created_at=_timestamp(now),
        updated_at=_timestamp(now),
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
        order.data = {
            **order.data,
            "state": state,
            "version": order.version,
            "updated_at": _timestamp(now),
            "closed_at": _timestamp(now),
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


def sandbox_orders_search(*, merchant: SquareSandboxMerchant, body: Mapping) -> dict:
    """SearchOrders over the seller's locations; the cursor is the next page's offset."""
    location_ids = body.get("location_ids")
    if not isinstance(location_ids, list) or not 1 <= len(location_ids) <= MAX_SEARCH_LOCATIONS:
        raise SquareError("location_ids must name 1 to 10 locations", field="location_ids")
    orders = SquareSandboxOrder.objects.filter(merchant=merchant, location_id__in=location_ids)
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
        window = _object(date_filter.get(field) or {}, f"query.filter.date_time_filter.{field}")
        if "start_at" in window:
            orders = orders.filter(**{f"{field}__gte": _parsed_time(window["start_at"], field)})
        if "end_at" in window:
            orders = orders.filter(**{f"{field}__lte": _parsed_time(window["end_at"], field)})
    sort = _object(query.get("sort") or {}, "query.sort")
    sort_field = SORT_FIELDS.get(sort.get("sort_field", "CREATED_AT"))
    if sort_field is None:
        raise SquareError(
            "sort_field must be CREATED_AT or UPDATED_AT", field="query.sort.sort_field"
        )
    # Square refuses a date filter on one field with a sort on another.
    if any(date_filter.get(field) for field in DATE_FILTER_FIELDS if field != sort_field):
        raise SquareError(
            "The sort field must match the date_time_filter field", field="query.sort.sort_field"
        )
    descending = sort.get("sort_order", "DESC") == "DESC"
    prefix = "-" if descending else ""
    # The id breaks ties, so pages of equal timestamps neither repeat nor skip orders.
    orders = orders.order_by(f"{prefix}{sort_field}", f"{prefix}order_id")
    limit = body.get("limit", 500)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_SEARCH_LIMIT:
        raise SquareError(f"limit must be 1 to {MAX_SEARCH_LIMIT}", field="limit")
    offset = _cursor_offset(body.get("cursor"))
    page = list(orders[offset : offset + limit + 1])
    answer: dict = {"orders": [order.data for order in page[:limit]]}
    if len(page) > limit:
        answer["cursor"] = base64.urlsafe_b64encode(str(offset + limit).encode()).decode()
    return answer


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
    return {
        **{key: value for key, value in request.items() if key in ("reference_id", "customer_id")},
        "line_items": lines,
        "taxes": list(taxes.values()),
        "discounts": list(discounts.values()),
        **totals,
        "total_tip_money": _money(0, currency),
        "total_service_charge_money": _money(0, currency),
    }


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
        "uid": item.get("uid") or _square_id(),
        "name": str(item.get("name", "")),
        "quantity": quantity,
        **({"note": item["note"]} if isinstance(item.get("note"), str) else {}),
        "base_price_money": _money(base, currency),
        "gross_sales_money": _money(gross, currency),
        "variation_total_price_money": _money(gross, currency),
        "applied_taxes": [
            {"uid": _square_id(), "tax_uid": uid}
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
            {"uid": _square_id(), "discount_uid": uid, "applied_money": _money(share, currency)}
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
        uid = entry.setdefault("uid", _square_id())
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


# --- plumbing ------------------------------------------------------------------------------


def _order_get(*, merchant: SquareSandboxMerchant, order_id: str) -> SquareSandboxOrder:
    order = SquareSandboxOrder.objects.filter(merchant=merchant, order_id=order_id).first()
    if order is None:
        raise SquareError(f"Order `{order_id}` not found", status=404, code="NOT_FOUND")
    return order


def _order_for_update(*, merchant: SquareSandboxMerchant, order_id: str) -> SquareSandboxOrder:
    order = (
        SquareSandboxOrder.objects.select_for_update()
        .filter(merchant=merchant, order_id=order_id)
        .first()
    )
    if order is None:
        raise SquareError(f"Order `{order_id}` not found", status=404, code="NOT_FOUND")
    return order


def _cursor_offset(cursor: object) -> int:
    if cursor is None:
        return 0
    try:
        offset = int(base64.urlsafe_b64decode(str(cursor).encode()).decode())
    except (ValueError, UnicodeDecodeError):
        offset = -1
    if offset < 0:
        raise SquareError("The cursor is not one this endpoint returned", field="cursor")
    return offset


def _parsed_time(value: object, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise SquareError(
            f"{value!r} is not an RFC 3339 timestamp",
            field=f"query.filter.date_time_filter.{field}",
        )
    return parsed


def _now() -> datetime:
    """Now to the millisecond: the stored time is exactly the one the order's JSON shows, so
    a search window ending at an order's ``updated_at`` includes that order."""
    now = timezone.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _square_id() -> str:
    return uuid.uuid4().hex[:24].upper()


def _object(value: object, path: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise SquareError(f"{path} must be an object", field=path)
    return value


# --- views ---------------------------------------------------------------------------------


def square_endpoint(view):
    """Bearer token checked, JSON body parsed, SquareError answered as Square answers."""

    @csrf_exempt
    def wrapped(request, **kwargs):
        try:
            merchant = _merchant(request)
            body = _json_body(request) if request.method in ("POST", "PUT") else {}
            return view(request, merchant=merchant, body=body, **kwargs)
        except SquareError as error:
            return error.response()

    return wrapped


def methods(**handlers):
    """One path, a view per HTTP method; other methods get Square's 404 envelope."""
    return method_dispatch(not_found=route_not_found, **handlers)


@csrf_exempt
def route_not_found(request, **kwargs):
    return SquareError("Resource not found", status=404, code="NOT_FOUND").response()


def _merchant(request) -> SquareSandboxMerchant:
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    merchant = SquareSandboxMerchant.objects.filter(access_token=token).first() if token else None
    if merchant is None:
        raise SquareError(
            "This request could not be authorized.",
            status=401,
            category="AUTHENTICATION_ERROR",
            code="UNAUTHORIZED",
        )
    return merchant


def _json_body(request) -> Mapping:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):
        raise SquareError(
            "The request body is not valid JSON", code="INVALID_CONTENT_TYPE"
        ) from None
    return _object(body, "body")


@square_endpoint
def locations_view(request, *, merchant, body):
    locations = merchant.locations.select_related("merchant").order_by("id")
    return JsonResponse({"locations": [location_json(location) for location in locations]})


@square_endpoint
def order_create_view(request, *, merchant, body):
    order = sandbox_order_create(merchant=merchant, body=body)
    return JsonResponse({"order": order.data})


@square_endpoint
def order_retrieve_view(request, *, merchant, body, order_id):
    return JsonResponse({"order": _order_get(merchant=merchant, order_id=order_id).data})


@square_endpoint
def order_update_view(request, *, merchant, body, order_id):
    order = sandbox_order_update_state(merchant=merchant, order_id=order_id, body=body)
    return JsonResponse({"order": order.data})


@square_endpoint
def orders_batch_retrieve_view(request, *, merchant, body):
    return JsonResponse(sandbox_orders_batch_retrieve(merchant=merchant, body=body))


@square_endpoint
def orders_search_view(request, *, merchant, body):
    return JsonResponse(sandbox_orders_search(merchant=merchant, body=body))


@square_endpoint
def order_complete_view(request, *, merchant, body, order_id):
    return JsonResponse(
        {"order": sandbox_order_complete(merchant=merchant, order_id=order_id).data}
    )
