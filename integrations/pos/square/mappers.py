"""Square JSON -> canonical ``Sale`` and ``WebhookEvent``. Pure: no database, no HTTP.

How a Square order becomes a sale the invoice builder can use:

- Money arrives as ``{"amount": int64 minor units, "currency": ISO 4217}`` and leaves as
  ``Decimal`` major units, by the currency's ISO minor-unit digits (NGN and USD have 2, JPY 0).
  Never float. Every amount of an order must be in the order's currency: nothing is converted.
- ``prices_include_tax`` is always True. Each line carries what the buyer paid for it, Square's
  line ``total_money`` (after discounts, with additive and inclusive taxes and apportioned service
  charges), and the invoice builder back-calculates VAT from it. Square rounds tax per line
  and FIRS per subtotal, so adding VAT on top could miss Square's total by cents; this way the
  invoice's payable amount is the order's total to the cent.
- Tax: each line carries the tax Square charged on it, to the minor unit (its
  ``total_tax_money``), the summed percentage of its ``applied_taxes`` and their types (ADDITIVE,
  INCLUSIVE). A line Square charged no tax on has rate 0; a line without
  ``total_tax_money`` (a hand-made order) says nothing, and the builder back-calculates it.
  Square's tax type also matters for discounts: an ADDITIVE tax is charged after discounts, so a
  discount saved the buyer its amount plus that tax, and that VAT-inclusive value is what the
  line and order discounts carry.
- Discounts: LINE_ITEM-scoped ones become ``Line.discount``; ORDER-scoped ones (Square spreads
  them over the lines) add up to ``Sale.order_discount``. Both are VAT-inclusive.
- Service charges: apportioned ones are already inside the lines' totals. Any other becomes a
  line of its own: a service charge is part of the supply, and VAT applies to it.
- Tips are a gift to staff, not a supply: they stay off the invoice, so the sale's total is
  ``total_money - total_tip_money``.
- Square has no HS codes. Every line gets the connection's ``default_hs_code`` and
  ``default_product_category`` (the item's classification replaces them when it has one); left
  empty, invoice validation asks for them. The line's ``item_id`` is its catalog object id.
- A cash rounding adjustment cannot be expressed (the FIRS invoice has no rounding amount) and is
  a MappingError, as is anything malformed: every failure names the field.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from integrations.base.canonical import Line, Party, Sale, SaleKind
from integrations.base.connectors import WebhookEvent
from integrations.base.errors import MappingError
from integrations.base.parsing import (
    decimal_text,
    identifier,
    json_body,
    list_at,
    mapping,
    shown,
    text_at,
    timestamp,
)

# ISO 4217 minor-unit digits of every code in Square's Currency enum except those without a
# minor unit (precious metals, bond units, XDR, XTS, XXX) and non-ISO ones (BTC, XUS): an amount
# in those cannot be read, so they are refused like any unknown code.
_ZERO_DIGIT_CURRENCIES = "BIF BYR CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DIGIT_CURRENCIES = "BHD IQD JOD KWD LYD OMR TND"
_TWO_DIGIT_CURRENCIES = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP "
    "BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP "
    "GBP GEL GHS GIP GMD GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD "
    "KZT LAK LBP LKR LRD LSL LTL LVL MAD MDL MGA MKD MMK MNT MOP MRO MUR MVR MWK MXN MXV MYR "
    "MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK "
    "SGD SHP SLE SLL SOS SRD SSP STD SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN "
    "USS UYU UZS VEF WST XCD YER ZAR ZMK ZMW"
)
CURRENCY_DIGITS: Mapping[str, int] = {
    **dict.fromkeys(_ZERO_DIGIT_CURRENCIES.split(), 0),
    **dict.fromkeys(_TWO_DIGIT_CURRENCIES.split(), 2),
    **dict.fromkeys(_THREE_DIGIT_CURRENCIES.split(), 3),
    "CLF": 4,
}

# Square tender types (orders) and payment source types -> FIRS payment-means codes (UNCL4461).
# Types with no clear code (WALLET, BANK_ACCOUNT, gift cards, BNPL, OTHER...) are left out
# rather than guessed; payment means are optional on a FIRS invoice.
PAYMENT_MEANS_BY_SQUARE_TYPE: Mapping[str, str] = {
    "CASH": "10",  # In cash
    "CARD": "48",  # Bank card
    "THIRD_PARTY_CARD": "48",  # a card taken on another processor's terminal
}
# Payments in these states took no money: they say nothing about how the order was paid.
PAYMENT_STATUSES_WITHOUT_MONEY = frozenset({"CANCELED", "FAILED"})
APPORTIONED_SERVICE_CHARGE_PHASES = frozenset(
    {"APPORTIONED_PERCENTAGE_PHASE", "APPORTIONED_AMOUNT_PHASE"}
)

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Square quantities: up to 5 decimal places (OrderQuantityUnit.precision); no signs or exponents.
QUANTITY_PATTERN = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,5})?", re.ASCII)
PERCENTAGE_PATTERN = re.compile(r"[0-9]{1,4}(?:\.[0-9]{1,10})?", re.ASCII)
COUNTRY_PATTERN = re.compile(r"[A-Z]{2}", re.ASCII)
REGION_PATTERN = re.compile(r"[A-Z0-9]{1,3}", re.ASCII)
HUNDRED = Decimal(100)
UNNAMED_LINE = "Custom amount"
UNNAMED_SERVICE_CHARGE = "Service charge"


def order_is_completed(order: object) -> bool:
    """Whether the order is paid in full (COMPLETED). OPEN, DRAFT and CANCELED orders are not
    sales yet, or never will be; an order without a state (a bare batch-retrieve) is not one."""
    return isinstance(order, Mapping) and order.get("state") == "COMPLETED"


def refund_is_completed(refund: object) -> bool:
    """Whether the money went back to the buyer (COMPLETED); PENDING refunds may still fail."""
    return isinstance(refund, Mapping) and refund.get("status") == "COMPLETED"


def sale_from_order(
    order: Mapping,
    *,
    payments: Iterable[Mapping] = (),
    customer: Mapping | None = None,
    default_hs_code: str = "",
    default_product_category: str = "",
    received_at: datetime | None = None,
) -> Sale:
    """The canonical sale of a Square order (RetrieveOrder / SearchOrders / BatchRetrieveOrders).

    ``payments`` are the order's Payments API objects: their source types give payment means
    when the order lists no tenders. ``customer`` is the Customers API object of the order's
    ``customer_id``; without it the buyer is known by id only. ``received_at`` is used only when
    the order carries no timestamp at all. Any order state maps: check ``order_is_completed``
    before invoicing. Raises MappingError naming the field when the order cannot be read.
    """
    order_id = _order_id(order)
    try:
        parts = _order_parts(
            order, hs_code=default_hs_code, product_category=default_product_category
        )
        paid_with = [mapping(payment, f"payments[{i}]") for i, payment in enumerate(payments)]
        for index, payment in enumerate(paid_with):
            payment_order_id = payment.get("order_id")
            if payment_order_id is not None and payment_order_id != order_id:
                raise MappingError(
                    f"payments[{index}] belongs to order {shown(payment_order_id)}, not this one"
                )
        tenders = _tenders(order)
        return Sale(
            external_id=order_id,
            occurred_at=_occurred_at(order, path="order", received_at=received_at),
            currency=parts.currency,
            lines=parts.lines,
            total=_major(parts.total, parts.currency),
            prices_include_tax=True,
            kind=SaleKind.SALE,
            customer=_buyer(order=order, tenders=tenders, payments=paid_with, customer=customer),
            order_discount=_major(parts.order_discount, parts.currency),
            tax_total=parts.tax_total,
            payment_means=_payment_means(tenders=tenders, payments=paid_with),
            location_id=text_at(order, "location_id", path="order"),
            raw=dict(order),
        )
    except MappingError as error:
        raise MappingError(f"Square order {order_id}: {error}") from None


def refund_from_refund_object(
    refund: Mapping,
    *,
    order: Mapping | None,
    default_hs_code: str = "",
    default_product_category: str = "",
) -> Sale:
    """The canonical refund (a FIRS credit note) of a Square PaymentRefund.

    ``original_external_id`` is the id of the sale order the refund gives money back for. A
    refund's own ``order_id`` names the *return* order Square creates for it (in Square's own
    example the refund's order differs from the payment's), so pass the order: a return order
    names its sale in ``returns[].source_order_id``; a sale order is itself the original. Without
    an order the refund's ``order_id`` is all there is, and is used as is.

    The credit note is itemised when the items add up to the refunded amount (a return order's
    returned items, or every item of a fully refunded sale); otherwise it is one line of the
    refunded amount. Check ``refund_is_completed`` before invoicing.
    """
    refund = mapping(refund, "refund")
    refund_id = identifier(refund, "id", path="refund")
    try:
        amount, currency = _money_with_currency(refund, "amount_money", path="refund.amount_money")
        if amount == 0:
            raise MappingError("refund.amount_money is 0: there is nothing to credit")
        lines: tuple[Line, ...] | None = None
        order_discount = 0
        customer = None
        if order is None:
            original_order_id = identifier(refund, "order_id", path="refund")
        else:
            original_order_id, lines, order_discount = _refunded_order(
                order,
                refund_order_id=refund.get("order_id"),
                amount=amount,
                currency=currency,
                hs_code=default_hs_code,
                product_category=default_product_category,
            )
            customer = _buyer(order=order, tenders=_tenders(order), payments=[], customer=None)
        if lines is None:
            reason = text_at(refund, "reason", path="refund")
            lines = (
                Line(
                    name=f"Refund: {reason}" if reason else "Refund",
                    quantity=Decimal(1),
                    unit_price=_major(amount, currency),
                    hs_code=default_hs_code,
                    product_category=default_product_category,
                    external_id=refund_id,
                ),
            )
        destination_type = text_at(refund, "destination_type", path="refund")
        means = PAYMENT_MEANS_BY_SQUARE_TYPE.get(destination_type)
        return Sale(
            external_id=refund_id,
            occurred_at=_occurred_at(refund, path="refund", received_at=None),
            currency=currency,
            lines=lines,
            total=_major(amount, currency),
            prices_include_tax=True,
            kind=SaleKind.REFUND,
            customer=customer,
            order_discount=_major(order_discount, currency),
            payment_means=(means,) if means else (),
            location_id=text_at(refund, "location_id", path="refund"),
            original_external_id=original_order_id,
            raw=dict(refund),
        )
    except MappingError as error:
        raise MappingError(f"Square refund {refund_id}: {error}") from None


def webhook_events(body: bytes) -> list[WebhookEvent]:
    """The event of a (verified) Square webhook delivery: Square sends one per request.

    Envelope: ``{merchant_id, type, event_id, created_at, data: {type, id, object}}``; the
    payload is the whole envelope. Order events carry only ids, state and version: fetch the
    order. Raises MappingError on anything that is not such an envelope.
    """
    envelope = _json_object(body)
    data = mapping(envelope.get("data"), "data")
    mapping(data.get("object"), "data.object")
    return [
        WebhookEvent(
            event_id=identifier(envelope, "event_id", path=""),
            event_type=identifier(envelope, "type", path=""),
            account_id=identifier(envelope, "merchant_id", path=""),
            object_id=identifier(data, "id", path="data"),
            payload=envelope,
        )
    ]


@dataclass(frozen=True)
class _OrderParts:
    currency: str
    lines: tuple[Line, ...]
    order_discount: int  # minor units, VAT-inclusive
    total: int  # minor units: total_money less tips
    tax_total: Decimal | None


def _order_parts(order: Mapping, *, hs_code: str, product_category: str) -> _OrderParts:
    """Lines, order discount and total of a sale order, checked to add up as Square says."""
    total, currency = _money_with_currency(order, "total_money", path="order.total_money")
    tip = _minor_units(order, "total_tip_money", path="order.total_tip_money", currency=currency)
    if tip > total:
        raise MappingError(f"order.total_tip_money {tip} is more than total_money {total}")
    if order.get("rounding_adjustment") is not None and _minor_units(
        mapping(order["rounding_adjustment"], "order.rounding_adjustment"),
        "amount_money",
        path="order.rounding_adjustment.amount_money",
        currency=currency,
    ):
        raise MappingError(
            "the order has a cash rounding adjustment, which a FIRS invoice cannot carry"
        )
    items = list_at(order, "line_items", path="order")
    if not items and order.get("returns"):
        raise MappingError("a return order has no sale to invoice; its refund is a credit note")
    if not items:
        raise MappingError("the order has no line items")
    discounts = _by_uid(order, "discounts")
    taxes = _by_uid(order, "taxes")

    lines: list[Line] = []
    order_discount = paid = 0
    for index, item in enumerate(items):
        line, line_paid, line_order_discount = _line_from_item(
            mapping(item, f"order.line_items[{index}]"),
            path=f"order.line_items[{index}]",
            currency=currency,
            discounts=discounts,
            taxes=taxes,
            hs_code=hs_code,
            product_category=product_category,
        )
        lines.append(line)
        paid += line_paid
        order_discount += line_order_discount
    for index, charge in enumerate(list_at(order, "service_charges", path="order")):
        path = f"order.service_charges[{index}]"
        charge = mapping(charge, path)
        if _is_apportioned(charge, path=path):
            continue  # already inside the totals of the lines it was spread over
        amount = _minor_units(
            charge, "total_money", path=f"{path}.total_money", currency=currency, is_required=True
        )
        charged = _charged_tax(charge, path=path, currency=currency, taxes=taxes)
        lines.append(
            Line(
                name=text_at(charge, "name", path=path) or UNNAMED_SERVICE_CHARGE,
                quantity=Decimal(1),
                unit_price=_major(amount, currency),
                tax_rate=charged.rate,
                hs_code=hs_code,
                product_category=product_category,
                sku=text_at(charge, "catalog_object_id", path=path),
                external_id=text_at(charge, "uid", path=path),
                tax_amount=charged.amount,
                tax_type=charged.types,
                item_id=text_at(charge, "catalog_object_id", path=path),
            )
        )
        paid += amount
    if paid != total - tip:
        raise MappingError(
            f"the lines and service charges come to {paid} minor units, but total_money less "
            f"tips is {total - tip} ({total} - {tip}); Square's totals hold something the "
            "mapping does not"
        )
    tax = _minor_units(order, "total_tax_money", path="order.total_tax_money", currency=currency)
    return _OrderParts(
        currency=currency,
        lines=tuple(lines),
        order_discount=order_discount,
        total=total - tip,
        tax_total=None if order.get("total_tax_money") is None else _major(tax, currency),
    )


def _line_from_item(
    item: Mapping,
    *,
    path: str,
    currency: str,
    discounts: Mapping[str, Mapping],
    taxes: Mapping[str, Mapping],
    hs_code: str,
    product_category: str,
) -> tuple[Line, int, int]:
    """(line, paid, its share of order-scoped discounts): money in minor units, VAT-inclusive."""
    quantity = _quantity(item, path=path)
    paid = _minor_units(
        item, "total_money", path=f"{path}.total_money", currency=currency, is_required=True
    )
    line_discounts, order_discounts = _applied_discounts(
        item, path=path, currency=currency, discounts=discounts
    )
    additive_percent = _additive_tax_percent(item, path=path, taxes=taxes)
    charged = _charged_tax(item, path=path, currency=currency, taxes=taxes)
    line_discount = sum(_with_tax(amount, additive_percent) for amount in line_discounts)
    order_discount = sum(_with_tax(amount, additive_percent) for amount in order_discounts)
    name = text_at(item, "name", path=path) or UNNAMED_LINE
    variation = text_at(item, "variation_name", path=path)
    if variation and variation != name:
        name = f"{name} ({variation})"
    modifiers = [
        text_at(mapping(modifier, f"{path}.modifiers[{i}]"), "name", path=f"{path}.modifiers[{i}]")
        for i, modifier in enumerate(list_at(item, "modifiers", path=path))
    ]
    note = text_at(item, "note", path=path)
    line = Line(
        name=name,
        quantity=quantity,
        unit_price=_unit_price(
            amount=_major(paid + line_discount + order_discount, currency),
            quantity=quantity,
            digits=CURRENCY_DIGITS[currency],
            path=path,
        ),
        discount=_major(line_discount, currency),
        tax_rate=charged.rate,
        hs_code=hs_code,
        product_category=product_category,
        sku=text_at(item, "catalog_object_id", path=path),
        description="; ".join(text for text in [*modifiers, note] if text),
        external_id=text_at(item, "uid", path=path),
        tax_amount=charged.amount,
        tax_type=charged.types,
        item_id=text_at(item, "catalog_object_id", path=path),
    )
    return line, paid, order_discount


@dataclass(frozen=True)
class _ChargedTax:
    amount: Decimal | None  # major units; None when Square does not say
    rate: Decimal | None  # summed percentage; None when a tax has none
    types: str  # the applied taxes' types, e.g. "INCLUSIVE" or "ADDITIVE"


def _charged_tax(
    item: Mapping, *, path: str, currency: str, taxes: Mapping[str, Mapping]
) -> _ChargedTax:
    """The tax Square charged on a line item or service charge, as Square computed it."""
    if item.get("total_tax_money") is None:
        return _ChargedTax(amount=None, rate=None, types="")
    amount = _minor_units(
        item, "total_tax_money", path=f"{path}.total_tax_money", currency=currency
    )
    rate: Decimal | None = Decimal(0)
    types = []
    for index, reference in enumerate(list_at(item, "applied_taxes", path=path)):
        reference_path = f"{path}.applied_taxes[{index}]"
        uid = identifier(mapping(reference, reference_path), "tax_uid", path=reference_path)
        if uid not in taxes:
            raise MappingError(f"{reference_path} names tax {uid}, which the order lacks")
        tax = taxes[uid]
        tax_type = text_at(tax, "type", path=f"order.taxes[uid={uid}]")
        if tax_type and tax_type not in types:
            types.append(tax_type)
        if tax.get("percentage") is None:
            rate = None  # a fixed-amount tax: the amount is known, a rate is not
        elif rate is not None:
            rate += decimal_text(
                tax.get("percentage"),
                path=f"order.taxes[uid={uid}].percentage",
                pattern=PERCENTAGE_PATTERN,
                like="a percentage string like '7.5'",
            )
    if not types and amount:
        rate = None  # tax with no applied taxes named (a hand-made order): its rate is unknown
    return _ChargedTax(amount=_major(amount, currency), rate=rate, types="+".join(types))


def _applied_discounts(
    item: Mapping, *, path: str, currency: str, discounts: Mapping[str, Mapping]
) -> tuple[list[int], list[int]]:
    """The line's discounts in minor units, split into (line-scoped, order-scoped)."""
    total = _minor_units(
        item, "total_discount_money", path=f"{path}.total_discount_money", currency=currency
    )
    applied = list_at(item, "applied_discounts", path=path)
    if not applied:
        # A line without discount references (older or hand-made orders): its own discount.
        return ([total] if total else []), []
    line_scoped, order_scoped = [], []
    for index, reference in enumerate(applied):
        reference_path = f"{path}.applied_discounts[{index}]"
        reference = mapping(reference, reference_path)
        uid = identifier(reference, "discount_uid", path=reference_path)
        if uid not in discounts:
            raise MappingError(f"{reference_path} names discount {uid}, which the order lacks")
        amount = _minor_units(
            reference, "applied_money", path=f"{reference_path}.applied_money", currency=currency
        )
        is_order_scoped = discounts[uid].get("scope") == "ORDER"
        (order_scoped if is_order_scoped else line_scoped).append(amount)
    if item.get("total_discount_money") is not None and sum(line_scoped + order_scoped) != total:
        raise MappingError(
            f"{path}.applied_discounts add up to {sum(line_scoped + order_scoped)}, "
            f"not total_discount_money {total}"
        )
    return line_scoped, order_scoped


