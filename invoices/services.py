"""Invoice writes: create an invoice for a source row, and move it through FIRS.

The pipeline is a state machine. Every step makes its FIRS call, then commits a conditional
transition ``WHERE stage = <step before>``; a redelivered task finds the step done and moves on.
The IRN is fixed when the invoice is created and reused on every retry; after a sign whose
outcome is unknown, FIRS is asked (confirm) before signing again.
"""

import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.selectors import organization_firs_setup_problem
from audit.services import Action, audit_record
from catalog import services as catalog_services
from integrations.base.canonical import Deal, Document, Sale
from invoices import selectors
from invoices.builder import LAGOS, InvoiceBuildError, InvoiceReference, invoice_build
from invoices.codes import CodeLists
from invoices.firs.client import FirsClient, FirsResponse, firs_client_for
from invoices.firs.errors import (
    DuplicateIrn,
    FirsAuthenticationError,
    FirsCircuitOpen,
    FirsError,
    FirsNotFound,
    FirsTransientError,
)
from invoices.irn import invoice_number_clean, irn_make
from invoices.metrics import SOURCE_TO_SIGNED_SECONDS
from invoices.models import (
    FirsCodeListEntry,
    FirsExchange,
    Invoice,
    InvoiceEmail,
    InvoiceLine,
    InvoiceParty,
    InvoiceStatusChange,
    InvoiceTaxSubtotal,
)
from invoices.qr import qr_png, qr_stamp_make
from invoices.signals import invoice_stage_reached
from invoices.validation import decimal_from_json, invoice_validate, round2
from taxpoynt.lib.priority import realtime_latency_note

logger = logging.getLogger(__name__)

Stage = Invoice.Stage
Status = Invoice.Status

# Step order; each step's FIRS work is in _STEP_WORK below.
NEXT_STAGE = {
    Stage.BUILT: Stage.VALIDATED,
    Stage.VALIDATED: Stage.SIGNED,
    Stage.SIGNED: Stage.TRANSMITTED,
    Stage.TRANSMITTED: Stage.CONFIRMED,
}
# A B2C receipt is reported to FIRS by signing it: transmitting to the buyer's APP and
# polling its delivery are B2B/B2G steps, so the sign step completes it (_stages_passed). One
# left signed or transmitted before that rule goes on to confirmed with no FIRS call.
NEXT_STAGE_B2C = {
    Stage.BUILT: Stage.VALIDATED,
    Stage.VALIDATED: Stage.SIGNED,
    Stage.SIGNED: Stage.CONFIRMED,
    Stage.TRANSMITTED: Stage.CONFIRMED,
}
STAGE_TIMESTAMP = {
    Stage.VALIDATED: "validated_at",
    Stage.SIGNED: "signed_at",
    Stage.TRANSMITTED: "transmitted_at",
    Stage.CONFIRMED: "confirmed_at",
}
INVOICE_NUMBER_DEFAULT_PREFIX = "TXP"
# Zero-padded to this many digits; longer sequences simply grow.
INVOICE_NUMBER_DIGITS = 6


# --- Creating ---------------------------------------------------------------------------------


def invoice_create_for_source(
    *,
    organization,
    source_type: str,
    source_id: uuid.UUID,
    source: Sale | Deal | Document,
    original: Invoice | None = None,
    platform: str = "",
    received_at: datetime | None = None,
    enqueue: bool = True,
    queue: str = "",
    claim_token: str = "",
) -> tuple[Invoice, bool]:
    """The invoice of a source row, created once: (invoice, created).

    A second call for the same row returns the first invoice (a replayed webhook, a back-fill
    overlapping live traffic). A refund passes ``original``, the invoice it credits.
    ``enqueue=False`` leaves running the pipeline to the caller (a task already on the queue);
    ``queue`` overrides the source's queue for this invoice's whole pipeline (back-fills: batch).
    ``claim_token``: a built invoice is stored claimed by that caller, who advances it next
    (``invoice_advance`` with the invoice in hand then writes no claim of its own).
    """
    # The items' classifications describe the lines; the tax stays what the platform charged.
    classifications = catalog_services.source_classifications(
        organization=organization, platform=platform, source=source
    )
    source = catalog_services.source_classified(
        organization=organization,
        platform=platform,
        source=source,
        classifications=classifications,
    )
    # Nigeria's date and time whatever zone is active (the API answers in UTC).
    issue_at = timezone.localtime(_issue_datetime(source), LAGOS)
    invoice = Invoice(
        organization=organization,
        source_type=source_type,
        source_id=source_id,
        source_platform=platform,
        source_reference=source.external_id[:255],
        source_received_at=received_at,
        pipeline_queue=queue,
        currency=source.currency,
        issue_date=issue_at.date(),
        issue_time=issue_at.time().replace(microsecond=0),
        kind=Invoice.Kind.B2B if _buyer_tin(source) else Invoice.Kind.B2C,
        billing_reference_irn=original.irn if original else "",
    )
    setup_problem = organization_firs_setup_problem(organization=organization)
    try:
        with transaction.atomic():
            # The number is taken in the transaction that stores the invoice: a replay that
            # finds the invoice made already rolls its number back, so the sequence has no gaps.
            invoice.number = _own_number(
                organization=organization, source=source, issue_at=issue_at
            ) or invoice_number_allocate(organization=organization)
            if setup_problem:
                payload = _wait_for_setup(
                    invoice, reason=setup_problem, credits=original is not None
                )
            else:
                payload = _build(invoice, source=source, original=original, issue_at=issue_at)
            if claim_token and invoice.status == Status.BUILT:
                invoice.claim_token = claim_token
                invoice.claimed_until = timezone.now() + timedelta(
                    seconds=settings.INVOICE_CLAIM_SECONDS
                )
            invoice.save()
            _snapshots_save(invoice, payload, source=source)
            _history_add(invoice, "", invoice.status, _problems_text(invoice.problems))
    except IntegrityError:
        # The source's invoice exists already (a replay, or another worker just made it): the
        # unique constraints are the check, so the usual case costs no read first.
        return (
            selectors.invoice_for_source(
                organization=organization, source_type=source_type, source_id=source_id
            ),
            False,
        )
    # Counted once per source: a replay returned above.
    catalog_services.tax_alerts_record(
        organization=organization,
        platform=platform,
        source=source,
        reference=source.external_id,
        classifications=classifications,
    )
    if enqueue and invoice.status == Status.BUILT:
        invoice_enqueue(invoice=invoice)
    return invoice, True


