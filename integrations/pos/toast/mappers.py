"""Toast JSON -> canonical ``Sale`` and ``WebhookEvent``. Pure: no database, no HTTP.

How a Toast order becomes sales:

- One sale per paid check (``paymentStatus`` PAID or CLOSED), its id the check's GUID: an order
  split into several checks makes several sales. An order that is ``deleted`` (its checks were
  combined into another order, which carries them now) or ``voided`` makes none, nor does a
  voided or deleted check.
- Money arrives as JSON doubles in major units. It is read as ``Decimal`` from the text (never
  through a float) and rounded to the cent, half up.
- Lines: the check's selections that are not voided (modifiers are inside their selection's
  price). ``price`` is net of every discount (the check's too) and excludes tax for both
  ``taxInclusion`` values: INCLUDED only says the menu price had the tax in it. Each line
  carries what the buyer paid, ``price + tax``, VAT-inclusive, with the tax Toast charged on it
  and the summed rate of its PERCENT ``appliedTaxes``. A discount (``preDiscountPrice - price``)
  is shown on the line, with the tax it spared.
- Service charges are part of the supply: each is a line of its ``chargeAmount`` and taxes. A
  ``gratuity`` service charge is a tip.
- Tips (``payments[].tipAmount`` and gratuities) are a gift to staff, not a supply: they stay
  off the invoice, whose payable amount is the check's ``totalAmount``. The sale keeps them in
  its raw record (``tip_total``), which the sale's page shows.
- The check must add up to the cent: lines' net amounts to ``amount``, their taxes to
  ``taxAmount``, and ``amount + taxAmount`` to ``totalAmount``; otherwise a MappingError names
  the numbers.
- A refunded payment (``refundStatus`` PARTIAL or FULL) is a credit note of its check: one line
  of ``refund.refundAmount`` (tip refunds excluded), at the check's tax rate when it has one.
"""

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from integrations.base.canonical import Line, Party, Sale, SaleKind
from integrations.base.connectors import WebhookEvent
from integrations.base.errors import MappingError
from integrations.base.parsing import identifier, list_at, mapping, shown, text_at, timestamp
from integrations.pos.toast.constants import (
    ORDER_EVENT_TYPES,
    PAID_CHECK_STATUSES,
    PAYMENT_MEANS_BY_TOAST_TYPE,
    PAYMENT_STATUSES_WITHOUT_MONEY,
    REFUNDED_STATUSES,
)

CENT = Decimal("0.01")
ZERO = Decimal(0)
HUNDRED = Decimal(100)
# Toast's amounts are restaurant checks: far below this; anything above is not an amount.
MAX_AMOUNT = Decimal("1e12")
CURRENCY = "NGN"


def json_loads(text: bytes | str) -> object:
    """Toast's JSON with its numbers exact: doubles become Decimal from their text; NaN and
    Infinity are refused."""
    try:
        return json.loads(
            text.decode("utf-8") if isinstance(text, bytes | bytearray) else text,
            parse_float=Decimal,
            parse_constant=_refuse_constant,
        )
    except MappingError:
        raise
    except (TypeError, ValueError, RecursionError) as error:
        raise MappingError(f"The body is not JSON: {shown(str(error))}") from None


def money(container: Mapping, key: str, *, path: str, default: Decimal | None = None) -> Decimal:
    """An amount in major units, to the cent; ``default`` when absent or null (required when
    ``default`` is None)."""
    value = container.get(key)
    where = f"{path}.{key}" if path else key
    if value is None:
        if default is None:
            raise MappingError(f"{where} is missing")
        return default
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        raise MappingError(f"{where} is {shown(value)}, not a number")
    try:
        amount = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
            raise MappingError(f"{where} is {shown(value)}, not an amount")
        return amount.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise MappingError(f"{where} is {shown(value)}, not an amount") from None


def _number(container: Mapping, key: str, *, path: str) -> Decimal | None:
    value = container.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        raise MappingError(f"{path}.{key} is {shown(value)}, not a number")
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        raise MappingError(f"{path}.{key} is {shown(value)}, not a number")
    return number


