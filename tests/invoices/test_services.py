"""The invoice pipeline's task bodies, run in-process against the FIRS sandbox over real HTTP."""

import gc
import time
import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from integrations.base.canonical import SaleKind
from invoices import services
from invoices.firs.client import SharedCircuitBreaker
from invoices.models import FirsExchange, Invoice
from sandboxes.firs.models import FirsSandboxCredential
from sandboxes.firs.server import FAULTS_CACHE_KEY, sandbox_faults_set
from taxpoynt.lib.priority import realtime_is_late
from tests.invoices.pipeline_support import pos_sale, sandbox_organization, won_deal

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def isolated_firs_state(live_server):
    cache.delete(FAULTS_CACHE_KEY)
    SharedCircuitBreaker(name=live_server.url.split("//")[1]).reset()
    yield
    cache.delete(FAULTS_CACHE_KEY)
    SharedCircuitBreaker(name=live_server.url.split("//")[1]).reset()
    gc.collect()


@pytest.fixture
def enqueued(monkeypatch):
    """What the services would have put on a queue (tests drive the steps themselves)."""
    calls = []
    monkeypatch.setattr(
        services,
        "invoice_enqueue",
        lambda *, invoice, countdown=None: calls.append((invoice.pk, countdown)),
    )
    return calls


@pytest.fixture
def organization(live_server):
    return sandbox_organization(base_url=f"{live_server.url}/sandbox/firs")


def _create(organization, number=1, **sale_options):
    invoice, created = services.invoice_create_for_source(
        organization=organization,
        source_type=Invoice.Source.POS,
        source_id=uuid.UUID(int=number),
        source=pos_sale(number, **sale_options),
    )
    return invoice, created


def _advance(invoice, token="task-1"):
    status = services.invoice_advance(invoice_id=invoice.pk, claim_token=token)
    invoice.refresh_from_db()
    return status


def _sandbox_counters():
    credential = FirsSandboxCredential.objects.get()
    return credential.accepted_irns, credential.duplicate_submissions


def test_pos_sale_goes_from_built_to_confirmed(organization, enqueued):
    invoice, created = _create(organization)
    assert created and invoice.status == Invoice.Status.BUILT
    assert enqueued == [(invoice.pk, None)]
    assert (invoice.number, invoice.irn) == ("TXP-000001", "TXP000001-TPT12345-20261120")
    assert invoice.kind == Invoice.Kind.B2C
    assert str(invoice.payable_amount) == "23515.00"

    assert _advance(invoice) == Invoice.Status.CONFIRMED
    # A B2C receipt is reported by signing it: there is no buyer's APP to transmit it to.
    assert [change.to_status for change in invoice.history.all()] == [
        "built",
        "validated",
        "signed",
        "confirmed",
    ]
    assert invoice.signed_at and invoice.confirmed_at and invoice.qr_stamp
    assert invoice.transmitted_at is None
    assert invoice.sign_response["code"] in (200, 201)
    assert list(invoice.exchanges.values_list("operation", flat=True)) == [
        "validate_irn",
        "validate",
        "sign",
    ]
    assert invoice.lines.count() == 2 and invoice.tax_subtotals.count() == 2
    assert _sandbox_counters() == (1, 0)


def test_b2b_sale_is_transmitted_then_confirmed(organization, enqueued):
    buyer = won_deal().buyer
    invoice, _ = _create(organization, customer=buyer)
    assert invoice.kind == Invoice.Kind.B2B

    assert _advance(invoice) == Invoice.Status.CONFIRMED
    assert [change.to_status for change in invoice.history.all()] == [
        "built",
        "validated",
        "signed",
        "transmitted",
        "confirmed",
    ]
    assert invoice.transmitted_at and invoice.confirmed_at
    assert list(invoice.exchanges.values_list("operation", flat=True)) == [
        "validate_irn",
        "validate",
        "sign",
        "transmit",
        "confirm",
    ]