def _additive_tax_percent(item: Mapping, *, path: str, taxes: Mapping[str, Mapping]) -> Decimal:
    """The summed rate of the ADDITIVE taxes on the line: charged after its discounts."""
    percent = Decimal(0)
    for index, reference in enumerate(list_at(item, "applied_taxes", path=path)):
        reference_path = f"{path}.applied_taxes[{index}]"
        uid = identifier(mapping(reference, reference_path), "tax_uid", path=reference_path)
        if uid not in taxes:
            raise MappingError(f"{reference_path} names tax {uid}, which the order lacks")
        tax = taxes[uid]
        if tax.get("type") == "ADDITIVE":
            percent += decimal_text(
                tax.get("percentage"),
                path=f"order.taxes[uid={uid}].percentage",
                pattern=PERCENTAGE_PATTERN,
                like="a percentage string like '7.5'",
            )
    return percent


def _with_tax(amount: int, percent: Decimal) -> int:
    """What a pre-tax discount saved the buyer once the additive tax on it is counted."""
    return int((amount * (HUNDRED + percent) / HUNDRED).quantize(Decimal(1), ROUND_HALF_UP))


def _unit_price(*, amount: Decimal, quantity: Decimal, digits: int, path: str) -> Decimal:
    """The shortest unit price for which quantity x price, rounded to the currency, is amount."""
    exact = amount / quantity
    unit = Decimal(1).scaleb(-digits)
    for places in range(digits, digits + 11, 2):
        price = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if (quantity * price).quantize(unit, rounding=ROUND_HALF_UP) == amount:
            return price
    raise MappingError(f"{path}: no unit price gives {amount} for quantity {quantity}")


