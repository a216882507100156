"""Operators' and tenants' actions on invoices, on top of the services: what to leave alone, and
counts of what was done, for the admin's bulk actions and the tenant API."""

from collections import Counter
from dataclasses import dataclass, field

from django.utils import timezone

from invoices import services
from invoices.firs.errors import FirsError
from invoices.models import Invoice

SKIP_CONFIRMED = "already confirmed"
SKIP_NEEDS_ATTENTION = "need attention (fix the cause, then re-drive)"
SKIP_BUSY = "being worked on right now"
SKIP_PAID = "already paid"


@dataclass
class BulkOutcome:
    done: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason → how many
    failures: list[str] = field(default_factory=list)  # "<IRN>: <why>"


def invoice_is_busy(invoice: Invoice) -> bool:
    """A worker holds the invoice's claim. Re-driving it would clear the claim and let a second
    worker run the same FIRS step (a second sign) while the first is still at it."""
    return invoice.claimed_until is not None and invoice.claimed_until > timezone.now()


def invoices_redrive(*, invoices, actor) -> BulkOutcome:
    """Put each invoice back on its queue from its last step; confirmed ones stay as they are."""
    outcome = BulkOutcome()
    for invoice in invoices:
        if invoice_is_busy(invoice):
            outcome.skipped[SKIP_BUSY] += 1
        elif services.invoice_redrive(invoice=invoice, actor=actor):
            outcome.done += 1
        else:
            outcome.skipped[SKIP_CONFIRMED] += 1
    return outcome


def invoices_confirm_now(*, invoices, actor) -> BulkOutcome:
    """Run the pipeline now for invoices still on their way to FIRS confirmation, skipping any
    backoff wait. Invoices that need attention are left alone: the same call would fail again
    until someone fixes the cause, and then re-drives them."""
    outcome = BulkOutcome()
    for invoice in invoices:
        if invoice.status == Invoice.Status.CONFIRMED:
            outcome.skipped[SKIP_CONFIRMED] += 1
        elif invoice.status == Invoice.Status.NEEDS_ATTENTION:
            outcome.skipped[SKIP_NEEDS_ATTENTION] += 1
        elif invoice_is_busy(invoice):
            outcome.skipped[SKIP_BUSY] += 1
        elif services.invoice_redrive(invoice=invoice, actor=actor):
            outcome.done += 1
        else:
            outcome.skipped[SKIP_CONFIRMED] += 1  # confirmed since it was read
    return outcome


def invoices_mark_paid(*, invoices, actor, reference: str = "") -> BulkOutcome:
    """Tell FIRS each invoice is paid, one call each; a refusal is recorded and the rest go on."""
    outcome = BulkOutcome()
    for invoice in invoices:
        if invoice.payment_status == Invoice.PaymentStatus.PAID:
            outcome.skipped[SKIP_PAID] += 1
            continue
        try:
            services.invoice_mark_paid(invoice=invoice, actor=actor, reference=reference)
        except (ValueError, FirsError) as error:
            outcome.failures.append(f"{invoice.irn}: {error}")
        else:
            outcome.done += 1
    return outcome
