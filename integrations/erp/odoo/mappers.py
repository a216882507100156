"""Odoo records -> canonical documents, and automation-webhook bodies -> events.

A customer invoice, receipt or credit note (``account.move``) is read with its lines
(``account.move.line``), the taxes of its product lines (``account.tax``) and its buyer
(``res.partner``). Money is ``Decimal`` (the client reads Odoo's floats so), every line is Odoo's
own ``price_subtotal``, each rate's tax is what Odoo booked on its tax lines, and the whole must
come to ``amount_untaxed`` / ``amount_tax`` / ``amount_total`` to the cent, or the move is not
mapped. Many2one values are ``[id, name]`` in reads and bare ids in webhooks; empty ones are
``false`` in both.
"""

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from integrations.base.canonical import Document, DocumentKind, DocumentTax, Line, Party
from integrations.base.connectors import WebhookEvent
from integrations.base.errors import MappingError
from integrations.base.parsing import json_body, mapping, shown
from integrations.erp.odoo import constants
from invoices.validation import round2

LAGOS = ZoneInfo("Africa/Lagos")
ZERO = Decimal(0)
HUNDRED = Decimal(100)
# Places tried for a net unit price derived from a price-included one.
UNIT_PRICE_PLACES = range(2, 11)
# What a webhook event keeps of its delivery: it is a hint to re-read, not data.
HINT_KEYS = ("_model", "_id", "_action")


# --- webhooks ---------------------------------------------------------------------------------


def webhook_events(body: bytes) -> list[WebhookEvent]:
    """The one event of an automation rule's "Send Webhook Notification" POST: the record it
    names. Its id is the body's digest, so the same delivery sent twice is stored once."""
    payload = mapping(json_body(body), "the webhook body")
    model, record_id = payload.get("_model"), payload.get("_id")
    if not isinstance(model, str) or not model.strip():
        raise MappingError(f"_model is {shown(model)}, not a model name")
    if isinstance(record_id, bool) or not isinstance(record_id, int) or record_id <= 0:
        raise MappingError(f"_id is {shown(record_id)}, not a record id")
    return [
        WebhookEvent(
            event_id=hashlib.sha256(bytes(body)).hexdigest(),
            event_type=model[:100],
            account_id="",
            object_id=str(record_id),
            payload={key: payload[key] for key in HINT_KEYS if key in payload},
        )
    ]


def event_names_a_move(payload) -> bool:
    """Whether a hint is about a journal entry (the rule may be set on another model)."""
    return isinstance(payload, Mapping) and payload.get("_model") == constants.MOVE


# --- documents --------------------------------------------------------------------------------


def document_from_odoo(
    move: Mapping,
    *,
    lines: Iterable[Mapping],
    taxes: Mapping[int, Mapping],
    partner: Mapping | None,
    states: Mapping[int, Mapping],
    default_hs_code: str = "",
    default_product_category: str = "",
) -> Document:
    """The canonical document of a customer move, its lines described by the connection's
    defaults until the catalog classifies their items. MappingError, naming the field, when
    the move is not a customer document or its lines and taxes do not make its totals."""
    path = f"account.move {move.get('id')}"
    move_type = _text(move, "move_type", path)
    if move_type not in constants.SALE_MOVE_TYPES:
        raise MappingError(f"{path}.move_type is {move_type!r}, not a customer document")
    state = _text(move, "state", path)
    lines = list(lines)
    product_lines = [line for line in lines if line.get("display_type") == constants.PRODUCT_LINE]
    mapped = [
        _line(
            line,
            taxes=taxes,
            path=f"{path} line {line.get('id')}",
            hs_code=default_hs_code,
            product_category=default_product_category,
        )
        for line in product_lines
    ]
    document_taxes = _document_taxes(
        mapped, lines=lines, taxes=taxes, credit=move_type == constants.CREDIT_NOTE_TYPE, path=path
    )
    _check_totals(move, lines=[line for line, _rate in mapped], taxes=document_taxes, path=path)
    reversed_entry = _many2one_id(move.get("reversed_entry_id"), f"{path}.reversed_entry_id")
    return Document(
        external_id=str(move["id"]),
        number=_text(move, "name", path),
        kind=(
            DocumentKind.CREDIT_NOTE
            if move_type == constants.CREDIT_NOTE_TYPE
            else DocumentKind.INVOICE
        ),
        issued_at=_issued_at(move.get("invoice_date"), path=f"{path}.invoice_date"),
        modified_at=odoo_datetime(move.get("write_date"), path=f"{path}.write_date"),
        currency=_currency(move.get("currency_id"), path=f"{path}.currency_id"),
        lines=tuple(line for line, _rate in mapped),
        taxes=document_taxes,
        total=_money(move, "amount_total", path),
        is_posted=state == constants.POSTED,
        buyer=_party(partner, states=states) if partner else None,
        state=state,
        is_paid=move.get("payment_state") in constants.PAID_STATES,
        original_external_id=str(reversed_entry) if reversed_entry else "",
        is_cancelled=state == constants.CANCELLED,
        # Kept as JSON: Odoo's numbers as the exact decimal text they were read as.
        raw=json.loads(json.dumps(move, default=str)),
    )


