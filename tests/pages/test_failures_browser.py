"""Failures closed from the screens that show them, in a real browser (Debian's chromium via
Playwright) against the live server, whose FIRS sandbox stands in for FIRS: the POS dashboard's
Failures link, Retry on an invoice updating its page in place, "retry all" clearing a FIRS
outage's backlog, and a FIRS outage (half an hour, on a compressed clock) ending with every sale
signed without a click. Screenshots go to var/screenshots/failures_<name>.png."""

import re
import time

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from integrations.base.tasks import family_tasks
from integrations.pos.models import POSTransaction
from invoices import services as invoice_services
from invoices.models import Invoice
from sandboxes.firs.server import FAULTS_CACHE_KEY, sandbox_faults_set
from tests.factories import (
    PASSWORD,
    InvoiceFactory,
    POSConnectionFactory,
    POSTransactionFactory,
)
from tests.invoices.pipeline_support import pos_sale
from tests.pages.browser_support import SCREENSHOTS

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# What an invoice parked by a FIRS outage stores (invoices.services._retry_later past its budget).
OUTAGE_PROBLEM = [
    {
        "path": "",
        "message": "FIRS kept failing for 24 h 0 min; gave up after 150 retries: 503",
        "code": invoice_services.PROBLEM_FIRS_UNAVAILABLE,
    }
]
# Production's retry policy on a clock 60 times faster: backoff capped at 600 s becomes 10 s, the
# 24 h budget 24 min, and a 30-minute outage 30 s. The breaker lets a probe through every 0.1 s,
# so (as with few sales in production) nearly every retry reaches FIRS and spends an attempt.
CLOCK = 60
COMPRESSED_POLICY = {
    "INVOICE_RETRY_BASE_SECONDS": str(2 / CLOCK),
    "INVOICE_RETRY_MAX_SECONDS": str(600 / CLOCK),
    "INVOICE_RETRY_BUDGET_SECONDS": str(24 * 3600 / CLOCK),
    "FIRS_BREAKER_RESET_SECONDS": "0.1",
    "INVOICE_CLAIM_SECONDS": "15",
}
OUTAGE_SECONDS = 30 * 60 / CLOCK


@pytest.fixture
def firs_faults_cleared(clean_queues):
    cache.delete(FAULTS_CACHE_KEY)
    yield
    cache.delete(FAULTS_CACHE_KEY)


def _shot(page, name: str) -> None:
    page.screenshot(path=SCREENSHOTS / f"failures_{name}.png", full_page=True)


def _sign_in(page) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _sales(organization, count: int, *, first: int = 1, enqueue: bool = True) -> list[Invoice]:
    """``count`` till sales of the organization's POS connection, invoiced (and queued)."""
    connection = POSConnectionFactory(organization=organization)
    invoices = []
    for number in range(first, first + count):
        row = POSTransactionFactory(connection=connection, status="invoiced")
        invoice, _ = invoice_services.invoice_create_for_source(
            organization=organization,
            source_type=Invoice.Source.POS,
            source_id=row.pk,
            source=pos_sale(number),
            received_at=row.received_at,
            enqueue=enqueue,
        )
        POSTransaction.objects.filter(pk=row.pk).update(invoice=invoice)
        invoices.append(invoice)
    return invoices


def _park_after_an_outage(invoices) -> None:
    Invoice.objects.filter(pk__in=[invoice.pk for invoice in invoices]).update(
        status=Invoice.Status.NEEDS_ATTENTION, problems=OUTAGE_PROBLEM
    )


def _mark_the_document(page) -> None:
    """A marker a reload would lose: the page must still carry it after the update."""
    page.evaluate("window.failuresTestMarker = 'not reloaded'")


def _wait_until_all_confirmed(*, seconds: float, sweep: bool = False) -> None:
    """Wait (a liveness bound, not a speed target) until every invoice is confirmed; with
    ``sweep``, run the sweeper each second as beat would."""
    deadline = time.monotonic() + seconds
    while Invoice.objects.exclude(status=Invoice.Status.CONFIRMED).exists():
        assert time.monotonic() < deadline, dict(Invoice.objects.values_list("id", "status"))
        if sweep:
            invoice_services.invoices_sweep()
        time.sleep(1)


def _still_the_same_document(page) -> bool:
    return page.evaluate("window.failuresTestMarker") == "not reloaded"