def check_is_sale(order: Mapping, check: Mapping) -> bool:
    """Whether the check is a paid sale of a live order (so one invoice)."""
    return (
        isinstance(check, Mapping)
        and not order.get("deleted")
        and not order.get("voided")
        and not check.get("deleted")
        and not check.get("voided")
        and _one_of(check.get("paymentStatus"), PAID_CHECK_STATUSES)
    )


def _one_of(value: object, choices: frozenset[str]) -> bool:
    # Read at intake on any JSON: a list or an object is no status.
    return isinstance(value, str) and value in choices


def _checks(order: Mapping) -> list[Mapping]:
    return [
        mapping(check, f"order.checks[{i}]")
        for i, check in enumerate(list_at(order, "checks", path="order"))
    ]


def sale_ids_in_order(order: object) -> list[str]:
    """The ids of the sales and credit notes an order makes, read from it alone (never raises):
    its paid checks' GUIDs and its refunds' ids."""
    if not isinstance(order, Mapping) or order.get("deleted") or order.get("voided"):
        return []
    ids = []
    checks = order.get("checks")
    for check in checks if isinstance(checks, list) else []:
        if not check_is_sale(order, check) or not isinstance(check.get("guid"), str):
            continue
        ids.append(check["guid"])
        payments = check.get("payments")
        for payment in payments if isinstance(payments, list) else []:
            if isinstance(payment, Mapping) and _one_of(
                payment.get("refundStatus"), REFUNDED_STATUSES
            ):
                ids.append(_refund_id(payment, refund=payment.get("refund")))
    return [sale_id for sale_id in ids if sale_id]


def sales_from_order(
    order: Mapping,
    *,
    default_hs_code: str = "",
    default_product_category: str = "",
    location_id: str = "",
) -> list[Sale]:
    """The sales of the order's paid checks, then the credit notes of their refunds (each after
    its sale). Empty for a deleted (combined) or voided order. Raises MappingError naming the
    order and field when the order cannot be read."""
    order = mapping(order, "order")
    order_guid = identifier(order, "guid", path="order")
    try:
        if order.get("deleted") or order.get("voided"):
            return []
        sales: list[Sale] = []
        for index, check in enumerate(_checks(order)):
            if not check_is_sale(order, check):
                continue
            path = f"order.checks[{index}]"
            sale = _sale_from_check(
                order,
                check,
                path=path,
                hs_code=default_hs_code,
                product_category=default_product_category,
                location_id=location_id,
            )
            sales.append(sale)
            sales.extend(
                _refunds_of_check(
                    check,
                    sale=sale,
                    path=path,
                    hs_code=default_hs_code,
                    product_category=default_product_category,
                )
            )
        return sales
    except MappingError as error:
        raise MappingError(f"Toast order {order_guid}: {error}") from None