def _is_apportioned(charge: Mapping, *, path: str) -> bool:
    treatment = text_at(charge, "treatment_type", path=path)
    phase = text_at(charge, "calculation_phase", path=path)
    return treatment == "APPORTIONED_TREATMENT" or phase in APPORTIONED_SERVICE_CHARGE_PHASES


def _refunded_order(
    order: Mapping,
    *,
    refund_order_id: object,
    amount: int,
    currency: str,
    hs_code: str,
    product_category: str,
) -> tuple[str, tuple[Line, ...] | None, int]:
    """(original sale order id, itemised lines or None, order discount) for a refund."""
    order = mapping(order, "order")
    order_id = _order_id(order)
    returns = list_at(order, "returns", path="order")
    if not returns:
        # The sale order itself: itemise only a full refund; which items a partial one gave
        # money back for, the refund does not say.
        parts = _order_parts(order, hs_code=hs_code, product_category=product_category)
        if parts.currency != currency:
            raise MappingError(f"the refund is in {currency}, order {order_id} in {parts.currency}")
        if parts.total == amount:
            return order_id, parts.lines, parts.order_discount
        return order_id, None, 0
    if refund_order_id != order_id:
        raise MappingError(
            f"return order {order_id} is not the refund's order {shown(refund_order_id)}"
        )
    sources, lines, returned = set(), [], 0
    for index, entry in enumerate(returns):
        path = f"order.returns[{index}]"
        entry = mapping(entry, path)
        sources.add(text_at(entry, "source_order_id", path=path))
        for item_index, item in enumerate(list_at(entry, "return_line_items", path=path)):
            item_path = f"{path}.return_line_items[{item_index}]"
            line, paid = _returned_line(
                mapping(item, item_path),
                path=item_path,
                currency=currency,
                hs_code=hs_code,
                product_category=product_category,
            )
            lines.append(line)
            returned += paid
    if len(sources) != 1 or "" in sources:
        raise MappingError(
            f"return order {order_id} does not name one sale order in returns[].source_order_id "
            "(an unlinked return has no invoice to credit)"
        )
    return sources.pop(), (tuple(lines) if lines and returned == amount else None), 0


