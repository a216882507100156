"""Operators' CRM admin: the won-stage mapping is edited on the connection, secrets are masked,
deals filter by what needs attention, and actions call the services and report counts."""

import pytest
from django.contrib import admin

from integrations.base.tasks import family_tasks
from integrations.crm.models import CRMConnection
from invoices import services as invoice_services
from invoices.models import Invoice
from tests.factories import CRMConnectionFactory, CRMDealFactory, InvoiceFactory

connection_sync_task = family_tasks("crm").sync_connection
deal_invoice_task = family_tasks("crm").invoice_source

pytestmark = pytest.mark.django_db

CONNECTIONS = "/admin/crm/crmconnection/"
DEALS = "/admin/crm/crmdeal/"


@pytest.fixture
def connection():
    return CRMConnectionFactory(
        credentials_encrypted='{"private_app_token": "pat-na1-canary-credential-7781"}',
        webhook_secret="canary-webhook-secret-5521",
    )


@pytest.fixture
def queued(monkeypatch):
    sent = []
    for task in (connection_sync_task, deal_invoice_task):
        monkeypatch.setattr(
            task,
            "apply_async",
            lambda *, kwargs, queue, task=task: sent.append((task.name, kwargs, queue)),
        )
    monkeypatch.setattr(
        invoice_services,
        "invoice_enqueue",
        lambda *, invoice, countdown=None: sent.append(("invoices.advance", invoice.pk, "")),
    )
    return sent


def _action(admin_client, url, action, rows, capture):
    with capture(execute=True):
        response = admin_client.post(
            url, {"action": action, "_selected_action": [row.pk for row in rows]}, follow=True
        )
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


