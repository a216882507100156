"""The tenant pages in a real browser: Debian's chromium driven by Playwright against the live
server, with the FIRS sandbox on that same server. Screenshots of each page go to
var/screenshots/ for people to look at."""

import re
import uuid

import pytest
from django.core.cache import cache
from playwright.sync_api import expect, sync_playwright

from accounts.models import Membership
from invoices import services
from invoices.firs.client import SharedCircuitBreaker
from invoices.models import Invoice
from sandboxes.firs.models import FirsSandboxInvoice
from sandboxes.firs.server import FAULTS_CACHE_KEY
from tests.factories import InvoiceFactory, MembershipFactory, OrganizationFactory
from tests.invoices.pipeline_support import sandbox_organization, won_deal
from tests.pages.browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SCREENSHOTS,
    assert_no_csp_violations,
    chromium_ready,
    watch_csp_violations,
)

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"  # tests.factories.UserFactory's
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def browser():
    chromium_ready()
    with pytest.MonkeyPatch.context() as patch:
        # Playwright's sync API keeps an event loop in this thread; Django would then refuse the
        # test's own (synchronous) database calls.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP)
    csp_violations = watch_csp_violations(context)
    page = context.new_page()
    yield page
    assert_no_csp_violations(context, csp_violations)
    context.close()


@pytest.fixture
def firs_organization(live_server, monkeypatch):
    """An organization wired to the FIRS sandbox on the live server, with no queue in the way."""
    breaker = SharedCircuitBreaker(name=live_server.url.split("//")[1])
    cache.delete(FAULTS_CACHE_KEY)
    breaker.reset()
    monkeypatch.setattr(services, "invoice_enqueue", lambda *, invoice, countdown=None: None)
    yield sandbox_organization(base_url=f"{live_server.url}/sandbox/firs")
    breaker.reset()


def _confirmed_invoice(organization) -> Invoice:
    """An invoice taken through the whole pipeline, so FIRS (the sandbox) knows it."""
    invoice, _ = services.invoice_create_for_source(
        organization=organization,
        source_type="crm",
        source_id=uuid.uuid4(),
        source=won_deal(1),
    )
    services.invoice_advance(invoice_id=invoice.pk, claim_token="browser-test")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.CONFIRMED, invoice.problems
    return invoice


def _shot(page, name: str) -> None:
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def _sign_in(page, username: str) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()


def test_an_owner_works_through_the_pages(page, firs_organization):
    owner = MembershipFactory(organization=firs_organization, role=Membership.Role.OWNER).user
    invoice = _confirmed_invoice(firs_organization)
    stuck = InvoiceFactory(organization=firs_organization, status=Invoice.Status.NEEDS_ATTENTION)
    other_organization = OrganizationFactory(legal_name="Bravo Stores Ltd")
    MembershipFactory(user=owner, organization=other_organization, role=Membership.Role.VIEWER)
    other_invoice = InvoiceFactory(organization=other_organization)

    page.goto("/login/")
    _shot(page, "sign_in")
    _sign_in(page, owner.username)
    expect(page.locator(".stat--confirmed .stat__count")).to_have_text("1")
    expect(page.locator(".stat--needs_attention .stat__count")).to_have_text("1")
    _shot(page, "dashboard")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Invoices").click()
    rows = page.locator(".invoice-table tbody tr")
    expect(rows).to_have_count(2)
    _shot(page, "invoice_list")
    # On a phone the table scrolls inside its box; the page itself never scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    _shot(page, "invoice_list_phone")
    page.set_viewport_size(DESKTOP)
    # htmx: typing filters the results in place and keeps the URL in step.
    page.get_by_label("Search").fill(invoice.irn)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(invoice.number)
    expect(page).to_have_url(re.compile(r"/invoices/\?q="))

    rows.first.get_by_role("link", name=invoice.number).click()
    expect(page.get_by_role("heading", name=f"Invoice {invoice.number}")).to_be_visible()
    expect(page.get_by_role("heading", name="Status timeline")).to_be_visible()
    expect(page.locator(".timeline li")).not_to_have_count(0)
    qr_image = page.get_by_alt_text(re.compile("QR code carrying the FIRS stamp"))
    expect(qr_image).to_be_visible()
    # decode() waits for the image and fails if it is not one.
    assert qr_image.evaluate("image => image.decode().then(() => image.naturalWidth)") > 0
    with page.expect_download() as download:
        page.get_by_role("link", name="Download FIRS JSON").click()
    assert download.value.suggested_filename == f"{invoice.irn}.json"
    _shot(page, "invoice_detail")

    page.get_by_label("Payment reference").fill("bank-ref-9")
    page.get_by_role("button", name="Mark paid").click()
    expect(page.get_by_text("Marked paid; FIRS has been told.")).to_be_visible()
    expect(page.get_by_text("Payment: Paid", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Mark paid")).to_have_count(0)
    _shot(page, "invoice_paid")
    held = FirsSandboxInvoice.objects.get(irn=invoice.irn)
    assert (held.payment_status, held.payment_reference) == ("PAID", "bank-ref-9")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Members").click()
    expect(page.get_by_role("rowheader", name=re.compile(owner.username))).to_be_visible()
    _shot(page, "members")

    page.get_by_label("Organization").select_option(label="Bravo Stores Ltd")
    page.get_by_role("button", name="Switch").click()
    expect(page.get_by_text("You are now working in Bravo Stores Ltd.")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Invoices").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(other_invoice.number)
    for number in (invoice.number, stuck.number):
        expect(page.get_by_text(number)).to_have_count(0)
    _shot(page, "invoice_list_other_organization")
    page.goto(f"/invoices/{invoice.pk}/")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    _shot(page, "not_found")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    _shot(page, "signed_out")
    page.goto("/invoices/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/invoices/$"))


def test_the_keyboard_skips_to_the_content_and_shows_focus(page, org_a, owner_a):
    _sign_in(page, owner_a.username)
    page.keyboard.press("Tab")
    skip_link = page.get_by_role("link", name="Skip to main content")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_in_viewport()
    assert skip_link.evaluate("link => getComputedStyle(link).outlineStyle") != "none"
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    # The next stop is inside the page's content, past the header and navigation.
    assert page.evaluate("document.activeElement.closest('main') !== null")
