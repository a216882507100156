"""Readable invoice numbers: a prefix and a gapless sequence per organization."""

import threading
import uuid

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from invoices import services
from invoices.irn import is_valid_irn
from invoices.models import Invoice, InvoiceNumberSequence
from tests.factories import InvoiceFactory, OrganizationFactory
from tests.invoices.pipeline_support import pos_sale


def _create(organization, number: int):
    return services.invoice_create_for_source(
        organization=organization,
        source_type=Invoice.Source.POS,
        source_id=uuid.UUID(int=number),
        source=pos_sale(number),
        enqueue=False,
    )


@pytest.mark.django_db
def test_each_organization_numbers_its_invoices_from_one_and_a_replay_takes_no_number():
    first_org, second_org = (
        OrganizationFactory(firs_ready=True),
        OrganizationFactory(firs_ready=True),
    )
    # An invoice numbered before the sequence existed keeps its number.
    older = InvoiceFactory(organization=first_org, source_id=uuid.UUID(int=900))
    one, created = _create(first_org, 1)
    replayed, created_again = _create(first_org, 1)
    two, _ = _create(first_org, 2)
    other, _ = _create(second_org, 1)
    assert created and not created_again and replayed.pk == one.pk
    assert [one.number, two.number, other.number] == ["TXP-000001", "TXP-000002", "TXP-000001"]
    assert one.irn == f"TXP000001-{first_org.firs_service_id}-20261120"
    assert all(is_valid_irn(invoice.irn) for invoice in (one, two, other))
    older.refresh_from_db()
    assert older.number.startswith("POS")


@pytest.mark.django_db
def test_a_changed_prefix_numbers_the_next_invoices():
    organization = OrganizationFactory(firs_ready=True)
    _create(organization, 1)
    InvoiceNumberSequence.objects.filter(organization=organization).update(prefix="LEKKI")
    invoice, _ = _create(organization, 2)
    assert (invoice.number, invoice.irn.split("-")[0]) == ("LEKKI-000002", "LEKKI000002")


@pytest.mark.django_db
def test_numbering_costs_one_statement():
    organization = OrganizationFactory(firs_ready=True)
    _create(organization, 1)
    with CaptureQueriesContext(connection) as queries:
        services.invoice_number_allocate(organization=organization)
    assert len(queries.captured_queries) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_allocations_never_share_a_number_and_leave_no_gap():
    organization = OrganizationFactory(firs_ready=True)
    numbers: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def allocate():
        start.wait()
        try:
            for _ in range(20):
                number = services.invoice_number_allocate(organization=organization)
                with lock:
                    numbers.append(number)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=allocate) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == [f"TXP-{value:06d}" for value in range(1, 121)]
