"""Lightspeed X-Series JSON -> canonical ``Sale`` and ``WebhookEvent``. Pure: no database, no
HTTP.

Two shapes tell of one sale: the webhook's API 1.0 ``register_sale`` (``register_sale_products``,
``register_sale_payments``, space-separated UTC times) and API 2.0's ``Sale`` (``line_items``,
``payments``, ISO 8601 times). The 1.0 shape is first rewritten as 2.0, so both map through one
path to the same sale.

- Money: JSON numbers in major units, read as ``Decimal`` (never float arithmetic). Prices are
  tax-exclusive (``prices_include_tax`` False): a line's ``price`` is its unit price after the
  unit ``discount``, ``price_total``/``discount_total``/``tax_total`` its totals, and its tax is
  what ``tax_components`` charged. Lightspeed keeps up to 5 decimals per line but totals the sale
  to the cent, so the lines' amounts and taxes are rounded so that they add up to the sale's
  ``total_price`` and ``total_tax`` exactly (the largest remainders take the cents); totals that
  miss the lines by more than a cent a line are a MappingError (something the lines lack).
- Adjustments (a non-cash fee) are in ``total_price`` but no line: each becomes an untaxed line.
- Voided lines were never sold and are left out.
- A return (``return_for``, negative quantities) is a refund of the sale it names; a voided sale
  is credited by ``void_credit`` with the sale's own lines. Credits carry positive amounts.
- The buyer is the 2.0 customer of ``customer_id``, its TIN in the connection's custom field;
  without one the invoice is B2C. The outlet is the sale's location; register, outlet, status,
  version and receipt number are kept in ``raw``.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from urllib.parse import parse_qs

from integrations.base.canonical import Line, Party, Sale, SaleKind
from integrations.base.connectors import WebhookEvent
from integrations.base.errors import MappingError
from integrations.base.parsing import identifier, list_at, mapping, shown, text_at, timestamp
from integrations.pos.lightspeed.constants import (
    CLOSED_STATUSES,
    DEFAULT_TIN_FIELD,
    LINE_VOIDED,
    PAYMENT_MEANS_BY_TYPE,
    SALE_UPDATE,
    VOID_SUFFIX,
    VOIDED,
)

CENT = Decimal("0.01")
STATE_PATTERN = re.compile(r"[A-Z]{2}-[A-Z0-9]{1,3}", re.ASCII)
ZERO = Decimal(0)
HUNDRED = Decimal(100)
# A line's unit price is its cent-exact amount over its quantity, kept to this many places.
UNIT_PRICE_PLACES = Decimal("1E-10")
UNNAMED_LINE = "Item"
ADJUSTMENT_NAME = "Adjustment"
# 1.0 timestamps: "2026-11-22 18:26:40", UTC.
V1_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def sale_is_closed(sale: Mapping) -> bool:
    return sale.get("status") in CLOSED_STATUSES


def sale_is_voided(sale: Mapping) -> bool:
    return sale.get("status") == VOIDED


def sale_from_api(
    sale: Mapping,
    *,
    currency: str,
    customer: Mapping | None = None,
    products: Mapping[str, Mapping] | None = None,
    tax_rates: Mapping[str, Decimal] | None = None,
    tin_field: str = DEFAULT_TIN_FIELD,
    default_hs_code: str = "",
    default_product_category: str = "",
) -> Sale:
    """An API 2.0 sale (closed, or a return of one) as a canonical sale or refund.

    ``products`` maps product ids to API 2.0 products, which name the lines (2.0 lines carry
    only the id). ``tax_rates`` maps tax rate ids (``tax_components[].rate_id``) to rates
    (0.075): a line's rate is the sum of its components'; without them the rate is left to the
    invoice.
    """
    sale = mapping(sale, "sale")
    sale_id = identifier(sale, "id", path="sale")
    lines, net, tax = _lines(
        sale,
        products=products or {},
        tax_rates=tax_rates or {},
        hs_code=default_hs_code,
        product_category=default_product_category,
    )
    return_for = text_at(sale, "return_for", path="sale")
    returned = [line for line in lines if line.quantity < 0]
    if returned and len(returned) != len(lines):
        raise MappingError(f"sale {sale_id} both sells and returns items; it cannot be invoiced")
    is_return = bool(returned) or net < 0
    if is_return and not return_for:
        raise MappingError(f"sale {sale_id} returns items but names no sale in return_for")
    return Sale(
        external_id=sale_id,
        occurred_at=_time(sale, "sale_date", path="sale"),
        currency=_currency(currency),
        lines=tuple(_positive(line) for line in lines) if is_return else tuple(lines),
        total=abs(net + tax),
        prices_include_tax=False,
        kind=SaleKind.REFUND if is_return else SaleKind.SALE,
        customer=_party(sale, customer, tin_field=tin_field),
        tax_total=abs(tax),
        payment_means=_payment_means(sale),
        location_id=text_at(sale, "outlet_id", path="sale"),
        original_external_id=return_for if is_return else "",
        raw=_kept(sale),
    )


def void_credit(sale: Sale, *, voided_at: datetime) -> Sale:
    """The credit note of a sale voided after it was invoiced: the sale's lines, credited."""
    return Sale(
        external_id=f"{sale.external_id}{VOID_SUFFIX}",
        occurred_at=voided_at,
        currency=sale.currency,
        lines=sale.lines,
        total=sale.total,
        prices_include_tax=sale.prices_include_tax,
        kind=SaleKind.REFUND,
        customer=sale.customer,
        tax_total=sale.tax_total,
        payment_means=sale.payment_means,
        location_id=sale.location_id,
        original_external_id=sale.external_id,
        raw={**sale.raw, "voided": True},
    )


