"""Platform-neutral shapes that mappers produce and the invoice builder consumes: a POS
``Sale``, a CRM ``Deal``, an ERP ``Document``.

Money is ``Decimal`` in major units with its ISO-4217 currency; nothing here converts currencies.
"""

from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class SaleKind(StrEnum):
    SALE = "sale"
    REFUND = "refund"


@dataclass(frozen=True)
class Party:
    """A buyer or seller as the platform knows it. ``tin`` is empty when unknown: never invented."""

    name: str
    tin: str = ""
    email: str = ""
    telephone: str = ""
    street_name: str = ""
    city_name: str = ""
    postal_zone: str = ""
    state: str = ""
    country: str = "NG"
    external_id: str = ""


@dataclass(frozen=True)
class Line:
    """One invoice line.

    ``unit_price`` is what the platform charged per unit: VAT-inclusive when the owning sale says
    ``prices_include_tax``. ``tax_amount`` is the tax the platform charged on the whole line, in
    major units, as the platform computed it; ``None`` when the platform does not say.
    ``tax_rate`` is a percentage (7.5): the platform's where it states one, else the item's
    classification's; ``None`` means the standard rate. ``tax_type`` is the platform's own word
    for how the tax was applied (Square's ``ADDITIVE`` / ``INCLUSIVE``). ``hs_code`` and
    ``product_category`` describe the item; they never decide its tax. ``item_id`` is the
    platform's catalog id of the item, empty when the platform has none.
    """

    name: str
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal = Decimal("0")
    tax_rate: Decimal | None = None
    hs_code: str = ""
    product_category: str = ""
    sku: str = ""
    description: str = ""
    external_id: str = ""
    tax_amount: Decimal | None = None
    tax_type: str = ""
    item_id: str = ""

    @property
    def item_key(self) -> str:
        """What identifies the item across sales: its catalog id, else its name."""
        return self.item_id or self.name


@dataclass(frozen=True)
class Sale:
    """A completed POS sale or refund."""

    external_id: str
    occurred_at: datetime
    currency: str
    lines: tuple[Line, ...]
    total: Decimal
    prices_include_tax: bool = True
    kind: SaleKind = SaleKind.SALE
    customer: Party | None = None
    order_discount: Decimal = Decimal("0")
    tax_total: Decimal | None = None
    payment_means: tuple[str, ...] = ()
    location_id: str = ""
    original_external_id: str = ""
    raw: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Deal:
    """A CRM deal; ``is_won`` is decided by the connection's won-stage mapping."""

    external_id: str
    name: str
    stage: str
    pipeline: str
    amount: Decimal
    currency: str
    closed_at: datetime | None
    modified_at: datetime
    lines: tuple[Line, ...] = ()
    buyer: Party | None = None
    is_won: bool = False
    prices_include_tax: bool = False
    raw: dict = field(default_factory=dict, compare=False, repr=False)


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


@dataclass(frozen=True)
class DocumentTax:
    """One of an ERP document's own tax subtotals: what it taxed at ``rate`` % and the tax it
    charged, rounded as the ERP rounds it."""

    rate: Decimal
    taxable_amount: Decimal
    tax_amount: Decimal


@dataclass(frozen=True)
class Document:
    """A posted ERP invoice or credit note. It carries its own lines (net of tax, each with its
    ``tax_rate``) and its own taxes: the invoice states them as the ERP booked them, never
    recomputed. A credit note names the invoice it corrects in ``original_external_id``."""

    external_id: str
    number: str
    kind: DocumentKind
    issued_at: datetime
    modified_at: datetime
    currency: str
    lines: tuple[Line, ...]
    taxes: tuple[DocumentTax, ...]
    # Tax inclusive: what the buyer owes.
    total: Decimal
    is_posted: bool
    buyer: Party | None = None
    # The ERP's own word for the document's state ("posted", "draft", "cancel").
    state: str = ""
    is_paid: bool = False
    original_external_id: str = ""
    # Cancelled in the ERP: never invoiced, and an invoice already signed is an operator's case.
    is_cancelled: bool = False
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def tax_total(self) -> Decimal:
        return sum((tax.tax_amount for tax in self.taxes), Decimal(0))


