"""Lightspeed X-Series' semantics in the sandbox: sales rung up through API 0.9/1.0's
``register_sales`` (statuses, laybys and on-account sales closed later, returns, voids) with
totals computed as Lightspeed computes them, the API 2.0 reads (version cursor, search by date,
the store's outlets, registers, taxes, products and customers), and ``sale.update`` webhooks:
form-encoded, the sale in API 1.0 shape, signed for an OAuth application and retried.

Totals: a line's ``price`` is its tax-exclusive unit price after its unit ``discount``; its unit
tax is the price times its tax's rate, kept to 5 places; ``price_total``, ``tax_total`` and
``discount_total`` are those times the quantity. The sale's ``total_price`` and ``total_tax``
are the lines' sums to the cent. A return names its sale in ``return_for`` and sells negative
quantities.
"""

import json
import logging
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from urllib.parse import parse_qs, urlencode

import requests
from django.db import connection as db_connection
from django.db import transaction
from django.http import JsonResponse
from django.utils import timezone

from integrations.pos.lightspeed.constants import CLOSED_STATUSES, SALE_UPDATE, VOIDED
from integrations.pos.lightspeed.signatures import SIGNATURE_HEADER, lightspeed_signature
from sandboxes.kit.endpoints import bearer_token, json_strict, query_params
from sandboxes.lightspeed.api import (
    LightspeedError,
    api,
    new_id,
    not_found,
    oauth,
    sandbox_oauth_client,
)
from sandboxes.lightspeed.models import (
    LightspeedSandboxObject,
    LightspeedSandboxSale,
    LightspeedSandboxStore,
    LightspeedSandboxWebhook,
)

logger = logging.getLogger(__name__)

STATUSES = frozenset(
    {
        "SAVED",
        "CLOSED",
        "ONACCOUNT",
        "LAYBY",
        "ONACCOUNT_CLOSED",
        "LAYBY_CLOSED",
        "AWAITING_DISPATCH",
        "AWAITING_PICKUP",
        "DISPATCHED_CLOSED",
        "PICKED_UP_CLOSED",
        VOIDED,
        "SERVICE",
        "SERVICE_CLOSED",
    }
)
LINE_STATUSES = frozenset({"SAVED", "VOIDED", "CONFIRMED"})
VERSION_SEQUENCE = "sandbox_lightspeed_version"
CENT = Decimal("0.01")
PLACES = Decimal("0.00001")
MAX_LINES = 200
SALES_PAGE_MAX = 10_000
SEARCH_PAGE_MAX = 1000
V1_TIME = "%Y-%m-%d %H:%M:%S"
# Lightspeed retries a delivery not answered 2xx within 5 s up to 20 times over 48 h; the
# sandbox keeps the shape of that back-off on a scale of seconds.
DELIVERY_TIMEOUT_SECONDS = 5.0
RETRY_DELAYS_SECONDS = (1, 2, 4, 8, 16, 32)


# --- reading a request ---------------------------------------------------------------------