def test_b2c_receipt_transmitted_before_the_rule_is_confirmed_without_a_call(
    organization, enqueued
):
    invoice, _ = _create(organization)
    _advance(invoice)
    Invoice.objects.filter(pk=invoice.pk).update(
        stage=Invoice.Stage.TRANSMITTED, status=Invoice.Status.TRANSMITTED
    )
    calls = FirsExchange.objects.count()

    assert _advance(invoice, token="again") == Invoice.Status.CONFIRMED
    assert FirsExchange.objects.count() == calls


@pytest.mark.parametrize(("queue", "holds_batch_back"), [("", True), ("batch", False)])
def test_a_live_sale_signed_late_holds_batch_work_back(
    organization, enqueued, queue, holds_batch_back
):
    invoice, _ = services.invoice_create_for_source(
        organization=organization,
        source_type=Invoice.Source.POS,
        source_id=uuid.UUID(int=40),
        source=pos_sale(40),
        received_at=timezone.now() - timedelta(seconds=5),
        queue=queue,
    )

    assert _advance(invoice) == Invoice.Status.CONFIRMED
    assert realtime_is_late() is holds_batch_back


def test_same_source_gives_one_invoice(organization, enqueued):
    first, created = _create(organization)
    second, created_again = _create(organization)
    assert created and not created_again
    assert first.pk == second.pk
    assert Invoice.objects.count() == 1
    assert len(enqueued) == 1


def test_redelivered_task_skips_what_is_done(organization, enqueued):
    invoice, _ = _create(organization)
    _advance(invoice, token="first")
    calls = FirsExchange.objects.count()
    assert _advance(invoice, token="redelivery") == "not claimed"
    assert FirsExchange.objects.count() == calls
    assert _sandbox_counters() == (1, 0)


def test_claimed_invoice_is_left_to_its_holder(organization, enqueued):
    invoice, _ = _create(organization)
    Invoice.objects.filter(pk=invoice.pk).update(
        claimed_until=timezone.now() + timedelta(seconds=60), claim_token="other-task"
    )
    assert _advance(invoice, token="second-task") == "not claimed"
    assert invoice.status == Invoice.Status.BUILT
    # The same task redelivered after its worker died takes over at once.
    assert _advance(invoice, token="other-task") == Invoice.Status.CONFIRMED


def test_firs_400_is_tried_once_and_needs_attention(organization, enqueued):
    """F9(a): a validation error is permanent; one call, then a person must act."""
    organization.firs_business_id = "00000000-0000-4000-8000-000000000000"
    organization.save()
    invoice, _ = _create(organization)
    assert _advance(invoice) == Invoice.Status.NEEDS_ATTENTION
    assert invoice.exchanges.filter(operation="validate_irn").count() == 1
    assert "business" in invoice.problems[0]["message"].lower()
    assert invoice.history.last().to_status == "needs_attention"
    assert len(enqueued) == 1  # only the first enqueue; no retry


def test_bad_api_key_needs_attention_without_leaking_the_secret(organization, enqueued):
    organization.firs_api_secret = "wrong-canary-secret-0042"
    organization.save()
    invoice, _ = _create(organization)
    assert _advance(invoice) == Invoice.Status.NEEDS_ATTENTION
    assert "api key" in invoice.problems[0]["message"]
    assert "wrong-canary" not in str(invoice.problems) + str(
        list(invoice.exchanges.values_list("error", "response"))
    )


def test_503_means_retrying_with_backoff_then_success(organization, enqueued):
    """F7 at the scale of one invoice: transient, retried later, never failed."""
    sandbox_faults_set(server_error_rate=1.0)
    invoice, _ = _create(organization)
    assert _advance(invoice) == Invoice.Status.RETRYING
    assert invoice.attempts == 1 and invoice.next_attempt_at > timezone.now()
    retry_countdown = enqueued[-1][1]
    assert retry_countdown is not None and 0 < retry_countdown <= 600
    sandbox_faults_set(server_error_rate=0.0)
    assert _advance(invoice, token="retry-1") == Invoice.Status.CONFIRMED


