"""Sales of an organization without its FIRS set-up wait, visibly and quietly, and are invoiced
once the set-up is verified."""

import logging

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Membership
from integrations.base import pipeline, sandbox_accounts
from integrations.pos.models import POSTransaction
from invoices import services as invoice_services
from invoices.firs.client import SharedCircuitBreaker
from invoices.models import Invoice
from sandboxes.firs.server import FAULTS_CACHE_KEY, sandbox_credential_create
from tests.factories import MembershipFactory, OrganizationFactory
from tests.invoices.pipeline_support import BUSINESS_ID, SERVICE_ID, pos_sale

pytestmark = pytest.mark.django_db(transaction=True)

API_KEY = "waiting-key-0f1e2d3c4b5a"
API_SECRET = "waiting-secret-9a8b7c6d5e4f"


@pytest.fixture
def unconfigured(live_server):
    """A new organization (profile only, no FIRS settings) with a Square sandbox connection."""
    cache.delete(FAULTS_CACHE_KEY)
    SharedCircuitBreaker(name=live_server.url.split("//")[1]).reset()
    organization = OrganizationFactory(
        firs_service_id="",
        street_name="4 Allen Avenue",
        postal_zone="100271",
        state="NG-LA",
        telephone="+2348031234567",
    )
    owner = MembershipFactory(organization=organization, role=Membership.Role.OWNER).user
    connection = sandbox_accounts.connection_sandbox_create(
        family="pos",
        platform="square",
        organization=organization,
        user=owner,
        site_url=live_server.url,
    )
    return connection, owner


@pytest.fixture
def queued(monkeypatch):
    """Invoices the pipeline would queue, kept for the test to advance."""
    sent = []
    monkeypatch.setattr(
        invoice_services,
        "invoice_enqueue",
        lambda *, invoice, countdown=None: sent.append(invoice.pk),
    )
    return sent


def _sale(connection, number: int):
    sale = pos_sale(number)
    return pipeline.source_record(
        connection=connection, record=sale, received_at=timezone.now(), advance_with="worker-1"
    )


def test_a_sale_waits_for_firs_set_up_without_tracebacks_and_resumes(
    unconfigured, queued, live_server, caplog, settings
):
    connection, owner = unconfigured
    settings.INTEGRATIONS_SWEEP_AFTER_SECONDS = 0
    settings.INVOICE_SWEEP_IDLE_SECONDS = 0
    caplog.set_level(logging.INFO)

    rows = [_sale(connection, 1), _sale(connection, 2)]

    for row in rows:
        row.refresh_from_db()
        assert row.invoice is not None, row.processing_errors
        assert row.invoice.status == Invoice.Status.WAITING_SETUP
        assert row.invoice.irn == ""
        assert "service id" in row.invoice.problems[0]["message"]
    # The sweepers, every 15 s in production, leave the waiting sales alone.
    for _ in range(5):
        assert pipeline.sweep(family="pos") == {"events": 0, "transactions": 0}
        assert invoice_services.invoices_sweep() == 0
    assert queued == []
    assert not [record for record in caplog.records if record.exc_info]
    waiting_logs = [r for r in caplog.records if "wait for its FIRS set-up" in r.getMessage()]
    assert len(waiting_logs) == 1
    # A retry of a waiting invoice cannot send it to FIRS without an IRN.
    assert invoice_services.invoice_redrive(invoice=rows[0].invoice, actor=owner) is False

    sandbox_credential_create(
        api_key=API_KEY, api_secret=API_SECRET, business_id=BUSINESS_ID, service_id=SERVICE_ID
    )
    account_services.organization_firs_configure(
        organization=connection.organization,
        actor=owner,
        business_id=BUSINESS_ID,
        service_id=SERVICE_ID,
        api_key=API_KEY,
        api_secret=API_SECRET,
        base_url=f"{live_server.url}/sandbox/firs",
    )

    invoices = Invoice.objects.filter(organization=connection.organization).order_by("pk")
    assert [invoice.status for invoice in invoices] == [Invoice.Status.BUILT] * 2, [
        invoice.problems for invoice in invoices
    ]
    assert sorted(queued) == [invoice.pk for invoice in invoices]
    for invoice in invoices:
        assert invoice.irn.split("-")[1] == SERVICE_ID
        assert invoice_services.invoice_advance(invoice_id=invoice.pk, claim_token="w") == (
            Invoice.Status.CONFIRMED
        )
    assert POSTransaction.objects.filter(signed_at__isnull=False).count() == 2
    history = list(invoices[0].history.values_list("from_status", "to_status"))
    assert history[:2] == [("", "waiting_setup"), ("waiting_setup", "built")]


def test_the_pages_show_the_waiting_sales_with_the_reason_and_a_link(unconfigured, queued, client):
    connection, owner = unconfigured
    row = _sale(connection, 1)
    client.force_login(owner)

    for url in ("/", "/pos/", f"/invoices/{row.invoice_id}/"):
        page = client.get(url).content.decode()
        assert "1 sale waiting for FIRS set-up" in page, url
        assert 'href="/business/firs/"' in page
        assert "no FIRS service id" in page
    listed = client.get("/invoices/?status=waiting_setup").content.decode()
    assert "Waiting for FIRS set-up" in listed
