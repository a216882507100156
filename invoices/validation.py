"""Local checks of a FIRS invoice payload before it is sent.

Mandatory fields, formats and code lists as the FIRS docs state them, plus the UBL/EN16931
arithmetic (lines, VAT subtotals and totals must add up to the cent), which the FIRS sandbox
did not enforce in 2025 but may at any time. Every
problem names the field path (``invoice_line[2].price.price_amount``) and says what is wrong.
"""

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from invoices.codes import CodeLists
from invoices.irn import irn_parse

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
# VAT-inclusive prices cannot always give VAT = round2(taxable x rate) exactly and still add up
# to what the customer paid (see builder._gross_split), so a subtotal's VAT may be one cent off.
# A till also rounds the VAT of each line (and of each tax on it), and the invoice carries what
# it charged: up to a cent per line more.
TAX_ROUNDING_TOLERANCE = CENT
LINE_ROUNDING_TOLERANCE = CENT

DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
TIME_PATTERN = re.compile(r"([01]\d|2[0-3]):[0-5]\d:[0-5]\d", re.ASCII)
TIN_PATTERN = re.compile(r"\d{8}-\d{4}", re.ASCII)
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
TELEPHONE_PATTERN = re.compile(r"\+\d{7,15}", re.ASCII)
COUNTRY_PATTERN = re.compile(r"[A-Z]{2}")
STATE_PATTERN = re.compile(r"[A-Z]{2}-[A-Z0-9]{1,3}")
PAYMENT_STATUSES = ("PENDING", "PAID", "REJECTED")
INVOICE_KINDS = ("B2B", "B2C", "B2G")


def round2(amount: Decimal) -> Decimal:
    """Half-up to the cent: the one rounding rule of the invoice arithmetic (FIRS states none)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def decimal_from_json(value: Any) -> Decimal | None:
    """A JSON number as an exact Decimal (floats through their shortest repr); else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return number if number.is_finite() else None


def invoice_validate(payload: dict, *, codes: CodeLists) -> list[Problem]:
    """Every problem found in the payload; an empty list means it passes the local checks."""
    problems: list[Problem] = []
    if not isinstance(payload, Mapping):
        return [Problem("", "The invoice must be a JSON object")]

    _uuid_check(payload, "business_id", problems, path="business_id", is_required=True)
    issue_date = _date(payload, "issue_date", problems, path="issue_date", is_required=True)
    _irn_check(payload.get("irn"), problems, path="irn", issue_date=issue_date)
    for key in ("due_date", "tax_point_date", "actual_delivery_date"):
        _date(payload, key, problems, path=key)
    issue_time = _text(payload, "issue_time", problems, path="issue_time")
    if issue_time is not None and not TIME_PATTERN.fullmatch(issue_time):
        problems.append(Problem("issue_time", f"{issue_time!r} is not a time as HH:MM:SS"))

    type_code = _text(
        payload, "invoice_type_code", problems, path="invoice_type_code", is_required=True
    )
    if type_code is not None and not codes.is_known_invoice_type(type_code):
        problems.append(
            Problem("invoice_type_code", f"{type_code!r} is not in the FIRS invoice-types list")
        )
    _choice_check(payload, "payment_status", PAYMENT_STATUSES, problems)
    _choice_check(payload, "invoice_kind", INVOICE_KINDS, problems)
    for key in ("document_currency_code", "tax_currency_code"):
        # tax_currency_code is optional in the schema but the FIRS sandbox enforces it.
        currency = _text(payload, key, problems, path=key, is_required=True)
        if currency is not None and not codes.is_known_currency(currency):
            problems.append(Problem(key, f"{currency!r} is not in the FIRS currencies list"))

    _billing_reference_check(payload, problems, type_code=type_code, codes=codes)
    _party_check(payload, "accounting_supplier_party", problems, is_anonymous_allowed=False)
    # A B2C buyer may be anonymous: no TIN, email or address to give.
    _party_check(
        payload,
        "accounting_customer_party",
        problems,
        is_anonymous_allowed=payload.get("invoice_kind") == "B2C",
    )
    for key in ("payee_party", "tax_representative_party"):
        if key in payload:
            _party_check(payload, key, problems, is_anonymous_allowed=False)
    _payment_means_check(payload, problems, codes=codes)
    allowances, charges = _allowance_charge_totals(payload, problems)
    line_extension_sum = _invoice_lines_check(payload, problems)
    tax_sum, vat_taxable_sum = _tax_total_check(payload, problems, codes=codes)
    _monetary_total_check(
        payload,
        problems,
        line_extension_sum=line_extension_sum,
        allowances=allowances,
        charges=charges,
        tax_sum=tax_sum,
        vat_taxable_sum=vat_taxable_sum,
    )
    return problems