def _number(value, *, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise LightspeedError(f"{field} must be a number")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise LightspeedError(f"{field} must be a number") from None
    if not number.is_finite() or abs(number) >= Decimal("1E12"):
        raise LightspeedError(f"{field} is out of range")
    return number


def _text(body: Mapping, key: str, *, field: str = "", required: bool = False) -> str:
    value = body.get(key)
    if value in (None, ""):
        if required:
            raise LightspeedError(f"{field or key} is required")
        return ""
    if not isinstance(value, str) or len(value) > 255:
        raise LightspeedError(f"{field or key} must be a string of at most 255 characters")
    return value


def _time(value: str, *, field: str) -> datetime:
    for parse in (
        lambda text: datetime.strptime(text, V1_TIME).replace(tzinfo=UTC),
        datetime.fromisoformat,
    ):
        try:
            moment = parse(value)
        except ValueError:
            continue
        if moment.tzinfo is not None:
            return moment.astimezone(UTC)
    raise LightspeedError(f"{field} must be a UTC time like 2026-11-22 18:26:40")


def _held(store, kind: str, object_id: str, *, field: str) -> dict:
    row = LightspeedSandboxObject.objects.filter(
        store=store, kind=kind, object_id=object_id
    ).first()
    if row is None:
        raise LightspeedError(f"{field} names no {kind} of this store")
    return row.data


def _json_number(value: Decimal):
    """A Decimal as the JSON number Lightspeed sends (at most 5 places, so a float keeps it)."""
    value = value.quantize(PLACES).normalize()
    return int(value) if value == value.to_integral_value() else float(value)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


# --- sales ---------------------------------------------------------------------------------


def sandbox_sale_save(
    *, store: LightspeedSandboxStore, body: Mapping, notify: bool = True
) -> LightspeedSandboxSale:
    """Create a sale, or change one (``id`` given): its status, and its lines and payments while
    it is open. A closed sale can only be voided; a voided one not changed at all. ``notify``:
    the store's webhooks are sent (the traffic sender, which sends its own, says no)."""
    status = _text(body, "status", required=True)
    if status not in STATUSES:
        raise LightspeedError(f"status must be one of {', '.join(sorted(STATUSES))}")
    now = timezone.now()
    with transaction.atomic():
        sale_id = _text(body, "id")
        existing = (
            LightspeedSandboxSale.objects.select_for_update()
            .filter(store=store, sale_id=sale_id)
            .first()
            if sale_id
            else None
        )
        if sale_id and existing is None:
            raise not_found(f"No sale {sale_id}")
        if existing is not None:
            data = _sale_changed(store, existing, body, status=status, now=now)
        else:
            data = _sale_new(store, body, status=status, now=now)
        version = _next_version()
        data.update(status=status, updated_at=_iso(now), version=version)
        row = existing or LightspeedSandboxSale(store=store, sale_id=data["id"])
        row.status, row.version, row.updated_at, row.data = status, version, now, data
        row.sale_date = _time(data["sale_date"], field="sale_date")
        row.outlet_id, row.return_for = data["outlet_id"], data.get("return_for") or ""
        row.save()
        if notify:
            transaction.on_commit(lambda: webhooks_send(store=store, sale=row.data))
    return row


def _sale_new(store, body: Mapping, *, status: str, now: datetime) -> dict:
    register = _held(
        store, "register", _text(body, "register_id", required=True), field="register_id"
    )
    customer_id = _text(body, "customer_id")
    if customer_id:
        _held(store, "customer", customer_id, field="customer_id")
    return_for = _text(body, "return_for")
    if return_for:
        original = LightspeedSandboxSale.objects.filter(store=store, sale_id=return_for).first()
        if original is None or original.status not in CLOSED_STATUSES:
            raise LightspeedError("return_for must name a closed sale of this store")
    sale_date = _text(body, "sale_date")
    count = LightspeedSandboxSale.objects.filter(store=store).count()
    data = {
        "id": new_id(),
        "outlet_id": register["outlet_id"],
        "register_id": register["id"],
        "user_id": _text(body, "user_id") or store.retailer_id,
        "customer_id": customer_id or None,
        "invoice_number": _text(body, "invoice_number") or str(1001 + count),
        "note": _text(body, "note"),
        "short_code": new_id()[:6],
        "return_for": return_for or None,
        "total_loyalty": 0,
        "created_at": _iso(now),
        "sale_date": _iso(_time(sale_date, field="sale_date") if sale_date else now),
        "adjustments": [],
    }
    data.update(_lines_priced(store, body, returning=bool(return_for)))
    data["receipt_number"] = data["invoice_number"]
    return data


def _sale_changed(store, row: LightspeedSandboxSale, body: Mapping, *, status: str, now) -> dict:
    data = dict(row.data)
    if row.status == VOIDED:
        raise LightspeedError("A voided sale cannot be changed")
    if row.status in CLOSED_STATUSES and status != VOIDED:
        raise LightspeedError("A closed sale can only be voided")
    if "register_sale_products" in body and row.status not in CLOSED_STATUSES:
        data.update(_lines_priced(store, body, returning=bool(row.return_for)))
    elif "register_sale_payments" in body and row.status not in CLOSED_STATUSES:
        data["payments"] = _payments(store, body, data)
    return data


def _lines_priced(store, body: Mapping, *, returning: bool) -> dict:
    products = body.get("register_sale_products")
    if not isinstance(products, list) or not products or len(products) > MAX_LINES:
        raise LightspeedError(f"register_sale_products must list 1 to {MAX_LINES} products")
    taxes = {
        tax.data["id"]: tax.data
        for tax in LightspeedSandboxObject.objects.filter(store=store, kind="tax")
    }
    lines, price_sum, tax_sum, sale_taxes = [], Decimal(0), Decimal(0), {}
    for index, item in enumerate(products):
        field = f"register_sale_products[{index}]"
        if not isinstance(item, Mapping):
            raise LightspeedError(f"{field} must be an object")
        product = _held(
            store, "product", _text(item, "product_id", required=True), field=f"{field}.product_id"
        )
        quantity = _number(item.get("quantity"), field=f"{field}.quantity")
        if quantity == 0 or (quantity < 0) != returning:
            raise LightspeedError(
                f"{field}.quantity must be {'negative in a return' if returning else 'positive'}"
            )
        discount = _number(item.get("discount", 0), field=f"{field}.discount")
        listed = _number(product["price_excluding_tax"], field="product price")
        price = (
            _number(item["price"], field=f"{field}.price")
            if item.get("price") is not None
            else listed - discount
        )
        if price < 0 or discount < 0:
            raise LightspeedError(f"{field}: price and discount must not be negative")
        tax_id = _text(item, "tax_id") or product["tax_id"]
        if tax_id not in taxes:
            raise LightspeedError(f"{field}.tax_id names no tax of this store")
        rate = taxes[tax_id]["rates"][0]
        unit_tax = (price * _number(rate["rate"], field="tax rate")).quantize(PLACES, ROUND_HALF_UP)
        line_status = _text(item, "status") or "CONFIRMED"
        if line_status not in LINE_STATUSES:
            raise LightspeedError(f"{field}.status must be SAVED, VOIDED or CONFIRMED")
        counted = line_status != "VOIDED"
        price_total, tax_total = price * quantity, unit_tax * quantity
        if counted:
            price_sum += price_total
            tax_sum += tax_total
            sale_taxes[rate["id"]] = sale_taxes.get(rate["id"], Decimal(0)) + tax_total
        lines.append(
            {
                "id": new_id(),
                "product_id": product["id"],
                "tax_id": tax_id,
                "discount_total": _json_number(discount * quantity),
                "discount": _json_number(discount),
                "price_total": _json_number(price_total),
                "price": _json_number(price),
                "cost_total": 0,
                "cost": 0,
                "tax_total": _json_number(tax_total),
                "tax": _json_number(unit_tax),
                "quantity": _json_number(quantity),
                "loyalty_value": 0,
                "price_set": item.get("price") is not None,
                "status": line_status,
                "sequence": index,
                "tax_components": [{"rate_id": rate["id"], "total_tax": _json_number(tax_total)}],
                "unit_price": _json_number(price),
                "unit_tax": _json_number(unit_tax),
                "unit_discount": _json_number(discount),
                "total_price": _json_number(price_total),
                "total_tax": _json_number(tax_total),
                "total_discount": _json_number(discount * quantity),
                "is_return": returning,
            }
        )
    priced = {
        "line_items": lines,
        "total_price": _json_number(price_sum.quantize(CENT, ROUND_HALF_UP)),
        "total_tax": _json_number(tax_sum.quantize(CENT, ROUND_HALF_UP)),
        "taxes": [
            {"id": rate_id, "amount": _json_number(amount.quantize(CENT, ROUND_HALF_UP))}
            for rate_id, amount in sale_taxes.items()
        ],
    }
    priced["payments"] = _payments(store, body, priced)
    return priced


def _payments(store, body: Mapping, sale: Mapping) -> list[dict]:
    payments = body.get("register_sale_payments") or []
    if not isinstance(payments, list):
        raise LightspeedError("register_sale_payments must be a list")
    # A payment that names no amount pays what is due.
    due = Decimal(str(sale["total_price"])) + Decimal(str(sale["total_tax"]))
    paid = []
    for index, payment in enumerate(payments):
        field = f"register_sale_payments[{index}]"
        if not isinstance(payment, Mapping):
            raise LightspeedError(f"{field} must be an object")
        paid.append(
            {
                "id": new_id(),
                "payment_type_id": str(payment.get("payment_type_id") or "1"),
                "retailer_payment_type_id": _text(payment, "retailer_payment_type_id"),
                "name": _text(payment, "name") or "Cash",
                "amount": _json_number(
                    _number(payment["amount"], field=f"{field}.amount")
                    if payment.get("amount") is not None
                    else due
                ),
                "payment_date": _iso(timezone.now()),
                "external_attributes": [],
            }
        )
    return paid


def _next_version() -> int:
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s)", [VERSION_SEQUENCE])
        return cursor.fetchone()[0]