def _returned_line(
    item: Mapping, *, path: str, currency: str, hs_code: str, product_category: str
) -> tuple[Line, int]:
    """A returned item at what it gives back (its total_money, discounts and taxes included)."""
    quantity = _quantity(item, path=path)
    paid = _minor_units(
        item, "total_money", path=f"{path}.total_money", currency=currency, is_required=True
    )
    return (
        Line(
            name=text_at(item, "name", path=path) or UNNAMED_LINE,
            quantity=quantity,
            unit_price=_unit_price(
                amount=_major(paid, currency),
                quantity=quantity,
                digits=CURRENCY_DIGITS[currency],
                path=path,
            ),
            hs_code=hs_code,
            product_category=product_category,
            sku=text_at(item, "catalog_object_id", path=path),
            external_id=text_at(item, "source_line_item_uid", path=path),
            # What the return gives back of the tax; its rate is the sale's.
            tax_amount=(
                None
                if item.get("total_tax_money") is None
                else _major(
                    _minor_units(
                        item, "total_tax_money", path=f"{path}.total_tax_money", currency=currency
                    ),
                    currency,
                )
            ),
            item_id=text_at(item, "catalog_object_id", path=path),
        ),
        paid,
    )


def _buyer(
    *,
    order: Mapping,
    tenders: list[Mapping],
    payments: list[Mapping],
    customer: Mapping | None,
) -> Party | None:
    """The buyer as Square knows it: never a TIN (Square has none), never an invented one.

    The order's ``customer_id``, else a tender's or payment's (a card on file).
    """
    candidates = [
        text_at(order, "customer_id", path="order"),
        *(text_at(t, "customer_id", path="order.tenders[]") for t in tenders),
        *(text_at(p, "customer_id", path="payments[]") for p in payments),
    ]
    customer_id = next((candidate for candidate in candidates if candidate), "")
    if customer is None:
        return Party(name="", external_id=customer_id) if customer_id else None
    customer = mapping(customer, "customer")
    known_id = identifier(customer, "id", path="customer")
    if customer_id and known_id != customer_id:
        raise MappingError(f"customer {known_id} is not the order's customer {customer_id}")
    return _party_from_customer(customer)