def test_the_connection_page_masks_secrets_and_edits_the_won_stage_mapping(
    admin_client, connection
):
    page = admin_client.get(f"{CONNECTIONS}{connection.pk}/change/")

    assert page.status_code == 200
    for secret in (b"canary-credential", b"canary-webhook-secret"):
        assert secret not in page.content
    assert b"5521" in page.content

    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data |= {
        "won_stage_ids": '["closedwon", "contractsent"]',
        "tin_property": "company_tin",
        "connection_settings": "{}",
        "pipeline_ids": "[]",
        "_save": "Save",
    }
    response = admin_client.post(f"{CONNECTIONS}{connection.pk}/change/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    connection.refresh_from_db()
    assert connection.won_stage_ids == ["closedwon", "contractsent"]
    assert connection.tin_property == "company_tin"
    assert connection.webhook_secret == "canary-webhook-secret-5521"


def test_an_operators_edit_keeps_what_a_worker_recorded_meanwhile(
    admin_client, connection, monkeypatch
):
    admin_class = type(admin.site._registry[CRMConnection])
    save_form = admin_class.save_form

    def worker_meanwhile(self, request, form, change):
        # After the admin read the row, before it writes: a sync moves the cursor.
        CRMConnection.objects.filter(pk=connection.pk).update(
            sync_cursor="moved-by-the-sync", health=CRMConnection.Health.FAILING
        )
        return save_form(self, request, form, change)

    monkeypatch.setattr(admin_class, "save_form", worker_meanwhile)
    form = admin_client.get(f"{CONNECTIONS}{connection.pk}/change/").context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data |= {"tin_property": "company_tin", "connection_settings": "{}", "pipeline_ids": "[]"}
    data |= {"won_stage_ids": '["closedwon"]', "_save": "Save"}

    response = admin_client.post(f"{CONNECTIONS}{connection.pk}/change/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    connection.refresh_from_db()
    assert connection.tin_property == "company_tin"
    assert (connection.sync_cursor, connection.health) == ("moved-by-the-sync", "failing")


def test_connections_cannot_be_typed_in(admin_client):
    assert admin_client.get(f"{CONNECTIONS}add/").status_code == 403


def test_test_connection_reports_the_platforms_answer(
    admin_client, connection, django_capture_on_commit_callbacks
):
    messages = _action(
        admin_client,
        CONNECTIONS,
        "test_connection",
        [connection],
        django_capture_on_commit_callbacks,
    )

    assert "could not be reached" in messages[0]
    connection.refresh_from_db()
    assert connection.health == CRMConnection.Health.FAILING


def test_sync_now_queues_a_sync_on_the_standard_queue(
    admin_client, connection, queued, django_capture_on_commit_callbacks
):
    messages = _action(
        admin_client, CONNECTIONS, "sync_now", [connection], django_capture_on_commit_callbacks
    )

    assert messages == ["Queued 1 syncs on the standard queue; see Sync runs."]
    assert queued == [("crm.sync_connection", {"connection_id": str(connection.pk)}, "standard")]


@pytest.mark.parametrize(
    ("attention", "expected"),
    [
        # Failed before an invoice was made: won and not invoiced too.
        ("won_not_invoiced", {"pending", "failed"}),
        ("failed", {"failed", "attention"}),
        (None, {"pending", "failed", "attention", "invoiced", "open"}),
    ],
)
def test_deals_filter_by_what_needs_attention(admin_client, connection, attention, expected):
    organization = connection.organization
    made = {
        "pending": CRMDealFactory(connection=connection),
        "failed": CRMDealFactory(connection=connection, status="failed"),
        "attention": CRMDealFactory(
            connection=connection,
            status="invoiced",
            invoice=InvoiceFactory(organization=organization, status="needs_attention"),
        ),
        "invoiced": CRMDealFactory(
            connection=connection,
            status="invoiced",
            invoice=InvoiceFactory(organization=organization, signed=True),
        ),
        "open": CRMDealFactory(connection=connection, is_won=False, status="not_won"),
    }

    response = admin_client.get(DEALS, {"attention": attention} if attention else {})

    assert response.status_code == 200
    shown = {row.pk for row in response.context["cl"].result_list}
    assert shown == {made[name].pk for name in expected}


def test_generate_invoice_queues_won_deals_without_one(
    admin_client, connection, queued, django_capture_on_commit_callbacks
):
    won = CRMDealFactory(connection=connection)
    open_deal = CRMDealFactory(connection=connection, is_won=False, status="not_won")
    done = CRMDealFactory(
        connection=connection,
        status="invoiced",
        invoice=InvoiceFactory(organization=connection.organization, signed=True),
    )

    messages = _action(
        admin_client,
        DEALS,
        "generate_invoice",
        [won, open_deal, done],
        django_capture_on_commit_callbacks,
    )

    assert messages == ["Invoicing queued: 1; not won or already invoiced: 2."]
    assert queued == [("crm.invoice_deal", {"deal_id": str(won.pk)}, "standard")]


def test_retry_re_drives_an_invoice_that_needs_attention(
    admin_client, connection, queued, django_capture_on_commit_callbacks
):
    invoice = InvoiceFactory(
        organization=connection.organization,
        source_type="crm",
        status=Invoice.Status.NEEDS_ATTENTION,
    )
    stuck = CRMDealFactory(connection=connection, status="failed", invoice=invoice)
    done = CRMDealFactory(
        connection=connection,
        status="invoiced",
        invoice=InvoiceFactory(organization=connection.organization, signed=True),
    )

    messages = _action(
        admin_client, DEALS, "retry", [stuck, done], django_capture_on_commit_callbacks
    )

    assert messages == ["Retried: 1; nothing to retry (not won, on its way or done): 1."]
    invoice.refresh_from_db()
    assert invoice.status == invoice.stage
    assert queued == [("invoices.advance", invoice.pk, "")]


def test_deal_pages_are_view_only(admin_client, connection):
    row = CRMDealFactory(connection=connection, line_items=[{"name": "POS terminal"}])

    page = admin_client.get(f"{DEALS}{row.pk}/change/")

    assert page.status_code == 200
    assert b"POS terminal" in page.content
    assert b'name="_save"' not in page.content


def test_the_deal_list_counts_exactly_below_the_bound_and_says_about_above_it(
    admin_client, connection, monkeypatch
):
    from integrations.base import admin as base_admin
    from taxpoynt.lib import admin_counts

    CRMDealFactory.create_batch(8, connection=connection)
    # A fresh table's planner estimate is 0 above 8 rows: below the bound the count is exact.
    monkeypatch.setattr(base_admin.BoundedCountPaginator, "_estimate", staticmethod(lambda _: 0))
    assert "8 CRM deals" in admin_client.get(DEALS).content.decode()

    monkeypatch.setattr(
        base_admin.BoundedCountPaginator, "_estimate", staticmethod(lambda _: 1_234_567)
    )
    assert "about 1,234,567 CRM deals" in admin_client.get(DEALS).content.decode()

    monkeypatch.setattr(admin_counts, "BOUNDED_COUNT", 5)
    filtered = admin_client.get(DEALS, {"is_won__exact": "1"})
    assert "more than 5 CRM deals" in filtered.content.decode()