def sale_v1(*, store: LightspeedSandboxStore, sale: Mapping) -> dict:
    """The sale as API 1.0's ``register_sale``, the shape its webhooks carry."""
    products = {
        row.object_id: row.data
        for row in LightspeedSandboxObject.objects.filter(store=store, kind="product")
    }
    taxes = {
        row.object_id: row.data
        for row in LightspeedSandboxObject.objects.filter(store=store, kind="tax")
    }

    def v1_time(text: str | None) -> str | None:
        return datetime.fromisoformat(text).astimezone(UTC).strftime(V1_TIME) if text else None

    lines = []
    for line in sale.get("line_items", []):
        product = products.get(line["product_id"], {})
        tax = taxes.get(line["tax_id"], {"name": "", "rates": [{"rate": 0}]})
        lines.append(
            {
                "id": line["id"],
                "product_id": line["product_id"],
                "register_id": sale["register_id"],
                "sequence": str(line["sequence"]),
                "handle": product.get("sku", ""),
                "sku": product.get("sku", ""),
                "name": product.get("name", ""),
                "quantity": line["quantity"],
                "price": line["price"],
                "cost": 0,
                "price_set": 1 if line["price_set"] else 0,
                "discount": line["discount"],
                "loyalty_value": 0,
                "tax": line["tax"],
                "tax_id": line["tax_id"],
                "tax_name": tax["name"],
                "tax_rate": tax["rates"][0]["rate"],
                "tax_total": line["tax_total"],
                "price_total": line["price_total"],
                "display_retail_price_tax_inclusive": "0",
                "status": line["status"],
            }
        )
    paid = sum(
        (Decimal(str(payment["amount"])) for payment in sale.get("payments", [])), Decimal(0)
    )
    total = Decimal(str(sale["total_price"])) + Decimal(str(sale["total_tax"]))
    return {
        "id": sale["id"],
        "register_id": sale["register_id"],
        "market_id": "1",
        "customer_id": sale.get("customer_id"),
        "user_id": sale.get("user_id"),
        "sale_date": v1_time(sale["sale_date"]),
        "created_at": v1_time(sale["created_at"]),
        "updated_at": v1_time(sale["updated_at"]),
        "total_price": sale["total_price"],
        "total_cost": 0,
        "total_tax": sale["total_tax"],
        "note": sale.get("note", ""),
        "status": sale["status"],
        "short_code": sale.get("short_code", ""),
        "invoice_number": sale["invoice_number"],
        "return_for": sale.get("return_for"),
        "register_sale_products": lines,
        "totals": {
            "total_tax": sale["total_tax"],
            "total_price": sale["total_price"],
            "total_payment": _json_number(paid),
            "total_to_pay": _json_number(total - paid),
        },
        "register_sale_payments": [
            {
                "id": payment["id"],
                "payment_type_id": payment["payment_type_id"],
                "register_id": sale["register_id"],
                "retailer_payment_type_id": payment.get("retailer_payment_type_id", ""),
                "name": payment["name"],
                "label": payment["name"],
                "payment_date": v1_time(payment["payment_date"]),
                "amount": payment["amount"],
            }
            for payment in sale.get("payments", [])
        ],
    }


