"""The dashboard, the invoice list (filters, keyset pages, htmx) and an invoice's page."""

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from invoices import views as invoice_views
from invoices.models import Invoice, InvoiceLine, InvoiceParty, InvoiceStatusChange
from tests.factories import InvoiceFactory
from tests.invoices.report_support import signed_document


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.mark.django_db
def test_dashboard_counts_the_working_organizations_invoices_by_status(client_a, org_a, org_b):
    InvoiceFactory.create_batch(2, organization=org_a, status=Invoice.Status.CONFIRMED)
    InvoiceFactory(organization=org_a, status=Invoice.Status.NEEDS_ATTENTION)
    InvoiceFactory.create_batch(3, organization=org_b, status=Invoice.Status.CONFIRMED)
    counts = {status: count for status, _, count in client_a.get("/").context["status_counts"]}
    assert counts == {
        "built": 0,
        "validated": 0,
        "signed": 0,
        "transmitted": 0,
        "confirmed": 2,
        "retrying": 0,
        "needs_attention": 1,
        "waiting_setup": 0,
    }


@pytest.mark.django_db
def test_list_shows_only_the_working_organizations_invoices(client_a, org_a, org_b):
    own = InvoiceFactory(organization=org_a)
    foreign = InvoiceFactory(organization=org_b)
    response = client_a.get("/invoices/")
    assert response.context["invoices"] == [own]
    assert foreign.irn not in response.content.decode()
    # Searching for the other organization's IRN finds nothing either.
    assert client_a.get("/invoices/", {"q": foreign.irn}).context["invoices"] == []


@pytest.mark.django_db
def test_list_filters(client_a, org_a):
    early = InvoiceFactory(
        organization=org_a, issue_date=datetime.date(2026, 1, 5), source_reference="till-77"
    )
    late = InvoiceFactory(
        organization=org_a, issue_date=datetime.date(2026, 3, 9), status=Invoice.Status.CONFIRMED
    )

    def listed(**filters):
        return client_a.get("/invoices/", filters).context["invoices"]

    assert listed(status="confirmed") == [late]
    assert listed(q=late.irn[-20:].upper()) == [late]
    assert listed(q=early.number) == [early]
    assert listed(q="TILL-7") == [early]
    assert listed(issued_from="2026-02-01") == [late]
    assert listed(issued_to="2026-02-01") == [early]
    assert listed(issued_from="2026-01-01", issued_to="2026-12-31") == [late, early]


@pytest.mark.django_db
def test_an_invalid_filter_is_shown_and_the_valid_ones_still_apply(client_a, org_a):
    confirmed = InvoiceFactory(organization=org_a, status=Invoice.Status.CONFIRMED)
    InvoiceFactory(organization=org_a)
    response = client_a.get("/invoices/", {"status": "confirmed", "issued_from": "someday"})
    assert response.context["invoices"] == [confirmed]
    assert response.context["form"].errors == {"issued_from": ["Enter a valid date."]}
    assert "Enter a valid date." in response.content.decode()


@pytest.mark.django_db
def test_list_pages_by_keyset_without_counting(client_a, org_a, monkeypatch):
    monkeypatch.setattr(invoice_views, "PAGE_SIZE", 2)
    invoices = InvoiceFactory.create_batch(5, organization=org_a, status=Invoice.Status.SIGNED)
    InvoiceFactory(organization=org_a)  # filtered out by status
    newest_first = sorted(invoices, key=lambda invoice: -invoice.pk)

    pages = []
    query = "status=signed"
    with CaptureQueriesContext(connection) as queries:
        while query is not None:
            pages.append(client_a.get(f"/invoices/?{query}"))
            query = pages[-1].context["next_page_query"]
    assert [page.context["invoices"] for page in pages] == [
        newest_first[:2],
        newest_first[2:4],
        newest_first[4:],
    ]
    assert not any("COUNT(" in query["sql"].upper() for query in queries.captured_queries)
    # The links keep the filters; later pages link back to the first.
    first_html = pages[0].content.decode()
    assert f'href="?status=signed&amp;after={newest_first[1].pk}" rel="next"' in first_html
    assert "Newest invoices" not in first_html
    assert pages[2].context["first_page_query"] == "status=signed"


