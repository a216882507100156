"""The ERP tenant pages, served through the families' shared page classes: the dashboard, the
documents (filters, a document with its own taxes, retry), a sync run, and "Sync now"."""

import re

import pytest
from django.contrib.messages import get_messages

from accounts.models import Membership
from integrations.base.tasks import family_tasks
from tests.factories import ERPConnectionFactory, ERPDocumentFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection_a(org_a, ledgerly):
    return ERPConnectionFactory(organization=org_a)


@pytest.fixture
def queued(monkeypatch):
    sent = []
    tasks = family_tasks("erp")
    for task in (tasks.invoice_source, tasks.sync_connection):
        monkeypatch.setattr(
            task,
            "apply_async",
            lambda *, kwargs, queue, task=task: sent.append((task.name, kwargs, queue)),
        )
    return sent


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_dashboard_and_document_list_show_the_organizations_documents(
    client_a, connection_a, org_b
):
    mine = ERPDocumentFactory(connection=connection_a, document_number="INV/2026/0042")
    theirs = ERPDocumentFactory(
        connection=ERPConnectionFactory(organization=org_b), document_number="INV/2026/0666"
    )

    assert client_a.get("/erp/").status_code == 200
    listing = client_a.get("/erp/documents/").content.decode()
    filtered = client_a.get("/erp/documents/?kind=credit_note").content.decode()

    assert mine.document_number in listing and theirs.document_number not in listing
    assert "No documents match." in filtered
    assert client_a.get(f"/erp/documents/{theirs.pk}/").status_code == 404


def test_a_document_page_shows_its_lines_and_the_taxes_the_erp_booked(client_a, connection_a):
    row = ERPDocumentFactory(
        connection=connection_a,
        line_items=[
            {
                "name": "Consulting hour",
                "quantity": "3",
                "unit_price": "10.10",
                "discount": "0",
                "tax_rate": "7.5",
                "hs_code": "6202",
                "sku": "",
            }
        ],
        taxes=[{"rate": "7.5", "taxable_amount": "30.30", "tax_amount": "2.28"}],
    )

    html = client_a.get(f"/erp/documents/{row.pk}/").content.decode()

    assert "Consulting hour" in html
    # The line's price and the booked taxes in naira too, not the ERP's bare decimals.
    for amount in ("₦10.10", "₦30.30", "₦2.28"):
        assert f'<td class="num">{amount}</td>' in html, amount
    # Amounts in naira as every page writes them; times in Lagos time.
    assert "<strong>₦32.58</strong>" in html and "NGN 32.58" not in html
    assert re.search(r"\d{2}:\d{2}:\d{2} WAT</time>", html)
    assert "Generate invoice" in html  # posted, no invoice yet: an owner may invoice it


def test_retrying_a_posted_document_queues_its_invoice(
    client_a, connection_a, queued, django_capture_on_commit_callbacks
):
    row = ERPDocumentFactory(connection=connection_a, status="failed")

    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(f"/erp/documents/{row.pk}/retry/", follow=True)

    assert _messages(response) == ["Queued; this page shows the outcome when it is done."]
    assert queued == [("erp.invoice_document", {"document_id": str(row.pk)}, "standard")]


def test_sync_now_queues_a_sync_and_viewers_cannot(
    client, client_a, org_a, connection_a, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client_a.post(f"/integrations/erp/connections/{connection_a.pk}/sync/")
    assert queued == [("erp.sync_connection", {"connection_id": str(connection_a.pk)}, "standard")]

    viewer = MembershipFactory(organization=org_a, role=Membership.Role.VIEWER).user
    client.force_login(viewer)
    assert client.post(f"/integrations/erp/connections/{connection_a.pk}/sync/").status_code == 403
    assert len(queued) == 1


def test_the_integrations_page_lists_odoo_with_its_credentials_form(client_a):
    html = client_a.get("/integrations/").content.decode()

    # Every family has a platform now: nothing is coming soon.
    assert html.count("Coming soon") == 0
    assert "Connect Odoo" in html and "Odoo URL" in html and "API key" in html


def test_an_odoo_connection_shows_the_automation_rule_to_create(client_a, org_a, owner_a):
    from integrations.base import sandbox_accounts

    connection = sandbox_accounts.connection_sandbox_create(
        family="erp",
        platform="odoo",
        organization=org_a,
        user=owner_a,
        site_url="http://testserver",
    )

    html = client_a.get("/integrations/").content.decode()

    assert "In Odoo" in html
    for label, value in (
        ("Model", "Journal Entry (account.move)"),
        ("Trigger", "On save"),
        ("When updating", "Status (state), Payment Status (payment_state)"),
        ("Action", "Send Webhook Notification"),
        ("Fields", "move_type, state, payment_state, write_date"),
        ("URL", connection.webhook_url),
    ):
        assert f'{label}: <span class="mono">{value}</span>' in html, label


def test_an_erp_connections_mapping_defaults_are_edited_on_its_card(client_a, connection_a):
    connection_a.connection_settings = {"default_hs_code": "", "kept": "yes"}
    connection_a.save(update_fields=["connection_settings"])
    url = f"/integrations/erp/connections/{connection_a.pk}/settings/"

    refused = client_a.post(url, {"default_hs_code": "not an HS code!"})
    saved = client_a.post(
        url, {"default_hs_code": "8470.5000", "default_product_category": "Office equipment"}
    )

    assert refused.status_code == 400 and saved.status_code == 302
    connection_a.refresh_from_db()
    assert connection_a.connection_settings == {
        "default_hs_code": "8470.5000",
        "default_product_category": "Office equipment",
        "kept": "yes",
    }


def test_a_document_page_tells_of_the_irn_posted_back_and_the_payment(client_a, connection_a):
    from django.utils import timezone

    from tests.factories import InvoiceFactory

    row = ERPDocumentFactory(
        connection=connection_a,
        status="invoiced",
        invoice=InvoiceFactory(organization=connection_a.organization),
        irn_write_back_error="Ledgerly answered 503",
        paid_in_erp_at=timezone.now(),
    )

    html = client_a.get(f"/erp/documents/{row.pk}/").content.decode()

    assert "IRN in " in html and "Not yet" in html and "Ledgerly answered 503" in html
    assert "Paid in " in html