def webhook_body(*, store: LightspeedSandboxStore, sale: Mapping) -> bytes:
    """A ``sale.update`` delivery's form body."""
    return urlencode(
        {
            "payload": json.dumps(sale_v1(store=store, sale=sale), separators=(",", ":")),
            "type": SALE_UPDATE,
            "environment": "prod",
            "domain_prefix": store.domain_prefix,
            "retailer_id": store.retailer_id,
        }
    ).encode("ascii")


def webhooks_send(*, store: LightspeedSandboxStore, sale: Mapping) -> None:
    """POST the sale's ``sale.update`` to each active webhook of the store, in the background,
    retried on the back-off until a 2xx."""
    hooks = list(
        LightspeedSandboxWebhook.objects.filter(store=store, type=SALE_UPDATE, active=True)
    )
    if not hooks:
        return
    body = webhook_body(store=store, sale=sale)
    client_id, client_secret = sandbox_oauth_client()
    for hook in hooks:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        # Only the webhooks of an OAuth application are signed, with its client secret.
        if hook.client_id == client_id:
            headers[SIGNATURE_HEADER] = lightspeed_signature(secret=client_secret, body=body)
        threading.Thread(target=_deliver, args=(hook.url, body, headers), daemon=True).start()


def _deliver(url: str, body: bytes, headers: dict) -> None:
    for delay in (0, *RETRY_DELAYS_SECONDS):
        time.sleep(delay)
        try:
            answer = requests.post(
                url, data=body, headers=headers, timeout=DELIVERY_TIMEOUT_SECONDS
            )
        except requests.RequestException:
            continue
        if 200 <= answer.status_code < 300:
            return
    logger.info("Lightspeed sandbox: gave up delivering a webhook to %s", url)


