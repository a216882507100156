"""The POS pages in a real browser (Debian's chromium via Playwright) against the live server,
whose Square and FIRS sandboxes stand in for the platforms. No Celery worker runs: the test
plays the worker by calling the services the tasks would run. Screenshots of each page go to
var/screenshots/pos_<name>.png."""

import dataclasses
import re

import pytest
import requests
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Membership
from integrations.base import pipeline
from integrations.base.canonical import SaleKind
from integrations.base.models import InboundEvent, SyncRun
from integrations.base.tasks import family_tasks
from integrations.pos.models import POSConnection, POSTransaction
from invoices import services as invoice_services
from invoices.models import Invoice
from tests.factories import PASSWORD, MembershipFactory, OrganizationFactory
from tests.integrations.pos.support import completed_order, order_event, signed
from tests.invoices.pipeline_support import pos_sale
from tests.pages.browser_support import SCREENSHOTS

backfill_task = family_tasks("pos").backfill
event_process_task = family_tasks("pos").process_event
transaction_invoice_task = family_tasks("pos").invoice_source

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

POLL = re.compile(r"/pos/monitor/updates/")


@pytest.fixture
def published(monkeypatch):
    """What would go to the queues, kept here for the test to run as the worker would."""
    sent = []
    for task in (event_process_task, transaction_invoice_task, backfill_task):
        monkeypatch.setattr(
            task,
            "apply_async",
            lambda *, kwargs, queue, name=task.name: sent.append((name, kwargs)),
        )
    monkeypatch.setattr(
        invoice_services, "invoice_enqueue", lambda *, invoice, countdown=None: None
    )
    return sent


def _shot(page, name: str) -> None:
    page.screenshot(path=SCREENSHOTS / f"pos_{name}.png", full_page=True)


