"""The order model as Toast computes it, from what a till (or a test) posts. Pure.

A posted order is ``{checks: [{selections: [...], appliedDiscounts?, appliedServiceCharges?,
payments?, customer?}], diningOption?}``; each selection ``{displayName, quantity, price (the
menu's unit price), taxInclusion (NOT_INCLUDED default), taxRate (fraction, 0.075 default),
discountPercent?, voided?}``, a check discount ``{name, percent}``, a service charge ``{name,
chargeAmount | percent, taxable (true), gratuity (false)}``, a payment ``{type, tipAmount}``
(its amount is the check's total). Toast's own rules then give every figure:

- ``preDiscountPrice`` is the gross excluding tax: the menu amount, less its tax for an INCLUDED
  item. ``price`` is net of the selection's and the check's discounts, excluding tax. ``tax`` is
  rounded per selection (an INCLUDED item's tax is what the price held beyond its net).
- A check's ``amount`` is its selections' prices and service charges (not gratuities), excluding
  tax; ``taxAmount`` includes service-charge taxes; ``totalAmount = amount + taxAmount``.
- Payments pay the total; tips ride on them. Money is returned as JSON doubles (floats).
"""

import uuid
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
STANDARD_RATE = Decimal("0.075")


class PricingError(ValueError):
    """A posted order that cannot be priced; the message names the field."""


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _decimal(value: object, *, path: str, default: Decimal | None = None) -> Decimal:
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise PricingError(f"{path} must be a number")
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise PricingError(f"{path} must be a number") from None
    if not number.is_finite() or number < 0:
        raise PricingError(f"{path} must be a non-negative number")
    return number


def _double(value: Decimal) -> float:
    return float(value)


def check_priced(posted: Mapping, *, path: str, now_text: str, order_guid: str) -> dict:
    """A check of a posted order with Toast's figures; its payments CLOSED when it has any."""
    if not isinstance(posted, Mapping):
        raise PricingError(f"{path} must be an object")
    check_discount = sum(
        (
            _decimal(d.get("percent"), path=f"{path}.appliedDiscounts.percent")
            for d in posted.get("appliedDiscounts") or []
        ),
        Decimal(0),
    )
    if check_discount >= 100:
        raise PricingError(f"{path}.appliedDiscounts take 100 % or more")
    selections, amount, tax_amount = [], Decimal(0), Decimal(0)
    for index, item in enumerate(posted.get("selections") or []):
        selection = _selection(
            item, path=f"{path}.selections[{index}]", check_discount=check_discount, now=now_text
        )
        selections.append(selection)
        if not item.get("voided"):
            amount += Decimal(str(selection["price"]))
            tax_amount += Decimal(str(selection["tax"]))
    if not selections:
        raise PricingError(f"{path}.selections must name at least one item")
    charges = []
    for index, charge in enumerate(posted.get("appliedServiceCharges") or []):
        charge_path = f"{path}.appliedServiceCharges[{index}]"
        if "chargeAmount" in charge:
            charged = cents(_decimal(charge["chargeAmount"], path=f"{charge_path}.chargeAmount"))
        else:
            percent = _decimal(charge.get("percent"), path=f"{charge_path}.percent")
            charged = cents(amount * percent / 100)
        rate = STANDARD_RATE if charge.get("taxable", True) else Decimal(0)
        charge_tax = cents(charged * rate)
        gratuity = bool(charge.get("gratuity"))
        if not gratuity:
            amount += charged
            tax_amount += charge_tax
        charges.append(
            {
                "guid": str(uuid.uuid4()),
                "entityType": "AppliedServiceCharge",
                "name": str(charge.get("name") or "Service charge"),
                "chargeAmount": _double(charged),
                "chargeType": "FIXED" if "chargeAmount" in charge else "PERCENT",
                "gratuity": gratuity,
                "taxable": bool(rate),
                "appliedTaxes": ([_applied_tax(rate, charge_tax)] if rate and not gratuity else []),
                "serviceChargeCategory": "SERVICE_CHARGE",
            }
        )
    total = amount + tax_amount
    check_guid = str(uuid.uuid4())
    payments = [
        _payment(
            payment,
            path=f"{path}.payments[{index}]",
            amount=total if index == 0 else Decimal(0),
            now=now_text,
            order_guid=order_guid,
            check_guid=check_guid,
        )
        for index, payment in enumerate(posted.get("payments") or [])
    ]
    check = {
        "guid": check_guid,
        "entityType": "Check",
        "displayNumber": str(posted.get("displayNumber") or ""),
        "openedDate": now_text,
        "createdDate": now_text,
        "modifiedDate": now_text,
        "deleted": False,
        "voided": bool(posted.get("voided")),
        "amount": _double(amount),
        "taxAmount": _double(tax_amount),
        "totalAmount": _double(total),
        "paymentStatus": "CLOSED" if payments else "OPEN",
        "taxExempt": False,
        "appliedDiscounts": [
            {
                "guid": str(uuid.uuid4()),
                "entityType": "CheckAppliedDiscount",
                "name": str(d.get("name") or "Discount"),
                "discountPercent": _double(_decimal(d.get("percent"), path=f"{path}.percent")),
            }
            for d in posted.get("appliedDiscounts") or []
        ],
        "appliedServiceCharges": charges,
        "selections": selections,
        "payments": payments,
    }
    if payments:
        check["paidDate"] = check["closedDate"] = now_text
    customer = posted.get("customer")
    if isinstance(customer, Mapping):
        check["customer"] = {
            "guid": str(uuid.uuid4()),
            "entityType": "Customer",
            **{
                key: str(customer[key])
                for key in ("firstName", "lastName", "phone", "phoneCountryCode", "email")
                if customer.get(key)
            },
        }
    return check


