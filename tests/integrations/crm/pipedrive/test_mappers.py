"""Pipedrive's JSON into canonical deals and events: line money to the cent under each tax
method and discount kind, the buyer and its TIN, won-ness from status changes, and v1 bodies
read as the v2 events they stand for."""

import json
from decimal import Decimal

import pytest

from integrations.base.errors import MappingError
from integrations.crm.pipedrive import mappers
from tests.integrations.crm.pipedrive.support import SAMPLE_TIN_FIELD, SAMPLES, sample

DEAL = sample("v2-get-deals-response")["data"][0]
PERSON = sample("v2-get-persons-response")["data"][0]
ORGANIZATION = sample("v2-get-organizations-response")["data"][0]


def _product(**changes) -> dict:
    return {
        "id": 1,
        "deal_id": 1042,
        "product_id": 301,
        "name": "POS terminal",
        "item_price": 24000.01,
        "quantity": 3,
        "discount": 0,
        "discount_type": "percentage",
        "tax": 7.5,
        "tax_method": "exclusive",
        "currency": "NGN",
        "is_enabled": True,
        **changes,
    }


def test_the_sample_deal_maps_won_with_its_products_and_business_buyer():
    deal = mappers.deal_from_pipedrive(
        DEAL,
        products=sample("v2-get-deal-products-response")["data"],
        person=PERSON,
        organization=ORGANIZATION,
        tin_field=SAMPLE_TIN_FIELD,
    )

    assert (deal.external_id, deal.is_won, deal.stage, deal.pipeline) == ("1042", True, "won", "1")
    assert deal.amount == Decimal("1250000.50") and deal.currency == "NGN"
    assert not deal.prices_include_tax
    assert [(line.quantity, line.unit_price, line.tax_rate) for line in deal.lines] == [
        (Decimal(50), Decimal("24000.01"), Decimal("7.5")),
        (Decimal(1), Decimal("50000.0"), Decimal("7.5")),
    ]
    buyer = deal.buyer
    assert (buyer.name, buyer.tin) == ("Acme Ltd", "17402958-0001")
    assert buyer.email == "ada.okafor@acme.ng"
    assert (buyer.street_name, buyer.city_name, buyer.postal_zone, buyer.country) == (
        "12 Allen Avenue",
        "Ikeja",
        "100271",
        "NG",
    )


@pytest.mark.parametrize(
    ("discount", "kind", "expected"),
    [(10, "percentage", "7200.00"), (12.5, "percentage", "9000.00"), (999.99, "amount", "999.99")],
)
def test_a_discount_is_a_percentage_of_the_line_or_an_amount_off_it(discount, kind, expected):
    product = _product(item_price=24000.0, discount=discount, discount_type=kind)

    (line,) = mappers.deal_from_pipedrive(DEAL, products=[product]).lines

    assert line.discount == Decimal(expected)


def test_the_tax_method_decides_inclusive_prices_and_none_is_zero_rated():
    inclusive = mappers.deal_from_pipedrive(DEAL, products=[_product(tax_method="inclusive")])
    untaxed = mappers.deal_from_pipedrive(DEAL, products=[_product(tax_method="none")])

    assert inclusive.prices_include_tax and inclusive.lines[0].tax_rate == Decimal("7.5")
    assert not untaxed.prices_include_tax and untaxed.lines[0].tax_rate == 0


def test_mixed_tax_methods_disabled_products_and_foreign_currency_lines():
    with pytest.raises(MappingError, match="mixes tax methods"):
        mappers.deal_from_pipedrive(
            DEAL, products=[_product(), _product(id=2, tax_method="inclusive")]
        )
    with pytest.raises(MappingError, match="the deal's is NGN"):
        mappers.deal_from_pipedrive(DEAL, products=[_product(currency="USD")])
    deal = mappers.deal_from_pipedrive(DEAL, products=[_product(), _product(is_enabled=False)])
    assert len(deal.lines) == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"quantity": 0},
        {"item_price": -1},
        {"discount": 101},
        {"discount": 10**6, "discount_type": "amount"},
        {"discount_type": "fixed"},
        {"tax_method": "sometimes"},
        {"quantity": "3"},
        {"item_price": True},
    ],
)
def test_a_product_that_cannot_be_invoiced_is_a_mapping_error(changes):
    with pytest.raises(MappingError):
        mappers.deal_from_pipedrive(DEAL, products=[_product(**changes)])


def test_a_person_alone_is_a_buyer_without_tin_and_a_typed_tin_field_is_read():
    b2c = mappers.deal_from_pipedrive(DEAL, person=PERSON)
    typed = {
        **ORGANIZATION,
        "custom_fields": {SAMPLE_TIN_FIELD: {"type": "varchar", "value": " 17402958-0001 "}},
    }

    assert (b2c.buyer.name, b2c.buyer.tin) == ("Ada Okafor", "")
    assert b2c.buyer.telephone == "+2348031234567"
    mapped = mappers.deal_from_pipedrive(DEAL, organization=typed, tin_field=SAMPLE_TIN_FIELD)
    assert mapped.buyer.tin == "17402958-0001"
    assert mappers.deal_from_pipedrive(DEAL).buyer is None


def _payload(action="change", status="won", previous=None, entity="deal") -> dict:
    return {
        "meta": {"action": action, "entity": entity},
        "data": {"status": status},
        "previous": previous,
    }


@pytest.mark.parametrize(
    ("payload", "matters"),
    [
        (_payload(previous={"status": "open"}), True),
        (_payload(status="open", previous={"status": "won"}), True),
        (_payload(previous={"title": "Renamed"}), False),
        (_payload(action="create"), True),
        (_payload(action="create", status="open"), False),
        (_payload(action="delete", previous={"status": "won"}), False),
        (_payload(entity="person", previous={"status": "open"}), False),
        ({"meta": "x"}, False),
        ([], False),
    ],
)
def test_only_a_status_change_or_a_deal_created_won_matters(payload, matters):
    assert mappers.event_changes_invoicing(payload) is matters


def test_a_v2_delivery_is_one_event_keyed_on_its_meta_id():
    (event,) = mappers.webhook_events((SAMPLES / "webhook-v2-change-deal-won.json").read_bytes())

    assert event.event_id == "3f6a1c2e-8d4b-4c1a-9b2e-0a1b2c3d4e5f"
    assert event.event_type == "change.deal"
    assert (event.account_id, event.object_id) == ("12882925", "1042")
    assert mappers.event_changes_invoicing(event.payload)


def test_a_v1_delivery_reads_as_the_v2_event_with_only_the_changed_fields_as_previous():
    (event,) = mappers.webhook_events((SAMPLES / "webhook-v1-updated-deal.json").read_bytes())

    assert (event.event_type, event.object_id) == ("change.deal", "1042")
    assert event.account_id == "12882925"
    assert event.payload["previous"] == {"status": "open", "won_time": None, "stage_id": 4}
    assert mappers.event_changes_invoicing(event.payload)


@pytest.mark.parametrize(
    "meta",
    [{"version": "1.0"}, {"version": "2.0", "action": "change", "entity": "deal", "id": ""}],
)
def test_other_versions_and_missing_ids_are_refused(meta):
    body = json.dumps({"meta": {"entity_id": "1", "company_id": "2", **meta}}).encode()
    with pytest.raises(MappingError):
        mappers.webhook_events(body)
