"""FIRS code lists (invoice types, tax categories, payment means, currencies, VAT exemptions).

The lists come from the FIRS ``/api/v1/invoice/resources/*`` endpoints. ``CodeLists`` is built
from those responses, so the same loader serves the bundled snapshot (the default) and, later,
lists synced into the database. Builder and validator take a ``CodeLists`` argument and hard-code
no code values: only the FIRS *labels* and category names below, which say what we mean.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any, Literal

SNAPSHOT_PATH = Path(__file__).resolve().parent / "data" / "firs_resources_snapshot.json"

InvoicePurpose = Literal["invoice", "credit_note", "debit_note"]

# Resolved by FIRS label, not by code: FIRS labels 380 "Credit Note" and 381 "Commercial
# Invoice", the reverse of UN/CEFACT 1001. Whatever the live list says wins.
INVOICE_TYPE_LABELS: Mapping[str, str] = {
    "invoice": "Commercial Invoice",
    "credit_note": "Credit Note",
    "debit_note": "Debit Note",
}

STANDARD_VAT = "STANDARD_VAT"
# Below the standard rate. FIRS's list gives it the standard percent too, so its percent on an
# invoice is the rate charged.
REDUCED_VAT = "REDUCED_VAT"
# FIRS has no EXEMPT category: exempt supplies go out as ZERO_VAT at 0 %.
ZERO_VAT = "ZERO_VAT"
HUNDRED_PERCENT = Decimal(100)
# The VAT categories among the generic tax template; their taxable amounts add up to the
# invoice's tax-exclusive amount.
VAT_CATEGORY_IDS = frozenset({"STANDARD_VAT", "REDUCED_VAT", "ZERO_VAT"})


def hs_code_normalize(hs_code: str) -> str:
    """``"1006.3000"``, ``"1006.30.00"`` and ``"10063000"`` are the same code: keep the digits."""
    return re.sub(r"[^0-9]", "", hs_code or "")


def _resource_rows(resources: Mapping[str, Any], name: str) -> list[dict]:
    """Accept a resource as FIRS returns it (``{"code": 200, "data": [...]}``) or as a bare list."""
    resource = resources[name]
    rows = resource["data"] if isinstance(resource, Mapping) else resource
    if not isinstance(rows, list):
        raise ValueError(f"FIRS resource {name!r} holds no list of entries")
    return rows


def _percent_parse(raw: Any) -> Decimal | None:
    """Tax-category percents arrive as strings ("7.5", "0.0") or "Not Available"."""
    try:
        return Decimal(str(raw))
    except InvalidOperation:
        return None


@dataclass(frozen=True)
class CodeLists:
    invoice_types: Mapping[str, str]  # code -> FIRS label
    tax_categories: Mapping[str, Decimal | None]  # category id -> percent (None: not available)
    payment_means: Mapping[str, str]  # code -> label
    currencies: frozenset[str]  # ISO 4217 codes
    vat_exempt_hs_codes: frozenset[str]  # normalised (digits only) HS codes
    hs_codes: Mapping[str, str]  # normalised HS code -> FIRS description

    @classmethod
    def from_resources(cls, resources: Mapping[str, Any]) -> "CodeLists":
        """Build from the FIRS resource responses, keyed by endpoint name ("invoice-types", ...)."""
        return cls(
            invoice_types={
                str(row["code"]): str(row["value"])
                for row in _resource_rows(resources, "invoice-types")
            },
            tax_categories={
                str(row["code"]): _percent_parse(row.get("percent"))
                for row in _resource_rows(resources, "tax-categories")
            },
            payment_means={
                str(row["code"]): str(row["value"])
                for row in _resource_rows(resources, "payment-means")
            },
            currencies=frozenset(
                str(row["code"]).upper() for row in _resource_rows(resources, "currencies")
            ),
            vat_exempt_hs_codes=frozenset(
                hs_code_normalize(row["harmonized_system_code"])
                for row in _resource_rows(resources, "vat-exemptions")
            ),
            # Not every store of the lists has the HS list yet: the bundled one stands in.
            hs_codes=(
                {
                    hs_code_normalize(str(row["code"])): str(row.get("description", ""))
                    for row in _resource_rows(resources, "hs-codes")
                }
                if "hs-codes" in resources
                else _snapshot_code_lists().hs_codes
            ),
        )

    @classmethod
    def from_snapshot(cls) -> "CodeLists":
        """The lists bundled with the code (invoices/data/firs_resources_snapshot.json)."""
        return _snapshot_code_lists()

    def invoice_type_for(self, purpose: InvoicePurpose) -> str:
        """The FIRS invoice type code for what the document is, found by its FIRS label."""
        try:
            label = INVOICE_TYPE_LABELS[purpose]
        except KeyError:
            raise ValueError(
                f"Unknown invoice purpose {purpose!r}; use one of {sorted(INVOICE_TYPE_LABELS)}"
            ) from None
        for code, code_label in self.invoice_types.items():
            if code_label.strip().casefold() == label.casefold():
                return code
        raise LookupError(f"The FIRS invoice-types list has no entry labelled {label!r}")

    def is_known_invoice_type(self, code: str) -> bool:
        return code in self.invoice_types

    def is_known_tax_category(self, category_id: str) -> bool:
        return category_id in self.tax_categories

    def is_vat_category(self, category_id: str) -> bool:
        return category_id in VAT_CATEGORY_IDS and category_id in self.tax_categories

    def tax_percent(self, category_id: str) -> Decimal | None:
        """The category's rate as FIRS publishes it; ``None`` when FIRS gives none."""
        return self.tax_categories.get(category_id)

    def vat_category_for(self, rate: Decimal) -> str:
        """The VAT category of tax charged at ``rate`` %: zero, standard at the standard rate
        or above it (the invoice's percent says which), reduced between the two. Raises
        ``LookupError`` when the list gives no standard or zero percent, ``ValueError`` for a
        rate that is not one (below 0 % or above 100 %)."""
        standard, zero = self.tax_percent(STANDARD_VAT), self.tax_percent(ZERO_VAT)
        if standard is None or zero is None:
            raise LookupError(
                f"The FIRS tax-categories list gives no percent for {STANDARD_VAT} or {ZERO_VAT}"
            )
        if rate < zero or rate > HUNDRED_PERCENT:
            raise ValueError(f"{rate} % is not a tax rate")
        if rate == zero:
            return ZERO_VAT
        if rate < standard and REDUCED_VAT in self.tax_categories:
            return REDUCED_VAT
        return STANDARD_VAT

    def tax_percent_problem(self, category_id: str, percent: Decimal) -> str:
        """Why ``percent`` cannot go with the category on an invoice, or ``""``. A VAT category
        carries the rate charged, as long as the rate is that category's (the one
        ``vat_category_for`` picks); any other category its published percent, if any."""
        if category_id in VAT_CATEGORY_IDS:
            try:
                expected = self.vat_category_for(percent)
            except (LookupError, ValueError) as exc:
                return str(exc)
            if expected == category_id:
                return ""
            if category_id == ZERO_VAT:
                return f"{ZERO_VAT} is {self.tax_percent(ZERO_VAT)} %, not {percent} %"
            return f"Tax at {percent} % is {expected}, not {category_id}"
        published = self.tax_percent(category_id)
        if published is not None and percent != published:
            return f"{category_id} is {published} %, not {percent} %"
        return ""

    def is_known_payment_means(self, code: str) -> bool:
        return code in self.payment_means

    def is_known_currency(self, code: str) -> bool:
        return code in self.currencies

    def is_known_hs_code(self, hs_code: str) -> bool:
        """Whether the code is on the FIRS HS code list or its VAT-exemption list."""
        normalized = hs_code_normalize(hs_code)
        return bool(normalized) and (
            normalized in self.hs_codes or normalized in self.vat_exempt_hs_codes
        )

    def hs_code_suggestions(self, text: str, *, limit: int = 20) -> list[tuple[str, str]]:
        """(code as NNNN.NNNN, description) of the listed codes that start with the digits of
        ``text`` or whose description contains it."""
        digits = hs_code_normalize(text)
        words = text.strip().casefold()
        found = [
            (f"{code[:4]}.{code[4:]}", description)
            for code, description in sorted(self.hs_codes.items())
            if (digits and code.startswith(digits)) or (words and words in description.casefold())
        ]
        return found[:limit]

    def is_vat_exempt(self, hs_code: str) -> bool:
        """Whether the HS code is on the FIRS VAT-exemption list (exact match on the digits)."""
        normalized = hs_code_normalize(hs_code)
        return bool(normalized) and normalized in self.vat_exempt_hs_codes