def _build(
    invoice: Invoice, *, source: Sale | Deal | Document, original: Invoice | None, issue_at
) -> dict:
    """Give the unsaved ``invoice`` its IRN, FIRS payload and status (built, or needs attention
    with the problems found); returns the payload."""
    try:
        invoice.irn = irn_make(
            invoice_number=invoice.number,
            service_id=invoice.organization.firs_service_id,
            issue_date=issue_at.date(),
        )
    except ValueError as exc:
        payload, problems = {}, [{"path": "", "message": str(exc)}]
    else:
        payload, problems = _payload_build(
            invoice=invoice, source=source, original=original, issue_at=issue_at
        )
    _fill_from_payload(invoice, payload)
    invoice.problems = problems
    invoice.status = Status.NEEDS_ATTENTION if problems else Status.BUILT
    return payload


# --- Waiting for the organization's FIRS set-up -----------------------------------------------
# Without a service id, business id or keys no IRN can be made and no FIRS call can succeed. The
# invoice waits, without an IRN, until the set-up is verified (accounts.services), then it is
# built and queued like any other; nothing retries it meanwhile.


def _wait_for_setup(invoice: Invoice, *, reason: str, credits: bool) -> dict:
    invoice.irn = ""
    invoice.purpose = "credit_note" if credits else "invoice"
    invoice.status = Status.WAITING_SETUP
    invoice.problems = [{"path": "", "message": reason}]
    # One line per organization, when its first sale starts waiting, not one per sale or sweep.
    if not Invoice.objects.filter(
        organization=invoice.organization, status=Status.WAITING_SETUP
    ).exists():
        logger.warning(
            "Organization %s: sales wait for its FIRS set-up (%s)",
            invoice.organization.pk,
            reason,
        )
    return {}


def invoice_setup_resume(
    *, invoice: Invoice, source: Sale | Deal | Document, original: Invoice | None = None
) -> Invoice:
    """Build and queue an invoice that waited for its organization's FIRS set-up, now complete;
    an invoice no longer waiting, or an organization still incomplete, is left as it is.
    ``source`` is the sale or deal it was created for, ``original`` the invoice a refund credits."""
    if invoice.status != Status.WAITING_SETUP or organization_firs_setup_problem(
        organization=invoice.organization
    ):
        return invoice
    invoice.billing_reference_irn = original.irn if original else ""
    issue_at = timezone.localtime(_issue_datetime(source))
    source = catalog_services.source_classified(
        organization=invoice.organization, platform=invoice.source_platform, source=source
    )
    payload = _build(invoice, source=source, original=original, issue_at=issue_at)
    with transaction.atomic():
        still_waiting = (
            Invoice.objects.select_for_update()
            .filter(pk=invoice.pk, status=Status.WAITING_SETUP)
            .exists()
        )
        if not still_waiting:
            invoice.refresh_from_db()
            return invoice
        invoice.save()
        _snapshots_save(invoice, payload, source=source)
        _history_add(
            invoice,
            Status.WAITING_SETUP,
            invoice.status,
            _problems_text(invoice.problems) or "FIRS set-up verified",
        )
        if invoice.status == Status.BUILT:
            invoice_enqueue(invoice=invoice)
    return invoice


def _own_number(*, organization, source, issue_at) -> str:
    """An ERP document's own number (the ERP's invoice is the legal one; its IRN keeps the
    letters and digits), unless another invoice of the organization has that IRN already (two
    ERPs numbering alike): then, as for every other source, "" and the sequence's next."""
    if not isinstance(source, Document):
        return ""
    number = source.number.strip()[:64]
    try:
        irn = irn_make(
            invoice_number=number,
            service_id=organization.firs_service_id,
            issue_date=issue_at.date(),
        )
    except ValueError:
        return ""
    if Invoice.objects.filter(organization=organization, irn=irn).exists():
        return ""
    return number