@pytest.mark.django_db
def test_htmx_filtering_gets_the_results_only(client_a, org_a):
    invoice = InvoiceFactory(organization=org_a)
    response = client_a.get("/invoices/", {"q": invoice.number}, HTTP_HX_REQUEST="true")
    assert response.templates[0].name == "invoices/_invoice_results.html"
    assert "<html" not in response.content.decode()
    assert invoice.number in response.content.decode()
    assert "HX-Request" in response["Vary"]
    # Restoring history after a cache miss needs the whole page.
    restore = client_a.get(
        "/invoices/", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in restore.content.decode()


@pytest.mark.django_db
def test_detail_shows_parties_lines_timeline_qr_and_the_firs_json(client_a, org_a):
    invoice = InvoiceFactory(organization=org_a, signed=True)
    InvoiceParty.objects.create(
        invoice=invoice, role="supplier", name="Alpha Foods Ltd", tin="10000001-0001"
    )
    InvoiceParty.objects.create(
        invoice=invoice,
        role="customer",
        name="Savannah Agro Ltd",
        address={"street_name": "1 Aminu Kano Crescent", "city_name": "Wuse II"},
    )
    InvoiceLine.objects.create(
        invoice=invoice,
        position=1,
        name="Rice 5kg",
        hs_code="1006.3000",
        quantity=Decimal("2"),
        price_amount=Decimal("9500"),
        line_extension_amount=Decimal("19000.00"),
    )
    InvoiceStatusChange.objects.create(invoice=invoice, from_status="validated", to_status="signed")

    response = client_a.get(f"/invoices/{invoice.pk}/")
    html = response.content.decode()
    for text in (
        invoice.irn,
        "Alpha Foods Ltd",
        "Savannah Agro Ltd",
        "1 Aminu Kano Crescent, Wuse II",
        "Rice 5kg",
        "1006.3000",
        "₦19,000.00",
        "validated → <strong>signed</strong>",
        f'src="/api/v1/invoices/{invoice.pk}/qr.png"',
        f'href="/api/v1/invoices/{invoice.pk}/firs.json" download',
    ):
        assert text in html
    assert response.context["can_mark_paid"] is True
    # The image and the file behind those links answer the same signed-in session.
    assert client_a.get(f"/api/v1/invoices/{invoice.pk}/qr.png")["Content-Type"] == "image/png"
    assert client_a.get(f"/api/v1/invoices/{invoice.pk}/firs.json").json() == invoice.payload


@pytest.mark.django_db
def test_an_unsigned_invoice_has_no_qr_and_no_mark_paid(client_a, org_a):
    invoice = InvoiceFactory(organization=org_a)
    response = client_a.get(f"/invoices/{invoice.pk}/")
    assert "qr.png" not in response.content.decode()
    assert response.context["can_mark_paid"] is False

    marked = client_a.post(f"/invoices/{invoice.pk}/mark-paid/", follow=True)
    assert _messages(marked) == ["Only an invoice FIRS has signed can be marked paid."]
    invoice.refresh_from_db()
    assert invoice.payment_status == Invoice.PaymentStatus.PENDING


@pytest.mark.django_db
def test_mark_paid_reports_what_firs_said(client_a, org_a):
    invoice = InvoiceFactory(organization=org_a, signed=True)  # org A has no FIRS base URL
    response = client_a.post(f"/invoices/{invoice.pk}/mark-paid/", {"reference": "r"}, follow=True)
    assert response.redirect_chain == [(f"/invoices/{invoice.pk}/", 302)]
    assert _messages(response) == [f"FIRS refused: {org_a} has no FIRS base URL configured"]
    invoice.refresh_from_db()
    assert invoice.payment_status == Invoice.PaymentStatus.PENDING


@pytest.mark.django_db
def test_mark_paid_checks_the_reference(client_a, org_a):
    invoice = InvoiceFactory(organization=org_a, signed=True)
    response = client_a.post(
        f"/invoices/{invoice.pk}/mark-paid/", {"reference": "x" * 256}, follow=True
    )
    assert _messages(response) == ["Ensure this value has at most 255 characters (it has 256)."]
    assert not invoice.exchanges.exists()


@pytest.mark.django_db
def test_amounts_are_naira_with_thousands_separators(client_a, org_a):
    invoice = InvoiceFactory(organization=org_a, payable_amount=Decimal("9315.00"))
    listed = client_a.get("/invoices/").content.decode()
    shown = client_a.get(f"/invoices/{invoice.pk}/").content.decode()
    assert "₦9,315.00" in listed and "₦9,315.00" in shown
    assert "NGN 9315" not in listed + shown


@pytest.mark.django_db
def test_credit_notes_are_labelled_and_negative_in_the_list(client_a, org_a):
    credit = InvoiceFactory(
        organization=org_a, purpose="credit_note", payable_amount=Decimal("1200.00")
    )
    listed = client_a.get("/invoices/").content.decode()
    assert '<span class="badge badge--credit-note">Credit note</span>' in listed
    assert "\N{MINUS SIGN}₦1,200.00" in listed
    assert (
        f"Credit note {credit.number}" in client_a.get(f"/invoices/{credit.pk}/").content.decode()
    )


@pytest.mark.django_db
def test_each_line_shows_the_vat_it_was_charged(client_a, org_a):
    invoice = InvoiceFactory(organization=org_a, signed=True)
    for position, name, hs_code, amount, tax in (
        (1, "Milo 500g", "1806.9000", "3250.00", Decimal("243.75")),
        (2, "Rice 5kg", "1006.3000", "9500.00", Decimal("0.00")),
        (3, "Carrier bag", "", "50.00", None),
    ):
        InvoiceLine.objects.create(
            invoice=invoice,
            position=position,
            name=name,
            hs_code=hs_code,
            quantity=Decimal("1"),
            price_amount=Decimal(amount),
            line_extension_amount=Decimal(amount),
            tax_amount=tax,
        )

    html = client_a.get(f"/invoices/{invoice.pk}/").content.decode()

    assert '<th scope="col" class="num">VAT charged</th>' in html
    cells = re.findall(
        r'<td class="num">([^<]*(?:<span class="muted">[^<]*</span>)?)</td>\s*</tr>', html
    )
    assert cells[:3] == ["₦243.75", "₦0.00", '<span class="muted">at the rate below</span>']


@pytest.mark.django_db
def test_the_dashboard_shows_the_months_vat_to_file_net_of_credit_notes(client_a, org_a, org_b):
    today = timezone.localdate()
    for credit_note, standard in ((False, "10000.00"), (False, "2000.00"), (True, "1000.00")):
        signed_document(
            org_a,
            issue_date=today,
            credit_note=credit_note,
            standard=Decimal(standard),
            exempt=Decimal("500.00"),
            zero=Decimal(0),
        )
    # Not this month's, not signed, not this organization's.
    noise = dict(standard=Decimal("9999.00"), exempt=Decimal(0), zero=Decimal(0))
    signed_document(org_a, issue_date=today.replace(day=1) - datetime.timedelta(days=1), **noise)
    signed_document(org_a, issue_date=today, signed=False, **noise)
    signed_document(org_b, issue_date=today, **noise)

    html = client_a.get("/").content.decode()

    # VAT 750.00 + 150.00 - 75.00; sales 10,500 + 2,500 - 1,500.
    assert re.search(r"VAT to file</dt><dd><strong>₦825.00</strong>", html)
    assert "<dd>₦11,500.00</dd>" in html
    assert "2 invoices, 1 credit note" in html
    assert f'href="/vat/?month={today:%Y-%m}"' in html
