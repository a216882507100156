"""Canonical ``Sale`` / ``Deal`` / ``Document`` -> FIRS invoice JSON. Pure: no database, no
HTTP.

Money is ``Decimal`` throughout and leaves as JSON numbers only in the returned dict, so the
payload can go straight to ``json.dumps`` or a JSONField. The arithmetic follows UBL/EN16931:
lines are rounded to the cent, VAT is computed once per tax subtotal (ROUND_HALF_UP), and every
total is derived from those rounded parts so the equalities hold exactly.

Each line is taxed as the platform charged it: the tax a line carries (``Line.tax_amount``) is
its VAT to the cent, and a category's VAT is the sum of its lines'. Only lines whose platform
gives no tax amount are computed: VAT-inclusive prices (most POS sales) are split into net and
VAT, exclusive ones get the rate on top. The HS code describes the item and never decides its
tax; either way the payable amount is the sale's total to the cent. An ERP document has booked
its taxes already: its own tax amounts are used as they are (an ERP may round per line), and its
taxable amounts and total must agree with its lines.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from integrations.base.canonical import (
    Deal,
    Document,
    DocumentKind,
    DocumentTax,
    Line,
    Party,
    Sale,
    SaleKind,
)
from invoices.codes import STANDARD_VAT, ZERO_VAT, CodeLists, InvoicePurpose
from invoices.irn import irn_make
from invoices.validation import CENT, round2

if TYPE_CHECKING:
    from accounts.models import Organization

LAGOS = ZoneInfo("Africa/Lagos")
ZERO = Decimal(0)
HUNDRED = Decimal(100)
# A label, not an identity: FIRS wants a buyer party even for an anonymous till sale.
WALK_IN_CUSTOMER_NAME = "Walk-in customer"
ISO_3166_2_PATTERN = re.compile(r"[A-Z]{2}-[A-Z0-9]{1,3}")


class InvoiceBuildError(ValueError):
    """The source cannot become an invoice as it is: a mapping or data problem, not transient."""


@dataclass(frozen=True)
class InvoiceReference:
    """The invoice a credit note corrects (``billing_reference``)."""

    irn: str
    issue_date: date


@dataclass(frozen=True)
class TaxCategory:
    id: str
    percent: Decimal


@dataclass(frozen=True)
class _Document:
    """What the builder needs from a Sale, a Deal or a Document, with refunds turned positive."""

    purpose: InvoicePurpose
    currency: str
    lines: tuple[Line, ...]
    prices_include_tax: bool
    order_discount: Decimal
    expected_total: Decimal | None  # checked for VAT-inclusive sales: payable must equal it
    buyer: Party | None
    is_settled_at_till: bool
    is_delivered_at_till: bool
    payment_means_codes: tuple[str, ...]
    note: str
    # The source's own taxes (an ERP document's), used instead of computing VAT; None computes.
    own_taxes: tuple[DocumentTax, ...] | None = None
    # Checked when the source states it (an ERP document): payable must equal it.
    expected_payable: Decimal | None = None


@dataclass(frozen=True)
class _LineAmounts:
    line: Line
    category: TaxCategory
    amount: Decimal  # line total after its discount: VAT-inclusive when prices include tax
    net_discount: Decimal
    line_extension: Decimal
    price: Decimal


@dataclass(frozen=True)
class _Subtotal:
    category: TaxCategory
    taxable: Decimal
    tax: Decimal
    allowance: Decimal  # the part of the order discount that falls in this category, net


def invoice_build(
    *,
    source: Sale | Deal | Document,
    supplier: "Organization",
    codes: CodeLists,
    invoice_number: str,
    issue_datetime: datetime,
    service_id: str,
    business_id: object,
    billing_reference: InvoiceReference | None = None,
) -> dict:
    """The FIRS invoice (or credit note, for a refund) for a POS sale, a won CRM deal or a posted
    ERP document.

    Raises ``InvoiceBuildError`` when the source cannot be invoiced as it is (negative lines in a
    sale, a tax rate below 0 % or above 100 %, a refund without the original invoice, lines that
    do not add up to a VAT-inclusive sale's total) and ``ValueError`` for a bad IRN part.
    The issue date and time are Lagos time; a naive ``issue_datetime`` is taken as Lagos time.
    """
    document = _document_from_source(source)
    if document.purpose == "credit_note" and billing_reference is None:
        raise InvoiceBuildError(
            "A refund becomes a credit note, which must reference the original invoice: "
            "pass billing_reference with its IRN and issue date"
        )
    if not document.lines:
        raise InvoiceBuildError("The source has no lines; a FIRS invoice needs at least one")

    line_amounts = _line_amounts_priced(document=document, codes=codes)
    categories = _categories_in_order(line_amounts)
    allowances = _allocate(
        amount=document.order_discount,
        weights=[_category_amount(line_amounts, category) for category in categories],
    )
    subtotals = []
    for category, allowance in zip(categories, allowances, strict=True):
        if document.own_taxes is not None:
            subtotal = _category_own_tax(
                line_amounts=line_amounts, category=category, taxes=document.own_taxes
            )
        elif document.prices_include_tax:
            line_amounts, subtotal = _category_split_inclusive(
                line_amounts=line_amounts, category=category, gross_allowance=allowance
            )
        else:
            subtotal = _category_split_exclusive(
                line_amounts=line_amounts, category=category, allowance=allowance
            )
        subtotals.append(subtotal)

    line_extension_total = sum((amounts.line_extension for amounts in line_amounts), ZERO)
    allowance_total = sum((subtotal.allowance for subtotal in subtotals), ZERO)
    tax_exclusive = line_extension_total - allowance_total
    tax_total = sum((subtotal.tax for subtotal in subtotals), ZERO)
    # For VAT-inclusive sales this is the sale total: each category's taxable + VAT is its paid
    # gross, and _line_amounts_priced checked that those add up to the total.
    tax_inclusive = tax_exclusive + tax_total
    if document.expected_payable is not None and tax_inclusive != document.expected_payable:
        raise InvoiceBuildError(
            f"The lines and taxes come to {tax_inclusive}, not the document's total "
            f"{document.expected_payable}"
        )
    if document.own_taxes is not None:
        _own_taxes_all_used(document.own_taxes, categories)

    issued_at = issue_datetime.astimezone(LAGOS) if issue_datetime.tzinfo else issue_datetime
    issue_date = issued_at.date()
    buyer = document.buyer
    payload: dict = {
        "business_id": str(business_id),
        "irn": irn_make(
            invoice_number=invoice_number, service_id=service_id, issue_date=issue_date
        ),
        "issue_date": issue_date.isoformat(),
        "issue_time": issued_at.strftime("%H:%M:%S"),
        "invoice_type_code": codes.invoice_type_for(document.purpose),
        # FIRS marks both buyer TIN and email "now mandatory", but an anonymous or private buyer
        # has no TIN and we must never invent one. Without a TIN the invoice is B2C (reporting,
        # not clearance) and the "tin" key is left out rather than sent empty, so FIRS sees a
        # missing field, not a malformed one (FIRS has not said what an anonymous buyer's TIN is).
        "invoice_kind": "B2B" if buyer is not None and buyer.tin else "B2C",
        "payment_status": "PAID" if document.is_settled_at_till else "PENDING",
        "document_currency_code": document.currency,
        # No conversion and no invented rate: the tax currency is the document currency.
        "tax_currency_code": document.currency,
    }
    if document.note:
        payload["note"] = document.note
    if billing_reference is not None:
        payload["billing_reference"] = [
            {
                "irn": billing_reference.irn,
                "issue_date": billing_reference.issue_date.isoformat(),
            }
        ]
    payload["accounting_supplier_party"] = _supplier_party(supplier)
    payload["accounting_customer_party"] = _customer_party(buyer)
    if document.is_delivered_at_till:
        payload["actual_delivery_date"] = issue_date.isoformat()
    if document.payment_means_codes:
        payload["payment_means"] = [
            {"payment_means_code": code, "payment_due_date": issue_date.isoformat()}
            for code in document.payment_means_codes
        ]
    if allowance_total:
        payload["allowance_charge"] = [
            {"charge_indicator": False, "amount": float(allowance_total)}
        ]
    payload["tax_total"] = [
        {
            "tax_amount": float(tax_total),
            "tax_subtotal": [
                {
                    "taxable_amount": float(subtotal.taxable),
                    "tax_amount": float(subtotal.tax),
                    "tax_category": {
                        "id": subtotal.category.id,
                        "percent": _json_number(subtotal.category.percent),
                    },
                }
                for subtotal in subtotals
            ],
        }
    ]
    payload["legal_monetary_total"] = {
        "line_extension_amount": float(line_extension_total),
        "tax_exclusive_amount": float(tax_exclusive),
        "tax_inclusive_amount": float(tax_inclusive),
        # The MBS schema has no prepaid or rounding amounts, so payable = tax inclusive.
        "payable_amount": float(tax_inclusive),
    }
    payload["invoice_line"] = [
        _invoice_line(amounts=amounts, currency=document.currency) for amounts in line_amounts
    ]
    return payload


def _document_from_source(source: Sale | Deal | Document) -> _Document:
    if isinstance(source, Sale):
        return _document_from_sale(source)
    if isinstance(source, Deal):
        return _document_from_deal(source)
    if isinstance(source, Document):
        return _document_from_erp(source)
    raise TypeError(f"Cannot build an invoice from {type(source).__name__}")


def _document_from_sale(sale: Sale) -> _Document:
    is_refund = sale.kind == SaleKind.REFUND
    lines = sale.lines
    order_discount = sale.order_discount
    total = sale.total
    if is_refund:
        # Platforms sign refunds either way; a credit note carries positive amounts and its type
        # code gives the direction (the UBL convention).
        lines = tuple(
            replace(
                line,
                quantity=abs(line.quantity),
                unit_price=abs(line.unit_price),
                discount=abs(line.discount),
                tax_amount=None if line.tax_amount is None else abs(line.tax_amount),
            )
            for line in lines
        )
        order_discount = abs(order_discount)
        total = abs(total)
    return _Document(
        purpose="credit_note" if is_refund else "invoice",
        currency=sale.currency.upper(),
        lines=lines,
        prices_include_tax=sale.prices_include_tax,
        order_discount=order_discount,
        expected_total=total if sale.prices_include_tax else None,
        buyer=sale.customer,
        is_settled_at_till=True,
        is_delivered_at_till=not is_refund,
        # Mappers give FIRS payment-means codes; an unknown one is reported by validation.
        payment_means_codes=tuple(dict.fromkeys(sale.payment_means)),
        note="",
    )


def _document_from_deal(deal: Deal) -> _Document:
    # A deal without products still has an amount: invoice it as one line. Its HS code and
    # product category are then empty and validation asks for them.
    lines = deal.lines or (Line(name=deal.name, quantity=Decimal(1), unit_price=deal.amount),)
    return _Document(
        purpose="invoice",
        currency=deal.currency.upper(),
        lines=lines,
        prices_include_tax=deal.prices_include_tax,
        order_discount=ZERO,
        expected_total=None,
        buyer=deal.buyer,
        is_settled_at_till=False,
        is_delivered_at_till=False,
        payment_means_codes=(),
        note=deal.name,
    )


def _document_from_erp(erp_document: Document) -> _Document:
    if not erp_document.is_posted:
        raise InvoiceBuildError(
            f"Document {erp_document.number or erp_document.external_id} is not posted "
            f"({erp_document.state or 'draft'}); only posted documents are invoiced"
        )
    return _Document(
        purpose="credit_note" if erp_document.kind == DocumentKind.CREDIT_NOTE else "invoice",
        currency=erp_document.currency.upper(),
        lines=erp_document.lines,
        prices_include_tax=False,
        order_discount=ZERO,
        expected_total=None,
        buyer=erp_document.buyer,
        is_settled_at_till=erp_document.is_paid,
        is_delivered_at_till=False,
        payment_means_codes=(),
        note=erp_document.number,
        own_taxes=erp_document.taxes,
        expected_payable=erp_document.total,
    )


def _category_own_tax(
    *, line_amounts: Sequence[_LineAmounts], category: TaxCategory, taxes: Sequence[DocumentTax]
) -> _Subtotal:
    """The category's subtotal with the tax the document booked for its rate. Its taxable
    amount must be the lines' (net): a document whose taxes do not match its lines is refused,
    not corrected."""
    taxable = _category_amount(line_amounts, category)
    booked = [tax for tax in taxes if tax.rate == category.percent]
    if not booked:
        raise InvoiceBuildError(
            f"The document has lines taxed at {category.percent} % but no tax at that rate"
        )
    booked_taxable = sum((round2(tax.taxable_amount) for tax in booked), ZERO)
    if booked_taxable != taxable:
        raise InvoiceBuildError(
            f"The document's tax at {category.percent} % is on {booked_taxable}, but its lines "
            f"at that rate come to {taxable}"
        )
    return _Subtotal(
        category=category,
        taxable=taxable,
        tax=sum((round2(tax.tax_amount) for tax in booked), ZERO),
        allowance=ZERO,
    )


def _own_taxes_all_used(taxes: Sequence[DocumentTax], categories: Sequence[TaxCategory]) -> None:
    used = {category.percent for category in categories}
    unused = sorted({tax.rate for tax in taxes} - used)
    if unused:
        rates = ", ".join(f"{rate} %" for rate in unused)
        raise InvoiceBuildError(f"The document has taxes at {rates} but no lines at that rate")


def _line_tax_category(line: Line, codes: CodeLists) -> TaxCategory:
    """The category of the tax the line was charged, at the rate it was charged: none charged
    is zero-rated, an unknown rate is the standard one, and any other rate is signed as it is
    (the tenant is alerted to it, catalog.services.tax_alerts_record)."""
    standard_percent = codes.tax_percent(STANDARD_VAT)
    zero_percent = codes.tax_percent(ZERO_VAT)
    if standard_percent is None or zero_percent is None:
        raise InvoiceBuildError(
            f"The FIRS tax-categories list gives no percent for {STANDARD_VAT} or {ZERO_VAT}"
        )
    rate = line.tax_rate
    if rate is None:
        # No rate given: none charged is zero-rated; otherwise the standard rate.
        rate = zero_percent if line.tax_amount == 0 else standard_percent
    if rate == zero_percent and line.tax_amount:
        raise InvoiceBuildError(
            f"Line {line.name!r} was charged {line.tax_amount} tax at a rate of 0 %"
        )
    try:
        category = codes.vat_category_for(rate)
    except ValueError as exc:
        raise InvoiceBuildError(f"Line {line.name!r} is taxed at {rate} %: {exc}") from None
    return TaxCategory(id=category, percent=rate)


def _line_amounts_priced(*, document: _Document, codes: CodeLists) -> list[_LineAmounts]:
    """Each line's total after its own discount, to the cent as a till prints it.

    Also checks the order discount and, for a VAT-inclusive sale, that lines less discount make
    the sale total, which is what lets the payable amount equal it.
    """
    line_amounts = []
    for line in document.lines:
        if line.quantity <= 0 or line.unit_price < 0 or line.discount < 0:
            raise InvoiceBuildError(
                f"Line {line.name!r} has quantity {line.quantity}, unit price {line.unit_price} "
                f"and discount {line.discount}; an invoice needs a positive quantity and no "
                "negative amounts (returns belong on a credit note)"
            )
        discount = round2(line.discount)
        # Round the line, then take the discount off, as a till does.
        amount = round2(line.quantity * line.unit_price) - discount
        if amount < 0:
            raise InvoiceBuildError(f"Line {line.name!r} has a discount larger than its amount")
        category = _line_tax_category(line, codes)
        line_amounts.append(
            _LineAmounts(
                line=line,
                category=category,
                amount=amount,
                net_discount=(
                    _net_of_vat(discount, category.percent)
                    if document.prices_include_tax
                    else discount
                ),
                line_extension=amount,
                price=(
                    ZERO  # set from the net amount in _category_split_inclusive
                    if document.prices_include_tax
                    else _unit_price(
                        line_extension=amount,
                        discount=discount,
                        quantity=line.quantity,
                        quoted=line.unit_price,
                    )
                ),
            )
        )
    order_discount = document.order_discount
    basket = sum((amounts.amount for amounts in line_amounts), ZERO)
    if order_discount < 0 or order_discount != round2(order_discount) or order_discount > basket:
        raise InvoiceBuildError(
            f"Order discount {order_discount} must be whole cents between 0 and the basket {basket}"
        )
    if document.expected_total is not None and basket - order_discount != document.expected_total:
        raise InvoiceBuildError(
            f"The lines ({basket}) less the order discount ({order_discount}) come to "
            f"{basket - order_discount}, not the sale total {document.expected_total}; the sale "
            "holds something the lines do not (a tip, a service charge, a mapping gap)"
        )
    return line_amounts


def _categories_in_order(line_amounts: Sequence[_LineAmounts]) -> list[TaxCategory]:
    """One subtotal per (category, percent), highest rate first as in the FIRS examples."""
    categories = {amounts.category for amounts in line_amounts}
    return sorted(categories, key=lambda category: (-category.percent, category.id))


def _category_amount(line_amounts: Sequence[_LineAmounts], category: TaxCategory) -> Decimal:
    return sum((amounts.amount for amounts in line_amounts if amounts.category == category), ZERO)


def _category_split_exclusive(
    *, line_amounts: Sequence[_LineAmounts], category: TaxCategory, allowance: Decimal
) -> _Subtotal:
    taxable = _category_amount(line_amounts, category) - allowance
    charged = _charged_tax(line_amounts, category)
    return _Subtotal(
        category=category,
        taxable=taxable,
        tax=round2(taxable * category.percent / HUNDRED) if charged is None else charged,
        allowance=allowance,
    )


def _charged_tax(line_amounts: Sequence[_LineAmounts], category: TaxCategory) -> Decimal | None:
    """The tax the platform charged on the category's lines, or None when a line does not say
    (then the category's tax is computed from its rate)."""
    taxes = [amounts.line.tax_amount for amounts in line_amounts if amounts.category == category]
    if any(tax is None for tax in taxes):
        return None
    return sum((round2(tax) for tax in taxes), ZERO)


def _category_split_inclusive(
    *, line_amounts: list[_LineAmounts], category: TaxCategory, gross_allowance: Decimal
) -> tuple[list[_LineAmounts], _Subtotal]:
    """Back-calculate net amounts from the VAT-inclusive amounts the customer paid.

    The category's paid gross (lines less its share of the order discount) splits into taxable
    plus VAT exactly, the VAT being what the platform charged when every line says; the net
    allowance is the discount without VAT; the lines' net amounts are the paid amounts less
    their charged VAT, or, with an order discount or a VAT to compute, that taxable plus
    allowance spread over the lines in proportion to their gross, in cents.
    """
    paid_gross = _category_amount(line_amounts, category) - gross_allowance
    charged = _charged_tax(line_amounts, category)
    if charged is None:
        taxable, tax = _gross_split(gross=paid_gross, percent=category.percent)
    else:
        taxable, tax = paid_gross - charged, charged
    allowance = _net_of_vat(gross_allowance, category.percent)
    in_category = [
        index for index, amounts in enumerate(line_amounts) if amounts.category == category
    ]
    if charged is not None and not gross_allowance:
        # Each line's net is what the buyer paid for it less the tax charged on it.
        line_extensions = [
            line_amounts[index].amount - round2(line_amounts[index].line.tax_amount)
            for index in in_category
        ]
    else:
        line_extensions = _allocate(
            amount=taxable + allowance,
            weights=[line_amounts[index].amount for index in in_category],
        )
    priced = list(line_amounts)
    for index, line_extension in zip(in_category, line_extensions, strict=True):
        amounts = line_amounts[index]
        priced[index] = replace(
            amounts,
            line_extension=line_extension,
            price=_unit_price(
                line_extension=line_extension,
                discount=amounts.net_discount,
                quantity=amounts.line.quantity,
            ),
        )
    subtotal = _Subtotal(category=category, taxable=taxable, tax=tax, allowance=allowance)
    return priced, subtotal


def _net_of_vat(gross: Decimal, percent: Decimal) -> Decimal:
    return round2(gross * HUNDRED / (HUNDRED + percent))


def _gross_split(*, gross: Decimal, percent: Decimal) -> tuple[Decimal, Decimal]:
    """Split a VAT-inclusive amount into (taxable, VAT) that add up to it to the cent.

    Prefer a taxable amount whose VAT is exactly round2(taxable x rate). Not every gross has one:
    taxable + round2(taxable x 7.5 %) skips about one cent value in fourteen (0.07 is the
    first). Then the VAT is the remainder, one cent off the rounded rate, because the customer
    paid the gross and the payable amount must equal it.
    """
    estimate = _net_of_vat(gross, percent)
    for taxable in (estimate, estimate - CENT, estimate + CENT):
        tax = round2(taxable * percent / HUNDRED)
        if taxable >= 0 and taxable + tax == gross:
            return taxable, tax
    return estimate, gross - estimate


def _allocate(*, amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split whole-cent ``amount`` over ``weights`` proportionally, in whole cents summing to it.

    Largest remainder: every share is floored to the cent, then the cents left over go to the
    shares that lost the most. A zero weight gets nothing.
    """
    total_weight = sum(weights, ZERO)
    if total_weight == 0:
        if amount:
            raise InvoiceBuildError(f"Cannot spread {amount} over amounts that are all zero")
        return [ZERO for _ in weights]
    cents = int(amount / CENT)
    exact_shares = [cents * weight / total_weight for weight in weights]
    shares = [int(share) for share in exact_shares]
    left_over = cents - sum(shares)
    by_loss = sorted(
        range(len(weights)), key=lambda index: exact_shares[index] - shares[index], reverse=True
    )
    for index in by_loss[:left_over]:
        shares[index] += 1
    return [share * CENT for share in shares]


def _unit_price(
    *,
    line_extension: Decimal,
    discount: Decimal,
    quantity: Decimal,
    quoted: Decimal | None = None,
) -> Decimal:
    """A unit price for which round2(quantity x price - discount) gives the line amount.

    The quoted price when it does; otherwise the shortest that does. Net prices derived from
    VAT-inclusive ones rarely fit in cents (1,000.00 gross is 930.2326 net), and a discount that
    takes a rounded-up line to zero defeats the quoted price, so the price gets the places the
    line's arithmetic needs.
    """
    if quoted is not None and round2(quantity * quoted - discount) == line_extension:
        return quoted
    exact = (line_extension + discount) / quantity
    for places in (2, 4, 6, 8, 10):
        price = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if round2(quantity * price - discount) == line_extension:
            return price
    raise InvoiceBuildError(
        f"No unit price reproduces line amount {line_extension} for quantity {quantity}"
    )


def telephone_international(telephone: str, *, country: str) -> str:
    """The number in the ``+<country code>`` form FIRS requires, or "" when it cannot be sure.

    Nigerian local numbers (0803 123 4567) get +234. Anything else unrecognised is dropped: the
    field is optional and a guessed prefix would be a wrong number.
    """
    compact = re.sub(r"[\s\-().]", "", telephone or "")
    if re.fullmatch(r"\+\d{7,15}", compact, re.ASCII):
        return compact
    if country == "NG" and re.fullmatch(r"0\d{10}", compact, re.ASCII):
        return "+234" + compact[1:]
    if country == "NG" and re.fullmatch(r"234\d{10}", compact, re.ASCII):
        return "+" + compact
    return ""


def _party(
    *,
    name: str,
    tin: str,
    email: str,
    telephone: str,
    street_name: str,
    city_name: str,
    postal_zone: str,
    state: str,
    country: str,
) -> dict:
    """A FIRS party with only the fields we know: empty values are left out, never padded."""
    country = (country or "NG").upper()
    party: dict = {"party_name": name}
    if tin:
        party["tin"] = tin
    if email:
        party["email"] = email
    international_telephone = telephone_international(telephone, country=country)
    if international_telephone:
        party["telephone"] = international_telephone
    address = {
        key: value
        for key, value in (
            ("street_name", street_name),
            ("city_name", city_name),
            ("postal_zone", postal_zone),
        )
        if value
    }
    if address:
        # FIRS's newer docs want ISO 3166-2 (NG-LA); a free-text state name would be rejected.
        if ISO_3166_2_PATTERN.fullmatch(state or ""):
            address["state"] = state
        address["country"] = country
        party["postal_address"] = address
    return party


def _supplier_party(supplier: "Organization") -> dict:
    return _party(
        name=supplier.legal_name,
        tin=supplier.tin,
        email=supplier.contact_email,
        telephone=supplier.telephone,
        street_name=supplier.street_name,
        city_name=supplier.city_name,
        postal_zone=supplier.postal_zone,
        state=supplier.state,
        country=supplier.country,
    )


def _customer_party(buyer: Party | None) -> dict:
    if buyer is None:
        return {"party_name": WALK_IN_CUSTOMER_NAME}
    return _party(
        name=buyer.name or WALK_IN_CUSTOMER_NAME,
        tin=buyer.tin,
        email=buyer.email,
        telephone=buyer.telephone,
        street_name=buyer.street_name,
        city_name=buyer.city_name,
        postal_zone=buyer.postal_zone,
        state=buyer.state,
        country=buyer.country,
    )


def _invoice_line(*, amounts: _LineAmounts, currency: str) -> dict:
    line = amounts.line
    invoice_line: dict = {
        "hsn_code": line.hs_code,
        "product_category": line.product_category,
        "invoiced_quantity": _json_number(line.quantity),
        "line_extension_amount": float(amounts.line_extension),
    }
    if amounts.net_discount:
        invoice_line["discount_amount"] = float(amounts.net_discount)
    item = {"name": line.name, "description": line.description or line.name}
    if line.sku:
        item["sellers_item_identification"] = line.sku
    invoice_line["item"] = item
    invoice_line["price"] = {
        "price_amount": float(amounts.price),
        # The price is per one unit; integrators disagree on what base_quantity means.
        "base_quantity": 1,
        "price_unit": f"{currency} per 1",
    }
    return invoice_line


def _json_number(value: Decimal) -> int | float:
    """Whole quantities and rates as JSON integers (5, 0), others as decimals (7.5)."""
    return int(value) if value == value.to_integral_value() else float(value)
