"""Classifications are validated against the FIRS code lists, by one service, wherever they
are entered: the service, a CSV import, the admin."""

import pytest
from django.core.exceptions import ValidationError

from catalog import selectors, services
from catalog.admin import ProductClassificationAdminForm
from catalog.models import ProductClassification
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

CSV_HEADER = "platform,item_key,name,hs_code,product_category,vat_treatment\n"


@pytest.fixture
def organization():
    return OrganizationFactory()


def test_an_unknown_hs_code_is_refused_with_a_clear_message():
    with pytest.raises(ValidationError) as refused:
        services.classification_validate(
            hs_code="9999.9999", product_category="Food", vat_treatment="standard"
        )
    assert refused.value.message_dict == {
        "hs_code": [
            "9999.9999 is not on the FIRS HS code list; use an eight-digit code like "
            "1006.3000 from the list"
        ]
    }


def test_exempt_and_standard_must_agree_with_the_exemption_list():
    with pytest.raises(ValidationError, match="not on the FIRS VAT-exemption list"):
        services.classification_validate(
            hs_code="1806.9000", product_category="Food", vat_treatment="exempt"
        )
    with pytest.raises(ValidationError, match="is on the FIRS VAT-exemption list"):
        services.classification_validate(
            hs_code="1006.3000", product_category="Food", vat_treatment="standard"
        )
    cleaned = services.classification_validate(
        hs_code="10063000", product_category=" Food ", vat_treatment="exempt"
    )
    assert (cleaned.hs_code, cleaned.product_category) == ("1006.3000", "Food")


def test_update_refuses_an_unknown_code_and_changes_nothing(organization):
    item = ProductClassification.objects.create(
        organization=organization, platform="square", item_key="SQ-MILO", name="Milo"
    )
    with pytest.raises(ValidationError):
        services.classification_update(
            classification=item,
            hs_code="9999.9999",
            product_category="Food",
            vat_treatment="standard",
        )
    item.refresh_from_db()
    assert (item.hs_code, item.vat_treatment) == ("", "unclassified")


def test_csv_import_with_an_unknown_code_saves_nothing_and_names_the_row(organization):
    text = (
        CSV_HEADER
        + "square,SQ-MILO,Milo Refill 500g,1806.9000,Beverages,standard\n"
        + "square,SQ-X,Mystery,9999.9999,Food,standard\n"
    )
    with pytest.raises(ValidationError) as refused:
        services.classifications_import_csv(organization=organization, text=text)
    assert refused.value.messages == [
        "Row 3, hs_code: 9999.9999 is not on the FIRS HS code list; use an eight-digit code "
        "like 1006.3000 from the list"
    ]
    assert not ProductClassification.objects.exists()


def test_csv_export_and_import_round_trip(organization):
    text = (
        CSV_HEADER
        + "square,SQ-MILO,Milo Refill 500g,1806.9000,Beverages,standard\n"
        + "square,SQ-RICE,Mama Gold Rice 5kg,1006.3000,Food,exempt\n"
        + "hubspot,1590001,POS terminal model X,8470.5000,Equipment,standard\n"
    )
    assert services.classifications_import_csv(organization=organization, text=text) == 3
    exported = selectors.classifications_csv(organization=organization)

    other = OrganizationFactory()
    assert services.classifications_import_csv(organization=other, text=exported) == 3
    assert selectors.classifications_csv(organization=other) == exported
    assert exported.replace("\r\n", "\n").splitlines()[0] == CSV_HEADER.strip()


def test_the_admin_form_refuses_an_unknown_code(organization):
    form = ProductClassificationAdminForm(
        data={
            "organization": organization.pk,
            "platform": "square",
            "item_key": "SQ-X",
            "name": "Mystery",
            "hs_code": "9999.9999",
            "product_category": "Food",
            "vat_treatment": "standard",
        }
    )
    assert not form.is_valid()
    assert "is not on the FIRS HS code list" in form.errors["hs_code"][0]


def test_the_demo_catalogue_is_classified_validly_and_the_till_taxes_it_so():
    import random

    from sandboxes.square.traffic import CATALOGUE, CATALOGUE_CLASSIFICATION, sale_request

    assert {name for name, _, _ in CATALOGUE} == set(CATALOGUE_CLASSIFICATION)
    for hs_code, category, treatment in CATALOGUE_CLASSIFICATION.values():
        services.classification_validate(
            hs_code=hs_code, product_category=category, vat_treatment=treatment
        )
    assert CATALOGUE_CLASSIFICATION["Mama Gold Rice 5kg"][2] == "exempt"
    assert CATALOGUE_CLASSIFICATION["Milo Refill 500g"][2] == "standard"
    assert CATALOGUE_CLASSIFICATION["Hollandia Yoghurt 1L"][2] == "standard"
    rng = random.Random(7)
    for _ in range(50):
        order = sale_request(location_id="LOC1", rng=rng)
        for line in order["line_items"]:
            is_taxed = bool(line.get("applied_taxes"))
            assert is_taxed == (CATALOGUE_CLASSIFICATION[line["name"]][2] == "standard")
