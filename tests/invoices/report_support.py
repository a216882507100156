"""Signed invoices and credit notes as the pipeline stores them, for the report tests."""

from decimal import Decimal

from invoices.codes import STANDARD_VAT, ZERO_VAT
from invoices.models import InvoiceLine, InvoiceTaxSubtotal
from tests.factories import InvoiceFactory

RICE = "1006.3000"  # on the FIRS VAT-exemption list
MILO = "1806.9000"  # standard-rated
EXPORT_SERVICE = "9983.1100"  # zero-rated, not exempt
CENT = Decimal("0.01")


def signed_document(
    organization, *, issue_date, signed=True, credit_note=False, standard, exempt, zero, **options
):
    """An invoice (or credit note) with a standard-rate, an exempt and a zero-rated part, its
    totals and tax subtotals consistent as the pipeline stores them."""
    vat = (standard * Decimal("0.075")).quantize(CENT)
    net = standard + exempt + zero
    invoice = InvoiceFactory(
        organization=organization,
        issue_date=issue_date,
        signed=signed,
        purpose="credit_note" if credit_note else "invoice",
        billing_reference_irn="INV1-ABCD1234-20261101" if credit_note else "",
        tax_exclusive_amount=net,
        tax_amount=vat,
        payable_amount=net + vat,
        **options,
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            position=position,
            name=name,
            hs_code=hs_code,
            quantity=1,
            price_amount=amount,
            line_extension_amount=amount,
        )
        for position, (name, hs_code, amount) in enumerate(
            [("Milo", MILO, standard), ("Rice", RICE, exempt), ("Export", EXPORT_SERVICE, zero)],
            start=1,
        )
        if amount
    )
    InvoiceTaxSubtotal.objects.create(
        invoice=invoice,
        category=STANDARD_VAT,
        percent=Decimal("7.5"),
        taxable_amount=standard,
        tax_amount=vat,
    )
    if exempt + zero:
        InvoiceTaxSubtotal.objects.create(
            invoice=invoice,
            category=ZERO_VAT,
            percent=0,
            taxable_amount=exempt + zero,
            tax_amount=0,
        )
    return invoice
