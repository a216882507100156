"""In a real browser: Disconnect and Remove ask before they act, on a phone the main menu
folds behind a Menu button while the lists keep each row's amount and status in view, and the
printable invoice's Print button works under the content policy. Screenshots go to
var/screenshots/."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.models import Membership
from integrations.pos.models import POSConnection
from tests.factories import (
    PASSWORD,
    CRMConnectionFactory,
    CRMDealFactory,
    ERPConnectionFactory,
    ERPDocumentFactory,
    InvoiceFactory,
    MembershipFactory,
    POSConnectionFactory,
    POSTransactionFactory,
)
from tests.pages.browser_support import SCREENSHOTS

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def _sign_in(page, user) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()


def test_disconnect_and_remove_ask_before_they_act(page, live_server, org_a, owner_a):
    leaving = MembershipFactory(organization=org_a, role=Membership.Role.MEMBER)
    connection = POSConnectionFactory(organization=org_a, location_name="Lekki Store")
    _sign_in(page, owner_a)

    page.goto("/members/")
    # The first button is a disclosure (a summary); the real one is inside it.
    page.locator("summary", has_text=f"Remove {leaving.user.username}").click()
    expect(
        page.get_by_text(f"Remove {leaving.user.username} from {org_a.legal_name}?")
    ).to_be_visible()
    assert Membership.objects.filter(pk=leaving.pk).exists()
    page.screenshot(path=SCREENSHOTS / "members_remove_confirm.png", full_page=True)
    page.get_by_role("button", name=f"Yes, remove {leaving.user.username}").click()
    expect(page.get_by_text("The member was removed.")).to_be_visible()
    assert not Membership.objects.filter(pk=leaving.pk).exists()

    page.goto("/integrations/")
    page.locator("summary", has_text="Disconnect Lekki Store").click()
    expect(page.get_by_text("Disconnect Lekki Store? New sales from Square stop")).to_be_visible()
    connection.refresh_from_db()
    assert connection.is_active
    page.screenshot(path=SCREENSHOTS / "integrations_disconnect_confirm.png", full_page=True)
    page.get_by_role("button", name="Yes, disconnect Lekki Store").click()
    expect(page.get_by_text(re.compile("^Disconnected"))).to_be_visible()
    assert POSConnection.objects.get(pk=connection.pk).health == "disconnected"


def _inside(page, locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["width"] > 0 and box["x"] + box["width"] <= PHONE["width"]


def test_on_a_phone_the_menu_folds_and_the_lists_keep_amount_and_status(
    page, live_server, org_a, owner_a
):
    sale_connection = POSConnectionFactory(organization=org_a, location_name="Lekki Store")
    invoice = InvoiceFactory(organization=org_a, payable_amount=Decimal("9315.00"))
    POSTransactionFactory(connection=sale_connection, invoice=invoice)
    CRMDealFactory(connection=CRMConnectionFactory(organization=org_a))
    ERPDocumentFactory(connection=ERPConnectionFactory(organization=org_a))
    _sign_in(page, owner_a)
    page.set_viewport_size(PHONE)

    nav = page.get_by_role("navigation", name="Main")
    menu = nav.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav.get_by_role("link", name="Invoices")).to_be_hidden()
    page.screenshot(path=SCREENSHOTS / "phone_menu_closed.png", full_page=True)
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    page.screenshot(path=SCREENSHOTS / "phone_menu_open.png", full_page=True)
    nav.get_by_role("link", name="Transactions").click()

    for path, amount_column, status_column in (
        ("/pos/transactions/", 4, 5),
        ("/invoices/", 4, 5),
        ("/crm/deals/", 4, 5),
        ("/erp/documents/", 4, 5),
    ):
        page.goto(path)
        row = page.locator("table tbody tr").first
        amount, status = (
            row.locator("td, th").nth(amount_column - 1),
            row.locator("td, th").nth(status_column - 1),
        )
        expect(status.locator(".badge")).to_be_visible()
        assert _inside(page, amount) and _inside(page, status), path
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
        page.screenshot(
            path=SCREENSHOTS / f"phone_{path.strip('/').replace('/', '_')}.png", full_page=True
        )

    # Wide again: no Menu button, every link listed.
    page.set_viewport_size({"width": 1280, "height": 900})
    expect(menu).to_be_hidden()
    expect(nav.get_by_role("link", name="Invoices")).to_be_visible()


def test_the_print_button_prints_under_the_content_policy(page, live_server, org_a, owner_a):
    invoice = InvoiceFactory(organization=org_a, signed=True)
    # Counts the calls instead of opening the browser's print dialog.
    page.add_init_script("window.printed = 0; window.print = () => { window.printed += 1; };")
    _sign_in(page, owner_a)

    page.goto(f"/invoices/{invoice.pk}/print/")
    expect(page.get_by_text(invoice.irn).first).to_be_visible()
    page.get_by_role("button", name="Print").click()

    # An inline onclick would be refused by the policy (and fail the page fixture's check).
    page.wait_for_function("window.printed === 1")
