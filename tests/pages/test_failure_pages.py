"""Closing failures where they are shown: the failures inbox with its reasons, Retry (htmx and
plain) and retry all, the POS dashboard's Failures link, the SLA table counting unsigned sales,
and every action naming the user who did it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Membership
from integrations.base import page_selectors
from integrations.base.events import event_finish
from integrations.base.models import ConnectionBase, InboundEvent
from integrations.pos import page_selectors as pos_page_selectors
from invoices import services, tasks
from invoices.models import Invoice
from tests.factories import InvoiceFactory, POSConnectionFactory, POSTransactionFactory

pytestmark = pytest.mark.django_db

OUTAGE_PROBLEM = [
    {
        "path": "",
        "message": "FIRS kept failing for 24 h 0 min; gave up after 150 retries: 503",
        "code": services.PROBLEM_FIRS_UNAVAILABLE,
    }
]
DATA_PROBLEM = [{"path": "invoice_line[0].hsn_code", "message": "not an HS code"}]


@pytest.fixture
def enqueued(monkeypatch):
    calls = []
    monkeypatch.setattr(
        services,
        "invoice_enqueue",
        lambda *, invoice, countdown=None: calls.append((invoice.pk, countdown)),
    )
    return calls


@pytest.fixture
def batch_tasks(monkeypatch):
    sent = []
    monkeypatch.setattr(
        tasks.invoices_retry_all_task,
        "apply_async",
        lambda *, kwargs, queue: sent.append((kwargs, queue)),
    )
    return sent


def _sale_with_invoice(connection, **invoice_fields):
    invoice = InvoiceFactory(organization=connection.organization, **invoice_fields)
    row = POSTransactionFactory(connection=connection, invoice=invoice, status="invoiced")
    return row, invoice


def test_failures_link_lists_what_the_dashboard_counts(client_a, org_a):
    """The dashboard counts a sale whose invoice needs attention as a failure; its link must
    list it (it filtered on the sale's own status, which is "invoiced")."""
    connection = POSConnectionFactory(organization=org_a)
    row, _ = _sale_with_invoice(connection, status=Invoice.Status.NEEDS_ATTENTION)
    POSTransactionFactory(connection=connection, status="invoiced")

    dashboard = client_a.get("/pos/")
    link = '<a href="/pos/transactions/?failed=true">1</a>'
    assert link in dashboard.content.decode()
    listed = client_a.get("/pos/transactions/?failed=true")
    assert [r.pk for r in listed.context["transactions"]] == [row.pk]


def test_inbox_lists_every_failure_with_its_reason_and_who_fixes_it(client_a, org_a):
    connection = POSConnectionFactory(organization=org_a)
    _, parked = _sale_with_invoice(
        connection, status=Invoice.Status.NEEDS_ATTENTION, problems=OUTAGE_PROBLEM
    )
    _, bad_data = _sale_with_invoice(
        connection, status=Invoice.Status.NEEDS_ATTENTION, problems=DATA_PROBLEM
    )
    _, waiting = _sale_with_invoice(
        connection,
        stage=Invoice.Stage.VALIDATED,
        status=Invoice.Status.RETRYING,
        next_attempt_at=timezone.now() + timedelta(minutes=5),
    )
    _sale_with_invoice(connection, status=Invoice.Status.CONFIRMED)
    unreadable = POSTransactionFactory(
        connection=connection,
        status="failed",
        processing_errors={"error_message": "$.line_items[0].quantity: not a number"},
    )

    page = client_a.get("/failures/").content.decode()
    for invoice in (parked, bad_data, waiting):
        assert f'id="failure-row-{invoice.pk}"' in page
    assert "Invoices (3)" in page
    assert "FIRS was unavailable for longer than we keep retrying." in page
    assert "The sale&#x27;s data cannot make a valid invoice." in page
    assert "Nobody until FIRS is back" in page
    assert unreadable.external_transaction_id in page
    assert "not a number" in page
    # Retry all counts what a re-drive can clear: the parked outage and the waiting invoice.
    assert "Retry all that can be retried (2)" in page


def test_inbox_is_the_organizations_own(client_a, org_b):
    other = InvoiceFactory(organization=org_b, status=Invoice.Status.NEEDS_ATTENTION)
    assert f"failure-row-{other.pk}" not in client_a.get("/failures/").content.decode()
    assert client_a.post(f"/invoices/{other.pk}/retry/").status_code == 404


def test_htmx_retry_answers_the_row_it_was_asked_from(client_a, org_a, owner_a, enqueued):
    invoice = InvoiceFactory(
        organization=org_a, status=Invoice.Status.NEEDS_ATTENTION, problems=OUTAGE_PROBLEM
    )
    response = client_a.post(
        f"/invoices/{invoice.pk}/retry/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET=f"failure-row-{invoice.pk}",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<tr id="failure-row-{invoice.pk}">')
    assert "Queued again" in body
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.BUILT
    assert enqueued == [(invoice.pk, None)]
    assert invoice.history.last().note == f"re-driven by {owner_a}"


def test_htmx_retry_on_the_invoice_page_answers_its_failure_box(client_a, org_a, enqueued):
    invoice = InvoiceFactory(
        organization=org_a, status=Invoice.Status.NEEDS_ATTENTION, problems=OUTAGE_PROBLEM
    )
    detail = client_a.get(f"/invoices/{invoice.pk}/").content.decode()
    assert f'hx-post="/invoices/{invoice.pk}/retry/"' in detail
    response = client_a.post(
        f"/invoices/{invoice.pk}/retry/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET=f"invoice-failure-{invoice.pk}",
    )
    body = response.content.decode()
    assert f'id="invoice-failure-{invoice.pk}"' in body
    # The box follows the invoice on its way to FIRS.
    assert f'hx-get="/invoices/{invoice.pk}/failure/"' in body
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.CONFIRMED)
    settled = client_a.get(f"/invoices/{invoice.pk}/failure/").content.decode()
    assert "Signed by FIRS" in settled and "hx-get" not in settled


def test_viewers_cannot_retry(client, org_a, member_a):
    invoice = InvoiceFactory(organization=org_a, status=Invoice.Status.NEEDS_ATTENTION)
    client.force_login(member_a(Membership.Role.VIEWER))
    assert client.post(f"/invoices/{invoice.pk}/retry/").status_code == 403
    assert client.post("/failures/retry-all/").status_code == 403


def test_retry_all_queues_one_batch_task_and_is_idempotent(
    client_a, org_a, owner_a, batch_tasks, enqueued, django_capture_on_commit_callbacks
):
    parked = [
        InvoiceFactory(
            organization=org_a, status=Invoice.Status.NEEDS_ATTENTION, problems=OUTAGE_PROBLEM
        )
        for _ in range(3)
    ]
    untouched = InvoiceFactory(
        organization=org_a, status=Invoice.Status.NEEDS_ATTENTION, problems=DATA_PROBLEM
    )
    with django_capture_on_commit_callbacks(execute=True):
        client_a.post("/failures/retry-all/")
    assert batch_tasks == [({"organization_id": org_a.pk, "actor_id": owner_a.pk}, "batch")]

    kwargs = batch_tasks[0][0]
    assert services.invoices_redrive_retryable(**kwargs) == 3
    assert services.invoices_redrive_retryable(**kwargs) == 0
    assert sorted(pk for pk, _ in enqueued) == sorted(invoice.pk for invoice in parked)
    # Staggered, so the backlog does not reach FIRS at once.
    assert len({countdown for _, countdown in enqueued}) == 3
    untouched.refresh_from_db()
    assert untouched.status == Invoice.Status.NEEDS_ATTENTION
    for invoice in parked:
        assert invoice.history.last().note == f"re-driven by {owner_a}"


def test_sale_page_retry_records_the_user(client_a, org_a, owner_a, enqueued):
    row, invoice = _sale_with_invoice(
        POSConnectionFactory(organization=org_a), status=Invoice.Status.NEEDS_ATTENTION
    )
    client_a.post(f"/pos/transactions/{row.pk}/retry/")
    assert invoice.history.last().note == f"re-driven by {owner_a}"


def test_latency_is_not_within_target_while_sales_are_stuck(org_a):
    """One sale signed in half a second, two received five minutes ago and still unsigned: the
    p99 of the signed one is within target, the hour is not."""
    connection = POSConnectionFactory(organization=org_a)
    now = timezone.now()
    invoice = InvoiceFactory(organization=org_a, signed=True)
    POSTransactionFactory(
        connection=connection,
        invoice=invoice,
        received_at=now - timedelta(seconds=1),
        signed_at=now - timedelta(seconds=0.5),
    )
    for _ in range(2):
        POSTransactionFactory(connection=connection, received_at=now - timedelta(minutes=5))
    hour = next(
        latency
        for latency in pos_page_selectors.dashboard(
            organization=org_a, now=now, period=page_selectors.dashboard_period(now=now)
        ).latencies
        if latency.window == "hour"
    )
    assert hour.p99 <= hour.target
    assert hour.stuck == 2
    assert hour.within_target is False


def test_a_processed_event_clears_a_failing_connection(org_a):
    connection = POSConnectionFactory(
        organization=org_a, health=ConnectionBase.Health.FAILING, last_error="401 from Square"
    )
    event = InboundEvent.objects.create(
        family="pos",
        platform="square",
        connection_id=connection.pk,
        event_id="evt-1",
        event_type="order.updated",
        payload={},
        received_at=timezone.now(),
    )
    event_finish(event, InboundEvent.Status.PROCESSED)
    connection.refresh_from_db()
    assert connection.health == ConnectionBase.Health.CONNECTED and connection.last_error == ""


def test_htmx_retry_from_the_invoice_list_answers_its_status_cell(client_a, org_a, enqueued):
    invoice = InvoiceFactory(
        organization=org_a, status=Invoice.Status.NEEDS_ATTENTION, problems=OUTAGE_PROBLEM
    )
    listed = client_a.get("/invoices/").content.decode()
    assert f'hx-target="#invoice-status-{invoice.pk}"' in listed
    response = client_a.post(
        f"/invoices/{invoice.pk}/retry/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET=f"invoice-status-{invoice.pk}",
    )
    body = response.content.decode().lstrip()
    assert body.startswith(f'<td id="invoice-status-{invoice.pk}"')
    assert "Queued again" in body and "Retry" not in body
    # The cell then follows the invoice (it polls until the invoice settles).
    assert f'hx-get="/invoices/{invoice.pk}/status/?cell=invoice-status"' in body


def test_inbox_lists_erp_documents_failed_or_cancelled_after_signing(client_a, org_a, ledgerly):
    from integrations.erp.pipeline import CANCELLED_AFTER_INVOICE
    from tests.factories import ERPConnectionFactory, ERPDocumentFactory

    connection = ERPConnectionFactory(organization=org_a)
    unreadable = ERPDocumentFactory(
        connection=connection,
        status="failed",
        processing_errors={"error_message": "its lines come to amount_total 10.00"},
    )
    cancelled = ERPDocumentFactory(
        connection=connection,
        status="failed",
        invoice=InvoiceFactory(organization=org_a, status=Invoice.Status.CONFIRMED),
        document_state="cancel",
        processing_errors={"error_message": CANCELLED_AFTER_INVOICE.format(state="cancel")},
    )

    page = client_a.get("/failures/").content.decode()

    assert unreadable.document_number in page and "amount_total 10.00" in page
    assert f"/erp/documents/{unreadable.pk}/retry/" in page
    assert cancelled.document_number in page
    assert "Issue a credit note for it in the ERP" in page
    # A cancelled document's e-invoice stands: there is nothing to retry.
    assert f"/erp/documents/{cancelled.pk}/retry/" not in page


def test_a_sales_list_retries_its_failing_invoice_in_place_and_follows_it(
    client_a, org_a, owner_a, enqueued
):
    connection = POSConnectionFactory(organization=org_a)
    _row, invoice = _sale_with_invoice(
        connection, status=Invoice.Status.NEEDS_ATTENTION, problems=OUTAGE_PROBLEM
    )
    cell = f"row-invoice-{invoice.pk}"
    listed = client_a.get("/pos/transactions/", {"failed": "true"}).content.decode()
    assert f'id="{cell}"' in listed and f'hx-target="#{cell}"' in listed

    response = client_a.post(
        f"/invoices/{invoice.pk}/retry/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET=cell
    )
    body = response.content.decode().lstrip()
    assert body.startswith(f'<td id="{cell}" class="col-secondary"')
    assert invoice.number in body and "Queued again" in body and "Retry" not in body
    assert f'hx-get="/invoices/{invoice.pk}/status/?cell=row-invoice"' in body
    assert enqueued == [(invoice.pk, None)]
    assert invoice.history.filter(note=f"re-driven by {owner_a}").exists()

    # The cell follows the invoice until FIRS has signed it, then stops asking.
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.SIGNED)
    polled = client_a.get(f"/invoices/{invoice.pk}/status/", {"cell": "row-invoice"})
    assert "hx-get" in polled.content.decode() and "Signed" in polled.content.decode()
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.CONFIRMED)
    settled = client_a.get(f"/invoices/{invoice.pk}/status/", {"cell": "row-invoice"})
    assert "hx-get" not in settled.content.decode()