def _party_from_customer(customer: Mapping) -> Party:
    def text(container: Mapping, key: str, path: str) -> str:
        return text_at(container, key, path=path).strip()

    company = text(customer, "company_name", "customer")
    person = " ".join(
        part
        for part in (
            text(customer, "given_name", "customer"),
            text(customer, "family_name", "customer"),
        )
        if part
    )
    address = (
        {} if customer.get("address") is None else mapping(customer["address"], "customer.address")
    )
    country = text(address, "country", "customer.address").upper()
    district = text(address, "administrative_district_level_1", "customer.address").upper()
    street = ", ".join(
        part
        for part in (
            text(address, "address_line_1", "customer.address"),
            text(address, "address_line_2", "customer.address"),
        )
        if part
    )
    return Party(
        # A company is the buyer when Square names one; the person is its contact.
        name=company or person or text(customer, "nickname", "customer"),
        email=text(customer, "email_address", "customer"),
        telephone=text(customer, "phone_number", "customer"),
        street_name=street,
        city_name=text(address, "locality", "customer.address"),
        postal_zone=text(address, "postal_code", "customer.address"),
        # ISO 3166-2 from Square's country + region code ("US" + "NY"); free text is dropped.
        state=f"{country}-{district}"
        if COUNTRY_PATTERN.fullmatch(country) and REGION_PATTERN.fullmatch(district)
        else "",
        # Square leaves the country out of some addresses; Party's default (NG) then stands.
        country=country if COUNTRY_PATTERN.fullmatch(country) else Party.country,
        external_id=identifier(customer, "id", path="customer"),
    )