def _sale_from_check(
    order: Mapping,
    check: Mapping,
    *,
    path: str,
    hs_code: str,
    product_category: str,
    location_id: str,
) -> Sale:
    check_guid = identifier(check, "guid", path=path)
    tax_exempt = bool(check.get("taxExempt"))
    lines: list[Line] = []
    net = tax = ZERO
    for index, selection in enumerate(list_at(check, "selections", path=path)):
        selection_path = f"{path}.selections[{index}]"
        selection = mapping(selection, selection_path)
        if selection.get("voided"):
            continue
        line, line_net, line_tax = _line_from_selection(
            selection,
            path=selection_path,
            hs_code=hs_code,
            product_category=product_category,
            tax_exempt=tax_exempt,
        )
        net, tax = net + line_net, tax + line_tax
        if line is not None:
            lines.append(line)
    gratuity = ZERO
    for index, charge in enumerate(list_at(check, "appliedServiceCharges", path=path)):
        charge_path = f"{path}.appliedServiceCharges[{index}]"
        charge = mapping(charge, charge_path)
        amount = money(charge, "chargeAmount", path=charge_path, default=ZERO)
        if charge.get("gratuity"):
            gratuity += amount
            continue
        charge_tax, rate = _applied_taxes(charge, path=charge_path)
        net, tax = net + amount, tax + charge_tax
        if amount or charge_tax:
            lines.append(
                Line(
                    name=text_at(charge, "name", path=charge_path) or "Service charge",
                    quantity=Decimal(1),
                    unit_price=amount + charge_tax,
                    tax_rate=ZERO if tax_exempt else rate,
                    tax_amount=charge_tax,
                    tax_type="SERVICE_CHARGE",
                    hs_code=hs_code,
                    product_category=product_category,
                    external_id=identifier(charge, "guid", path=charge_path),
                )
            )
    amount = money(check, "amount", path=path)
    tax_amount = money(check, "taxAmount", path=path, default=ZERO)
    total = money(check, "totalAmount", path=path)
    if net != amount:
        raise MappingError(
            f"{path}: its selections and service charges come to {net}, not its amount {amount}"
        )
    if tax != tax_amount:
        raise MappingError(
            f"{path}: its lines' taxes come to {tax}, not its taxAmount {tax_amount}"
        )
    if amount + tax_amount != total:
        raise MappingError(
            f"{path}: amount {amount} and taxAmount {tax_amount} make {amount + tax_amount}, "
            f"not its totalAmount {total}"
        )
    if not lines:
        raise MappingError(f"{path} is paid but has no selections that are not voided")
    payments = [
        mapping(payment, f"{path}.payments[{i}]")
        for i, payment in enumerate(list_at(check, "payments", path=path))
    ]
    took_money = [
        p for p in payments if not _one_of(p.get("paymentStatus"), PAYMENT_STATUSES_WITHOUT_MONEY)
    ]
    tips = sum(
        (money(p, "tipAmount", path=f"{path}.payments", default=ZERO) for p in took_money), ZERO
    )
    means = tuple(
        dict.fromkeys(
            PAYMENT_MEANS_BY_TOAST_TYPE[p["type"]]
            for p in took_money
            if _one_of(p.get("type"), frozenset(PAYMENT_MEANS_BY_TOAST_TYPE))
        )
    )
    return Sale(
        external_id=check_guid,
        occurred_at=_moment(check, order, path=path),
        currency=CURRENCY,
        lines=tuple(lines),
        total=total,
        prices_include_tax=True,
        kind=SaleKind.SALE,
        customer=_customer(check.get("customer"), path=f"{path}.customer"),
        tax_total=tax_amount,
        payment_means=means,
        location_id=location_id,
        raw={
            "order_guid": str(order.get("guid", "")),
            "order_display_number": str(order.get("displayNumber") or ""),
            "check_display_number": str(check.get("displayNumber") or ""),
            "tip_total": str(tips + gratuity),
            "check": _plain(check),
        },
    )


def _line_from_selection(
    selection: Mapping, *, path: str, hs_code: str, product_category: str, tax_exempt: bool
) -> tuple[Line | None, Decimal, Decimal]:
    """(line, net amount, tax) of a selection; no line for a free one (nothing to invoice)."""
    name = text_at(selection, "displayName", path=path) or "Item"
    quantity = _number(selection, "quantity", path=path)
    if quantity is None or quantity <= 0:
        raise MappingError(f"{path}.quantity is {shown(selection.get('quantity'))}, not positive")
    price = money(selection, "price", path=path)
    pre_discount = money(selection, "preDiscountPrice", path=path, default=price)
    taxes, rate = _applied_taxes(selection, path=path)
    tax = money(selection, "tax", path=path, default=taxes)
    if tax != taxes and selection.get("appliedTaxes"):
        raise MappingError(f"{path}: its appliedTaxes come to {taxes}, not its tax {tax}")
    if tax_exempt:
        rate = ZERO
    if price < 0 or tax < 0:
        raise MappingError(f"{path} has price {price} and tax {tax}; returns are refunds")
    if price == 0 and tax == 0:
        return None, ZERO, ZERO
    paid = price + tax
    discount = max(pre_discount - price, ZERO)
    # The tax the discount spared the buyer, at the line's rate: the discount as it was felt.
    if discount and rate:
        discount = (discount * (HUNDRED + rate) / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)
    gross = paid + discount
    unit_price = _unit_price(amount=gross, quantity=quantity)
    if unit_price is None:
        # No unit price makes the gross for this quantity (a weighed item): one line of it all.
        name, quantity, unit_price = f"{name} ({_plain_number(quantity)})", Decimal(1), gross
    item = selection.get("item")
    return (
        Line(
            name=name,
            quantity=quantity,
            unit_price=unit_price,
            discount=discount,
            tax_rate=rate,
            tax_amount=tax,
            tax_type=text_at(selection, "taxInclusion", path=path),
            hs_code=hs_code,
            product_category=product_category,
            external_id=identifier(selection, "guid", path=path),
            item_id=str(item.get("guid") or "") if isinstance(item, Mapping) else "",
        ),
        price,
        tax,
    )