def _present(container: Mapping, key: str) -> bool:
    value = container.get(key)
    return value is not None and value != "" and value != [] and value != {}


def _missing(problems: list[Problem], path: str) -> None:
    problems.append(Problem(path, "This field is required"))


def _text(
    container: Mapping, key: str, problems: list[Problem], *, path: str, is_required: bool = False
) -> str | None:
    if not _present(container, key):
        if is_required:
            _missing(problems, path)
        return None
    value = container[key]
    if not isinstance(value, str):
        problems.append(Problem(path, f"Expected text, got {type(value).__name__}"))
        return None
    return value


def _date(
    container: Mapping, key: str, problems: list[Problem], *, path: str, is_required: bool = False
) -> date | None:
    text = _text(container, key, problems, path=path, is_required=is_required)
    if text is None:
        return None
    if DATE_PATTERN.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    problems.append(Problem(path, f"{text!r} is not a date as YYYY-MM-DD"))
    return None


def _number(
    container: Mapping,
    key: str,
    problems: list[Problem],
    *,
    path: str,
    is_required: bool = False,
    is_money: bool = True,
    must_be_positive: bool = False,
) -> Decimal | None:
    """A JSON number (not a string); money has at most 2 places and is never negative."""
    if container.get(key) is None:
        if is_required:
            _missing(problems, path)
        return None
    number = decimal_from_json(container[key])
    if number is None:
        problems.append(Problem(path, f"Expected a number, got {container[key]!r}"))
        return None
    if must_be_positive and number <= 0:
        problems.append(Problem(path, f"Must be more than 0, got {number}"))
        return None
    if number < 0:
        problems.append(
            Problem(
                path, f"Must not be negative, got {number} (credit notes carry positive amounts)"
            )
        )
        return None
    if is_money and number != round2(number):
        problems.append(Problem(path, f"An amount has at most 2 decimal places, got {number}"))
        return None
    return number


def _mapping(
    container: Mapping, key: str, problems: list[Problem], *, path: str, is_required: bool = False
) -> Mapping | None:
    if not _present(container, key):
        if is_required:
            _missing(problems, path)
        return None
    value = container[key]
    if not isinstance(value, Mapping):
        problems.append(Problem(path, "Expected an object"))
        return None
    return value


def _list_of_mappings(
    container: Mapping, key: str, problems: list[Problem], *, path: str, is_required: bool = False
) -> list[tuple[str, Mapping]]:
    """The entries with their paths; entries that are not objects are reported and skipped."""
    if not _present(container, key):
        if is_required:
            problems.append(Problem(path, "This field is required and needs at least one entry"))
        return []
    value = container[key]
    if not isinstance(value, list):
        problems.append(Problem(path, "Expected a list"))
        return []
    entries = []
    for index, entry in enumerate(value):
        if isinstance(entry, Mapping):
            entries.append((f"{path}[{index}]", entry))
        else:
            problems.append(Problem(f"{path}[{index}]", "Expected an object"))
    return entries


def _uuid_check(
    container: Mapping, key: str, problems: list[Problem], *, path: str, is_required: bool = False
) -> None:
    text = _text(container, key, problems, path=path, is_required=is_required)
    if text is None:
        return
    try:
        uuid.UUID(text)
    except ValueError:
        problems.append(Problem(path, f"{text!r} is not a UUID"))


def _choice_check(
    container: Mapping, key: str, choices: tuple[str, ...], problems: list[Problem]
) -> None:
    value = _text(container, key, problems, path=key)
    if value is not None and value not in choices:
        problems.append(Problem(key, f"{value!r} is not one of {', '.join(choices)}"))


def _irn_check(irn: Any, problems: list[Problem], *, path: str, issue_date: date | None) -> None:
    if irn is None or irn == "":
        _missing(problems, path)
        return
    if not isinstance(irn, str):
        problems.append(Problem(path, f"Expected text, got {type(irn).__name__}"))
        return
    try:
        parts = irn_parse(irn)
    except ValueError as error:
        problems.append(Problem(path, str(error)))
        return
    if issue_date is not None and parts.issue_date != issue_date:
        problems.append(
            Problem(
                path,
                f"The IRN's date {parts.issue_date:%Y%m%d} differs from issue_date "
                f"{issue_date.isoformat()}; keep them equal",
            )
        )


