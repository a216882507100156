"""A platform with refunds maps each sample refund to a credit of the sale it refunds, which
builds a credit note referring to that sale's invoice."""

from datetime import UTC, date, datetime

from integrations.base.canonical import SaleKind
from integrations.base.connectors import Capability
from invoices.builder import InvoiceReference, invoice_build
from invoices.validation import invoice_validate
from tests.integrations.pos.square.support import CODES, SUPPLIER

CAPABILITY = Capability.REFUNDS
ORIGINAL = InvoiceReference(irn="CT0001-TPT12345-20260114", issue_date=date(2026, 1, 14))


def test_every_sample_refund_is_a_credit_of_its_sale(platform, contract):
    samples = contract.refund_samples()
    assert samples, f"{platform} gives no sample refunds"
    for name, record in samples.items():
        credit = contract.refund_map(record)

        assert credit.kind == SaleKind.REFUND, name
        assert credit.external_id and credit.original_external_id, name
        assert credit.external_id != credit.original_external_id, name
        assert credit.total > 0, name
        payload = invoice_build(
            source=credit,
            supplier=SUPPLIER,
            codes=CODES,
            invoice_number="CT0002",
            issue_datetime=datetime(2026, 1, 15, 12, tzinfo=UTC),
            service_id=SUPPLIER.firs_service_id,
            business_id=SUPPLIER.firs_business_id,
            billing_reference=ORIGINAL,
        )
        assert invoice_validate(payload, codes=CODES) == [], name