def _line(
    line: Mapping, *, taxes: Mapping[int, Mapping], path: str, hs_code: str, product_category: str
) -> tuple[Line, Decimal]:
    """The line with a net unit price and a money discount whose arithmetic gives Odoo's own
    ``price_subtotal``, and its VAT rate."""
    quantity = _number(line, "quantity", path)
    price_unit = _number(line, "price_unit", path)
    discount_percent = _number(line, "discount", path)
    subtotal = _money(line, "price_subtotal", path)
    total = _money(line, "price_total", path)
    if quantity <= 0 or subtotal < 0:
        raise MappingError(
            f"{path} has quantity {quantity} and subtotal {subtotal}; a negative line belongs "
            "on a credit note"
        )
    line_taxes = [_tax(taxes, tax_id, path=path) for tax_id in _ids(line.get("tax_ids"), path)]
    charged = [tax for tax in line_taxes if _number(tax, "amount", "account.tax") != 0]
    if len(charged) > 1:
        names = ", ".join(str(tax.get("name")) for tax in charged)
        raise MappingError(
            f"{path} carries {len(charged)} taxes ({names}); an e-invoice line has one VAT rate"
        )
    rate = _number(charged[0], "amount", "account.tax") if charged else ZERO
    included = any(tax.get("price_include") is True for tax in line_taxes)
    gross = _gross_before_discount(
        quantity=quantity,
        price_unit=price_unit,
        discount_percent=discount_percent,
        subtotal=subtotal,
        rate=rate,
        included=included,
    )
    fits = round2(quantity * price_unit) == gross
    unit_price = price_unit if fits else _unit_price(gross, quantity)
    product = line.get("product_id")
    return (
        Line(
            name=_text(line, "name", path) or _many2one_name(product) or "Item",
            quantity=quantity,
            unit_price=unit_price,
            discount=gross - subtotal,
            tax_rate=rate,
            tax_amount=total - subtotal,
            tax_type="price_included" if included else "price_excluded",
            hs_code=hs_code,
            product_category=product_category,
            external_id=str(line.get("id", "")),
            item_id=str(_many2one_id(product, f"{path}.product_id") or ""),
        ),
        rate,
    )


def _gross_before_discount(
    *, quantity, price_unit, discount_percent, subtotal, rate, included
) -> Decimal:
    """The line's net amount before its discount, to the cent."""
    if not included:
        gross = round2(quantity * price_unit)
        if gross >= subtotal:
            return gross
    if discount_percent <= 0:
        return subtotal
    if discount_percent < HUNDRED:
        return round2(subtotal * HUNDRED / (HUNDRED - discount_percent))
    net_price = price_unit * HUNDRED / (HUNDRED + rate) if included else price_unit
    return round2(quantity * net_price)


def _unit_price(gross: Decimal, quantity: Decimal) -> Decimal:
    """The shortest unit price whose line (rounded to the cent) is ``gross``."""
    for places in UNIT_PRICE_PLACES:
        price = (gross / quantity).quantize(Decimal(1).scaleb(-places))
        if round2(quantity * price) == gross:
            return price
    return gross / quantity


def _document_taxes(mapped, *, lines, taxes, credit: bool, path: str) -> tuple[DocumentTax, ...]:
    """One subtotal per rate: its lines' net amounts and the tax Odoo booked for it on the
    move's tax lines (the product lines' own taxes when Odoo wrote none)."""
    taxable, line_tax = defaultdict(lambda: ZERO), defaultdict(lambda: ZERO)
    for line, rate in mapped:
        taxable[rate] += round2(line.quantity * line.unit_price) - line.discount
        line_tax[rate] += line.tax_amount
    booked = defaultdict(lambda: ZERO)
    tax_lines = [line for line in lines if line.get("display_type") == constants.TAX_LINE]
    for tax_line in tax_lines:
        where = f"{path} tax line {tax_line.get('id')}"
        tax = _tax(taxes, _many2one_id(tax_line.get("tax_line_id"), where), path=where)
        amount = _money(tax_line, "amount_currency", where)
        # Tax lines are credits on an invoice, debits on a credit note.
        booked[_number(tax, "amount", "account.tax")] += amount if credit else -amount
    unknown = sorted(set(booked) - set(taxable))
    if unknown:
        raise MappingError(f"{path} books tax at {unknown} % on no product line")
    return tuple(
        DocumentTax(
            rate=rate,
            taxable_amount=taxable[rate],
            tax_amount=booked[rate] if tax_lines else line_tax[rate],
        )
        for rate in sorted(taxable, reverse=True)
    )