def _selection(item: object, *, path: str, check_discount: Decimal, now: str) -> dict:
    if not isinstance(item, Mapping):
        raise PricingError(f"{path} must be an object")
    quantity = _decimal(item.get("quantity"), path=f"{path}.quantity", default=Decimal(1))
    if quantity <= 0:
        raise PricingError(f"{path}.quantity must be positive")
    unit = _decimal(item.get("price"), path=f"{path}.price")
    rate = _decimal(item.get("taxRate"), path=f"{path}.taxRate", default=STANDARD_RATE)
    inclusion = item.get("taxInclusion") or "NOT_INCLUDED"
    if inclusion not in ("INCLUDED", "NOT_INCLUDED"):
        raise PricingError(f"{path}.taxInclusion must be INCLUDED or NOT_INCLUDED")
    own_discount = _decimal(item.get("discountPercent"), path=path, default=Decimal(0))
    if own_discount >= 100:
        raise PricingError(f"{path}.discountPercent must be under 100")
    kept = (1 - own_discount / 100) * (1 - check_discount / 100)
    menu = cents(unit * quantity)
    if inclusion == "INCLUDED":
        pre_discount = cents(menu / (1 + rate))
        paid = cents(menu * kept)
        tax = cents(paid - paid / (1 + rate))
        price = paid - tax
    else:
        pre_discount = menu
        price = cents(menu * kept)
        tax = cents(price * rate)
    discounts = []
    if own_discount or check_discount:
        discounts.append(
            {
                "guid": str(uuid.uuid4()),
                "entityType": "SelectionAppliedDiscount",
                "name": str(item.get("discountName") or "Discount"),
                "discountAmount": _double(pre_discount - price),
                "nonTaxDiscountAmount": _double(pre_discount - price),
            }
        )
    return {
        "guid": str(uuid.uuid4()),
        "entityType": "MenuItemSelection",
        "displayName": str(item.get("displayName") or "Item"),
        "item": {"guid": str(item.get("itemGuid") or uuid.uuid4()), "entityType": "MenuItem"},
        "quantity": _double(quantity),
        "unitOfMeasure": "NONE",
        "selectionType": "NONE",
        "preDiscountPrice": _double(pre_discount),
        "price": _double(price),
        "receiptLinePrice": _double(unit),
        "tax": _double(tax),
        "voided": bool(item.get("voided")),
        "taxInclusion": inclusion,
        "appliedDiscounts": discounts,
        "modifiers": [],
        "createdDate": now,
        "modifiedDate": now,
        "appliedTaxes": [_applied_tax(rate, tax)] if rate else [],
    }