# --- views ---------------------------------------------------------------------------------


@api.endpoint("register_sales")
def register_sales_view(request, *, store, body):
    sale = sandbox_sale_save(store=store, body=body)
    return JsonResponse({"register_sale": sale_v1(store=store, sale=sale.data)})


@api.endpoint("sales_list", body=False)
def sales_view(request, *, store):
    params = query_params(request)
    after = _whole(params.get("after", "0"), field="after")
    before = _whole(params["before"], field="before") if params.get("before") else None
    page_size = min(
        _whole(params.get("page_size", "200"), field="page_size") or 200, SALES_PAGE_MAX
    )
    rows = LightspeedSandboxSale.objects.filter(store=store, version__gt=after)
    if before is not None:
        rows = rows.filter(version__lt=before)
    data = [row.data for row in rows.order_by("version")[:page_size]]
    versions = [sale["version"] for sale in data]
    return JsonResponse(
        {
            "data": data,
            "version": {"min": min(versions, default=None), "max": max(versions, default=None)},
        }
    )


@api.endpoint("sale", body=False)
def sale_view(request, *, store, sale_id: str):
    row = LightspeedSandboxSale.objects.filter(store=store, sale_id=sale_id).first()
    if row is None:
        raise not_found(f"No sale {sale_id}")
    return JsonResponse({"data": row.data})


@api.endpoint("search", body=False)
def search_view(request, *, store):
    params = query_params(request)
    if params.get("type") != "sales":
        raise LightspeedError("The sandbox searches type=sales only")
    rows = LightspeedSandboxSale.objects.filter(store=store)
    for name, lookup in (("date_from", "sale_date__gte"), ("date_to", "sale_date__lt")):
        if params.get(name):
            rows = rows.filter(**{lookup: _time(params[name], field=name)})
    if params.get("status"):
        rows = rows.filter(status__in=params["status"].split(","))
    if params.get("outlet_id"):
        rows = rows.filter(outlet_id=params["outlet_id"])
    descending = params.get("order_direction") == "desc"
    rows = rows.order_by("-sale_date" if descending else "sale_date", "version")
    offset = _whole(params.get("offset", "0"), field="offset")
    page_size = min(
        _whole(params.get("page_size", "100"), field="page_size") or 100, SEARCH_PAGE_MAX
    )
    return JsonResponse({"data": [row.data for row in rows[offset : offset + page_size]]})