def sale_updated_at(sale: Mapping) -> datetime:
    """When an API 2.0 sale last changed (a void's moment, for a voided sale)."""
    return _time(mapping(sale, "sale"), "updated_at", path="sale")


def sale_from_webhook_payload(payload: Mapping, *, outlet_id: str = "") -> dict:
    """The webhook's API 1.0 ``register_sale`` rewritten as an API 2.0 sale. 1.0 names no outlet:
    ``outlet_id`` is its register's."""
    payload = mapping(payload, "payload")
    products = list_at(payload, "register_sale_products", path="payload")
    payments = list_at(payload, "register_sale_payments", path="payload")
    totals = payload.get("totals")
    totals = mapping(totals, "payload.totals") if totals is not None else {}
    return {
        "id": identifier(payload, "id", path="payload"),
        "outlet_id": text_at(payload, "outlet_id", path="payload") or outlet_id,
        "register_id": text_at(payload, "register_id", path="payload"),
        "user_id": text_at(payload, "user_id", path="payload"),
        "customer_id": text_at(payload, "customer_id", path="payload"),
        "invoice_number": text_at(payload, "invoice_number", path="payload"),
        "status": text_at(payload, "status", path="payload"),
        "return_for": text_at(payload, "return_for", path="payload") or None,
        "total_price": totals.get("total_price", payload.get("total_price")),
        "total_tax": totals.get("total_tax", payload.get("total_tax")),
        "sale_date": _v1_time(payload, "sale_date"),
        "created_at": _v1_time(payload, "created_at"),
        "updated_at": _v1_time(payload, "updated_at"),
        "line_items": [_v1_line(product, index) for index, product in enumerate(products)],
        "payments": [
            {
                "id": text_at(payment, "id", path="payment"),
                "payment_type_id": str(payment.get("payment_type_id") or ""),
                "name": text_at(payment, "name", path="payment"),
                "amount": payment.get("amount"),
            }
            for payment in (
                mapping(one, f"payload.register_sale_payments[{index}]")
                for index, one in enumerate(payments)
            )
        ],
    }


def webhook_events(body: bytes) -> list[WebhookEvent]:
    """The one event of a (verified) form-encoded delivery: ``payload`` (the sale, API 1.0
    JSON), perhaps ``type``, ``domain_prefix`` and others. Lightspeed sends no delivery id: the
    event is named by the sale, when it last changed and its status, so a delivery repeated is
    one event and each status a sale passes through is another."""
    form = webhook_form(body)
    payload = _payload_json(form["payload"])
    sale_id = identifier(payload, "id", path="payload")
    status = identifier(payload, "status", path="payload")
    changed = text_at(payload, "updated_at", path="payload") or str(payload.get("version") or "")
    if not changed:
        raise MappingError("payload has neither updated_at nor version")
    return [
        WebhookEvent(
            event_id=f"{sale_id}:{changed}:{status}",
            event_type=form.get("type") or SALE_UPDATE,
            account_id=form.get("domain_prefix", ""),
            object_id=sale_id,
            payload={**form, "payload": payload},
        )
    ]