def test_a_retry_delivered_before_its_failed_task_has_finished_can_claim_the_invoice(
    organization, monkeypatch
):
    """A short countdown can bring the retry while the task that failed is still on its way
    out: the retry must find the invoice free, not drop itself as "not claimed" and leave the
    invoice to the sweeper."""
    from django.db import transaction

    sandbox_faults_set(server_error_rate=1.0)
    invoice, _ = _create(organization)
    retries = []

    def retry_delivered_at_once(*, invoice, countdown=None):
        def run_retry():
            sandbox_faults_set(server_error_rate=0.0)
            retries.append(services.invoice_advance(invoice_id=invoice.pk, claim_token="retry"))

        if not retries:
            transaction.on_commit(run_retry)

    monkeypatch.setattr(services, "invoice_enqueue", retry_delivered_at_once)

    _advance(invoice)

    assert retries == [Invoice.Status.CONFIRMED]
    assert invoice.status == Invoice.Status.CONFIRMED


def _fail_once(organization, invoice, token):
    SharedCircuitBreaker(name=organization.firs_base_url.split("//")[1].split("/")[0]).reset()
    return _advance(invoice, token=token)


def test_transient_failures_keep_retrying_past_eight_attempts(organization, enqueued):
    """A FIRS outage outlasts any small number of attempts: within the time budget the invoice
    keeps retrying, its backoff capped."""
    sandbox_faults_set(server_error_rate=1.0)
    invoice, _ = _create(organization)
    for attempt in range(12):
        assert _fail_once(organization, invoice, f"attempt-{attempt}") == Invoice.Status.RETRYING
    assert invoice.attempts == 12
    assert all(countdown <= 600 for _, countdown in enqueued if countdown is not None)
    sandbox_faults_set(server_error_rate=0.0)
    assert _advance(invoice, token="after-outage") == Invoice.Status.CONFIRMED


def test_retries_past_the_time_budget_land_in_needs_attention(organization, enqueued, settings):
    settings.INVOICE_RETRY_BUDGET_SECONDS = 3600
    sandbox_faults_set(server_error_rate=1.0)
    invoice, _ = _create(organization)
    _fail_once(organization, invoice, "attempt-0")
    _fail_once(organization, invoice, "attempt-1")
    assert invoice.status == Invoice.Status.RETRYING
    # The run of failures began two hours ago (its first move to retrying).
    invoice.history.filter(to_status=Invoice.Status.RETRYING).update(
        at=timezone.now() - timedelta(hours=2)
    )
    _fail_once(organization, invoice, "attempt-2")
    assert invoice.status == Invoice.Status.NEEDS_ATTENTION
    problem = invoice.problems[0]
    assert "FIRS kept failing for 2 h 0 min; gave up after 2 retries" in problem["message"]
    assert problem["code"] == services.PROBLEM_FIRS_UNAVAILABLE


def test_lost_sign_reply_is_resolved_by_confirm_not_a_second_sign(organization, enqueued):
    """F6 at the scale of one invoice."""
    sandbox_faults_set(dropped_reply_rate=1.0, only_operations="sign")
    invoice, _ = _create(organization)
    assert _advance(invoice) == Invoice.Status.RETRYING
    assert invoice.stage == Invoice.Stage.VALIDATED and invoice.sign_attempted_at
    sandbox_faults_set(dropped_reply_rate=0.0, only_operations="")
    assert _advance(invoice, token="retry") == Invoice.Status.CONFIRMED
    assert _sandbox_counters() == (1, 0)
    assert invoice.exchanges.filter(operation="sign").count() == 1


