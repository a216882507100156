"""Every connector's sample records map to canonical sales or deals, and those build FIRS
invoices that pass the local checks."""

from datetime import UTC, datetime

from integrations.base.canonical import Deal, Document, DocumentKind, Sale, SaleKind
from invoices.builder import invoice_build
from invoices.validation import invoice_validate
from tests.integrations.pos.square.support import CODES, SUPPLIER

# The canonical record each family's connectors map to; a new family adds its own here.
CANONICAL = {"pos": Sale, "crm": Deal, "erp": Document}
# What a sample that is no refund or credit note is, per canonical record.
NOT_A_CREDIT = (SaleKind.SALE, DocumentKind.INVOICE)


def test_every_sample_record_maps_and_invoices(platform, connector, contract):
    assert connector.family in CANONICAL, f"add the {connector.family} family to CANONICAL"
    samples = contract.record_samples()
    assert samples, f"{platform} gives no sample records"
    for name, record in samples.items():
        mapped = contract.record_map(record)

        assert isinstance(mapped, CANONICAL[connector.family]), name
        assert mapped.external_id and mapped.lines, name
        assert getattr(mapped, "kind", SaleKind.SALE) in NOT_A_CREDIT, name
        payload = invoice_build(
            source=mapped,
            supplier=SUPPLIER,
            codes=CODES,
            invoice_number="CT0001",
            issue_datetime=datetime(2026, 1, 15, 12, tzinfo=UTC),
            service_id=SUPPLIER.firs_service_id,
            business_id=SUPPLIER.firs_business_id,
        )
        assert invoice_validate(payload, codes=CODES) == [], name