def webhook_form(body: bytes) -> dict[str, str]:
    """The form fields of a delivery, each given once; ``payload`` required."""
    try:
        text = bytes(body).decode("utf-8")
        fields = parse_qs(text, keep_blank_values=True, strict_parsing=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise MappingError("The webhook body is not a UTF-8 form") from None
    repeated = sorted(name for name, values in fields.items() if len(values) != 1)
    if repeated:
        raise MappingError(f"The webhook form repeats {shown(repeated)}")
    form = {name: values[0] for name, values in fields.items()}
    if not form.get("payload"):
        raise MappingError("The webhook form has no payload")
    return form


def money(value: object, *, path: str) -> Decimal:
    """A JSON number (int, float as printed, or Decimal) as an exact Decimal."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        found = "missing" if value is None else shown(value)
        raise MappingError(f"{path} is {found}, not a number")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise MappingError(f"{path} is {shown(value)}, not a number") from None
    if not number.is_finite() or abs(number) >= Decimal("1E15"):
        raise MappingError(f"{path} is {shown(value)}, not an amount")
    return number


def round2(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


# --- lines -------------------------------------------------------------------------------------


def _lines(
    sale: Mapping,
    *,
    products: Mapping[str, Mapping],
    tax_rates: Mapping[str, Decimal],
    hs_code: str,
    product_category: str,
) -> tuple[list[Line], Decimal, Decimal]:
    """The sale's lines, their amounts and taxes reconciled to the sale's totals to the cent;
    with those totals."""
    sale_id = identifier(sale, "id", path="sale")
    parts = []
    for index, item in enumerate(list_at(sale, "line_items", path="sale")):
        path = f"sale.line_items[{index}]"
        item = mapping(item, path)
        if text_at(item, "status", path=path) == LINE_VOIDED:
            continue
        parts.append(_line_parts(item, path=path, products=products, tax_rates=tax_rates))
    for index, adjustment in enumerate(list_at(sale, "adjustments", path="sale")):
        path = f"sale.adjustments[{index}]"
        adjustment = mapping(adjustment, path)
        value = money(adjustment.get("value"), path=f"{path}.value")
        name = text_at(adjustment, "name", path=path) or ADJUSTMENT_NAME
        parts.append(_Parts(name, "", "", Decimal(1), value, ZERO, ZERO, ZERO))
    if not parts:
        raise MappingError(f"sale {sale_id} has no line items")
    net = round2(money(sale.get("total_price"), path="sale.total_price"))
    tax = round2(money(sale.get("total_tax"), path="sale.total_tax"))
    amounts = _reconciled(net, [part.net for part in parts], what=f"sale {sale_id} total_price")
    taxes = _reconciled(tax, [part.tax for part in parts], what=f"sale {sale_id} total_tax")
    lines = []
    for part, amount, line_tax in zip(parts, amounts, taxes, strict=True):
        discount = round2(part.discount)
        lines.append(
            Line(
                name=part.name,
                quantity=part.quantity,
                unit_price=((amount + discount) / part.quantity).quantize(UNIT_PRICE_PLACES),
                discount=discount,
                tax_rate=part.rate,
                hs_code=hs_code,
                product_category=product_category,
                sku=part.sku,
                external_id=part.line_id,
                tax_amount=line_tax,
                item_id=part.item_id,
            )
        )
    return lines, net, tax


@dataclass(frozen=True)
class _Parts:
    """A line's exact amounts, before they are reconciled to the sale's totals."""

    name: str
    line_id: str
    item_id: str
    quantity: Decimal
    net: Decimal
    discount: Decimal
    tax: Decimal
    rate: Decimal | None
    sku: str = ""


def _line_parts(
    item: Mapping, *, path: str, products: Mapping[str, Mapping], tax_rates: Mapping[str, Decimal]
) -> _Parts:
    quantity = money(item.get("quantity"), path=f"{path}.quantity")
    if quantity == 0:
        raise MappingError(f"{path}.quantity is 0")
    price = money(item.get("price"), path=f"{path}.price")
    if price < 0:
        raise MappingError(f"{path}.price is negative; a return has a negative quantity")
    net = (
        money(item["price_total"], path=f"{path}.price_total")
        if item.get("price_total") is not None
        else price * quantity
    )
    discount = (
        money(item["discount_total"], path=f"{path}.discount_total")
        if item.get("discount_total") is not None
        else money(item.get("discount") or 0, path=f"{path}.discount") * quantity
    )
    components = [
        mapping(component, f"{path}.tax_components[{number}]")
        for number, component in enumerate(list_at(item, "tax_components", path=path))
    ]
    if components:
        tax = sum(
            (
                money(component.get("total_tax"), path=f"{path}.tax_components[{n}].total_tax")
                for n, component in enumerate(components)
            ),
            ZERO,
        )
    elif item.get("tax_total") is not None:
        tax = money(item["tax_total"], path=f"{path}.tax_total")
    else:
        tax = money(item.get("tax") or 0, path=f"{path}.tax") * quantity
    rate = _rate(item, components, tax_rates=tax_rates, path=path)
    product_id = text_at(item, "product_id", path=path)
    product = products.get(product_id)
    product = mapping(product, f"product {product_id}") if product is not None else {}
    name = (
        text_at(product, "name", path=f"product {product_id}")
        or text_at(item, "name", path=path)
        or UNNAMED_LINE
    )
    sku = text_at(product, "sku", path=f"product {product_id}") or text_at(item, "sku", path=path)
    line_id = text_at(item, "id", path=path)
    return _Parts(name, line_id, product_id, quantity, net, discount, tax, rate, sku)


def _rate(item: Mapping, components: list[Mapping], *, tax_rates, path: str) -> Decimal | None:
    """The line's tax rate as a percentage: its components' rates summed, where all are known;
    the 1.0 line's own ``tax_rate``; else None."""
    if item.get("tax_rate") is not None:
        return (money(item["tax_rate"], path=f"{path}.tax_rate") * HUNDRED).normalize()
    rate_ids = [str(component.get("rate_id") or "") for component in components]
    if rate_ids and all(rate_id in tax_rates for rate_id in rate_ids):
        return (sum((tax_rates[rate_id] for rate_id in rate_ids), ZERO) * HUNDRED).normalize()
    return None


def _reconciled(target: Decimal, exact: list[Decimal], *, what: str) -> list[Decimal]:
    """``exact`` rounded to cents that add up to ``target``: each to the cent, then the cents
    still missing (or too many) go to the largest remainders. Refused when the parts miss the
    target by more than a cent each."""
    rounded = [round2(value) for value in exact]
    steps = int((target - sum(rounded, ZERO)) / CENT)
    if abs(steps) > len(exact):
        raise MappingError(
            f"{what} is {target}, but its lines come to {sum(exact, ZERO)}: the sale holds "
            "something its lines do not"
        )
    sign = 1 if steps > 0 else -1
    order = sorted(range(len(exact)), key=lambda i: sign * (exact[i] - rounded[i]), reverse=True)
    for index in order[: abs(steps)]:
        rounded[index] += sign * CENT
    return rounded


def _positive(line: Line) -> Line:
    return Line(
        name=line.name,
        quantity=abs(line.quantity),
        unit_price=abs(line.unit_price),
        discount=abs(line.discount),
        tax_rate=line.tax_rate,
        hs_code=line.hs_code,
        product_category=line.product_category,
        sku=line.sku,
        external_id=line.external_id,
        tax_amount=None if line.tax_amount is None else abs(line.tax_amount),
        item_id=line.item_id,
    )


# --- the rest of the sale -----------------------------------------------------------------------


def _party(sale: Mapping, customer: Mapping | None, *, tin_field: str) -> Party | None:
    customer_id = text_at(sale, "customer_id", path="sale")
    if customer is None:
        return Party(name="", external_id=customer_id) if customer_id else None
    customer = mapping(customer, "customer")
    known_id = identifier(customer, "id", path="customer")
    if customer_id and known_id != customer_id:
        raise MappingError(f"customer {known_id} is not the sale's customer {customer_id}")

    def text(key: str) -> str:
        value = customer.get(key)
        return value.strip() if isinstance(value, str) else ""

    person = " ".join(part for part in (text("first_name"), text("last_name")) if part)
    country = text("physical_country_id").upper()
    state = text("physical_state").upper()
    return Party(
        name=text("company_name") or person or text("name"),
        tin=text(tin_field) if tin_field else "",
        email=text("email"),
        telephone=text("phone") or text("mobile"),
        street_name=", ".join(
            part for part in (text("physical_address_1"), text("physical_address_2")) if part
        ),
        city_name=text("physical_city"),
        postal_zone=text("physical_postcode"),
        # Only a subdivision code ("NG-LA") can go on an invoice; a region's name is left out.
        state=state if STATE_PATTERN.fullmatch(state) else "",
        country=country if len(country) == 2 and country.isalpha() else "NG",
        external_id=known_id,
    )


def _payment_means(sale: Mapping) -> tuple[str, ...]:
    codes = []
    for index, payment in enumerate(list_at(sale, "payments", path="sale")):
        payment = mapping(payment, f"sale.payments[{index}]")
        code = PAYMENT_MEANS_BY_TYPE.get(str(payment.get("payment_type_id") or ""))
        if code:
            codes.append(code)
    return tuple(dict.fromkeys(codes))


def _kept(sale: Mapping) -> dict:
    """What an operator needs to find the sale at the till: register, outlet, receipt."""
    kept = {
        key: sale.get(key)
        for key in (
            "status",
            "outlet_id",
            "register_id",
            "user_id",
            "invoice_number",
            "return_for",
            "updated_at",
        )
        if isinstance(sale.get(key), str)
    }
    version = sale.get("version")
    if isinstance(version, int) and not isinstance(version, bool):
        kept["version"] = version
    return kept


def _time(sale: Mapping, key: str, *, path: str) -> datetime:
    text = text_at(sale, key, path=path)
    if not text:
        raise MappingError(f"{path}.{key} is missing")
    return timestamp(text, path=f"{path}.{key}").astimezone(UTC)


def _currency(currency: str) -> str:
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha()):
        raise MappingError(f"The outlet's currency is {shown(currency)}, not an ISO 4217 code")
    return currency.upper()


