"""The report pages: the monthly VAT summary and the CSV exports."""

import csv
import datetime
import io
import tracemalloc
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Membership
from integrations.crm.page_selectors import DEAL_EXPORT_HEADER
from integrations.pos.models import TRANSACTIONS_TABLE
from integrations.pos.page_selectors import TRANSACTION_EXPORT_HEADER
from invoices import report_selectors
from invoices.models import InvoiceEmail, InvoiceParty
from taxpoynt.lib.csv_export import EXPORT_CHUNK_SIZE
from tests.factories import CRMDealFactory, POSConnectionFactory, POSTransactionFactory
from tests.invoices.report_support import signed_document


def _csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


@pytest.mark.django_db
def test_vat_summary_page_and_csv(client_a, org_a):
    signed_document(
        org_a,
        issue_date=datetime.date(2026, 11, 3),
        standard=Decimal("10000.00"),
        exempt=Decimal("2500.00"),
        zero=Decimal(0),
    )
    signed_document(
        org_a,
        issue_date=datetime.date(2026, 11, 9),
        credit_note=True,
        standard=Decimal("2000.00"),
        exempt=Decimal(0),
        zero=Decimal(0),
    )
    page = client_a.get("/vat/", {"month": "2026-11"})
    html = page.content.decode()
    assert page.status_code == 200
    # 750.00 VAT invoiced less 150.00 credited.
    assert "₦600.00" in html and "₦2,500.00" in html and "November 2026" in html

    download = client_a.get("/vat/", {"month": "2026-11", "format": "csv"})
    assert download["Content-Disposition"] == 'attachment; filename="vat-summary-2026-11.csv"'
    rows = _csv_rows(download)
    assert rows[0] == report_selectors.VAT_SUMMARY_HEADER
    by_line = {row[1]: row for row in rows if row[1] != "Rate"}
    assert by_line["Standard-rated sales"][-2:] == ["8000.00", "600.00"]
    assert by_line["Exempt sales"][-2] == "2500.00"


@pytest.mark.django_db
def test_vat_summary_refuses_a_month_that_is_not_one(client_a):
    response = client_a.get("/vat/", {"month": "2026-13"})
    assert response.status_code == 400
    assert "Enter a month as YYYY-MM." in response.content.decode()


def _count_lines(response) -> tuple[str, int]:
    """The header and the number of data rows, reading the stream one piece at a time."""
    pieces = iter(response.streaming_content)
    header = next(pieces).decode("utf-8-sig")
    return header, sum(piece.count(b"\n") for piece in pieces)


