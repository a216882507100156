"""Every page type in a real browser under the content policy: nothing is blocked (S6), the
htmx pages still update, Swagger UI still renders, and the admin opens after a TOTP code."""

import time

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.factories import PASSWORD, InvoiceFactory, UserFactory

pytestmark = pytest.mark.slow

TENANT_PAGES = [
    "/",
    "/invoices/",
    "/pos/",
    "/pos/transactions/",
    "/pos/monitor/",
    "/crm/",
    "/crm/deals/",
    "/erp/",
    "/erp/documents/",
    "/integrations/",
    "/members/",
    "/api-tokens/",
    "/activity/",
]


def _sign_in(page, url: str, username: str) -> None:
    page.goto(url)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("[type=submit]").first.click()
    page.wait_for_load_state()


def test_tenant_pages_run_under_the_content_policy(page, owner_a, org_a):
    invoice = InvoiceFactory(organization=org_a)
    _sign_in(page, "/login/", owner_a.username)
    for url in [*TENANT_PAGES, f"/invoices/{invoice.pk}/"]:
        response = page.goto(url)
        assert response.status == 200, url
        assert "script-src 'self'" in response.headers["content-security-policy"], url
    # The monitor's own script (a static file) still trims the live feed htmx polls into.
    page.goto("/pos/monitor/")
    page.wait_for_function("window.htmx !== undefined")
    expect(page.locator("#monitor-empty")).to_be_visible()
    # The invoice search filters through htmx without eval.
    page.goto("/invoices/")
    page.fill("input[name=q]", invoice.irn)
    expect(page.locator("body")).to_contain_text(invoice.irn)


def test_api_docs_render_under_the_content_policy(page):
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("TaxPoynt integrations API")


def test_admin_opens_after_enrolling_a_second_factor_under_the_content_policy(page, db):
    staff = UserFactory(is_staff=True, is_superuser=True)
    _sign_in(page, "/admin/login/", staff.username)
    expect(page.locator("h1")).to_contain_text("Set up a second factor")
    device = TOTPDevice.objects.get(user=staff, confirmed=False)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    page.fill("input[name=code]", f"{totp.token():06d}")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("h1")).to_contain_text("Your backup codes")
    page.get_by_role("link", name="Continue").click()
    expect(page.locator("#site-name")).to_be_visible()
    for url in ("/admin/invoices/invoice/", "/admin/accounts/organization/add/"):
        assert page.goto(url).status == 200, url
