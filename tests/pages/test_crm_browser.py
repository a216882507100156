"""The CRM pages in a real browser (Debian's chromium via Playwright) against the live server,
whose HubSpot and FIRS sandboxes stand in for the platforms. No Celery worker runs: the test
plays the worker by calling the services the tasks would run. Screenshots of each page go to
var/screenshots/crm_<name>.png."""

import re

import pytest
import requests
from playwright.sync_api import expect

from accounts.models import Membership
from integrations.base import pipeline
from integrations.base.models import InboundEvent, SyncRun
from integrations.base.tasks import family_tasks
from integrations.crm.models import CRMConnection, CRMDeal
from invoices import services as invoice_services
from invoices.models import Invoice
from sandboxes.hubspot.models import HubSpotSandboxPortal
from tests.factories import PASSWORD, MembershipFactory, OrganizationFactory
from tests.integrations.crm.support import BUYER_TIN, deal_move, sandbox_deal, signed
from tests.pages.browser_support import SCREENSHOTS

backfill_task = family_tasks("crm").backfill
connection_sync_task = family_tasks("crm").sync_connection
deal_invoice_task = family_tasks("crm").invoice_source
event_process_task = family_tasks("crm").process_event

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def published(monkeypatch):
    """What would go to the queues, kept here for the test to run as the worker would."""
    sent = []
    for task in (event_process_task, deal_invoice_task, backfill_task, connection_sync_task):
        monkeypatch.setattr(
            task,
            "apply_async",
            lambda *, kwargs, queue, countdown=None, name=task.name: sent.append((name, kwargs)),
        )
    monkeypatch.setattr(
        invoice_services, "invoice_enqueue", lambda *, invoice, countdown=None: None
    )
    return sent


def _shot(page, name: str) -> None:
    page.screenshot(path=SCREENSHOTS / f"crm_{name}.png", full_page=True)