def invoice_number_allocate(*, organization) -> str:
    """The organization's next invoice number, ``{prefix}-{sequence}`` (``TXP-000123``): one
    statement that creates the counter on first use and otherwise increments it, holding its
    row until the caller's transaction ends so two invoices never share a number."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO invoice_number_sequences AS sequence (organization_id, prefix, last_value)
            VALUES (%s, %s, 1)
            ON CONFLICT (organization_id) DO UPDATE SET last_value = sequence.last_value + 1
            RETURNING prefix, last_value
            """,
            [organization.pk, INVOICE_NUMBER_DEFAULT_PREFIX],
        )
        prefix, value = cursor.fetchone()
    return f"{prefix}-{value:0{INVOICE_NUMBER_DIGITS}d}"


def _payload_build(
    *,
    invoice: Invoice,
    source: Sale | Deal | Document,
    original: Invoice | None,
    issue_at: datetime,
) -> tuple[dict, list[dict]]:
    """The FIRS JSON of ``invoice`` and what stops it (empty when it can go to FIRS)."""
    organization = invoice.organization
    try:
        payload = invoice_build(
            source=source,
            supplier=organization,
            codes=selectors.code_lists(),
            invoice_number=invoice.number,
            issue_datetime=issue_at,
            service_id=organization.firs_service_id,
            business_id=organization.firs_business_id,
            billing_reference=(
                InvoiceReference(irn=original.irn, issue_date=original.issue_date)
                if original
                else None
            ),
        )
    except (InvoiceBuildError, ValueError, LookupError) as exc:
        return {}, [{"path": "", "message": str(exc)}]
    return payload, [
        {"path": problem.path, "message": problem.message}
        for problem in invoice_validate(payload, codes=selectors.code_lists())
    ]


def _issue_datetime(source: Sale | Deal | Document) -> datetime:
    if isinstance(source, Sale):
        return source.occurred_at
    if isinstance(source, Document):
        return source.issued_at
    return source.closed_at or source.modified_at


def _buyer_tin(source: Sale | Deal | Document) -> str:
    party = source.customer if isinstance(source, Sale) else source.buyer
    return party.tin if party else ""


def _money(value) -> Decimal:
    return round2(decimal_from_json(value) or Decimal(0))


def _fill_from_payload(invoice: Invoice, payload: dict) -> None:
    totals = payload.get("legal_monetary_total", {})
    invoice.payload = payload
    invoice.type_code = str(payload.get("invoice_type_code", ""))
    invoice.purpose = "credit_note" if invoice.billing_reference_irn else "invoice"
    invoice.line_extension_amount = _money(totals.get("line_extension_amount"))
    invoice.tax_exclusive_amount = _money(totals.get("tax_exclusive_amount"))
    invoice.tax_inclusive_amount = _money(totals.get("tax_inclusive_amount"))
    invoice.payable_amount = _money(totals.get("payable_amount"))
    invoice.tax_amount = sum(
        (_money(total.get("tax_amount")) for total in payload.get("tax_total", [])), Decimal(0)
    )
    invoice.payment_status = payload.get("payment_status", Invoice.PaymentStatus.PENDING)


def _snapshots_save(invoice: Invoice, payload: dict, *, source: Sale | Deal) -> None:
    InvoiceParty.objects.bulk_create(
        InvoiceParty(
            invoice=invoice,
            role=role,
            name=party.get("party_name", ""),
            tin=party.get("tin", ""),
            email=party.get("email", ""),
            telephone=party.get("telephone", ""),
            address=party.get("postal_address", {}),
        )
        for role, party in (
            (InvoiceParty.Role.SUPPLIER, payload.get("accounting_supplier_party")),
            (InvoiceParty.Role.CUSTOMER, payload.get("accounting_customer_party")),
        )
        if party
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            position=position,
            name=line["item"]["name"],
            hs_code=line.get("hsn_code", ""),
            quantity=line["invoiced_quantity"],
            price_amount=line["price"]["price_amount"],
            line_extension_amount=line["line_extension_amount"],
            # The builder keeps the source's line order; a deal without lines has one line.
            tax_amount=(
                source_line.tax_amount
                if (source_line := _source_line(source, position)) is not None
                else None
            ),
        )
        for position, line in enumerate(payload.get("invoice_line", []), start=1)
    )
    InvoiceTaxSubtotal.objects.bulk_create(
        InvoiceTaxSubtotal(
            invoice=invoice,
            category=subtotal["tax_category"]["id"],
            percent=subtotal["tax_category"]["percent"],
            taxable_amount=subtotal["taxable_amount"],
            tax_amount=subtotal["tax_amount"],
        )
        for total in payload.get("tax_total", [])
        for subtotal in total.get("tax_subtotal", [])
    )


