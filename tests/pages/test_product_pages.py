"""The Products & tax page: list, search, edit (validated), CSV export and import."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.models import ProductClassification, TaxAlert

pytestmark = pytest.mark.django_db


@pytest.fixture
def milo(org_a):
    return ProductClassification.objects.create(
        organization=org_a, platform="square", item_key="SQ-MILO", name="Milo Refill 500g"
    )


def test_the_page_lists_the_items_and_their_alerts(client_a, milo, org_b):
    ProductClassification.objects.create(
        organization=org_b, platform="square", item_key="X", name="Other tenant's item"
    )
    TaxAlert.objects.create(
        organization=milo.organization,
        classification=milo,
        kind=TaxAlert.Kind.NO_VAT_ON_STANDARD,
        count=3,
        last_seen_at="2026-11-20T12:00:00Z",
    )

    page = client_a.get(reverse("catalog:products")).content.decode()

    assert "Milo Refill 500g" in page and "Other tenant" not in page
    assert "No VAT charged on a standard-rated item" in page
    assert (
        "Milo Refill 500g"
        in client_a.get(reverse("catalog:products"), {"q": "milo"}).content.decode()
    )
    searched = client_a.get(reverse("catalog:products"), {"q": "rice"}).content.decode()
    assert "No products yet" in searched


def test_editing_refuses_an_unknown_hs_code_in_the_page(client_a, milo):
    url = reverse("catalog:edit", args=[milo.pk])
    answer = client_a.post(
        url, {"hs_code": "9999.9999", "product_category": "Beverages", "vat_treatment": "standard"}
    )

    assert answer.status_code == 200
    assert "9999.9999 is not on the FIRS HS code list" in answer.content.decode()
    milo.refresh_from_db()
    assert milo.vat_treatment == "unclassified"

    answer = client_a.post(
        url, {"hs_code": "1806.9000", "product_category": "Beverages", "vat_treatment": "standard"}
    )
    assert answer.status_code == 302
    milo.refresh_from_db()
    assert (milo.hs_code, milo.vat_treatment) == ("1806.9000", "standard")


def test_the_edit_page_suggests_codes_from_the_firs_list(client_a, org_a):
    rice = ProductClassification.objects.create(
        organization=org_a, platform="square", item_key="SQ-RICE", name="Rice 5kg"
    )
    url = reverse("catalog:edit", args=[rice.pk])

    # From the item's name, before anything is typed.
    page = client_a.get(url).content.decode()
    assert "<code>1006.3000</code> Semi-milled or wholly milled rice" in page

    # From any word of the name, not only the first (a brand).
    milk = ProductClassification.objects.create(
        organization=org_a, platform="square", item_key="SQ-PEAK", name="Peak Milk 400g"
    )
    page = client_a.get(reverse("catalog:edit", args=[milk.pk])).content.decode()
    assert "<code>0402.2100</code> Milk and cream in powder" in page

    # From what was typed: the start of a code is refused, with the codes it could be.
    answer = client_a.post(
        url, {"hs_code": "1806", "product_category": "Food", "vat_treatment": "standard"}
    ).content.decode()
    assert "<code>1806.9000</code> Chocolate and other food preparations containing cocoa" in answer
    assert "1006.3000" not in answer.split("suggestions-heading", 1)[1]


def test_another_tenants_item_is_not_found(client_a, org_b):
    other = ProductClassification.objects.create(
        organization=org_b, platform="square", item_key="X", name="X"
    )
    assert client_a.get(reverse("catalog:edit", args=[other.pk])).status_code == 404


def test_csv_export_then_import_from_the_page(client_a, milo):
    milo.hs_code, milo.product_category, milo.vat_treatment = "1806.9000", "Beverages", "standard"
    milo.save()
    exported = client_a.get(reverse("catalog:export"))
    assert exported["Content-Type"].startswith("text/csv")
    text = exported.content.decode().replace("Beverages", "Drinks")

    answer = client_a.post(
        reverse("catalog:import"), {"file": SimpleUploadedFile("p.csv", text.encode())}
    )

    assert answer.status_code == 302
    milo.refresh_from_db()
    assert milo.product_category == "Drinks"

    bad = text.replace("1806.9000", "9999.9999")
    client_a.post(reverse("catalog:import"), {"file": SimpleUploadedFile("p.csv", bad.encode())})
    milo.refresh_from_db()
    assert milo.hs_code == "1806.9000"


def test_the_dashboards_count_the_open_tax_alerts_and_link_them(client_a, milo, org_b):
    rice = ProductClassification.objects.create(
        organization=milo.organization, platform="square", item_key="SQ-RICE", name="Rice 5kg"
    )
    for classification, kind in (
        (milo, TaxAlert.Kind.NO_VAT_ON_STANDARD),
        (rice, TaxAlert.Kind.VAT_ON_EXEMPT),
    ):
        TaxAlert.objects.create(
            organization=milo.organization,
            classification=classification,
            kind=kind,
            count=1,
            last_seen_at="2026-11-20T12:00:00Z",
        )
    other = ProductClassification.objects.create(
        organization=org_b, platform="square", item_key="X", name="Other tenant's item"
    )
    TaxAlert.objects.create(
        organization=org_b,
        classification=other,
        kind="other_rate",
        last_seen_at="2026-11-20T12:00:00Z",
    )

    for url in ("/", "/pos/", "/crm/", "/erp/"):
        page = client_a.get(url).content.decode()
        assert "2 tax alerts" in page, url
        assert "Milo Refill 500g" in page and "Rice 5kg" in page
        assert 'href="/products/#alerts-heading"' in page
        assert "Other tenant" not in page

    TaxAlert.objects.filter(organization=milo.organization).update(
        resolved_at="2026-11-21T12:00:00Z"
    )
    assert "tax alert" not in client_a.get("/").content.decode()