def _billing_reference_check(
    payload: Mapping, problems: list[Problem], *, type_code: str | None, codes: CodeLists
) -> None:
    references = _list_of_mappings(payload, "billing_reference", problems, path="billing_reference")
    for path, reference in references:
        _irn_check(reference.get("irn"), problems, path=f"{path}.irn", issue_date=None)
        _date(reference, "issue_date", problems, path=f"{path}.issue_date", is_required=True)
    note_type_codes = set()
    for purpose in ("credit_note", "debit_note"):
        try:
            note_type_codes.add(codes.invoice_type_for(purpose))
        except LookupError:
            continue  # the list has no such type; its code is then unknown anyway
    if type_code in note_type_codes and not references:
        problems.append(
            Problem(
                "billing_reference",
                "A credit or debit note must reference the original invoice (IRN and issue date)",
            )
        )


def _party_check(
    payload: Mapping, key: str, problems: list[Problem], *, is_anonymous_allowed: bool
) -> None:
    party = _mapping(payload, key, problems, path=key, is_required=True)
    if party is None:
        return
    has_party_id = _present(party, "id")
    if has_party_id:
        _uuid_check(party, "id", problems, path=f"{key}.id")
    else:
        _text(party, "party_name", problems, path=f"{key}.party_name", is_required=True)

    # FIRS marks TIN and email "now mandatory"; an anonymous B2C buyer has neither.
    tin = _text(party, "tin", problems, path=f"{key}.tin", is_required=not is_anonymous_allowed)
    if tin is not None and not TIN_PATTERN.fullmatch(tin):
        problems.append(Problem(f"{key}.tin", f"{tin!r} is not a FIRS TIN like 12345678-0001"))
    email = _text(
        party, "email", problems, path=f"{key}.email", is_required=not is_anonymous_allowed
    )
    if email is not None and not EMAIL_PATTERN.fullmatch(email):
        problems.append(Problem(f"{key}.email", f"{email!r} is not an email address"))
    telephone = _text(party, "telephone", problems, path=f"{key}.telephone")
    if telephone is not None and not TELEPHONE_PATTERN.fullmatch(telephone):
        problems.append(
            Problem(
                f"{key}.telephone",
                f"{telephone!r} must start with + and the country code, e.g. +2348031234567",
            )
        )

    has_address_id = _present(party, "postal_address_id")
    if has_address_id:
        _uuid_check(party, "postal_address_id", problems, path=f"{key}.postal_address_id")
    address = _mapping(
        party,
        "postal_address",
        problems,
        path=f"{key}.postal_address",
        is_required=not (has_party_id or has_address_id or is_anonymous_allowed),
    )
    if address is None:
        return
    for field in ("street_name", "city_name", "postal_zone"):
        _text(
            address,
            field,
            problems,
            path=f"{key}.postal_address.{field}",
            is_required=not is_anonymous_allowed,
        )
    country = _text(
        address, "country", problems, path=f"{key}.postal_address.country", is_required=True
    )
    if country is not None and not COUNTRY_PATTERN.fullmatch(country):
        problems.append(
            Problem(f"{key}.postal_address.country", f"{country!r} is not an ISO 3166 code like NG")
        )
    state = _text(address, "state", problems, path=f"{key}.postal_address.state")
    if state is not None and not STATE_PATTERN.fullmatch(state):
        problems.append(
            Problem(
                f"{key}.postal_address.state", f"{state!r} is not an ISO 3166-2 code like NG-LA"
            )
        )


def _payment_means_check(payload: Mapping, problems: list[Problem], *, codes: CodeLists) -> None:
    for path, means in _list_of_mappings(payload, "payment_means", problems, path="payment_means"):
        code = _text(
            means,
            "payment_means_code",
            problems,
            path=f"{path}.payment_means_code",
            is_required=True,
        )
        if code is not None and not codes.is_known_payment_means(code):
            problems.append(
                Problem(
                    f"{path}.payment_means_code", f"{code!r} is not in the FIRS payment-means list"
                )
            )
        _date(means, "payment_due_date", problems, path=f"{path}.payment_due_date")


def _allowance_charge_totals(
    payload: Mapping, problems: list[Problem]
) -> tuple[Decimal | None, Decimal | None]:
    """Σ allowances and Σ charges; None when an entry cannot be read."""
    allowances: Decimal | None = Decimal(0)
    charges: Decimal | None = Decimal(0)
    entries = _list_of_mappings(payload, "allowance_charge", problems, path="allowance_charge")
    for path, entry in entries:
        is_charge = entry.get("charge_indicator")
        amount = _number(entry, "amount", problems, path=f"{path}.amount", is_required=True)
        if not isinstance(is_charge, bool):
            problems.append(
                Problem(
                    f"{path}.charge_indicator", "Must be true (a charge) or false (an allowance)"
                )
            )
            allowances = charges = None
        elif amount is None:
            allowances = charges = None
        elif is_charge and charges is not None:
            charges += amount
        elif not is_charge and allowances is not None:
            allowances += amount
    return allowances, charges