@pytest.mark.django_db
def test_a_100000_row_transaction_export_streams_in_chunks(client_a, org_a, monkeypatch):
    connection_row = POSConnectionFactory(organization=org_a)
    # Another organization's transaction in the same days is not exported.
    POSTransactionFactory(transaction_timestamp=timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {TRANSACTIONS_TABLE} (
                id, connection_id, external_transaction_id, transaction_amount, tax_amount,
                transaction_timestamp, invoice_generated, invoice_transmitted, created_at,
                kind, currency, external_location_id, original_external_id, status, attempts,
                received_at
            )
            SELECT gen_random_uuid(), %s, 'ORDER' || n, 1000 + n / 100.0, 69.77, now()
                   - n * interval '1 second', false, false, now(), 'sale', 'NGN', '', '',
                   'pending', 0, now()
            FROM generate_series(1, 100000) AS n
            """,
            [connection_row.pk],
        )
    chunk_sizes = []
    iterator = QuerySet.iterator

    def recording_iterator(self, chunk_size=None):
        chunk_sizes.append(chunk_size)
        return iterator(self, chunk_size=chunk_size)

    monkeypatch.setattr(QuerySet, "iterator", recording_iterator)
    today = timezone.localdate().isoformat()
    yesterday = (timezone.localdate() - datetime.timedelta(days=2)).isoformat()
    with CaptureQueriesContext(connection) as queries:
        response = client_a.get(
            "/pos/transactions/export.csv", {"date_from": yesterday, "date_to": today}
        )
        assert response.streaming
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        tracemalloc.start()
        header, rows = _count_lines(response)
        _, peak_bytes = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert header.rstrip("\r\n").split(",") == TRANSACTION_EXPORT_HEADER
    assert rows == 100_000
    # One query reads every row, through a server-side cursor a chunk at a time: the whole
    # result (some 12 MB of text and far more as Python objects) is never held at once.
    assert chunk_sizes == [EXPORT_CHUNK_SIZE]
    assert sum("pos_transactions" in query["sql"] for query in queries.captured_queries) == 1
    assert peak_bytes < 8 * 1024 * 1024


@pytest.mark.django_db
def test_invoice_export_has_the_filters_credit_notes_negative_and_only_this_organization(
    client_a, org_a, org_b
):
    sale = signed_document(
        org_a,
        issue_date=datetime.date(2026, 11, 3),
        standard=Decimal("1000.00"),
        exempt=Decimal(0),
        zero=Decimal(0),
    )
    refund = signed_document(
        org_a,
        issue_date=datetime.date(2026, 11, 4),
        credit_note=True,
        standard=Decimal("200.00"),
        exempt=Decimal(0),
        zero=Decimal(0),
    )
    signed_document(
        org_a,
        issue_date=datetime.date(2026, 12, 4),
        standard=Decimal("1.00"),
        exempt=Decimal(0),
        zero=Decimal(0),
    )
    signed_document(
        org_b,
        issue_date=datetime.date(2026, 11, 4),
        standard=Decimal("1.00"),
        exempt=Decimal(0),
        zero=Decimal(0),
    )
    response = client_a.get(
        "/invoices/export.csv", {"issued_from": "2026-11-01", "issued_to": "2026-11-30"}
    )
    assert response["Content-Disposition"] == (
        'attachment; filename="invoices-20261101-20261130.csv"'
    )
    header, *rows = _csv_rows(response)
    assert header == report_selectors.INVOICE_EXPORT_HEADER
    assert [(row[1], row[2], row[8], row[9]) for row in rows] == [
        (sale.irn, "Invoice", "75.00", "1075.00"),
        (refund.irn, "Credit note", "-15.00", "-215.00"),
    ]


@pytest.mark.django_db
def test_deal_export_and_a_bad_filter(client_a, org_a, org_b):
    deal = CRMDealFactory(connection__organization=org_a, deal_title="=HYPERLINK(evil)")
    CRMDealFactory(connection__organization=org_b)
    header, *rows = _csv_rows(client_a.get("/crm/deals/export.csv"))
    assert header == DEAL_EXPORT_HEADER
    assert [(row[0], row[1], row[7]) for row in rows] == [
        (deal.external_deal_id, "'=HYPERLINK(evil)", "480000.00")
    ]
    refused = client_a.get("/crm/deals/export.csv", {"date_from": "yesterday"})
    assert refused.status_code == 400
    assert "date_from" in refused.content.decode()


@pytest.mark.django_db
def test_list_pages_link_their_export_with_their_filters(client_a):
    html = client_a.get("/pos/transactions/", {"status": "failed"}).content.decode()
    assert 'href="/pos/transactions/export.csv?status=failed"' in html
    assert 'href="/crm/deals/export.csv"' in client_a.get("/crm/deals/").content.decode()
    assert 'href="/invoices/export.csv"' in client_a.get("/invoices/").content.decode()


def _signed_with_buyer(organization, *, email="buyer@savannah.example", **options):
    invoice = signed_document(
        organization,
        issue_date=datetime.date(2026, 11, 20),
        standard=Decimal("10000.00"),
        exempt=Decimal(0),
        zero=Decimal(0),
        **options,
    )
    InvoiceParty.objects.create(
        invoice=invoice, role="supplier", name="Alpha Foods Ltd", tin="10000001-0001"
    )
    InvoiceParty.objects.create(
        invoice=invoice, role="customer", name="Savannah Agro Ltd", email=email
    )
    return invoice


@pytest.mark.django_db
def test_print_page_has_the_qr_irn_and_totals(client_a, org_a):
    invoice = _signed_with_buyer(org_a)
    html = client_a.get(f"/invoices/{invoice.pk}/print/").content.decode()
    for text in (
        "Tax invoice" if invoice.kind == "B2B" else "Receipt",
        invoice.number,
        invoice.irn,
        f'src="/api/v1/invoices/{invoice.pk}/qr.svg"',
        "₦10,750.00",
        "css/print.css",
        "Alpha Foods Ltd",
    ):
        assert text in html
    assert (
        f'href="/invoices/{invoice.pk}/print/"'
        in client_a.get(f"/invoices/{invoice.pk}/").content.decode()
    )


@pytest.mark.django_db
def test_a_printed_tax_invoice_shows_each_lines_vat_and_a_receipt_keeps_to_four_columns(
    client_a, org_a
):
    tax_invoice = _signed_with_buyer(org_a, kind="B2B")
    tax_invoice.lines.filter(position=1).update(tax_amount=Decimal("750.00"))
    html = client_a.get(f"/invoices/{tax_invoice.pk}/print/").content.decode()
    assert '<th scope="col" class="num">VAT</th>' in html
    assert '<td class="num">₦10,000.00</td><td class="num">₦750.00</td>' in html
    assert '<th scope="row" colspan="4" class="num">Before VAT</th>' in html

    receipt = _signed_with_buyer(org_a, kind="B2C")
    html = client_a.get(f"/invoices/{receipt.pk}/print/").content.decode()
    assert '<body class="printable printable--receipt">' in html
    assert '<th scope="col" class="num">VAT</th>' not in html
    assert '<th scope="row" colspan="3" class="num">Before VAT</th>' in html


@pytest.mark.django_db
def test_email_to_the_buyer_sends_it_with_the_qr_and_records_who_and_when(
    client_a, owner_a, org_a, mailoutbox
):
    invoice = _signed_with_buyer(org_a)
    detail = client_a.get(f"/invoices/{invoice.pk}/").content.decode()
    assert "E-mail to buyer@savannah.example" in detail

    response = client_a.post(f"/invoices/{invoice.pk}/email/", follow=True)
    assert "Sent to buyer@savannah.example." in response.content.decode()
    (message,) = mailoutbox
    assert message.to == ["buyer@savannah.example"]
    assert invoice.number in message.subject and invoice.irn in message.body
    assert "₦10,750.00" in message.body
    assert [(name, kind) for name, _, kind in message.attachments] == [
        (f"{invoice.irn}.png", "image/png")
    ]
    (sent,) = InvoiceEmail.objects.filter(invoice=invoice)
    assert (sent.to, sent.sent_by) == ("buyer@savannah.example", owner_a)
    assert f"To buyer@savannah.example by {owner_a.email}" in response.content.decode()


@pytest.mark.django_db
def test_email_is_refused_without_a_buyer_address_or_for_a_viewer(
    client_a, client, org_a, member_a, mailoutbox
):
    invoice = _signed_with_buyer(org_a, email="")
    assert "E-mail to" not in client_a.get(f"/invoices/{invoice.pk}/").content.decode()
    response = client_a.post(f"/invoices/{invoice.pk}/email/", follow=True)
    assert "The buyer has no valid e-mail address on this invoice." in response.content.decode()
    addressed = _signed_with_buyer(org_a, source_id=uuid.uuid4())
    client.force_login(member_a(Membership.Role.VIEWER))
    assert client.post(f"/invoices/{addressed.pk}/email/").status_code == 403
    assert mailoutbox == [] and not InvoiceEmail.objects.exists()
