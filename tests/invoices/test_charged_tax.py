"""A sale is invoiced with the tax the till charged on each line, whatever the item's
classification says, and a disagreement opens one alert per item."""

import gc
import uuid
from datetime import datetime
from decimal import Decimal

import pytest
from django.core.cache import cache

from catalog.models import ProductClassification, TaxAlert
from integrations.pos.square.mappers import sale_from_order
from invoices import services
from invoices.firs.client import SharedCircuitBreaker
from invoices.models import Invoice
from sandboxes.firs.server import FAULTS_CACHE_KEY
from tests.invoices.pipeline_support import sandbox_organization

pytestmark = pytest.mark.django_db(transaction=True)

# The demo connection's default: rice, on the VAT-exemption list.
DEFAULT_HS_CODE = "1006.3000"


@pytest.fixture(autouse=True)
def isolated_firs_state(live_server):
    cache.delete(FAULTS_CACHE_KEY)
    SharedCircuitBreaker(name=live_server.url.split("//")[1]).reset()
    yield
    cache.delete(FAULTS_CACHE_KEY)
    SharedCircuitBreaker(name=live_server.url.split("//")[1]).reset()
    gc.collect()


@pytest.fixture
def organization(live_server, monkeypatch):
    monkeypatch.setattr(services, "invoice_enqueue", lambda *, invoice, countdown=None: None)
    return sandbox_organization(base_url=f"{live_server.url}/sandbox/firs")


def ngn(kobo: int) -> dict:
    return {"amount": kobo, "currency": "NGN"}


def square_line(uid, name, quantity, unit_kobo, tax_kobo, *, catalog_id, taxed):
    """A line item priced as Square prices it: VAT 7.5 % INCLUSIVE, rounded per line."""
    total = quantity * unit_kobo
    return {
        "uid": uid,
        "catalog_object_id": catalog_id,
        "name": name,
        "quantity": str(quantity),
        "base_price_money": ngn(unit_kobo),
        "gross_sales_money": ngn(total),
        "applied_taxes": (
            [{"uid": f"at-{uid}", "tax_uid": "vat", "applied_money": ngn(tax_kobo)}]
            if taxed
            else []
        ),
        "total_tax_money": ngn(tax_kobo),
        "total_discount_money": ngn(0),
        "total_money": ngn(total),
    }


def square_order(*lines, order_id="ORDER-VAT-1"):
    total = sum(line["total_money"]["amount"] for line in lines)
    tax = sum(line["total_tax_money"]["amount"] for line in lines)
    return {
        "id": order_id,
        "location_id": "LOC1",
        "state": "COMPLETED",
        "closed_at": "2026-11-20T13:30:00Z",
        "line_items": list(lines),
        "taxes": [
            {
                "uid": "vat",
                "name": "VAT",
                "percentage": "7.5",
                "type": "INCLUSIVE",
                "scope": "LINE_ITEM",
            }
        ],
        "total_money": ngn(total),
        "total_tax_money": ngn(tax),
        "total_tip_money": ngn(0),
        "tenders": [{"type": "CASH", "amount_money": ngn(total)}],
    }


# Milo 3 x 3,750.00 = 11,250.00 incl. 784.88 VAT; yoghurt 2 x 1,850.00 = 3,700.00 incl. 258.14;
# rice 12,500.00 with 872.09 VAT charged although the item is exempt (the till's mistake).
MILO = ("li-milo", "Milo Refill 500g", 3, 375_000, 78_488)
YOGHURT = ("li-yog", "Hollandia Yoghurt 1L", 2, 185_000, 25_814)
RICE = ("li-rice", "Mama Gold Rice 5kg", 1, 1_250_000, 87_209)


def demo_order(order_id="ORDER-VAT-1"):
    return square_order(
        square_line(*MILO, catalog_id="SQ-MILO", taxed=True),
        square_line(*YOGHURT, catalog_id="SQ-YOG", taxed=True),
        square_line(*RICE, catalog_id="SQ-RICE", taxed=True),
        order_id=order_id,
    )