def _nav(page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def test_a_deal_won_in_hubspot_becomes_a_signed_invoice_on_the_pages(
    page, live_server, demo_owner, published
):
    organization = demo_owner.memberships.get().organization
    other = OrganizationFactory(legal_name="Bravo Stores Ltd")
    MembershipFactory(user=demo_owner, organization=other, role=Membership.Role.VIEWER)

    page.goto("/login/")
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # Connect a sandbox HubSpot from the Integrations page; every family has a platform now.
    _nav(page, "Integrations")
    hubspot = page.locator(".platform-card", has=page.get_by_role("heading", name="HubSpot"))
    expect(hubspot.locator(".platform-card__head .badge")).to_have_text("Not connected")
    expect(page.get_by_text("Coming soon")).to_have_count(0)
    hubspot.get_by_role("button", name="Try with a sandbox account").click()
    expect(page.get_by_text(re.compile(r"Connected a HubSpot sandbox account"))).to_be_visible()
    expect(hubspot.locator(".platform-card__head .badge")).to_have_text("Connected")
    connection = CRMConnection.objects.get(organization=organization)
    assert connection.webhook_url.startswith(live_server.url)
    assert connection.won_stage_ids == ["closedwon"]
    expect(page.get_by_text(connection.webhook_secret)).to_have_count(0)
    # Only the rate-limit tests meet the sandbox account's budget.
    HubSpotSandboxPortal.objects.filter(hub_id=int(connection.account_id)).update(
        ten_secondly_limit=100_000
    )
    _shot(page, "integrations")

    # The sales team wins a deal; HubSpot tells us with a signed webhook.
    deal = sandbox_deal(connection)
    body, headers = signed(connection, [deal_move(connection, deal, "closedwon")])
    delivered = requests.post(
        connection.webhook_url,
        data=body,
        headers={**headers, "Content-Type": "application/json"},
        timeout=10,
    )
    assert delivered.json() == {"stored": 1, "duplicates": 0}
    event = InboundEvent.objects.get(connection_id=connection.pk)
    assert published == [("crm.process_event", {"event_id": event.pk})]
    assert pipeline.event_process(family="crm", event_id=event.pk, claim_token="t") == "processed"
    row = CRMDeal.objects.select_related("invoice").get(external_deal_id=str(deal.pk))
    assert row.invoice.status == Invoice.Status.CONFIRMED, row.invoice.problems
    assert row.signed_at is not None

    # The deal is listed with its invoice, and its page shows the buyer and how it got signed.
    _nav(page, "Deals")
    page.get_by_label("Won", exact=True).select_option("true")
    results = page.locator(".deal-table tbody tr")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text(row.invoice.number)
    expect(results.first.locator(".badge").last).to_have_text("Confirmed")
    _shot(page, "deals")
    results.first.get_by_role("link", name="Savannah Agro - POS roll-out").click()
    expect(
        page.get_by_role("heading", name=re.compile("Savannah Agro - POS roll-out"))
    ).to_be_visible()
    expect(page.get_by_text(BUYER_TIN)).to_be_visible()
    expect(page.get_by_role("link", name=row.invoice.number)).to_be_visible()
    expect(page.get_by_text("Won to signed")).to_be_visible()
    expect(page.locator(".timeline li")).not_to_have_count(0)
    expect(page.get_by_role("button", name="Retry")).to_have_count(0)
    _shot(page, "deal")

    _nav(page, "CRM")
    expect(page.locator("#summary-today-heading + .figures .figure").first).to_contain_text("1")
    expect(page.get_by_role("img", name="Deals won and invoices signed per hour")).to_be_visible()
    _shot(page, "dashboard")
    # On a phone the chart scrolls inside its box; the page itself never scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    _shot(page, "dashboard_phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    # Contract Sent means won from now on.
    _nav(page, "Integrations")
    hubspot.get_by_role("link", name=re.compile("^Settings")).click()
    expect(page.get_by_role("heading", name=re.compile("Settings of HubSpot"))).to_be_visible()
    expect(page.get_by_role("checkbox", name=re.compile("^Closed Won"))).to_be_checked()
    contract_sent = page.get_by_role("checkbox", name=re.compile("^Contract Sent"))
    expect(contract_sent).not_to_be_checked()
    contract_sent.check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("The connection's settings were saved.")).to_be_visible()
    expect(page.get_by_role("checkbox", name=re.compile("^Contract Sent"))).to_be_checked()
    connection.refresh_from_db()
    assert set(connection.won_stage_ids) == {"closedwon", "contractsent"}
    _shot(page, "settings")

    # A back-fill: the progress page polls until it has run.
    _nav(page, "Integrations")
    hubspot.get_by_text("Back-fill a date range").click()
    hubspot.get_by_role("button", name="Start back-fill").click()
    expect(page.get_by_text("Waiting for a worker.")).to_be_visible()
    run = SyncRun.objects.get(family="crm")
    assert pipeline.backfill_run(sync_run_id=run.pk) == SyncRun.Status.SUCCEEDED
    expect(page.get_by_role("status")).to_have_text(re.compile(r"Finished: \d+ deals? pulled"))
    expect(page.locator("#sync-run-progress")).not_to_have_attribute("hx-trigger", "every 1s")
    _shot(page, "sync_run")

    # In the other organization none of this is there.
    page.get_by_label("Organization").select_option(label="Bravo Stores Ltd")
    page.get_by_role("button", name="Switch").click()
    _nav(page, "Deals")
    expect(page.get_by_text("No deals match.")).to_be_visible()
    _shot(page, "deals_other_organization")
    _nav(page, "CRM")
    expect(page.locator("#summary-today-heading + .figures .figure").first).to_contain_text("0")
    _nav(page, "Integrations")
    expect(page.get_by_text("An owner or admin can connect HubSpot.")).to_be_visible()
    page.goto(f"/crm/deals/{row.pk}/")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()


@pytest.mark.parametrize(("platform", "name"), [("hubspot", "HubSpot"), ("pipedrive", "Pipedrive")])
def test_connecting_through_the_sandboxs_oauth_from_the_page(page, demo_owner, platform, name):
    """The sandbox plays the platform's consent page for our public app: the button ends on the
    site's result page with the account connected, never on a raw error."""
    organization = demo_owner.memberships.get().organization
    page.goto("/login/")
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    _nav(page, "Integrations")
    card = page.locator(".platform-card", has=page.get_by_role("heading", name=name))
    card.get_by_role("button", name=f"Connect via our {name} sandbox's OAuth").click()

    expect(page.get_by_role("heading", name="Connected", level=1)).to_be_visible()
    expect(page.get_by_text(re.compile(rf"{name} account .* is connected"))).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()  # the site's layout
    _shot(page, f"{platform}_sandbox_oauth")
    connection = CRMConnection.objects.get(organization=organization, crm_type=platform)
    assert connection.is_active and connection.account_id
