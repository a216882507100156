"""The pages explain HS code, IRN and p99 in plain language where they show them."""

import pytest
from django.utils.html import escape

from catalog.models import ProductClassification
from taxpoynt.help_texts import HELP_TEXTS
from tests.factories import InvoiceFactory, POSConnectionFactory, POSTransactionFactory

pytestmark = pytest.mark.django_db


def test_an_invoice_and_its_sale_explain_the_irn(client_a, org_a):
    invoice = InvoiceFactory(organization=org_a)
    sale = POSTransactionFactory(
        connection=POSConnectionFactory(organization=org_a), invoice=invoice
    )

    for url in (f"/invoices/{invoice.pk}/", f"/pos/transactions/{sale.pk}/"):
        page = client_a.get(url).content.decode()
        assert escape(HELP_TEXTS["irn"]) in page, url
        assert '<abbr title="Invoice Reference Number">IRN</abbr>' in page


def test_the_products_pages_and_the_connection_settings_explain_the_hs_code(client_a, org_a):
    milo = ProductClassification.objects.create(
        organization=org_a, platform="square", item_key="SQ-MILO", name="Milo"
    )
    POSConnectionFactory(organization=org_a)

    for url in ("/products/", f"/products/{milo.pk}/", "/integrations/"):
        assert escape(HELP_TEXTS["hs_code"]) in client_a.get(url).content.decode(), url


@pytest.mark.parametrize("url", ["/pos/", "/crm/", "/erp/"])
def test_the_dashboards_explain_p50_and_p99(client_a, url):
    assert escape(HELP_TEXTS["p99"]) in client_a.get(url).content.decode()
