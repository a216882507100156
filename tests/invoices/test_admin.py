"""Operators' invoice and FIRS admin: view-only machine rows, filters, actions that report counts,
and no secret on any page."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.utils import timezone

from accounts.models import OperatorAssignment
from invoices import services
from invoices.firs.client import SharedCircuitBreaker
from invoices.models import (
    FirsCodeListEntry,
    FirsExchange,
    Invoice,
    InvoiceLine,
    InvoiceParty,
    InvoiceStatusChange,
    InvoiceTaxSubtotal,
)
from sandboxes.firs.models import FirsSandboxInvoice
from sandboxes.firs.server import FAULTS_CACHE_KEY
from taxpoynt.lib import admin_counts
from tests.factories import InvoiceFactory, OrganizationFactory, UserFactory
from tests.invoices.pipeline_support import sandbox_organization, won_deal

CHANGELIST = "/admin/invoices/invoice/"


@pytest.fixture
def enqueued(monkeypatch):
    calls = []
    monkeypatch.setattr(
        services,
        "invoice_enqueue",
        lambda *, invoice, countdown=None: calls.append((invoice.pk, countdown)),
    )
    return calls


def _run_action(admin_client, action, invoices, **extra):
    response = admin_client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [invoice.pk for invoice in invoices], **extra},
        follow=True,
    )
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


def _irns(response):
    return {invoice.irn for invoice in response.context["cl"].result_list}


# --- Pages ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, {"built", "attention", "crm", "december"}),
        ({"status__exact": "needs_attention"}, {"attention"}),
        ({"stage__exact": "signed"}, {"crm"}),
        ({"source_type__exact": "crm"}, {"crm"}),
        ({"kind__exact": "B2B"}, {"attention"}),
        ({"payment_status__exact": "PAID"}, {"december"}),
        ({"issue_date__year": "2026", "issue_date__month": "12"}, {"december"}),
        ({"q": "sq-order-crm"}, {"crm"}),
    ],
)
def test_changelist_filters(admin_client, query, expected):
    organization = OrganizationFactory()
    made = {
        "built": InvoiceFactory(organization=organization),
        "attention": InvoiceFactory(
            organization=organization, status="needs_attention", kind="B2B"
        ),
        "crm": InvoiceFactory(
            organization=organization,
            signed=True,
            source_type="crm",
            source_reference="sq-order-crm",
        ),
        "december": InvoiceFactory(
            organization=organization,
            payment_status="PAID",
            issue_date=timezone.datetime(2026, 12, 1).date(),
        ),
    }
    response = admin_client.get(CHANGELIST, query)
    assert response.status_code == 200
    assert _irns(response) == {made[name].irn for name in expected}


@pytest.mark.django_db
def test_the_invoice_list_counts_exactly_below_the_bound_and_says_about_above_it(
    admin_client, monkeypatch
):
    InvoiceFactory.create_batch(3)
    paginator = admin_counts.BoundedCountPaginator
    # A fresh table's planner estimate is 0 above its rows: below the bound the count is exact.
    monkeypatch.setattr(paginator, "_estimate", staticmethod(lambda _: 0))
    assert "3 invoices" in admin_client.get(CHANGELIST).content.decode()

    monkeypatch.setattr(paginator, "_estimate", staticmethod(lambda _: 2_500_000))
    assert "about 2,500,000 invoices" in admin_client.get(CHANGELIST).content.decode()

    monkeypatch.setattr(admin_counts, "BOUNDED_COUNT", 2)
    filtered = admin_client.get(CHANGELIST, {"kind__exact": Invoice.Kind.B2C})
    assert "more than 2 invoices" in filtered.content.decode()


@pytest.mark.django_db
def test_changelist_filters_by_organization_and_searches_irn(admin_client):
    mine = InvoiceFactory()
    other = InvoiceFactory()
    by_organization = admin_client.get(
        CHANGELIST, {"organization__id__exact": mine.organization_id}
    )
    assert _irns(by_organization) == {mine.irn}
    assert _irns(admin_client.get(CHANGELIST, {"q": other.irn})) == {other.irn}
    page = admin_client.get(CHANGELIST)
    for text in (b"By status", b"By stage", b"By source type", b"By kind", b"By organization"):
        assert text in page.content


@pytest.mark.django_db
def test_change_page_is_view_only_with_inlines_and_pretty_json(admin_client):
    organization = OrganizationFactory(
        firs_api_key="canary-key-0123456789", firs_api_secret="canary-secret-9876543210"
    )
    invoice = InvoiceFactory(organization=organization, signed=True)
    InvoiceLine.objects.create(
        invoice=invoice,
        position=1,
        name="Detergent",
        quantity="1",
        price_amount="4200",
        line_extension_amount="4200.00",
    )
    InvoiceTaxSubtotal.objects.create(
        invoice=invoice,
        category="STANDARD_VAT",
        percent="7.50",
        taxable_amount="4200.00",
        tax_amount="315.00",
    )
    InvoiceParty.objects.create(
        invoice=invoice, role="customer", name="Walk-in", address={"city_name": "Ibadan"}
    )
    InvoiceStatusChange.objects.create(invoice=invoice, to_status="built", note="first build")
    FirsExchange.objects.create(
        invoice=invoice,
        operation="sign",
        http_status=201,
        ok=True,
        response={"code": 201, "data": {"ok": True}},
        duration_ms=42,
    )

    page = admin_client.get(f"{CHANGELIST}{invoice.pk}/change/")
    assert page.status_code == 200
    content = page.content.decode()
    assert 'name="_save"' not in content  # the pipeline is the only writer
    for text in ("Detergent", "STANDARD_VAT", "Walk-in", "first build", "sign", "42"):
        assert text in content, text
    # Pretty-printed: one key per indented line.
    assert f"<pre>{{\n  &quot;irn&quot;: &quot;{invoice.irn}&quot;" in content
    assert "&quot;code&quot;: 201" in content
    assert "canary-key" not in content and "canary-secret" not in content


@pytest.mark.django_db
def test_invoices_cannot_be_added_or_deleted(admin_client):
    invoice = InvoiceFactory()
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    assert admin_client.get(f"{CHANGELIST}{invoice.pk}/delete/").status_code == 403
    assert admin_client.post(f"{CHANGELIST}{invoice.pk}/change/", {}).status_code == 403
    page = admin_client.get(CHANGELIST)
    assert b'value="delete_selected"' not in page.content


@pytest.mark.django_db
def test_staff_with_view_permission_only_sees_no_actions(client, staff_login):
    watcher = UserFactory(is_staff=True)
    watcher.user_permissions.add(Permission.objects.get(codename="view_invoice"))
    invoice = InvoiceFactory()
    OperatorAssignment.objects.create(operator=watcher, organization=invoice.organization)
    staff_login(client, watcher)
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert invoice.irn in page.content.decode()
    assert b'value="redrive"' not in page.content and b'value="mark_paid"' not in page.content


# --- Actions ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_redrive_action_counts_redriven_and_skipped(admin_client, admin_user, enqueued):
    attention = InvoiceFactory(stage="validated", status="needs_attention")
    retrying = InvoiceFactory(stage="signed", status="retrying")
    confirmed = InvoiceFactory(stage="confirmed", status="confirmed")
    held = InvoiceFactory(claimed_until=timezone.now() + timedelta(seconds=60), claim_token="t")

    messages = _run_action(admin_client, "redrive", [attention, retrying, confirmed, held])

    assert messages == [
        "Re-driven: 2; skipped, already confirmed: 1; skipped, being worked on right now: 1."
    ]
    assert sorted(pk for pk, _ in enqueued) == sorted([attention.pk, retrying.pk])
    attention.refresh_from_db()
    assert attention.status == "validated"
    assert attention.history.get().note == f"re-driven by {admin_user.username}"
    confirmed.refresh_from_db()
    assert confirmed.status == "confirmed"


@pytest.mark.django_db
def test_confirm_now_action_queues_invoices_on_their_way(admin_client, enqueued):
    waiting = InvoiceFactory(
        stage="transmitted",
        status="retrying",
        attempts=2,
        next_attempt_at=timezone.now() + timedelta(minutes=5),
    )
    built = InvoiceFactory()
    attention = InvoiceFactory(status="needs_attention")
    confirmed = InvoiceFactory(stage="confirmed", status="confirmed")

    messages = _run_action(admin_client, "confirm_now", [waiting, built, attention, confirmed])

    assert len(messages) == 1
    assert messages[0].startswith("Queued to go on to FIRS confirmation now: 2;")
    assert "skipped, already confirmed: 1" in messages[0]
    assert "skipped, need attention (fix the cause, then re-drive): 1" in messages[0]
    assert sorted(pk for pk, _ in enqueued) == sorted([waiting.pk, built.pk])
    waiting.refresh_from_db()
    assert (waiting.status, waiting.attempts, waiting.next_attempt_at) == ("transmitted", 0, None)


@pytest.mark.django_db
def test_mark_paid_action_reports_each_failure_instead_of_a_500(admin_client):
    unsigned = InvoiceFactory()
    unconfigured = InvoiceFactory(signed=True)  # its organization has no FIRS base URL
    paid = InvoiceFactory(signed=True, payment_status="PAID")

    messages = _run_action(admin_client, "mark_paid", [unsigned, unconfigured, paid])

    assert messages[0] == "Marked paid: 0; skipped, already paid: 1; failed: 2."
    assert sorted(messages[1:]) == sorted(
        [
            f"{unsigned.irn}: Only an invoice FIRS has signed can be marked paid.",
            f"{unconfigured.irn}: {unconfigured.organization} has no FIRS base URL configured",
        ]
    )
    assert Invoice.objects.filter(payment_status="PAID").count() == 1


@pytest.mark.django_db
def test_mark_paid_action_refuses_a_huge_selection(admin_client, settings, monkeypatch):
    from invoices import admin as invoices_admin

    monkeypatch.setattr(invoices_admin, "MARK_PAID_MAX_SELECTION", 2)
    invoices = InvoiceFactory.create_batch(3, signed=True)
    messages = _run_action(admin_client, "mark_paid", invoices)
    assert messages == ["Mark paid calls FIRS once per invoice; select at most 2."]
    assert not FirsExchange.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_mark_paid_action_tells_firs(admin_client, live_server, monkeypatch):
    breaker = SharedCircuitBreaker(name=live_server.url.split("//")[1])
    cache.delete(FAULTS_CACHE_KEY)
    breaker.reset()
    monkeypatch.setattr(services, "invoice_enqueue", lambda *, invoice, countdown=None: None)
    organization = sandbox_organization(base_url=f"{live_server.url}/sandbox/firs")
    invoice, _ = services.invoice_create_for_source(
        organization=organization, source_type="crm", source_id=uuid.UUID(int=7), source=won_deal(7)
    )
    services.invoice_advance(invoice_id=invoice.pk, claim_token="test")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.payment_status) == ("confirmed", "PENDING"), invoice.problems

    messages = _run_action(admin_client, "mark_paid", [invoice], reference=" bank-ref-7 ")

    assert messages == ["Marked paid: 1."]
    invoice.refresh_from_db()
    assert invoice.payment_status == "PAID" and invoice.paid_at
    held = FirsSandboxInvoice.objects.get(irn=invoice.irn)
    assert (held.payment_status, held.payment_reference) == ("PAID", "bank-ref-7")
    breaker.reset()


# --- Code lists and the FIRS sandbox ----------------------------------------------------------


@pytest.mark.django_db
def test_code_list_entries_are_listed_by_resource_and_read_only(admin_client):
    FirsCodeListEntry.objects.update_or_create(
        resource="currencies", code="NGN", defaults={"data": {"code": "NGN", "name": "Naira"}}
    )
    FirsCodeListEntry.objects.update_or_create(
        resource="payment-means", code="10", defaults={"data": {"code": "10", "value": "Cash"}}
    )
    page = admin_client.get(
        "/admin/invoices/firscodelistentry/", {"resource": "currencies", "q": "NGN"}
    )
    assert page.status_code == 200
    assert [(entry.resource, entry.code) for entry in page.context["cl"].result_list] == [
        ("currencies", "NGN")
    ]
    assert b"Naira" in page.content
    assert admin_client.get("/admin/invoices/firscodelistentry/add/").status_code == 403