def _nav(page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def test_a_sale_goes_from_the_till_to_a_signed_invoice_on_the_pages(
    page, live_server, demo_owner, published
):
    organization = demo_owner.memberships.get().organization
    other = OrganizationFactory(legal_name="Bravo Stores Ltd")
    MembershipFactory(user=demo_owner, organization=other, role=Membership.Role.VIEWER)

    page.goto("/login/")
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # Connect a sandbox Square from the Integrations page.
    _nav(page, "Integrations")
    square = page.locator(".platform-card", has=page.get_by_role("heading", name="Square"))
    expect(square.locator(".platform-card__head .badge")).to_have_text("Not connected")
    expect(page.get_by_text("Coming soon")).to_have_count(0)
    square.get_by_role("button", name="Try with a sandbox account").click()
    expect(page.get_by_text(re.compile(r"Connected a Square sandbox account"))).to_be_visible()
    expect(square.locator(".platform-card__head .badge")).to_have_text("Connected")
    connection = POSConnection.objects.get(organization=organization)
    assert connection.webhook_url.startswith(live_server.url)
    expect(page.get_by_text(connection.webhook_secret)).to_have_count(0)
    _shot(page, "integrations")

    # A sale arrives while the monitor is open.
    _nav(page, "Monitor")
    expect(page.get_by_text("Checking for new sales every second.")).to_be_visible()
    order = completed_order(connection)
    body, headers = signed(connection, order_event(connection, order))
    delivered = requests.post(
        connection.webhook_url,
        data=body,
        headers={**headers, "Content-Type": "application/json"},
        timeout=10,
    )
    assert delivered.json() == {"stored": 1, "duplicates": 0}
    event = InboundEvent.objects.get(connection_id=connection.pk)
    assert published == [("pos.process_event", {"event_id": event.pk})]
    assert pipeline.event_process(family="pos", event_id=event.pk, claim_token="t") == "processed"
    sale = POSTransaction.objects.get(external_transaction_id=order["id"])
    assert sale.invoice.status == Invoice.Status.CONFIRMED, sale.invoice.problems
    row = page.locator(f"#monitor-{sale.pk}")
    expect(row).to_contain_text(order["id"])
    expect(row.locator(".badge")).to_have_text("Confirmed")
    expect(page.locator("#monitor-rows tr")).to_have_count(1)
    _shot(page, "monitor")

    # Pausing (from the keyboard) stops the polling; resuming starts it again.
    polls = []
    page.on(
        "request", lambda request: polls.append(request.url) if POLL.search(request.url) else None
    )
    page.get_by_role("button", name="Pause").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("New sales are not fetched until you resume.")).to_be_visible()
    expect(page.get_by_role("button", name="Resume")).to_be_focused()
    polls.clear()
    page.wait_for_timeout(1500)  # a poll a second would have asked at least once
    assert polls == []
    with page.expect_request(POLL):
        page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Pause")).to_be_focused()

    # Its page links the invoice and shows how it got signed. (Paused first: a poll's swap of
    # the rows under the pointer can swallow the click.)
    page.keyboard.press("Enter")
    expect(page.get_by_text("New sales are not fetched until you resume.")).to_be_visible()
    row.get_by_role("link", name=order["id"]).click()
    expect(page.get_by_role("heading", name=re.compile(f"Sale {order['id']}"))).to_be_visible()
    expect(page.get_by_role("link", name=sale.invoice.number)).to_be_visible()
    expect(page.locator(".timeline li")).not_to_have_count(0)
    expect(page.get_by_role("button", name="Retry")).to_have_count(0)
    _shot(page, "transaction")

    # A refund whose sale we have not seen yet fails; once the sale is in, a retry invoices it.
    refund = dataclasses.replace(
        pos_sale(9, kind=SaleKind.REFUND),
        external_id="sq-refund-9",
        original_external_id="sq-order-9",
        occurred_at=timezone.now(),
    )
    failed = pipeline.source_record(
        connection=connection, record=refund, received_at=timezone.now()
    )
    assert failed.status == POSTransaction.Status.FAILED
    _nav(page, "Transactions")
    page.get_by_label("Status").select_option("failed")
    results = page.locator(".transaction-table tbody tr")
    expect(results).to_have_count(1)
    _shot(page, "transactions")
    results.first.get_by_role("link", name="sq-refund-9").click()
    expect(
        page.get_by_text("Refund of sq-order-9, a sale with no invoice here yet")
    ).to_be_visible()
    _shot(page, "transaction_failed")
    pipeline.source_record(
        connection=connection,
        record=dataclasses.replace(pos_sale(9), occurred_at=timezone.now()),
        received_at=timezone.now(),
        advance_with="t",
    )
    page.get_by_role("button", name="Retry").click()
    expect(page.locator("#row-state")).to_contain_text("On its way; this page follows it.")
    assert published[-1] == ("pos.invoice_transaction", {"transaction_id": str(failed.pk)})
    pipeline.source_invoice_again(family="pos", source_id=failed.pk, claim_token="t")
    page.reload()
    expect(page.locator(".page-head .badge").first).to_have_text("Invoiced")
    expect(page.get_by_text("Invoice: Confirmed")).to_be_visible()

    _nav(page, "POS")
    expect(page.locator("#summary-today-heading + .figures .figure").first).to_contain_text("2")
    expect(page.get_by_role("img", name="Sales and invoices signed per hour")).to_be_visible()
    _shot(page, "dashboard")
    # On a phone the chart scrolls inside its box; the page itself never scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    _shot(page, "dashboard_phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    # Sync now: the progress page polls until the back-fill has run.
    _nav(page, "Integrations")
    page.get_by_role("button", name=re.compile("^Sync now")).click()
    expect(page.get_by_text("Waiting for a worker.")).to_be_visible()
    run = SyncRun.objects.get()
    assert pipeline.backfill_run(sync_run_id=run.pk) == SyncRun.Status.SUCCEEDED
    expect(page.get_by_role("status")).to_have_text(re.compile(r"Finished: \d+ sales? pulled"))
    expect(page.locator("#sync-run-progress")).not_to_have_attribute("hx-trigger", "every 1s")
    _shot(page, "sync_run")

    # In the other organization none of this is there.
    page.get_by_label("Organization").select_option(label="Bravo Stores Ltd")
    page.get_by_role("button", name="Switch").click()
    _nav(page, "Transactions")
    expect(page.get_by_text("No transactions match.")).to_be_visible()
    _shot(page, "transactions_other_organization")
    _nav(page, "Monitor")
    expect(page.locator("#monitor-rows tr")).to_have_count(0)
    _nav(page, "Integrations")
    expect(page.get_by_text("An owner or admin can connect Square.")).to_be_visible()
    page.goto(f"/pos/transactions/{sale.pk}/")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