def _whole(text: str, *, field: str) -> int:
    if not text.isdigit():
        raise LightspeedError(f"{field} must be a whole number")
    return int(text)


def _objects_view(kind: str):
    @api.endpoint(f"{kind}s", body=False)
    def view(request, *, store):
        rows = LightspeedSandboxObject.objects.filter(store=store, kind=kind).order_by("id")
        data = [row.data for row in rows]
        versions = [one["version"] for one in data]
        return JsonResponse(
            {
                "data": data,
                "version": {"min": min(versions, default=None), "max": max(versions, default=None)},
            }
        )

    return view


def _object_view(kind: str):
    @api.endpoint(kind, body=False)
    def view(request, *, store, object_id: str):
        row = LightspeedSandboxObject.objects.filter(
            store=store, kind=kind, object_id=object_id
        ).first()
        if row is None:
            raise not_found(f"No {kind} {object_id}")
        return JsonResponse({"data": row.data})

    return view


outlets_view = _objects_view("outlet")
registers_view = _objects_view("register")
taxes_view = _objects_view("tax")
products_view = _objects_view("product")
customers_view = _objects_view("customer")
payment_types_view = _objects_view("payment_type")
product_view = _object_view("product")
customer_view = _object_view("customer")
outlet_view = _object_view("outlet")


@api.endpoint("retailer", body=False)
def retailer_view(request, *, store):
    return JsonResponse(
        {
            "data": {
                "id": store.retailer_id,
                "name": store.domain_prefix,
                "domain_prefix": store.domain_prefix,
            }
        }
    )


# --- webhooks (API 1.0) --------------------------------------------------------------------


def sandbox_webhook_create(*, store, fields: Mapping, client_id: str) -> LightspeedSandboxWebhook:
    url = _text(fields, "url", required=True)
    if not url.startswith(("http://", "https://")):
        raise LightspeedError("url must be an http(s) URL")
    kind = _text(fields, "type", required=True)
    if kind != SALE_UPDATE:
        raise LightspeedError("The sandbox sends sale.update webhooks only")
    active = fields.get("active", True)
    if not isinstance(active, bool):
        raise LightspeedError("active must be true or false")
    return LightspeedSandboxWebhook.objects.create(
        store=store, webhook_id=new_id(), url=url, active=active, type=kind, client_id=client_id
    )


def _webhook_json(hook: LightspeedSandboxWebhook) -> dict:
    return {
        "id": hook.webhook_id,
        "retailer_id": hook.store.retailer_id,
        "url": hook.url,
        "active": hook.active,
        "type": hook.type,
    }


def _client_of(request) -> str:
    """The OAuth client behind the bearer token; "" for a personal token."""
    grant = oauth.access_token_live(bearer_token(request))
    return grant.client_id if grant is not None else ""


@api.endpoint("webhooks", body=False)
def webhooks_view(request, *, store):
    if request.method == "GET":
        hooks = LightspeedSandboxWebhook.objects.filter(store=store).select_related("store")
        return JsonResponse([_webhook_json(hook) for hook in hooks.order_by("id")], safe=False)
    if request.content_type == "application/json":
        fields = api.json_body(request)
    else:
        form = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        try:
            fields = json_strict((form.get("data") or [""])[0] or "null")
        except ValueError:
            raise LightspeedError("data must be the webhook as JSON") from None
        if not isinstance(fields, Mapping):
            raise LightspeedError("data must be the webhook as a JSON object")
    hook = sandbox_webhook_create(store=store, fields=fields, client_id=_client_of(request))
    return JsonResponse(_webhook_json(hook))


@api.endpoint("webhook", body=False)
def webhook_view(request, *, store, webhook_id: str):
    deleted, _ = LightspeedSandboxWebhook.objects.filter(
        store=store, webhook_id=webhook_id
    ).delete()
    if not deleted:
        raise not_found(f"No webhook {webhook_id}")
    return JsonResponse({"status": "success"})