def _applied_tax(rate: Decimal, amount: Decimal) -> dict:
    return {
        "guid": str(uuid.uuid4()),
        "entityType": "AppliedTaxRate",
        "taxRate": {"guid": "cccc0001-0000-4000-8000-000000000001", "entityType": "TaxRate"},
        "name": "VAT",
        "rate": _double(rate),
        "taxAmount": _double(amount),
        "type": "PERCENT",
    }


def _payment(
    payment: object, *, path: str, amount: Decimal, now: str, order_guid: str, check_guid: str
) -> dict:
    if not isinstance(payment, Mapping):
        raise PricingError(f"{path} must be an object")
    kind = payment.get("type") or "CREDIT"
    if kind not in ("CASH", "CREDIT", "GIFTCARD", "OTHER"):
        raise PricingError(f"{path}.type must be CASH, CREDIT, GIFTCARD or OTHER")
    return {
        "guid": str(uuid.uuid4()),
        "entityType": "OrderPayment",
        "paidDate": now,
        "type": kind,
        "amount": _double(amount),
        "tipAmount": _double(
            cents(_decimal(payment.get("tipAmount"), path=f"{path}.tipAmount", default=Decimal(0)))
        ),
        "paymentStatus": "CAPTURED",
        "refundStatus": "NONE",
        "orderGuid": order_guid,
        "checkGuid": check_guid,
    }


def refund_apply(check: dict, *, amount: Decimal, now: str) -> dict:
    """Refund ``amount`` (tax included, tip excluded) of the check's first payment."""
    if not check.get("payments"):
        raise PricingError("the check has no payment to refund")
    payment = check["payments"][0]
    paid = Decimal(str(payment["amount"]))
    amount = cents(amount)
    if amount <= 0 or amount > paid:
        raise PricingError(f"a refund must be more than 0 and at most the payment's {paid}")
    payment["refundStatus"] = "FULL" if amount == paid else "PARTIAL"
    payment["refund"] = {
        "refundAmount": _double(amount),
        "tipRefundAmount": 0.0,
        "refundDate": now,
        "refundTransaction": {"guid": str(uuid.uuid4()), "entityType": "RefundTransaction"},
    }
    check["modifiedDate"] = now
    return payment["refund"]


def order_priced(posted: Mapping, *, guid: str, now_text: str, business_date: int) -> dict:
    """A posted order with Toast's figures: its checks priced, paid when they have payments."""
    if not isinstance(posted, Mapping):
        raise PricingError("the order must be an object")
    checks = posted.get("checks")
    if not isinstance(checks, list) or not checks:
        raise PricingError("checks must list at least one check")
    priced = [
        check_priced(check, path=f"checks[{index}]", now_text=now_text, order_guid=guid)
        for index, check in enumerate(checks)
    ]
    paid = all(check["paymentStatus"] == "CLOSED" or check["voided"] for check in priced)
    order = {
        "guid": guid,
        "entityType": "Order",
        "openedDate": now_text,
        "createdDate": now_text,
        "modifiedDate": now_text,
        "deleted": False,
        "voided": bool(posted.get("voided")),
        "businessDate": business_date,
        "source": "In Store",
        "displayNumber": str(posted.get("displayNumber") or ""),
        "approvalStatus": "APPROVED",
        "checks": priced,
    }
    if paid:
        order["paidDate"] = order["closedDate"] = now_text
    return order