def _tenders(order: Mapping) -> list[Mapping]:
    return [
        mapping(tender, f"order.tenders[{index}]")
        for index, tender in enumerate(list_at(order, "tenders", path="order"))
    ]


def _payment_means(*, tenders: list[Mapping], payments: list[Mapping]) -> tuple[str, ...]:
    """FIRS codes of how the order was paid: the tenders, else the payments that took money."""
    types = [text_at(tender, "type", path="order.tenders[]") for tender in tenders]
    if not types:
        types = [
            text_at(payment, "source_type", path="payments[]")
            for payment in payments
            if text_at(payment, "status", path="payments[]") not in PAYMENT_STATUSES_WITHOUT_MONEY
        ]
    codes = (PAYMENT_MEANS_BY_SQUARE_TYPE.get(square_type) for square_type in types)
    return tuple(dict.fromkeys(code for code in codes if code))


def _occurred_at(source: Mapping, *, path: str, received_at: datetime | None) -> datetime:
    """When it happened: closed (paid), else created, else last updated, else received."""
    for key in ("closed_at", "created_at", "updated_at"):
        text = text_at(source, key, path=path)
        if text:
            return timestamp(text, path=f"{path}.{key}", standard="RFC 3339")
    if received_at is None:
        raise MappingError(f"{path} has no closed_at, created_at or updated_at")
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    return received_at