def invoice_for(organization, order, number=1):
    sale = sale_from_order(order, default_hs_code=DEFAULT_HS_CODE, default_product_category="Food")
    invoice, _ = services.invoice_create_for_source(
        organization=organization,
        source_type=Invoice.Source.POS,
        source_id=uuid.UUID(int=number),
        source=sale,
        platform="square",
        received_at=datetime.fromisoformat("2026-11-20T13:30:01+00:00"),
    )
    return invoice


def classify(organization, catalog_id, name, hs_code, treatment, category="Food"):
    return ProductClassification.objects.create(
        organization=organization,
        platform="square",
        item_key=catalog_id,
        name=name,
        hs_code=hs_code,
        product_category=category,
        vat_treatment=treatment,
    )


def test_invoice_lines_carry_the_vat_square_charged_to_the_kobo(organization):
    order = demo_order()

    invoice = invoice_for(organization, order)

    assert invoice.status == Invoice.Status.BUILT, invoice.problems
    assert list(invoice.lines.values_list("name", "tax_amount")) == [
        ("Milo Refill 500g", Decimal("784.88")),
        ("Hollandia Yoghurt 1L", Decimal("258.14")),
        ("Mama Gold Rice 5kg", Decimal("872.09")),
    ]
    square_tax = Decimal(order["total_tax_money"]["amount"]).scaleb(-2)
    assert invoice.tax_amount == square_tax == Decimal("1915.11")
    assert invoice.payable_amount == Decimal("27450.00")
    (subtotal,) = invoice.tax_subtotals.all()
    assert (subtotal.category, subtotal.tax_amount) == ("STANDARD_VAT", square_tax)
    # Seen for the first time: added unclassified, described by the connection's default.
    assert set(
        ProductClassification.objects.filter(organization=organization).values_list(
            "item_key", "vat_treatment"
        )
    ) == {("SQ-MILO", "unclassified"), ("SQ-YOG", "unclassified"), ("SQ-RICE", "unclassified")}
    assert not TaxAlert.objects.exists()


def test_vat_on_an_exempt_item_is_signed_as_charged_and_opens_one_alert(organization):
    rice = classify(organization, "SQ-RICE", "Mama Gold Rice 5kg", "1006.3000", "exempt")
    classify(organization, "SQ-MILO", "Milo Refill 500g", "1806.9000", "standard")
    classify(organization, "SQ-YOG", "Hollandia Yoghurt 1L", "0403.2000", "standard")

    invoice = invoice_for(organization, demo_order())
    status = services.invoice_advance(invoice_id=invoice.pk, claim_token="t1")
    invoice.refresh_from_db()

    assert status == Invoice.Status.CONFIRMED
    assert invoice.signed_at is not None
    assert invoice.tax_amount == Decimal("1915.11")  # the rice's 872.09 included, not zeroed
    assert [line["hsn_code"] for line in invoice.payload["invoice_line"]] == [
        "1806.9000",
        "0403.2000",
        "1006.3000",
    ]
    alert = TaxAlert.objects.get()
    assert (alert.classification, alert.kind, alert.count) == (rice, "vat_on_exempt", 1)
    assert alert.last_source_reference == "ORDER-VAT-1"

    invoice_for(organization, demo_order("ORDER-VAT-2"), number=2)

    alert = TaxAlert.objects.get()  # one per item and kind, counted
    assert alert.count == 2 and alert.last_source_reference == "ORDER-VAT-2"


def test_no_vat_on_a_standard_item_opens_an_alert(organization):
    classify(organization, "SQ-MILO", "Milo Refill 500g", "1806.9000", "standard")
    order = square_order(square_line(*MILO[:4], 0, catalog_id="SQ-MILO", taxed=False))

    invoice = invoice_for(organization, order)

    assert invoice.tax_amount == 0
    alert = TaxAlert.objects.get()
    assert (alert.classification.item_key, alert.kind) == ("SQ-MILO", "no_vat_on_standard")