def test_duplicate_answer_is_resolved_by_confirm(organization, enqueued, live_server):
    from invoices.firs.client import firs_client_for

    invoice, _ = _create(organization)
    with firs_client_for(organization=organization) as client:
        client.sign(invoice=invoice.payload)
    assert _advance(invoice) == Invoice.Status.CONFIRMED
    assert "already held" in invoice.history.get(to_status="signed").note
    # Caught at validate_irn: the invoice was never submitted a second time.
    assert _sandbox_counters() == (1, 0)
    assert not invoice.exchanges.filter(operation="sign").exists()


def test_duplicate_answer_to_sign_is_resolved_by_confirm(organization, enqueued):
    from invoices.firs.client import firs_client_for

    invoice, _ = _create(organization)
    Invoice.objects.filter(pk=invoice.pk).update(stage="validated", status="validated")
    with firs_client_for(organization=organization) as client:
        client.sign(invoice=invoice.payload)
    assert _advance(invoice) == Invoice.Status.CONFIRMED
    assert "already held" in invoice.history.get(to_status="signed").note
    assert _sandbox_counters() == (1, 1)


def test_refund_becomes_credit_note_referencing_original(organization, enqueued):
    original, _ = _create(organization)
    _advance(original)
    refund, _ = services.invoice_create_for_source(
        organization=organization,
        source_type=Invoice.Source.POS,
        source_id=uuid.UUID(int=2),
        source=pos_sale(2, kind=SaleKind.REFUND),
        original=original,
    )
    assert refund.status == Invoice.Status.BUILT, refund.problems
    assert refund.purpose == "credit_note"
    assert refund.payload["billing_reference"][0]["irn"] == original.irn
    assert _advance(refund) == Invoice.Status.CONFIRMED


def test_unbuildable_sale_needs_attention_and_is_not_enqueued(organization, enqueued):
    invoice, _ = _create(organization, kind=SaleKind.REFUND)  # a refund with no original
    assert invoice.status == Invoice.Status.NEEDS_ATTENTION
    assert "billing_reference" in invoice.problems[0]["message"]
    assert enqueued == []


def test_sweeper_reenqueues_idle_and_overdue_invoices(organization, enqueued, settings):
    idle, _ = _create(organization, 1)
    overdue, _ = _create(organization, 2)
    held, _ = _create(organization, 3)
    long_ago = timezone.now() - timedelta(seconds=settings.INVOICE_SWEEP_IDLE_SECONDS + 5)
    Invoice.objects.filter(pk=idle.pk).update(updated_at=long_ago)
    Invoice.objects.filter(pk=overdue.pk).update(status="retrying", next_attempt_at=long_ago)
    Invoice.objects.filter(pk=held.pk).update(
        updated_at=long_ago, claimed_until=timezone.now() + timedelta(seconds=30)
    )
    enqueued.clear()
    assert services.invoices_sweep() == 2
    assert sorted(pk for pk, _ in enqueued) == sorted([idle.pk, overdue.pk])


def test_redrive_puts_needs_attention_back_on_the_queue(organization, enqueued):
    organization.firs_api_secret = "wrong-secret-for-now"
    organization.save()
    invoice, _ = _create(organization)
    _advance(invoice)
    assert invoice.status == Invoice.Status.NEEDS_ATTENTION
    organization.firs_api_secret = "pipeline-canary-secret-77c1"
    organization.save()
    enqueued.clear()
    assert services.invoice_redrive(invoice=invoice, actor="operator")
    assert enqueued == [(invoice.pk, None)]
    assert _advance(invoice, token="redriven") == Invoice.Status.CONFIRMED


def test_mark_paid_updates_firs_and_the_invoice(organization, enqueued):
    invoice, _ = _create(organization)
    _advance(invoice)
    Invoice.objects.filter(pk=invoice.pk).update(payment_status="PENDING")
    invoice.refresh_from_db()
    services.invoice_mark_paid(invoice=invoice, actor="owner@example.com", reference="bank-ref-1")
    assert invoice.payment_status == "PAID" and invoice.paid_at
    assert invoice.exchanges.filter(operation="update_payment_status", ok=True).count() == 1