def _invoice_lines_check(payload: Mapping, problems: list[Problem]) -> Decimal | None:
    """Check each line and its arithmetic (line_extension_amount = round2(quantity x price -
    discount)); Σ line_extension_amount, or None when a line cannot be read."""
    lines = _list_of_mappings(
        payload, "invoice_line", problems, path="invoice_line", is_required=True
    )
    line_extension_sum: Decimal | None = Decimal(0) if lines else None
    for path, line in lines:
        _text(line, "hsn_code", problems, path=f"{path}.hsn_code", is_required=True)
        _text(line, "product_category", problems, path=f"{path}.product_category", is_required=True)
        quantity = _number(
            line,
            "invoiced_quantity",
            problems,
            path=f"{path}.invoiced_quantity",
            is_required=True,
            is_money=False,
            must_be_positive=True,
        )
        line_extension = _number(
            line,
            "line_extension_amount",
            problems,
            path=f"{path}.line_extension_amount",
            is_required=True,
        )
        discount = _number(line, "discount_amount", problems, path=f"{path}.discount_amount")
        fee = _number(line, "fee_amount", problems, path=f"{path}.fee_amount")
        item = _mapping(line, "item", problems, path=f"{path}.item", is_required=True)
        if item is not None:
            _text(item, "name", problems, path=f"{path}.item.name", is_required=True)
            _text(item, "description", problems, path=f"{path}.item.description", is_required=True)
        price = _mapping(line, "price", problems, path=f"{path}.price", is_required=True)
        price_amount = base_quantity = None
        if price is not None:
            # A unit price may need more than 2 places (net of VAT-inclusive prices).
            price_amount = _number(
                price,
                "price_amount",
                problems,
                path=f"{path}.price.price_amount",
                is_required=True,
                is_money=False,
            )
            base_quantity = _number(
                price,
                "base_quantity",
                problems,
                path=f"{path}.price.base_quantity",
                is_required=True,
                is_money=False,
                must_be_positive=True,
            )
            _text(price, "price_unit", problems, path=f"{path}.price.price_unit", is_required=True)

        if line_extension is None:
            line_extension_sum = None
            continue
        if line_extension_sum is not None:
            line_extension_sum += line_extension
        if None in (quantity, price_amount, base_quantity):
            continue
        expected = round2(quantity * price_amount / base_quantity - (discount or 0) + (fee or 0))
        if line_extension != expected:
            problems.append(
                Problem(
                    f"{path}.line_extension_amount",
                    f"{line_extension:.2f} differs from quantity x price / base quantity "
                    f"- discount + fee = {expected}",
                )
            )
    return line_extension_sum


def _tax_total_check(
    payload: Mapping, problems: list[Problem], *, codes: CodeLists
) -> tuple[Decimal | None, Decimal | None]:
    """Check tax totals and subtotals (rules 4 and 5); (Σ tax, Σ VAT taxable) or None each."""
    # Optional in the schema, but integrators always send it, even when the tax is 0.
    tax_totals = _list_of_mappings(
        payload, "tax_total", problems, path="tax_total", is_required=True
    )
    tax_sum: Decimal | None = Decimal(0) if tax_totals else None
    vat_taxable_sum: Decimal | None = Decimal(0) if tax_totals else None
    seen_categories: set[tuple[str, Decimal]] = set()
    lines = payload.get("invoice_line")
    line_count = len(lines) if isinstance(lines, list) else 0
    tolerance = TAX_ROUNDING_TOLERANCE + LINE_ROUNDING_TOLERANCE * line_count
    for path, tax_total in tax_totals:
        tax_amount = _number(
            tax_total, "tax_amount", problems, path=f"{path}.tax_amount", is_required=True
        )
        subtotals = _list_of_mappings(
            tax_total, "tax_subtotal", problems, path=f"{path}.tax_subtotal", is_required=True
        )
        subtotal_tax_sum: Decimal | None = Decimal(0)
        for subtotal_path, subtotal in subtotals:
            taxable = _number(
                subtotal,
                "taxable_amount",
                problems,
                path=f"{subtotal_path}.taxable_amount",
                is_required=True,
            )
            subtotal_tax = _number(
                subtotal,
                "tax_amount",
                problems,
                path=f"{subtotal_path}.tax_amount",
                is_required=True,
            )
            category_id, percent = _tax_category_check(
                subtotal, problems, path=f"{subtotal_path}.tax_category", codes=codes
            )
            if subtotal_tax is None:
                subtotal_tax_sum = None
            elif subtotal_tax_sum is not None:
                subtotal_tax_sum += subtotal_tax
            if category_id is None or percent is None:
                vat_taxable_sum = None
                continue
            if (category_id, percent) in seen_categories:
                problems.append(
                    Problem(
                        f"{subtotal_path}.tax_category",
                        f"A second subtotal for {category_id} at {percent} %; "
                        "use one per category and rate",
                    )
                )
            seen_categories.add((category_id, percent))
            if codes.is_vat_category(category_id) and vat_taxable_sum is not None:
                vat_taxable_sum = None if taxable is None else vat_taxable_sum + taxable
            if taxable is None or subtotal_tax is None:
                continue
            expected = round2(taxable * percent / HUNDRED)
            if abs(subtotal_tax - expected) > tolerance:
                problems.append(
                    Problem(
                        f"{subtotal_path}.tax_amount",
                        f"{subtotal_tax:.2f} differs from taxable {taxable:.2f} "
                        f"x {percent} % = {expected}",
                    )
                )
        if tax_amount is None or subtotal_tax_sum is None:
            tax_sum = None
            continue
        if subtotals and tax_amount != subtotal_tax_sum:
            problems.append(
                Problem(
                    f"{path}.tax_amount",
                    f"{tax_amount:.2f} differs from the sum of its subtotals' tax, "
                    f"{subtotal_tax_sum:.2f}",
                )
            )
        if tax_sum is not None:
            tax_sum += tax_amount
    return tax_sum, vat_taxable_sum