def _check_totals(move: Mapping, *, lines: list[Line], taxes, path: str) -> None:
    untaxed = sum((tax.taxable_amount for tax in taxes), ZERO)
    tax_total = sum((tax.tax_amount for tax in taxes), ZERO)
    for field, mine in (
        ("amount_untaxed", untaxed),
        ("amount_tax", tax_total),
        ("amount_total", untaxed + tax_total),
    ):
        odoo = _money(move, field, path)
        if mine != odoo:
            raise MappingError(
                f"{path}: its product lines and tax lines come to {field} {mine}, "
                f"but Odoo's {field} is {odoo}"
            )
    if not lines:
        raise MappingError(f"{path} has no product lines")


def _party(partner: Mapping, *, states: Mapping[int, Mapping]) -> Party:
    path = f"res.partner {partner.get('id')}"
    country = _text(partner, "country_code", path).upper() or "NG"
    state_id = _many2one_id(partner.get("state_id"), f"{path}.state_id")
    state = states.get(state_id) if state_id else None
    state_code = _text(state, "code", "res.country.state") if state else ""
    street = ", ".join(
        part for part in (_text(partner, "street", path), _text(partner, "street2", path)) if part
    )
    return Party(
        name=_text(partner, "name", path) or "Customer",
        tin=_text(partner, "vat", path).strip(),
        email=_text(partner, "email", path),
        telephone=_text(partner, "phone", path),
        street_name=street,
        city_name=_text(partner, "city", path),
        postal_zone=_text(partner, "zip", path),
        state=f"{country}-{state_code.upper()}" if state_code else "",
        country=country,
        external_id=str(partner.get("id", "")),
    )


# --- Odoo's values ------------------------------------------------------------------------------


def odoo_datetime(value, *, path: str) -> datetime:
    """Odoo's naive UTC ``YYYY-MM-DD HH:MM:SS``, made aware."""
    try:
        return datetime.strptime(value, constants.DATETIME_FORMAT).replace(tzinfo=UTC)
    except (TypeError, ValueError):
        raise MappingError(f"{path} is {shown(value)}, not Odoo's 'YYYY-MM-DD HH:MM:SS'") from None


def odoo_datetime_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(constants.DATETIME_FORMAT)


def _issued_at(value, *, path: str) -> datetime:
    """The invoice date, at noon in Lagos (the date is what the IRN and FIRS read)."""
    try:
        day = date.fromisoformat(value)
    except (TypeError, ValueError):
        raise MappingError(f"{path} is {shown(value)}, not a date") from None
    return datetime.combine(day, time(12), tzinfo=LAGOS)


def _currency(value, *, path: str) -> str:
    name = _many2one_name(value)
    if len(name) != 3 or not name.isalpha():
        raise MappingError(f"{path} is {shown(value)}, not [id, 'ISO code']")
    return name.upper()


def _tax(taxes: Mapping[int, Mapping], tax_id, *, path: str) -> Mapping:
    tax = taxes.get(tax_id)
    if tax is None:
        raise MappingError(f"{path} names tax {tax_id!r}, which account.tax did not return")
    amount_type = tax.get("amount_type")
    if amount_type != "percent":
        raise MappingError(
            f"{path}: tax {tax.get('name')!r} is of type {amount_type!r}; only percentages are "
            "VAT rates"
        )
    return tax


def _many2one_id(value, path: str) -> int | None:
    """The id of ``[id, name]``, of a bare id, or None for ``false``."""
    if value is False or value is None:
        return None
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise MappingError(f"{path} is {shown(value)}, not a record reference")
    return value


def _many2one_name(value) -> str:
    if isinstance(value, list) and len(value) == 2 and isinstance(value[1], str):
        return value[1]
    return ""


def _ids(value, path: str) -> list[int]:
    if value is False or value is None:
        return []
    if not isinstance(value, list) or not all(
        isinstance(item, int) and not isinstance(item, bool) for item in value
    ):
        raise MappingError(f"{path}.tax_ids is {shown(value)}, not a list of ids")
    return value


def _text(record: Mapping, key: str, path: str) -> str:
    """Text, with Odoo's ``false`` for empty."""
    value = record.get(key)
    if value is False or value is None:
        return ""
    if not isinstance(value, str):
        raise MappingError(f"{path}.{key} is {shown(value)}, not text")
    return value


def _number(record: Mapping, key: str, path: str) -> Decimal:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise MappingError(f"{path}.{key} is {shown(value)}, not a number")
    number = Decimal(value)
    if not number.is_finite():
        raise MappingError(f"{path}.{key} is not a finite number")
    return number


def _money(record: Mapping, key: str, path: str) -> Decimal:
    """A monetary field, which Odoo rounds to the currency's cent before storing it."""
    return round2(_number(record, key, path))