@cache
def _snapshot_code_lists() -> CodeLists:
    return CodeLists.from_resources(json.loads(SNAPSHOT_PATH.read_text(encoding="utf-8")))


# --- Address code lists (countries, Nigerian states) ------------------------------------------

ADDRESS_SNAPSHOT_PATH = Path(__file__).resolve().parent / "data" / "firs_address_snapshot.json"
# The FIRS resource of each address list and the field that identifies its entries.
ADDRESS_CODE_KEYS: Mapping[str, str] = {"countries": "alpha_2", "states": "code"}


@dataclass(frozen=True)
class AddressCodes:
    countries: Mapping[str, str]  # ISO 3166-1 alpha-2 -> name
    states: Mapping[str, str]  # ISO 3166-2 code of a Nigerian state (NG-LA) -> name

    @classmethod
    def from_resources(cls, resources: Mapping[str, Any]) -> "AddressCodes":
        return cls(
            countries={
                str(row["alpha_2"]).upper(): str(row["name"])
                for row in _resource_rows(resources, "countries")
            },
            states={
                str(row["code"]).upper(): str(row["name"])
                for row in _resource_rows(resources, "states")
            },
        )

    @classmethod
    def from_snapshot(cls) -> "AddressCodes":
        """The lists bundled with the code (invoices/data/firs_address_snapshot.json)."""
        return _snapshot_address_codes()

    def is_known_country(self, code: str) -> bool:
        return code in self.countries

    def is_known_state(self, code: str) -> bool:
        return code in self.states


@cache
def _snapshot_address_codes() -> AddressCodes:
    return AddressCodes.from_resources(
        json.loads(ADDRESS_SNAPSHOT_PATH.read_text(encoding="utf-8"))
    )