def test_mark_paid_on_a_paid_till_sale_calls_nobody(organization, enqueued):
    invoice, _ = _create(organization)
    _advance(invoice)
    assert invoice.payment_status == "PAID"  # the till took the money
    services.invoice_mark_paid(invoice=invoice, actor="owner@example.com", reference="again")
    assert not invoice.exchanges.filter(operation="update_payment_status").exists()


def test_redrive_leaves_an_invoice_a_worker_holds(organization, enqueued):
    invoice, _ = _create(organization)
    Invoice.objects.filter(pk=invoice.pk).update(
        status="needs_attention",
        claimed_until=timezone.now() + timedelta(seconds=60),
        claim_token="busy-worker",
    )
    invoice.refresh_from_db()
    assert not services.invoice_redrive(invoice=invoice, actor="operator")


def test_code_lists_refresh_from_firs_resources(live_server, settings):
    from invoices import selectors
    from invoices.models import FirsCodeListEntry

    FirsCodeListEntry.objects.filter(resource="vat-exemptions").delete()
    settings.FIRS_RESOURCES_BASE_URL = f"{live_server.url}/sandbox/firs"
    result = services.code_lists_refresh()
    assert result["stored"] == FirsCodeListEntry.objects.count() > 100
    assert selectors.code_lists().is_vat_exempt("1006.3000")
    # The HS code list is refreshed too: a code FIRS adds is accepted from then on.
    assert FirsCodeListEntry.objects.filter(resource="hs-codes", code="1006.3000").exists()
    FirsCodeListEntry.objects.create(
        resource="hs-codes", code="0901.2100", data={"code": "0901.2100", "description": "Coffee"}
    )
    selectors.code_lists_forget()
    assert selectors.code_lists().is_known_hs_code("0901.2100")


def test_code_lists_refresh_is_skipped_without_a_source(settings):
    settings.FIRS_RESOURCES_BASE_URL = ""
    assert "skipped" in services.code_lists_refresh()


def test_breaker_closing_redrives_the_invoices_waiting_on_firs(organization, enqueued, monkeypatch):
    """FIRS answers again after an outage: the probe that closes the breaker queues the re-drive
    of every invoice still counting down its backoff, staggered, instead of leaving them waiting
    up to ten minutes each."""
    from invoices import tasks
    from invoices.firs.client import firs_client_for

    redrives = []
    monkeypatch.setattr(
        tasks.invoices_redrive_waiting_on_firs_task,
        "apply_async",
        lambda *, kwargs, queue: redrives.append((kwargs, queue)),
    )
    host = organization.firs_base_url.split("//")[1].split("/")[0]
    sandbox_faults_set(server_error_rate=1.0)
    waiting = [_create(organization, number)[0] for number in (1, 2)]
    for invoice in waiting:
        assert _fail_once(organization, invoice, "outage") == Invoice.Status.RETRYING
        assert invoice.next_attempt_at > timezone.now()
    # The breaker opened during the outage and its wait is over: the next call is the probe.
    SharedCircuitBreaker(name=host, reset_timeout=0.01)._open()
    time.sleep(0.05)
    sandbox_faults_set(server_error_rate=0.0)
    with firs_client_for(organization=organization) as client:
        client.resources(name="currencies")
    assert redrives == [({"host": host}, "batch")]

    enqueued.clear()
    assert services.invoices_redrive_waiting_on_firs(**redrives[0][0]) == 2
    # Soonest-due first, each a step after the one before.
    assert sorted(pk for pk, _ in enqueued) == sorted(invoice.pk for invoice in waiting)
    assert enqueued[0][1] < enqueued[1][1] < 1
    for invoice in waiting:
        invoice.refresh_from_db()
        assert invoice.next_attempt_at < timezone.now() + timedelta(seconds=1)
        assert _advance(invoice, token="after-outage") == Invoice.Status.CONFIRMED
