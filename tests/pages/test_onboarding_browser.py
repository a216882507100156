"""A new business onboards itself from the tenant pages alone, in a real browser (Debian's
chromium via Playwright) against the live server: sign up, business profile, FIRS settings
verified by the FIRS sandbox, a Square sandbox connected, a sale sent through Square's webhook,
and its signed invoice on the pages. No Celery worker runs: the test plays the worker by calling
the services the tasks would run. Screenshots go to var/screenshots/onboarding_<name>.png."""

import re

import pytest
import requests
from django.core.cache import cache
from playwright.sync_api import expect

from accounts.models import Membership, Organization
from integrations.base import pipeline
from integrations.base.models import InboundEvent
from integrations.base.tasks import family_tasks
from integrations.pos.models import POSConnection, POSTransaction
from invoices import services as invoice_services
from invoices.firs.client import SharedCircuitBreaker
from invoices.models import Invoice
from sandboxes.firs.server import sandbox_credential_create
from sandboxes.square.api import square_sandbox_faults_reset
from tests.integrations.pos.support import completed_order, order_event, signed
from tests.pages.browser_support import SCREENSHOTS

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

event_process_task = family_tasks("pos").process_event
transaction_invoice_task = family_tasks("pos").invoice_source

BUSINESS_ID = "0b7e4c2a-9d1f-4a3b-8c6e-5f2d1a0b9c8d"
SERVICE_ID = "IKJ24680"
API_KEY = "ikeja-grocers-key-5c3e1a7b"
API_SECRET = "ikeja-grocers-secret-2f4d6b8a"


@pytest.fixture
def published(monkeypatch, live_server):
    """What would go to the queues, kept here for the test to run as the worker would."""
    cache.clear()
    square_sandbox_faults_reset()
    SharedCircuitBreaker(name=live_server.url.split("//")[1]).reset()
    sent = []
    for task in (event_process_task, transaction_invoice_task):
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
    page.screenshot(path=SCREENSHOTS / f"onboarding_{name}.png", full_page=True)


def _nav(page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def _step(page, key: str):
    return page.locator(f'.checklist__step[data-step="{key}"]')


def test_a_new_business_goes_from_sign_up_to_its_first_signed_invoice(page, live_server, published):
    # Sign up from the sign-in page.
    page.goto("/login/")
    page.get_by_role("link", name="Register your business").click()
    page.get_by_label("Business legal name").fill("Ikeja Grocers Ltd")
    page.get_by_label("TIN").fill("31569955-0001")
    page.get_by_label("Username").fill("amaka")
    page.get_by_label("E-mail address").fill("amaka@ikejagrocers.example")
    page.get_by_label("Password", exact=True).fill("groceries-in-ikeja-2026")
    page.get_by_label("Password confirmation").fill("groceries-in-ikeja-2026")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_text("Ikeja Grocers Ltd is registered")).to_be_visible()
    organization = Organization.objects.get(legal_name="Ikeja Grocers Ltd")
    assert organization.memberships.get().role == Membership.Role.OWNER

    # The business profile: a bad phone number is refused, then the address is saved.
    expect(page.get_by_role("heading", name="Business profile")).to_be_visible()
    page.get_by_label("Phone").fill("phone")
    page.get_by_label("Street address").fill("4 Allen Avenue")
    page.get_by_label("City").fill("Ikeja")
    page.get_by_label("Postal code").fill("100271")
    page.get_by_label("State").select_option(label="Lagos")
    page.get_by_role("button", name="Save the profile").click()
    expect(page.get_by_text("Enter a phone number such as 0803 123 4567")).to_be_visible()
    _shot(page, "profile_refused")
    page.get_by_label("Phone").fill("0803 123 4567")
    page.get_by_role("button", name="Save the profile").click()
    expect(page.get_by_text("The business profile was saved.")).to_be_visible()
    organization.refresh_from_db()
    assert (organization.telephone, organization.state) == ("+2348031234567", "NG-LA")

    # The dashboard's checklist leads to the FIRS page.
    _nav(page, "Dashboard")
    expect(_step(page, "profile")).to_contain_text("Done")
    expect(_step(page, "firs")).to_contain_text("To do")
    _shot(page, "checklist")
    _step(page, "firs").get_by_role("link", name="Set up FIRS").click()

    # FIRS (the sandbox on the live server) issued keys for the business: a wrong secret is
    # refused and nothing is saved; the right one is verified and saved, never shown again.
    sandbox_credential_create(
        api_key=API_KEY, api_secret=API_SECRET, business_id=BUSINESS_ID, service_id=SERVICE_ID
    )
    page.get_by_label("Business id").fill(BUSINESS_ID)
    page.get_by_label("Service id").fill(SERVICE_ID)
    page.get_by_label("API key").fill(API_KEY)
    page.get_by_label("API secret").fill("a-secret-FIRS-never-issued")
    page.get_by_role("button", name="Check with FIRS and save").click()
    expect(page.get_by_text("FIRS refused this API key and secret")).to_be_visible()
    organization.refresh_from_db()
    assert organization.firs_verified_at is None and not organization.firs_api_key
    _shot(page, "firs_refused")
    page.get_by_label("API key").fill(API_KEY)
    page.get_by_label("API secret").fill(API_SECRET)
    page.get_by_role("button", name="Check with FIRS and save").click()
    expect(page.get_by_text("FIRS accepted the settings; they are saved.")).to_be_visible()
    expect(page.get_by_text("Verified", exact=True)).to_be_visible()
    expect(page.get_by_text(f"Set, ending …{API_SECRET[-4:]}")).to_be_visible()
    assert API_SECRET not in page.content() and API_KEY not in page.content()
    _shot(page, "firs_verified")

    # Connect a sandbox Square from the Integrations page.
    _nav(page, "Integrations")
    square = page.locator(".platform-card", has=page.get_by_role("heading", name="Square"))
    square.get_by_role("button", name="Try with a sandbox account").click()
    expect(page.get_by_text(re.compile(r"Connected a Square sandbox account"))).to_be_visible()
    connection = POSConnection.objects.get(organization=organization)

    # A sale at the till reaches us through Square's signed webhook; the worker signs it.
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

    # The checklist is done, so it is gone; the invoice shows its FIRS IRN.
    _nav(page, "Dashboard")
    expect(page.locator(".checklist")).to_have_count(0)
    _nav(page, "Invoices")
    page.get_by_role("link", name=sale.invoice.number).click()
    expect(page.get_by_text(sale.invoice.irn).first).to_be_visible()
    assert f"-{SERVICE_ID}-" in sale.invoice.irn
    expect(page.locator(".badge--confirmed").first).to_be_visible()
    _shot(page, "first_invoice")