def sale_to_json(sale: Sale) -> dict:
    """A sale as plain JSON (Decimals and datetimes as strings), to keep and rebuild later."""
    return {
        "external_id": sale.external_id,
        "occurred_at": sale.occurred_at.isoformat(),
        "currency": sale.currency,
        "lines": [line_to_json(line) for line in sale.lines],
        "total": str(sale.total),
        "prices_include_tax": sale.prices_include_tax,
        "kind": sale.kind.value,
        "customer": asdict(sale.customer) if sale.customer else None,
        "order_discount": str(sale.order_discount),
        "tax_total": None if sale.tax_total is None else str(sale.tax_total),
        "payment_means": list(sale.payment_means),
        "location_id": sale.location_id,
        "original_external_id": sale.original_external_id,
    }


def sale_from_json(data: dict) -> Sale:
    """The inverse of ``sale_to_json`` (without ``raw``)."""
    return Sale(
        external_id=data["external_id"],
        occurred_at=datetime.fromisoformat(data["occurred_at"]),
        currency=data["currency"],
        lines=tuple(line_from_json(line) for line in data["lines"]),
        total=Decimal(data["total"]),
        prices_include_tax=data["prices_include_tax"],
        kind=SaleKind(data["kind"]),
        customer=Party(**data["customer"]) if data["customer"] else None,
        order_discount=Decimal(data["order_discount"]),
        tax_total=None if data["tax_total"] is None else Decimal(data["tax_total"]),
        payment_means=tuple(data["payment_means"]),
        location_id=data["location_id"],
        original_external_id=data["original_external_id"],
    )


def document_to_json(document: Document) -> dict:
    """A document as plain JSON (Decimals and datetimes as strings), to keep and rebuild later."""
    return {
        "external_id": document.external_id,
        "number": document.number,
        "kind": document.kind.value,
        "issued_at": document.issued_at.isoformat(),
        "modified_at": document.modified_at.isoformat(),
        "currency": document.currency,
        "lines": [_plain(asdict(line)) for line in document.lines],
        "taxes": [_plain(asdict(tax)) for tax in document.taxes],
        "total": str(document.total),
        "is_posted": document.is_posted,
        "buyer": asdict(document.buyer) if document.buyer else None,
        "state": document.state,
        "is_paid": document.is_paid,
        "original_external_id": document.original_external_id,
        "is_cancelled": document.is_cancelled,
    }


def document_from_json(data: dict) -> Document:
    """The inverse of ``document_to_json`` (without ``raw``)."""
    return Document(
        external_id=data["external_id"],
        number=data["number"],
        kind=DocumentKind(data["kind"]),
        issued_at=datetime.fromisoformat(data["issued_at"]),
        modified_at=datetime.fromisoformat(data["modified_at"]),
        currency=data["currency"],
        lines=tuple(line_from_json(line) for line in data["lines"]),
        taxes=tuple(
            DocumentTax(**{key: Decimal(value) for key, value in tax.items()})
            for tax in data["taxes"]
        ),
        total=Decimal(data["total"]),
        is_posted=data["is_posted"],
        buyer=Party(**data["buyer"]) if data["buyer"] else None,
        state=data["state"],
        is_paid=data["is_paid"],
        original_external_id=data["original_external_id"],
        is_cancelled=data.get("is_cancelled", False),
    )


def line_to_json(line: Line) -> dict:
    """A line as plain JSON (Decimals as strings)."""
    return _plain(asdict(line))


def line_from_json(data: dict) -> Line:
    """The inverse of ``line_to_json``; lines kept before a field existed get its default."""

    def decimal_or_none(key: str) -> Decimal | None:
        return None if data.get(key) is None else Decimal(data[key])

    return Line(
        **{
            **data,
            "quantity": Decimal(data["quantity"]),
            "unit_price": Decimal(data["unit_price"]),
            "discount": Decimal(data["discount"]),
            "tax_rate": decimal_or_none("tax_rate"),
            "tax_amount": decimal_or_none("tax_amount"),
        }
    )


def _plain(values: dict) -> dict:
    return {
        key: str(value) if isinstance(value, Decimal) else value for key, value in values.items()
    }
