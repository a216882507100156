"""The report pages: the monthly VAT summary and the CSV exports."""

import csv
import datetime
import io
from decimal import Decimal

import pytest

from invoices import report_selectors
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