def _payload_json(text: str) -> Mapping:
    # Plain floats: the event is stored as JSON, and its money is read again from API 2.0.
    try:
        payload = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        raise MappingError(f"The webhook payload is not JSON: {shown(str(error))}") from None
    return mapping(payload, "payload")


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _v1_time(payload: Mapping, key: str) -> str | None:
    """A 1.0 time ("2026-11-22 18:26:40", UTC) in 2.0's form ("2026-11-22T18:26:40+00:00")."""
    text = text_at(payload, key, path="payload")
    if not text:
        return None
    try:
        moment = datetime.strptime(text, V1_TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        moment = timestamp(text, path=f"payload.{key}")
    return moment.isoformat()


def _v1_line(product: object, index: int) -> dict:
    path = f"payload.register_sale_products[{index}]"
    product = mapping(product, path)
    quantity = money(product.get("quantity"), path=f"{path}.quantity")
    discount = money(product.get("discount") or 0, path=f"{path}.discount")
    line = {
        "id": text_at(product, "id", path=path),
        "product_id": text_at(product, "product_id", path=path),
        "name": text_at(product, "name", path=path),
        "sku": text_at(product, "sku", path=path),
        "quantity": product.get("quantity"),
        "price": product.get("price"),
        "price_total": product.get("price_total"),
        "discount": product.get("discount") or 0,
        "discount_total": discount * quantity,
        "tax": product.get("tax"),
        "tax_total": product.get("tax_total"),
        "tax_rate": product.get("tax_rate"),
        "tax_id": text_at(product, "tax_id", path=path),
        "status": text_at(product, "status", path=path),
    }
    return {key: value for key, value in line.items() if value is not None}
