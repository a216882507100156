"""What a failure means to the tenant: a plain-language reason, what to do, and who can fix it,
read from the invoice's status and the code stored with its problem (invoices.services)."""

from dataclasses import dataclass

from invoices import services
from invoices.models import Invoice


class Fixer:
    TENANT = "tenant"
    OPERATOR = "operator"
    FIRS = "firs"


FIXER_LABELS = {
    Fixer.TENANT: "You",
    Fixer.OPERATOR: "TaxPoynt support",
    Fixer.FIRS: "Nobody until FIRS is back",
}


@dataclass(frozen=True)
class Diagnosis:
    reason: str
    action: str
    fixer: str
    # A Retry can help now (or once the fix named in ``action`` is made).
    retryable: bool

    @property
    def fixer_label(self) -> str:
        return FIXER_LABELS[self.fixer]


def invoice_diagnosis(invoice: Invoice) -> Diagnosis:
    if invoice.status == Invoice.Status.RETRYING:
        return Diagnosis(
            reason="FIRS is not answering right now; we keep trying on our own.",
            action="Nothing: it is signed as soon as FIRS answers. Retry tries again now.",
            fixer=Fixer.FIRS,
            retryable=True,
        )
    problems = invoice.problems or []
    first = problems[0] if problems else {}
    code = first.get("code", "")
    message = first.get("message", "")
    if code == services.PROBLEM_FIRS_UNAVAILABLE or message.startswith("FIRS kept failing"):
        return Diagnosis(
            reason="FIRS was unavailable for longer than we keep retrying.",
            action="Retry once FIRS is back; nothing about the sale needs changing.",
            fixer=Fixer.FIRS,
            retryable=True,
        )
    if code == services.PROBLEM_FIRS_CREDENTIALS:
        return Diagnosis(
            reason="FIRS did not accept the organization's API key and secret.",
            action="Re-enter the FIRS API key and secret, then retry.",
            fixer=Fixer.TENANT,
            retryable=True,
        )
    if code == services.PROBLEM_FIRS_SETUP:
        return Diagnosis(
            reason="The organization's FIRS set-up is incomplete.",
            action="Complete the FIRS set-up (business and service ids, API key), then retry.",
            fixer=Fixer.TENANT,
            retryable=True,
        )
    if code == services.PROBLEM_FIRS_REJECTED or message.startswith("FIRS refused"):
        return Diagnosis(
            reason="FIRS refused the invoice we built.",
            action="Contact TaxPoynt support with the invoice number; retrying sends the same "
            "invoice again.",
            fixer=Fixer.OPERATOR,
            retryable=False,
        )
    return Diagnosis(
        reason="The sale's data cannot make a valid invoice.",
        action="Correct the sale where it was made (the item, the customer's TIN, the "
        "amounts); the corrected sale is invoiced again.",
        fixer=Fixer.TENANT,
        retryable=False,
    )


def source_row_diagnosis() -> Diagnosis:
    """A sale or deal we could not read from its platform, so it has no invoice."""
    return Diagnosis(
        reason="We could not read this from the platform, so it has no invoice yet.",
        action="Retry; if it fails again, TaxPoynt support must look at it.",
        fixer=Fixer.OPERATOR,
        retryable=True,
    )


def cancelled_after_signing_diagnosis() -> Diagnosis:
    """An ERP document cancelled there after FIRS had signed its e-invoice."""
    return Diagnosis(
        reason="Cancelled in the ERP after FIRS signed its e-invoice, which still stands.",
        action="Issue a credit note for it in the ERP; the credit note is signed and reverses it.",
        fixer=Fixer.TENANT,
        retryable=False,
    )
