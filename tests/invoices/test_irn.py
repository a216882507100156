from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invoices.irn import IrnParts, irn_make, irn_parse, is_valid_irn

SERVICE_IDS = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    min_size=8,
    max_size=8,
)


def test_irn_is_number_service_id_and_date():
    irn = irn_make(invoice_number="INV001", service_id="94ND90NR", issue_date=date(2024, 6, 11))

    assert irn == "INV001-94ND90NR-20240611"


@pytest.mark.parametrize(
    ("invoice_number", "cleaned"),
    [
        ("INV/2026-001_A", "INV2026001A"),
        (" POS 0381992 ", "POS0381992"),
        ("FAC-Ü12", "FAC12"),
    ],
)
def test_invoice_number_keeps_only_ascii_letters_and_digits(invoice_number, cleaned):
    irn = irn_make(
        invoice_number=invoice_number, service_id="A7K3Q9ZD", issue_date=date(2026, 1, 14)
    )

    assert irn == f"{cleaned}-A7K3Q9ZD-20260114"


def test_invoice_number_without_letters_or_digits_is_refused():
    with pytest.raises(ValueError, match="has no letters or digits"):
        irn_make(invoice_number="--/--", service_id="A7K3Q9ZD", issue_date=date(2026, 1, 14))


@pytest.mark.parametrize("service_id", ["", "A7K3Q9Z", "A7K3Q9ZDX", "A7K3-9ZD", "Ä7K3Q9ZD"])
def test_service_id_must_be_eight_letters_or_digits(service_id):
    with pytest.raises(ValueError, match="exactly 8 letters or digits"):
        irn_make(invoice_number="INV1", service_id=service_id, issue_date=date(2026, 1, 14))


def test_datetime_is_refused_because_its_date_depends_on_the_time_zone():
    with pytest.raises(ValueError, match="not a datetime"):
        irn_make(invoice_number="INV1", service_id="A7K3Q9ZD", issue_date=datetime(2026, 1, 14))


def test_parse_gives_the_parts_back():
    assert irn_parse("INV2026011401-A7K3Q9ZD-20260114") == IrnParts(
        invoice_number="INV2026011401", service_id="A7K3Q9ZD", issue_date=date(2026, 1, 14)
    )


@pytest.mark.parametrize(
    ("irn", "message_part"),
    [
        ("INV-001-A7K3Q9ZD-20260114", "does not look like"),
        ("INV001-A7K3Q9Z-20260114", "does not look like"),
        ("INV001-A7K3Q9ZD-2026011", "does not look like"),
        ("INV001-A7K3Q9ZD-20261340", "not a calendar date"),
        ("", "does not look like"),
    ],
)
def test_parse_explains_a_malformed_irn(irn, message_part):
    with pytest.raises(ValueError, match=message_part):
        irn_parse(irn)


@pytest.mark.parametrize(
    ("irn", "is_valid"),
    [
        ("ITW001-F3A3A0CF-20240619", True),
        ("POS0381992-5TRB82QX-20260115", True),
        ("ITW001-F3A3A0CF-20240631", False),
        ("ITW001_F3A3A0CF_20240619", False),
        (None, False),
        (20240619, False),
    ],
)
def test_is_valid_irn(irn, is_valid):
    assert is_valid_irn(irn) is is_valid


@settings(max_examples=300)
@given(
    invoice_number=st.text(min_size=1, max_size=30), service_id=SERVICE_IDS, issue_date=st.dates()
)
def test_made_irns_parse_back(invoice_number, service_id, issue_date):
    try:
        irn = irn_make(invoice_number=invoice_number, service_id=service_id, issue_date=issue_date)
    except ValueError:
        assert not any(character.isascii() and character.isalnum() for character in invoice_number)
        return

    parts = irn_parse(irn)
    assert parts.service_id == service_id
    assert parts.issue_date == issue_date
    assert parts.invoice_number == "".join(
        character for character in invoice_number if character.isascii() and character.isalnum()
    )