def _source_line(source: Sale | Deal, position: int):
    lines = source.lines
    return lines[position - 1] if position <= len(lines) else None


def invoice_enqueue(*, invoice: Invoice, countdown: float | None = None) -> None:
    """Run the pipeline for this invoice on its source's queue, once the transaction commits."""
    from invoices.tasks import invoice_advance

    transaction.on_commit(
        lambda: invoice_advance.apply_async(
            kwargs={"invoice_id": invoice.pk}, queue=invoice.queue, countdown=countdown
        )
    )


# --- Advancing --------------------------------------------------------------------------------


@dataclass
class StepOutcome:
    fields: dict
    note: str = ""
    # Set when FIRS turned out to be further along than our record (a sign whose reply was lost).
    reached: str | None = None


def invoice_advance(*, invoice_id: int, claim_token: str, invoice: Invoice | None = None) -> str:
    """Take the invoice as far as FIRS lets it go now. Returns the status it was left in.

    Safe to call any number of times, from any worker: only the holder of the claim works on
    the invoice, and every step is a conditional transition. ``invoice``: the row as its caller
    has just written or read it (saves reading it again after claiming).
    """
    invoice = _claim(invoice_id=invoice_id, claim_token=claim_token, invoice=invoice)
    if invoice is None:
        return "not claimed"
    try:
        while invoice.stage in _next_stages(invoice) and not invoice.is_final:
            if not _step(invoice):
                # Held back, failed, or moved by someone else: the row says where it is now.
                invoice.refresh_from_db()
                break
        return invoice.status
    finally:
        # The final step lets the claim go in its own write.
        if invoice.claim_token == claim_token:
            Invoice.objects.filter(pk=invoice.pk, claim_token=claim_token).update(
                claimed_until=None, claim_token=""
            )


def _claim(*, invoice_id: int, claim_token: str, invoice: Invoice | None) -> Invoice | None:
    now = timezone.now()
    if (
        invoice is not None
        and invoice.claim_token == claim_token
        and invoice.claimed_until is not None
        and invoice.claimed_until > now
    ):
        # Stored claimed by this caller a moment ago (invoice_create_for_source).
        return invoice
    lease = timedelta(seconds=settings.INVOICE_CLAIM_SECONDS)
    # An invoice in hand is claimed only while the row is still where it says.
    held = {"stage": invoice.stage, "status": invoice.status} if invoice else {}
    claimed = (
        Invoice.objects.filter(pk=invoice_id, **held)
        .exclude(status__in=(Status.CONFIRMED, Status.NEEDS_ATTENTION, Status.WAITING_SETUP))
        # A redelivered task carries the same token, so it may take over at once from the
        # worker that was killed while holding the claim.
        .filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now) | Q(claim_token=claim_token)
        )
        .update(claimed_until=now + lease, claim_token=claim_token)
    )
    if not claimed:
        return None
    if invoice is None:
        return Invoice.objects.select_related("organization").get(pk=invoice_id)
    invoice.claimed_until, invoice.claim_token = now + lease, claim_token
    return invoice


def _next_stages(invoice: Invoice) -> dict:
    return NEXT_STAGE_B2C if invoice.kind == Invoice.Kind.B2C else NEXT_STAGE


def _step(invoice: Invoice) -> bool:
    """Do the step after ``invoice.stage``; True when it moved forward."""
    from_stage = Stage(invoice.stage)
    to_stage = _next_stages(invoice)[from_stage]
    work = _STEP_WORK_B2C if invoice.kind == Invoice.Kind.B2C else _STEP_WORK
    exchanges = FirsExchangeLog(invoice)
    try:
        with firs_client_for(organization=invoice.organization) as client:
            outcome = work[to_stage](invoice, client, exchanges)
    except FirsTransientError as error:
        exchanges.save()
        _retry_later(invoice, error)
        return False
    except FirsError as error:
        exchanges.save()
        _needs_attention(
            invoice,
            f"FIRS refused {error.operation or to_stage.label}: {error}",
            code=problem_code(error),
        )
        return False
    passed = _stages_passed(invoice, Stage(outcome.reached or to_stage), note=outcome.note)
    reached = passed[-1][0]
    now = timezone.now()
    fields = {
        **outcome.fields,
        "stage": reached,
        "status": reached,
        "attempts": 0,
        "next_attempt_at": None,
        **{STAGE_TIMESTAMP[stage]: now for stage, _ in passed},
    }
    if reached == Stage.CONFIRMED:
        fields |= {"claimed_until": None, "claim_token": ""}
    moved = _transition(
        invoice, from_stage=from_stage, passed=passed, fields=fields, exchanges=exchanges
    )
    if moved:
        # The row now holds exactly these fields: no need to read it back.
        for name, value in fields.items():
            setattr(invoice, name, value)
    return moved