def _tax_category_check(
    subtotal: Mapping, problems: list[Problem], *, path: str, codes: CodeLists
) -> tuple[str | None, Decimal | None]:
    category = _mapping(subtotal, "tax_category", problems, path=path, is_required=True)
    if category is None:
        return None, None
    category_id = _text(category, "id", problems, path=f"{path}.id", is_required=True)
    # FIRS's resource gives percents as strings, but the payload wants a number.
    percent = _number(
        category, "percent", problems, path=f"{path}.percent", is_required=True, is_money=False
    )
    if category_id is not None and not codes.is_known_tax_category(category_id):
        problems.append(
            Problem(f"{path}.id", f"{category_id!r} is not in the FIRS tax-categories list")
        )
        return None, percent
    if category_id is not None and percent is not None:
        problem = codes.tax_percent_problem(category_id, percent)
        if problem:
            problems.append(Problem(f"{path}.percent", problem))
    return category_id, percent


def _monetary_total_check(
    payload: Mapping,
    problems: list[Problem],
    *,
    line_extension_sum: Decimal | None,
    allowances: Decimal | None,
    charges: Decimal | None,
    tax_sum: Decimal | None,
    vat_taxable_sum: Decimal | None,
) -> None:
    """The totals: line extension = Σ lines; tax exclusive = line extension - allowances +
    charges = Σ VAT taxable amounts; tax inclusive = tax exclusive + Σ tax; payable = tax
    inclusive (the schema has no prepaid or rounding amount)."""
    path = "legal_monetary_total"
    totals = _mapping(payload, "legal_monetary_total", problems, path=path, is_required=True)
    if totals is None:
        return
    line_extension, tax_exclusive, tax_inclusive, payable = (
        _number(totals, key, problems, path=f"{path}.{key}", is_required=True)
        for key in (
            "line_extension_amount",
            "tax_exclusive_amount",
            "tax_inclusive_amount",
            "payable_amount",
        )
    )

    def expect(key: str, actual: Decimal | None, expected: Decimal | None, rule: str) -> None:
        if actual is not None and expected is not None and actual != expected:
            problems.append(
                Problem(f"{path}.{key}", f"{actual:.2f} differs from {rule} = {expected:.2f}")
            )

    expect(
        "line_extension_amount",
        line_extension,
        line_extension_sum,
        "the sum of the lines' line_extension_amount",
    )
    if None not in (line_extension, allowances, charges):
        expect(
            "tax_exclusive_amount",
            tax_exclusive,
            line_extension - allowances + charges,
            "line_extension_amount - allowances + charges",
        )
    expect(
        "tax_exclusive_amount",
        tax_exclusive,
        vat_taxable_sum,
        "the sum of the VAT subtotals' taxable_amount",
    )
    if tax_exclusive is not None and tax_sum is not None:
        expect(
            "tax_inclusive_amount",
            tax_inclusive,
            tax_exclusive + tax_sum,
            "tax_exclusive_amount + tax_total",
        )
    expect("payable_amount", payable, tax_inclusive, "tax_inclusive_amount")
