"""Invoice Reference Number: ``{InvoiceNumber}-{ServiceID}-{YYYYMMDD}``, as FIRS defines it.

The SI builds the IRN; FIRS only checks it. It is computed once, stored, and reused on retries.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime

IRN_PATTERN = re.compile(r"([A-Za-z0-9]+)-([A-Za-z0-9]{8})-(\d{8})", re.ASCII)
SERVICE_ID_PATTERN = re.compile(r"[A-Za-z0-9]{8}", re.ASCII)


@dataclass(frozen=True)
class IrnParts:
    invoice_number: str
    service_id: str
    issue_date: date


def invoice_number_clean(invoice_number: str) -> str:
    """FIRS allows letters and digits only, so ``INV/2026-001`` becomes ``INV2026001``."""
    return re.sub(r"[^A-Za-z0-9]", "", invoice_number)


def irn_make(*, invoice_number: str, service_id: str, issue_date: date) -> str:
    cleaned_number = invoice_number_clean(invoice_number)
    if not cleaned_number:
        raise ValueError(
            f"Invoice number {invoice_number!r} has no letters or digits, so it cannot start an IRN"
        )
    if not SERVICE_ID_PATTERN.fullmatch(service_id):
        raise ValueError(
            f"FIRS service id {service_id!r} must be exactly 8 letters or digits "
            "(it is assigned when the business is enabled for e-invoicing)"
        )
    if isinstance(issue_date, datetime):
        # A datetime's date depends on its time zone; the caller must choose it.
        raise ValueError("issue_date must be a date, not a datetime")
    # isoformat, not %Y: strftime does not zero-pad years before 1000 on every platform.
    return f"{cleaned_number}-{service_id}-{issue_date.isoformat().replace('-', '')}"


def irn_parse(irn: str) -> IrnParts:
    match = IRN_PATTERN.fullmatch(irn)
    if match is None:
        raise ValueError(
            f"IRN {irn!r} does not look like InvoiceNumber-ServiceID-YYYYMMDD "
            "(letters and digits, then 8 letters or digits, then 8 digits)"
        )
    invoice_number, service_id, yyyymmdd = match.groups()
    try:
        issue_date = datetime.strptime(yyyymmdd, "%Y%m%d").date()
    except ValueError:
        raise ValueError(f"IRN {irn!r} ends in {yyyymmdd}, which is not a calendar date") from None
    return IrnParts(invoice_number=invoice_number, service_id=service_id, issue_date=issue_date)


def is_valid_irn(irn: object) -> bool:
    if not isinstance(irn, str):
        return False
    try:
        irn_parse(irn)
    except ValueError:
        return False
    return True