def test_the_failures_link_and_retry_on_an_invoice_update_the_page(page, demo_owner, monkeypatch):
    organization = demo_owner.memberships.get().organization
    queued = []
    monkeypatch.setattr(
        invoice_services,
        "invoice_enqueue",
        lambda *, invoice, countdown=None: queued.append(invoice.pk),
    )
    (invoice,) = _sales(organization, 1, enqueue=False)
    _park_after_an_outage([invoice])
    sale = POSTransaction.objects.get(invoice=invoice)

    _sign_in(page)
    page.goto("/pos/")
    today = page.get_by_role("region", name="Today")
    today.get_by_role("link", name="1").click()
    expect(page.locator("#transaction-results")).to_contain_text(sale.external_transaction_id)
    _shot(page, "failures_link")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Failures").click()
    row = page.locator(f"#failure-row-{invoice.pk}")
    expect(row).to_contain_text("FIRS was unavailable for longer than we keep retrying.")
    expect(row).to_contain_text("Nobody until FIRS is back")
    _shot(page, "inbox")

    row.get_by_role("link", name=invoice.number).click()
    box = page.locator(f"#invoice-failure-{invoice.pk}")
    expect(box).to_contain_text("What stops this invoice")
    _mark_the_document(page)
    box.get_by_role("button", name="Retry").click()
    expect(box).to_contain_text("On its way to FIRS")
    assert queued == [invoice.pk]
    # The worker's part, here in the test: the box follows the invoice until FIRS has signed it.
    assert invoice_services.invoice_advance(invoice_id=invoice.pk, claim_token="t") == "confirmed"
    expect(box).to_contain_text("Signed by FIRS", timeout=10_000)
    assert _still_the_same_document(page)
    _shot(page, "retried")
    assert invoice.history.filter(note=f"re-driven by {demo_owner}").exists()


def test_retry_in_the_list_the_failures_link_opens_updates_the_row(page, demo_owner, monkeypatch):
    organization = demo_owner.memberships.get().organization
    queued = []
    monkeypatch.setattr(
        invoice_services,
        "invoice_enqueue",
        lambda *, invoice, countdown=None: queued.append(invoice.pk),
    )
    invoices = _sales(organization, 2, enqueue=False)
    _park_after_an_outage(invoices)
    retried, other = invoices

    _sign_in(page)
    page.goto("/pos/")
    page.get_by_role("region", name="Today").get_by_role("link", name="2").click()
    cell = page.locator(f"#row-invoice-{retried.pk}")
    expect(cell).to_contain_text(retried.number)
    expect(page.locator(f"#row-invoice-{other.pk}")).to_contain_text("Needs attention")
    _mark_the_document(page)
    cell.get_by_role("button", name="Retry").click()
    expect(cell).to_contain_text("Queued again")
    assert queued == [retried.pk]
    # The worker's part: the row's invoice cell follows it until FIRS has signed it.
    assert invoice_services.invoice_advance(invoice_id=retried.pk, claim_token="t") == "confirmed"
    expect(cell).to_contain_text("Confirmed", timeout=10_000)
    expect(cell.get_by_role("button", name="Retry")).to_have_count(0)
    expect(page.locator(f"#row-invoice-{other.pk}")).to_contain_text("Needs attention")
    assert _still_the_same_document(page)
    _shot(page, "list_retried")
    assert retried.history.filter(note=f"re-driven by {demo_owner}").exists()


def test_retry_on_a_failed_sales_page_follows_the_sale_until_it_is_invoiced(
    page, demo_owner, monkeypatch
):
    organization = demo_owner.memberships.get().organization
    queued = []
    monkeypatch.setattr(
        family_tasks("pos").invoice_source,
        "apply_async",
        lambda *, kwargs, queue: queued.append(kwargs),
    )
    sale = POSTransactionFactory(
        connection=POSConnectionFactory(organization=organization),
        status="failed",
        processing_errors={"error_message": "Square did not answer in time"},
    )

    _sign_in(page)
    page.goto(f"/pos/transactions/{sale.pk}/")
    state = page.locator("#row-state")
    expect(state).to_contain_text("Square did not answer in time")
    _mark_the_document(page)
    state.get_by_role("button", name="Retry").click()
    expect(state).to_contain_text("On its way; this page follows it.")
    expect(state).not_to_contain_text("Square did not answer in time")
    assert queued == [{"transaction_id": str(sale.pk)}]

    # The worker's part: the sale is invoiced and FIRS signs it; the page follows.
    invoice = InvoiceFactory(organization=organization, signed=True)
    POSTransaction.objects.filter(pk=sale.pk).update(status="invoiced", invoice=invoice)
    expect(state).to_contain_text("Invoiced", timeout=10_000)
    expect(page.locator("#row-invoice-card")).to_contain_text(invoice.number)
    expect(state.get_by_role("button", name="Retry")).to_have_count(0)
    assert _still_the_same_document(page)
    _shot(page, "sale_retried")