def _applied_taxes(container: Mapping, *, path: str) -> tuple[Decimal, Decimal]:
    """(tax charged, summed percentage of the PERCENT taxes) of ``appliedTaxes``."""
    charged = percent = ZERO
    for index, applied in enumerate(list_at(container, "appliedTaxes", path=path)):
        applied_path = f"{path}.appliedTaxes[{index}]"
        applied = mapping(applied, applied_path)
        charged += money(applied, "taxAmount", path=applied_path, default=ZERO)
        if applied.get("type", "PERCENT") == "PERCENT":
            rate = _number(applied, "rate", path=applied_path)
            if rate is not None:
                if not ZERO <= rate < 1:
                    raise MappingError(f"{applied_path}.rate is {rate}, not a fraction (0.075)")
                percent += rate * HUNDRED
    return charged, percent.normalize() if percent else ZERO


def _refunds_of_check(
    check: Mapping, *, sale: Sale, path: str, hs_code: str, product_category: str
) -> list[Sale]:
    credits = []
    rates = {line.tax_rate for line in sale.lines}
    rate = rates.pop() if len(rates) == 1 else None
    for index, payment in enumerate(list_at(check, "payments", path=path)):
        payment_path = f"{path}.payments[{index}]"
        payment = mapping(payment, payment_path)
        if not _one_of(payment.get("refundStatus"), REFUNDED_STATUSES):
            continue
        refund = mapping(payment.get("refund"), f"{payment_path}.refund")
        amount = money(refund, "refundAmount", path=f"{payment_path}.refund")
        if amount <= 0:
            continue
        if amount > sale.total:
            raise MappingError(
                f"{payment_path}.refund.refundAmount {amount} is more than the check's total "
                f"{sale.total}"
            )
        refund_id = _refund_id(payment, refund=refund)
        check_number = sale.raw.get("check_display_number") or sale.external_id
        refunded_at = text_at(refund, "refundDate", path=f"{payment_path}.refund")
        kind = payment.get("type")
        means = PAYMENT_MEANS_BY_TOAST_TYPE.get(kind) if isinstance(kind, str) else None
        credits.append(
            Sale(
                external_id=refund_id,
                occurred_at=(
                    timestamp(refunded_at, path=f"{payment_path}.refund.refundDate")
                    if refunded_at
                    else sale.occurred_at
                ),
                currency=CURRENCY,
                lines=(
                    Line(
                        name=f"Refund of check {check_number}",
                        quantity=Decimal(1),
                        unit_price=amount,
                        tax_rate=rate,
                        hs_code=hs_code,
                        product_category=product_category,
                        external_id=refund_id,
                    ),
                ),
                total=amount,
                prices_include_tax=True,
                kind=SaleKind.REFUND,
                customer=sale.customer,
                payment_means=(means,) if means else (),
                location_id=sale.location_id,
                original_external_id=sale.external_id,
                raw={
                    "refund": _plain(refund),
                    "payment_guid": str(payment.get("guid", "")),
                    "tip_refund": str(
                        money(refund, "tipRefundAmount", path=payment_path, default=ZERO)
                    ),
                },
            )
        )
    return credits