def test_an_exempt_classification_zero_rates_a_line_the_platform_says_nothing_of(organization):
    classify(organization, "Rice", "Rice", "1006.3000", "exempt")
    order = square_order(square_line(*RICE, catalog_id="", taxed=False))
    for line in order["line_items"]:
        line["name"] = "Rice"
        del line["total_tax_money"]
    del order["total_tax_money"]

    invoice = invoice_for(organization, order)

    assert invoice.tax_amount == 0
    assert invoice.lines.get().tax_amount is None


def test_a_rate_other_than_7_5_is_signed_as_charged_and_opens_an_alert_naming_the_item(
    organization,
):
    # The till charges 5 % on the wine: FIRS gets 5 % as charged, never 7.5 % nor zero.
    wine = square_line(
        "li-wine", "Chamdor Sparkling 75cl", 2, 525_000, 50_000, catalog_id="SQ-WINE", taxed=True
    )
    order = square_order(wine, square_line(*MILO, catalog_id="SQ-MILO", taxed=True))
    order["taxes"].append(
        {"uid": "vat5", "name": "VAT", "percentage": "5", "type": "INCLUSIVE", "scope": "LINE_ITEM"}
    )
    wine["applied_taxes"][0]["tax_uid"] = "vat5"

    invoice = invoice_for(organization, order)
    assert invoice.status == Invoice.Status.BUILT, invoice.problems
    status = services.invoice_advance(invoice_id=invoice.pk, claim_token="t1")
    invoice.refresh_from_db()

    assert status == Invoice.Status.CONFIRMED
    assert list(
        invoice.tax_subtotals.order_by("category").values_list("category", "percent", "tax_amount")
    ) == [
        ("REDUCED_VAT", Decimal("5"), Decimal("500.00")),
        ("STANDARD_VAT", Decimal("7.5"), Decimal("784.88")),
    ]
    assert invoice.tax_amount == Decimal("1284.88")
    assert invoice.payable_amount == Decimal("21750.00")
    alert = TaxAlert.objects.get()
    assert (alert.classification.name, alert.kind) == ("Chamdor Sparkling 75cl", "other_rate")
    assert alert.last_tax_rate == Decimal(5)


def test_the_demo_tills_sales_are_invoiced_with_the_vat_square_charged_line_by_line(
    organization, client
):
    import random

    from sandboxes.square.api import sandbox_merchant_create
    from sandboxes.square.traffic import sale_request

    merchant = sandbox_merchant_create()
    location_id = merchant.locations.get().location_id
    headers = {"Authorization": f"Bearer {merchant.access_token}"}
    rng = random.Random(15)
    for number in range(1, 21):
        created = client.post(
            "/sandbox/square/v2/orders",
            {
                "idempotency_key": f"demo-{number}",
                "order": sale_request(location_id=location_id, rng=rng),
            },
            content_type="application/json",
            headers=headers,
        ).json()["order"]
        client.post(f"/sandbox/square/_sandbox/orders/{created['id']}/complete", headers=headers)
        order = client.get(f"/sandbox/square/v2/orders/{created['id']}", headers=headers).json()[
            "order"
        ]

        invoice = invoice_for(organization, order, number=number)

        assert invoice.status == Invoice.Status.BUILT, invoice.problems
        charged = [
            Decimal(line["total_tax_money"]["amount"]).scaleb(-2) for line in order["line_items"]
        ]
        assert list(invoice.lines.order_by("position").values_list("tax_amount", flat=True)) == (
            charged
        )
        assert invoice.tax_amount == Decimal(order["total_tax_money"]["amount"]).scaleb(-2)
        assert invoice.payable_amount == Decimal(order["total_money"]["amount"]).scaleb(-2)