def test_retry_all_clears_a_firs_outage_backlog(
    page, demo_owner, start_worker, firs_faults_cleared
):
    organization = demo_owner.memberships.get().organization
    backlog = _sales(organization, 12, enqueue=False)
    _park_after_an_outage(backlog)
    start_worker("realtime", pool="threads", concurrency=4, env=COMPRESSED_POLICY)
    start_worker("batch", env=COMPRESSED_POLICY)

    _sign_in(page)
    page.goto("/failures/")
    expect(page.get_by_role("heading", name="Invoices (12)")).to_be_visible()
    page.get_by_role("button", name="Retry all that can be retried (12)").click()
    expect(page.get_by_text("12 invoices queued again")).to_be_visible()
    _mark_the_document(page)
    # The list refreshes itself as the workers re-drive the backlog.
    expect(page.get_by_text("No invoice is failing.")).to_be_visible(timeout=60_000)
    assert _still_the_same_document(page)
    _shot(page, "retry_all")
    # Queued again is no longer failing; the workers may still be signing the last few.
    _wait_until_all_confirmed(seconds=120)
    assert Invoice.objects.filter(status=Invoice.Status.CONFIRMED).count() == 12
    for invoice in backlog:
        assert invoice.history.filter(note=f"re-driven by {demo_owner}").count() == 1


def test_a_half_hour_firs_outage_ends_with_every_sale_signed_and_no_click(
    page, demo_owner, start_worker, firs_faults_cleared, settings
):
    """Sales keep arriving while FIRS answers 503 for half an hour (compressed); nobody touches
    the pages. The invoices retry past any fixed number of attempts, and once FIRS answers the
    breaker's closing re-drives them: every sale is signed and no invoice needed attention."""
    organization = demo_owner.memberships.get().organization
    sandbox_faults_set(server_error_rate=1.0, server_error_status=503)
    start_worker("realtime", pool="threads", concurrency=4, env=COMPRESSED_POLICY)
    start_worker("batch", env=COMPRESSED_POLICY)

    _sign_in(page)
    page.goto("/failures/")
    _mark_the_document(page)
    outage_ends = time.monotonic() + OUTAGE_SECONDS
    number = 1
    while time.monotonic() < outage_ends:
        _sales(organization, 1, first=number)
        number += 1
        time.sleep(OUTAGE_SECONDS / 4)
    sales = number - 1
    expect(page.get_by_role("heading", name=re.compile(r"Invoices \([1-9]"))).to_be_visible()
    _shot(page, "outage")
    parked = Invoice.objects.filter(status=Invoice.Status.NEEDS_ATTENTION)
    assert not parked.exists(), list(parked.values_list("problems", flat=True))
    # The first sale has been retried past the 8 attempts that used to park it.
    most_attempts = max(Invoice.objects.values_list("attempts", flat=True))
    assert most_attempts > 8
    sandbox_faults_set(server_error_rate=0.0)

    # Beat's sweeper (every 15 s, here as often) is the only other help the invoices get; the
    # page refreshes itself.
    settings.INVOICE_SWEEP_IDLE_SECONDS = 5
    _wait_until_all_confirmed(seconds=120, sweep=True)
    expect(page.get_by_text("No invoice is failing.")).to_be_visible(timeout=15_000)
    assert _still_the_same_document(page)
    _shot(page, "after_outage")
    assert Invoice.objects.filter(status=Invoice.Status.CONFIRMED).count() == sales
    assert not Invoice.objects.filter(history__to_status=Invoice.Status.NEEDS_ATTENTION).exists()
    assert not Invoice.objects.filter(history__note__startswith="re-driven by").exists()
    print(f"outage: {sales} sales, at most {most_attempts} FIRS attempts on one invoice")