def _refund_id(payment: Mapping, *, refund: object) -> str:
    """A refund's id: its refund transaction's GUID, else its payment's (one refund each)."""
    transaction = refund.get("refundTransaction") if isinstance(refund, Mapping) else None
    if isinstance(transaction, Mapping) and isinstance(transaction.get("guid"), str):
        return f"refund:{transaction['guid']}"
    guid = payment.get("guid")
    return f"refund:{guid}" if isinstance(guid, str) and guid else ""


def _moment(check: Mapping, order: Mapping, *, path: str) -> datetime:
    for container, where in ((check, path), (order, "order")):
        for key in ("closedDate", "paidDate", "modifiedDate", "createdDate"):
            text = text_at(container, key, path=where)
            if text:
                return timestamp(text, path=f"{where}.{key}")
    raise MappingError(f"{path} has no closedDate, paidDate or modifiedDate")


def _customer(customer: object, *, path: str) -> Party | None:
    if not isinstance(customer, Mapping):
        return None
    name = " ".join(
        part
        for part in (
            text_at(customer, "firstName", path=path),
            text_at(customer, "lastName", path=path),
        )
        if part
    )
    email = text_at(customer, "email", path=path)
    phone = text_at(customer, "phone", path=path)
    code = text_at(customer, "phoneCountryCode", path=path)
    if not (name or email or phone):
        return None
    return Party(
        name=name or email or phone,
        email=email,
        telephone=f"+{code.lstrip('+')}{phone}" if phone and code else phone,
        external_id=str(customer.get("guid") or ""),
    )


def order_has_guest_details(order: Mapping) -> bool:
    """Whether every paid check names its guest (the orders webhook leaves names out)."""
    for check in order.get("checks") or []:
        if check_is_sale(order, check):
            customer = check.get("customer")
            if isinstance(customer, Mapping) and not (
                customer.get("firstName") or customer.get("lastName")
            ):
                return False
    return True


def webhook_events(body: bytes) -> list[WebhookEvent]:
    """The event of a (verified) Toast orders webhook: one per delivery.

    Envelope: ``{timestamp, eventCategory, eventType, guid, details: {restaurantGuid, order}}``.
    The event's id is the order's GUID and ``modifiedDate``: a redelivery of the event, and
    another event about the same version of the order, are one. Raises MappingError on
    anything that is not such an envelope.
    """
    envelope = mapping(json_loads(body), "the body")
    event_guid = identifier(envelope, "guid", path="")
    event_type = identifier(envelope, "eventType", path="")
    details = mapping(envelope.get("details"), "details")
    restaurant = identifier(details, "restaurantGuid", path="details")
    if event_type not in ORDER_EVENT_TYPES:
        return [
            WebhookEvent(
                event_id=event_guid,
                event_type=event_type,
                account_id=restaurant,
                object_id="",
                payload=_plain(envelope),
            )
        ]
    order = mapping(details.get("order"), "details.order")
    order_guid = identifier(order, "guid", path="details.order")
    modified = text_at(order, "modifiedDate", path="details.order")
    return [
        WebhookEvent(
            event_id=f"{order_guid}@{modified}" if modified else event_guid,
            event_type=event_type,
            account_id=restaurant,
            object_id=order_guid,
            payload=_plain(envelope),
        )
    ]


def _plain(value):
    """JSON as the database keeps it: Decimals back to numbers' text."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    return value


def _plain_number(number: Decimal) -> str:
    return format(number.normalize(), "f")


def _unit_price(*, amount: Decimal, quantity: Decimal) -> Decimal | None:
    """The shortest unit price for which quantity x price, to the cent, is amount."""
    exact = amount / quantity
    for places in range(2, 13, 2):
        price = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if (quantity * price).quantize(CENT, rounding=ROUND_HALF_UP) == amount:
            return price
    return None


def _refuse_constant(name: str) -> float:
    raise MappingError(f"The body holds {name}, which is not a JSON number")


def iter_orders(answer: object, *, path: str) -> Iterable[Mapping]:
    if not isinstance(answer, list):
        raise MappingError(f"{path} is {type(answer).__name__}, not a list of orders")
    return [mapping(order, f"{path}[{i}]") for i, order in enumerate(answer)]