def _validate(invoice: Invoice, client, exchanges: "FirsExchangeLog") -> StepOutcome:
    try:
        exchanges.call(
            "validate_irn",
            lambda: client.validate_irn(
                business_id=str(invoice.organization.firs_business_id),
                invoice_reference=invoice_number_clean(invoice.number),
                irn=invoice.irn,
            ),
        )
        exchanges.call("validate", lambda: client.validate(invoice=invoice.payload))
    except DuplicateIrn:
        # FIRS already registered this IRN: ours, since the IRN is unique per business.
        held = exchanges.call("confirm", lambda: client.confirm(irn=invoice.irn))
        outcome = _signed(invoice, held, note="FIRS already held this IRN; confirmed")
        outcome.reached = Stage.SIGNED
        return outcome
    return StepOutcome(fields={})


def _sign(invoice: Invoice, client, exchanges: "FirsExchangeLog") -> StepOutcome:
    if invoice.sign_attempted_at is not None:
        # The last sign may have been registered with its reply lost: ask before signing again.
        try:
            held = exchanges.call("confirm", lambda: client.confirm(irn=invoice.irn))
            return _signed(invoice, held, note="already registered by an earlier attempt")
        except FirsNotFound:
            pass
    Invoice.objects.filter(pk=invoice.pk).update(sign_attempted_at=timezone.now())
    invoice.sign_attempted_at = timezone.now()
    _fault_point("before_sign")
    try:
        response = exchanges.call("sign", lambda: client.sign(invoice=invoice.payload))
    except DuplicateIrn:
        response = exchanges.call("confirm", lambda: client.confirm(irn=invoice.irn))
        return _signed(invoice, response, note="FIRS already held this IRN; confirmed")
    outcome = _signed(invoice, response)
    _fault_point("after_sign")
    return outcome


def _signed(invoice: Invoice, response: FirsResponse, note: str = "") -> StepOutcome:
    organization = invoice.organization
    fields = {"sign_response": response.body}
    if organization.firs_public_key and organization.firs_certificate:
        fields["qr_stamp"] = qr_stamp_make(
            irn=invoice.irn,
            certificate=organization.firs_certificate,
            public_key=organization.firs_public_key,
            stamped_at=timezone.now(),
        )
    return StepOutcome(fields=fields, note=note)


def _transmit(invoice: Invoice, client, exchanges: "FirsExchangeLog") -> StepOutcome:
    exchanges.call("transmit", lambda: client.transmit(irn=invoice.irn))
    return StepOutcome(fields={})


def _confirm(invoice: Invoice, client, exchanges: "FirsExchangeLog") -> StepOutcome:
    exchanges.call("confirm", lambda: client.confirm(irn=invoice.irn))
    return StepOutcome(fields={})


_B2C_COMPLETE_NOTE = "B2C: reported to FIRS by signing; not transmitted"


def _reported(invoice: Invoice, client, exchanges: "FirsExchangeLog") -> StepOutcome:
    # A receipt signed before signing completed it: there is nothing more to ask FIRS.
    return StepOutcome(fields={}, note=_B2C_COMPLETE_NOTE)


_STEP_WORK = {
    Stage.VALIDATED: _validate,
    Stage.SIGNED: _sign,
    Stage.TRANSMITTED: _transmit,
    Stage.CONFIRMED: _confirm,
}
_STEP_WORK_B2C = {**_STEP_WORK, Stage.CONFIRMED: _reported}


def _stages_passed(invoice: Invoice, reached: Stage, *, note: str) -> list[tuple[Stage, str]]:
    """The stages one step takes the invoice through, each with its history note: a signed B2C
    receipt is also complete (NEXT_STAGE_B2C), so one write records both."""
    if reached == Stage.SIGNED and invoice.kind == Invoice.Kind.B2C:
        return [(Stage.SIGNED, note), (Stage.CONFIRMED, _B2C_COMPLETE_NOTE)]
    return [(reached, note)]


class FirsExchangeLog:
    """The record of one step's FIRS calls, kept on the invoice. Written in the transaction of
    the step's transition (no statement of their own), or at once when the step fails: a
    failure's record must not wait for a transition that does not come."""

    def __init__(self, invoice: Invoice):
        self.invoice = invoice
        self.unsaved: list[FirsExchange] = []

    def call(self, operation: str, call) -> FirsResponse:
        """Make one FIRS call and keep its record; a failed call's record is written now."""
        started = time.monotonic()
        try:
            response = call()
        except FirsError as error:
            self._keep(
                operation,
                started,
                http_status=error.status,
                ok=False,
                response=error.envelope,
                error=str(error)[:2000],
            )
            self.save()
            raise
        self._keep(operation, started, http_status=response.status, ok=True, response=response.body)
        return response

    def _keep(self, operation: str, started: float, **outcome) -> None:
        duration_ms = int((time.monotonic() - started) * 1000)
        self.unsaved.append(
            FirsExchange(
                invoice=self.invoice, operation=operation, duration_ms=duration_ms, **outcome
            )
        )

    def save(self) -> None:
        if self.unsaved:
            FirsExchange.objects.bulk_create(self.unsaved)
            self.unsaved = []