def _quantity(item: Mapping, *, path: str) -> Decimal:
    quantity = decimal_text(
        item.get("quantity"),
        path=f"{path}.quantity",
        pattern=QUANTITY_PATTERN,
        like="a decimal string like '1.5'",
    )
    if quantity <= 0:
        raise MappingError(f"{path}.quantity is {quantity}; a sold item has a positive quantity")
    return quantity


def _money_with_currency(container: Mapping, key: str, *, path: str) -> tuple[int, str]:
    """A required amount and its currency, which must be one we know the minor units of."""
    money = mapping(container.get(key), path)
    currency = money.get("currency")
    if not isinstance(currency, str) or currency not in CURRENCY_DIGITS:
        raise MappingError(f"{path}.currency is {shown(currency)}, not a currency Square uses")
    return _minor_units(container, key, path=path, currency=currency, is_required=True), currency


def _minor_units(
    container: Mapping, key: str, *, path: str, currency: str, is_required: bool = False
) -> int:
    """A Money amount in minor units; 0 when absent and optional. Never negative, never float."""
    money = container.get(key)
    if money is None:
        if is_required:
            raise MappingError(f"{path} is missing")
        return 0
    money = mapping(money, path)
    amount = money.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise MappingError(
            f"{path}.amount is a {type(amount).__name__}; Square sends whole minor units"
        )
    if not INT64_MIN <= amount <= INT64_MAX:
        raise MappingError(f"{path}.amount is outside Square's int64 range")
    if amount < 0:
        raise MappingError(f"{path}.amount is negative; Square sends this as an unsigned amount")
    if money.get("currency") != currency:
        raise MappingError(
            f"{path}.currency is {shown(money.get('currency'))}; the order is in {currency} "
            "and nothing is converted"
        )
    return amount


def _major(amount: int, currency: str) -> Decimal:
    """Minor units as an exact Decimal in major units: 12345 NGN kobo -> 123.45."""
    return Decimal(amount).scaleb(-CURRENCY_DIGITS[currency])


def _order_id(order: object) -> str:
    return identifier(mapping(order, "order"), "id", path="order")


def _by_uid(order: Mapping, key: str) -> dict[str, Mapping]:
    entries = {}
    for index, entry in enumerate(list_at(order, key, path="order")):
        entry = mapping(entry, f"order.{key}[{index}]")
        entries[identifier(entry, "uid", path=f"order.{key}[{index}]")] = entry
    return entries


def _json_object(body: bytes) -> Mapping:
    parsed = json_body(body)
    if not isinstance(parsed, dict):
        raise MappingError(f"The webhook body is a JSON {type(parsed).__name__}, not an object")
    return parsed