def _call(invoice: Invoice, operation: str, call) -> FirsResponse:
    """Make one FIRS call outside a step and keep its record at once."""
    exchanges = FirsExchangeLog(invoice)
    response = exchanges.call(operation, call)
    exchanges.save()
    return response


def _transition(
    invoice: Invoice,
    *,
    from_stage: str,
    passed: list[tuple[Stage, str]],
    fields: dict,
    exchanges: FirsExchangeLog,
) -> bool:
    stages = [stage for stage, _ in passed]
    with transaction.atomic():
        exchanges.save()
        moved = Invoice.objects.filter(
            pk=invoice.pk,
            stage=from_stage,
            status__in=(from_stage, Status.RETRYING),
        ).update(**fields, updated_at=timezone.now())
        if moved:
            InvoiceStatusChange.objects.bulk_create(
                InvoiceStatusChange(
                    invoice=invoice, from_status=before, to_status=stage, note=note[:2000]
                )
                for before, (stage, note) in zip([invoice.status, *stages], passed, strict=False)
            )
            for stage in stages:
                invoice_stage_reached.send(
                    sender=Invoice, invoice=invoice, stage=stage, at=fields[STAGE_TIMESTAMP[stage]]
                )
    if moved and Stage.SIGNED in stages and invoice.source_received_at:
        signed_at = fields[STAGE_TIMESTAMP[Stage.SIGNED]]
        latency = (signed_at - invoice.source_received_at).total_seconds()
        SOURCE_TO_SIGNED_SECONDS.labels(invoice.source_type, invoice.source_platform).observe(
            latency
        )
        if invoice.queue == "realtime":
            realtime_latency_note(seconds=latency)
    return bool(moved)


def _retry_later(invoice: Invoice, error: FirsTransientError) -> None:
    # While the breaker holds calls back no request was made: waiting costs no attempt, so a
    # long FIRS outage leaves invoices waiting, not failed.
    attempts = invoice.attempts + (0 if isinstance(error, FirsCircuitOpen) else 1)
    waited = timezone.now() - _retrying_since(invoice)
    if waited.total_seconds() > settings.INVOICE_RETRY_BUDGET_SECONDS:
        _needs_attention(
            invoice,
            f"FIRS kept failing for {_duration_text(waited)}; gave up after "
            f"{invoice.attempts} retries: {error}",
            code=PROBLEM_FIRS_UNAVAILABLE,
        )
        return
    delay = retry_delay(attempts=max(attempts, 1), retry_after=getattr(error, "retry_after", None))
    with transaction.atomic():
        moved = Invoice.objects.filter(
            pk=invoice.pk, stage=invoice.stage, status__in=(invoice.stage, Status.RETRYING)
        ).update(
            status=Status.RETRYING,
            attempts=attempts,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
            updated_at=timezone.now(),
            # Let go in the same write: the retry may be delivered before this task is done,
            # and a retry that finds the invoice still held drops itself.
            claimed_until=None,
            claim_token="",
        )
        if moved:
            if invoice.status != Status.RETRYING:
                _history_add(invoice, invoice.status, Status.RETRYING, str(error)[:500])
            invoice_enqueue(invoice=invoice, countdown=delay)


def _retrying_since(invoice: Invoice) -> datetime:
    """When the invoice's current run of transient failures began (now, for its first)."""
    if invoice.status != Status.RETRYING:
        return timezone.now()
    began = (
        invoice.history.filter(to_status=Status.RETRYING)
        .order_by("-at", "-id")
        .values_list("at", flat=True)
        .first()
    )
    return began or invoice.updated_at


def _duration_text(duration: timedelta) -> str:
    hours, seconds = divmod(int(duration.total_seconds()), 3600)
    return f"{hours} h {seconds // 60} min" if hours else f"{seconds // 60} min"


def retry_delay(*, attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter (half to all of the step), not earlier than FIRS's
    Retry-After, and never beyond INVOICE_RETRY_MAX_SECONDS (a countdown must stay far below the
    broker's visibility timeout, or the broker hands the task to a second worker meanwhile)."""
    cap = settings.INVOICE_RETRY_MAX_SECONDS
    # The exponent stops growing long after the cap is reached: hours of retries stay finite.
    ceiling = min(cap, settings.INVOICE_RETRY_BASE_SECONDS * 2 ** min(attempts - 1, 32))
    delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security
    return min(cap, max(delay, retry_after or 0))


# What kind of failure parked an invoice, stored with its problem so pages can say who fixes it.
PROBLEM_FIRS_UNAVAILABLE = "firs_unavailable"
PROBLEM_FIRS_REJECTED = "firs_rejected"
PROBLEM_FIRS_CREDENTIALS = "firs_credentials"
PROBLEM_FIRS_SETUP = "firs_setup"


def problem_code(error: FirsError) -> str:
    """The stored kind of a FIRS error that parked an invoice."""
    if isinstance(error, FirsAuthenticationError):
        return PROBLEM_FIRS_CREDENTIALS
    if error.status is None:
        # Refused before any request: the organization's FIRS settings are incomplete.
        return PROBLEM_FIRS_SETUP
    return PROBLEM_FIRS_REJECTED


def _needs_attention(invoice: Invoice, message: str, *, code: str) -> None:
    with transaction.atomic():
        moved = (
            Invoice.objects.filter(pk=invoice.pk, stage=invoice.stage)
            .exclude(status=Status.NEEDS_ATTENTION)
            .update(
                status=Status.NEEDS_ATTENTION,
                problems=[{"path": "", "message": message, "code": code}],
                next_attempt_at=None,
                updated_at=timezone.now(),
            )
        )
        if moved:
            _history_add(invoice, invoice.status, Status.NEEDS_ATTENTION, message)


def _history_add(invoice: Invoice, from_status: str, to_status: str, note: str = "") -> None:
    InvoiceStatusChange.objects.create(
        invoice=invoice, from_status=from_status, to_status=to_status, note=note[:2000]
    )


def _problems_text(problems: list[dict]) -> str:
    return "; ".join(
        f"{problem['path']}: {problem['message']}" if problem["path"] else problem["message"]
        for problem in problems
    )


def _fault_point(name: str) -> None:
    """Test hook for the crash tests: pause here so a test can SIGKILL the worker mid-step."""
    pause = settings.INVOICE_FAULT_PAUSES.get(name)
    if pause:
        time.sleep(pause)


# --- Operators' and tenants' actions ----------------------------------------------------------


# What a tenant's Retry re-drives: parked invoices, and those waiting out a FIRS backoff.
RETRYABLE_STATUSES = (Status.NEEDS_ATTENTION, Status.RETRYING)


def invoice_redrive(*, invoice: Invoice, actor, countdown: float | None = None) -> bool:
    """Put an invoice that needs attention (or is stuck) back on its queue, from its last step.

    ``actor``: the user who asked (recorded in the history), or a text naming the automation."""
    now = timezone.now()
    with transaction.atomic():
        moved = (
            Invoice.objects.filter(pk=invoice.pk)
            # Never under a worker that holds the invoice: two workers could sign it twice.
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            # One waiting for FIRS set-up has no IRN yet: the set-up's verification builds it.
            .exclude(status__in=(Status.CONFIRMED, Status.WAITING_SETUP))
            .update(
                status=invoice.stage,
                attempts=0,
                next_attempt_at=None,
                claimed_until=None,
                claim_token="",
                updated_at=timezone.now(),
            )
        )
        if moved:
            _history_add(invoice, invoice.status, invoice.stage, f"re-driven by {actor}")
            if not isinstance(actor, str):  # a person asked; automation's re-drives are not
                audit_record(
                    action=Action.INVOICE_REDRIVEN,
                    actor=actor,
                    organization=invoice.organization_id,
                    target=invoice,
                    changes={"status": [invoice.status, invoice.stage]},
                )
            invoice_enqueue(invoice=invoice, countdown=countdown)
    return bool(moved)


def invoices_retry_all(*, organization, actor) -> int:
    """Queue, on the batch queue, the re-drive of every invoice of the organization that a retry
    can move: waiting for FIRS, or parked by a FIRS outage. Returns how many there are now.

    Safe to repeat: each re-drive is a conditional write, so an invoice re-driven once is no
    longer retryable and a second request leaves it alone."""
    from invoices.tasks import invoices_retry_all_task

    count = selectors.invoices_retryable(organization=organization).count()
    if count:
        transaction.on_commit(
            lambda: invoices_retry_all_task.apply_async(
                kwargs={"organization_id": organization.pk, "actor_id": actor.pk}, queue="batch"
            )
        )
    return count


def invoices_redrive_retryable(*, organization_id, actor_id) -> int:
    """The task body behind ``invoices_retry_all``: re-drive each retryable invoice, staggered at
    FIRS_REDRIVE_PER_SECOND. Returns how many were re-driven."""
    from accounts.models import Organization, User

    organization = Organization.objects.get(pk=organization_id)
    actor = User.objects.get(pk=actor_id)
    redriven = 0
    for invoice in selectors.invoices_retryable(organization=organization).order_by("id"):
        if invoice_redrive(invoice=invoice, actor=actor, countdown=_stagger(redriven)):
            redriven += 1
    return redriven


def invoices_redrive_waiting_on_firs(*, host: str) -> int:
    """Queue again, staggered, the invoices waiting to retry a FIRS at ``host`` later than now:
    FIRS answers again, so the backoff would only keep them waiting. Returns how many.

    A message still counting down for one of them finds it done, or claims it and carries on:
    every step is a conditional transition."""
    now = timezone.now()
    requeued = 0
    for invoice in selectors.invoices_waiting_on_firs(host=host, now=now):
        delay = _stagger(requeued)
        moved = Invoice.objects.filter(
            pk=invoice.pk, status=Status.RETRYING, next_attempt_at__gt=now
        ).update(next_attempt_at=now + timedelta(seconds=delay))
        if moved:
            invoice_enqueue(invoice=invoice, countdown=delay)
            requeued += 1
    if requeued:
        logger.info("FIRS at %s answers again: %s waiting invoices queued", host, requeued)
    return requeued


def _stagger(position: int) -> float:
    return position / settings.FIRS_REDRIVE_PER_SECOND


def invoice_mark_paid(*, invoice: Invoice, actor, reference: str = "") -> Invoice:
    """Tell FIRS the invoice is paid, then record it (with ``actor``, who did it). An invoice
    already paid is left as is."""
    if invoice.stage not in (Stage.SIGNED, Stage.TRANSMITTED, Stage.CONFIRMED):
        raise ValueError("Only an invoice FIRS has signed can be marked paid.")
    if invoice.payment_status == Invoice.PaymentStatus.PAID:
        return invoice
    with firs_client_for(organization=invoice.organization) as client:
        _call(
            invoice,
            "update_payment_status",
            lambda: client.update_payment_status(
                irn=invoice.irn, payment_status="PAID", reference=reference
            ),
        )
    with transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(
            payment_status=Invoice.PaymentStatus.PAID, paid_at=timezone.now()
        )
        note = f"marked paid by {actor}" + (f"; reference {reference}" if reference else "")
        _history_add(invoice, invoice.status, invoice.status, note)
        audit_record(
            action=Action.INVOICE_MARKED_PAID,
            actor=actor,
            organization=invoice.organization_id,
            target=invoice,
            changes={
                "payment_status": [invoice.payment_status, Invoice.PaymentStatus.PAID],
                **({"reference": [None, reference]} if reference else {}),
            },
        )
    invoice.refresh_from_db()
    return invoice


def invoices_sweep() -> int:
    """Re-enqueue invoices whose task was lost: a crash between commit and publish, a broker
    that lost its messages, a retry whose message vanished. Returns how many."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.INVOICE_SWEEP_IDLE_SECONDS)
    count = 0
    for invoice in selectors.invoices_stuck(idle_since=stale, now=now):
        invoice_enqueue(invoice=invoice)
        count += 1
    return count


# --- Code lists -------------------------------------------------------------------------------

CODE_LIST_RESOURCES = (
    "invoice-types",
    "tax-categories",
    "payment-means",
    "currencies",
    "vat-exemptions",
    "hs-codes",
)
# The field that identifies an entry in each list.
CODE_LIST_KEYS = {"vat-exemptions": "harmonized_system_code"}


def code_lists_store(*, resources: dict) -> int:
    """Replace the stored code lists with these FIRS resource lists (checked before storing)."""
    CodeLists.from_resources(resources)
    stored = 0
    with transaction.atomic():
        for name in CODE_LIST_RESOURCES:
            rows = resources[name]["data"] if isinstance(resources[name], dict) else resources[name]
            key = CODE_LIST_KEYS.get(name, "code")
            codes = [str(row[key]) for row in rows]
            FirsCodeListEntry.objects.filter(resource=name).exclude(code__in=codes).delete()
            for code, row in zip(codes, rows, strict=True):
                FirsCodeListEntry.objects.update_or_create(
                    resource=name, code=code, defaults={"data": row}
                )
                stored += 1
    selectors.code_lists_forget()
    return stored


def code_lists_refresh() -> dict:
    """Fetch every code list from FIRS (``FIRS_RESOURCES_BASE_URL``) and store it."""
    base_url = settings.FIRS_RESOURCES_BASE_URL
    if not base_url:
        return {"skipped": "FIRS_RESOURCES_BASE_URL is not set"}
    with FirsClient(base_url, "", "", timeout=(5, 30)) as client:
        resources = {name: client.resources(name=name).data for name in CODE_LIST_RESOURCES}
    return {"stored": code_lists_store(resources=resources)}


# --- E-mail to the buyer ----------------------------------------------------------------------


def invoice_email_to_customer(*, invoice: Invoice, sent_by) -> InvoiceEmail:
    """E-mails the signed invoice (or receipt, or credit note) to the buyer's address, with its
    FIRS QR code attached, and records who sent it and when. ``ValueError`` when it cannot be
    sent: not signed by FIRS yet, or the buyer has no e-mail address."""
    if not invoice.qr_stamp:
        raise ValueError("FIRS has not signed this invoice yet, so it has no QR code to send.")
    customer = invoice.parties.filter(role=InvoiceParty.Role.CUSTOMER).first()
    address = customer.email.strip() if customer else ""
    try:
        validate_email(address)
    except ValidationError:
        raise ValueError("The buyer has no valid e-mail address on this invoice.") from None
    supplier = invoice.parties.filter(role=InvoiceParty.Role.SUPPLIER).first()
    context = {"invoice": invoice, "customer": customer, "supplier": supplier}
    message = EmailMessage(
        subject=render_to_string("invoices/email/invoice_subject.txt", context).strip(),
        body=render_to_string("invoices/email/invoice.txt", context),
        to=[address],
    )
    message.attach(f"{invoice.irn}.png", qr_png(data=invoice.qr_stamp), "image/png")
    message.send()
    return InvoiceEmail.objects.create(invoice=invoice, to=address, sent_by=sent_by)
