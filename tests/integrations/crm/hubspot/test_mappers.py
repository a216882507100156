"""HubSpot JSON -> canonical deals, webhook events and pipelines, and on to a FIRS invoice.

Fixtures are the samples in ``../shared/platforms/hubspot/samples-constructed`` (copied here):
every one of them maps.
"""

import copy
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from integrations.base.errors import MappingError
from integrations.crm.hubspot.mappers import (
    LINE_ITEM_PROPERTIES,
    associations_from_batch,
    deal_from_hubspot,
    deals_search_request,
    error_answer,
    line_items_batch_read_request,
    oauth_tokens,
    pipeline_stages,
    webhook_events,
    won_stage_ids,
)
from invoices.builder import invoice_build
from invoices.validation import decimal_from_json
from tests.integrations.crm.hubspot.support import (
    FIXTURES_DIR,
    SAMPLE_COMPANY,
    SAMPLE_CONTACT,
    sample,
    sample_bytes,
)
from tests.integrations.pos.square.support import CODES, SUPPLIER

WON = frozenset({"closedwon"})
RECEIVED_AT = datetime(2026, 11, 22, 18, 27, tzinfo=UTC)
PIPELINES = {
    "results": [
        {
            "id": "default",
            "label": "Sales Pipeline",
            "displayOrder": 0,
            "archived": False,
            "stages": [
                {
                    "id": "appointmentscheduled",
                    "label": "Appointment Scheduled",
                    "displayOrder": 0,
                    "metadata": {"isClosed": "false", "probability": "0.2"},
                    "archived": False,
                },
                {
                    "id": "closedwon",
                    "label": "Closed Won",
                    "displayOrder": 5,
                    "metadata": {"isClosed": "true", "probability": "1.0"},
                    "archived": False,
                },
                {
                    "id": "closedlost",
                    "label": "Closed Lost",
                    "displayOrder": 6,
                    "metadata": {"isClosed": "true", "probability": "0.0"},
                    "archived": False,
                },
            ],
        },
        {
            "id": "80514736",
            "label": "Enterprise",
            "displayOrder": 1,
            "archived": False,
            "stages": [
                {
                    "id": "80514737",
                    "label": "Signed",
                    "displayOrder": 0,
                    "metadata": {"isClosed": "true", "probability": "1.0"},
                    "archived": False,
                },
                {
                    "id": "80514738",
                    "label": "Contract out",
                    "displayOrder": 1,
                    "metadata": {"isClosed": "false", "probability": "0.9"},
                    "archived": False,
                },
            ],
        },
    ]
}


def sample_deal() -> dict:
    return sample("get-deal-with-associations")


def sample_line_items() -> list[dict]:
    return sample("batch-read-line-items-response")["results"]


def to_deal(deal=None, **arguments):
    arguments.setdefault("line_items", sample_line_items())
    arguments.setdefault("company", SAMPLE_COMPANY)
    arguments.setdefault("contact", SAMPLE_CONTACT)
    arguments.setdefault("won_stage_ids", WON)
    return deal_from_hubspot(deal or sample_deal(), **arguments)


def line_item(line_id="1", **properties) -> dict:
    return {"id": line_id, "properties": {"name": "Item", "quantity": "1", **properties}}


# --- the samples ---------------------------------------------------------------------------


def test_sample_deal_maps_with_its_line_items_company_and_contact():
    deal = to_deal(default_hs_code="8470.5000", default_product_category="POS terminals")

    assert deal.external_id == "18250003411"
    assert deal.name == "Acme Ltd - 50 POS terminals"
    assert deal.amount == Decimal("1250000.50")
    assert deal.currency == "NGN"
    assert (deal.stage, deal.pipeline, deal.is_won) == ("closedwon", "default", True)
    assert deal.closed_at == datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
    assert deal.modified_at == datetime(2026, 11, 22, 18, 26, 40, 125000, tzinfo=UTC)
    assert deal.prices_include_tax is False
    terminal, installation = deal.lines
    assert (terminal.name, terminal.quantity, terminal.unit_price) == (
        "POS terminal model X",
        Decimal("50"),
        Decimal("24000.01"),
    )
    assert (terminal.sku, terminal.external_id, terminal.discount) == ("POS-X", "30551234001", 0)
    assert terminal.tax_rate is None
    assert (terminal.hs_code, terminal.product_category) == ("8470.5000", "POS terminals")
    assert installation.unit_price == Decimal("50000.00")
    buyer = deal.buyer
    assert buyer.tin == "12345678-0001"
    assert buyer.name == "Acme Ltd"
    assert buyer.external_id == "9876543210"
    assert buyer.email == "ada.obi@acme.ng"  # the company has none: the contact's
    assert buyer.telephone == "08031234567"
    assert buyer.street_name == "12 Adeola Odeku Street, Victoria Island"
    assert (buyer.city_name, buyer.state, buyer.postal_zone, buyer.country) == (
        "Lagos",
        "NG-LA",
        "101241",
        "NG",
    )


def test_sample_deal_builds_a_firs_invoice_with_the_buyers_tin():
    deal = to_deal(default_hs_code="8470.5000", default_product_category="POS terminals")

    payload = invoice_build(
        source=deal,
        supplier=SUPPLIER,
        codes=CODES,
        invoice_number="HS0001",
        issue_datetime=deal.closed_at.astimezone(ZoneInfo("Africa/Lagos")),
        service_id=SUPPLIER.firs_service_id,
        business_id=SUPPLIER.firs_business_id,
    )

    totals = payload["legal_monetary_total"]
    assert decimal_from_json(totals["tax_exclusive_amount"]) == deal.amount
    assert payload["accounting_customer_party"]["tin"] == "12345678-0001"
    assert len(payload["invoice_line"]) == 2


def test_every_search_result_maps():
    for result in sample("search-deals-response")["results"]:
        deal = deal_from_hubspot(result, won_stage_ids=WON)
        assert deal.amount == Decimal("1250000.50")
        assert deal.lines == ()
        assert deal.buyer is None
        assert deal.is_won


def test_search_request_sample_is_what_the_incremental_pull_sends():
    assert deals_search_request(
        modified_since_ms=1732200000000, stage_ids={"closedwon"}, limit=100
    ) == sample("search-deals-request")


def test_several_won_stages_are_searched_with_in():
    request = deals_search_request(modified_since_ms=0, stage_ids={"closedwon", "80514737"})
    stage_filter = request["filterGroups"][0]["filters"][1]
    assert stage_filter == {
        "propertyName": "dealstage",
        "operator": "IN",
        "values": ["80514737", "closedwon"],
    }


def test_batch_read_request_sample_is_what_the_line_item_read_sends():
    expected = sample("batch-read-line-items-request")
    assert (
        line_items_batch_read_request(
            ["30551234001", "30551234002"], properties=expected["properties"]
        )
        == expected
    )
    assert set(expected["properties"]) <= set(LINE_ITEM_PROPERTIES)


def test_associations_sample_maps_deal_to_its_line_items():
    assert associations_from_batch(sample("associations-v4-batch-read-deal-to-line-items")) == {
        "18250003411": ("30551234001", "30551234002")
    }


def test_oauth_sample_gives_tokens_that_expire_in_30_minutes():
    tokens = oauth_tokens(sample("oauth-v1-token-response"), received_at=RECEIVED_AT)

    assert tokens.refresh_token == "6f18f21e-a743-4509-b7fd-1a5e632fffa1"
    assert tokens.access_token.startswith("CN2zlYnm")
    assert tokens.expires_at == RECEIVED_AT + timedelta(minutes=30)


def test_rate_limit_sample_names_its_policy():
    answer = error_answer(sample("error-429-ten-secondly-rolling"))

    assert (answer.status, answer.category, answer.policy_name) == (
        "error",
        "RATE_LIMIT",
        "TEN_SECONDLY_ROLLING",
    )
    assert answer.correlation_id == "c033cdaa-2c40-4a64-ae48-b4cec88dad24"


@pytest.mark.parametrize(
    "name", sorted(path.stem for path in FIXTURES_DIR.glob("webhook-v3-*.json"))
)
def test_every_webhook_sample_maps(name):
    body = sample_bytes(name)
    events = webhook_events(body)

    assert len(events) == len(json.loads(body))
    for event, sent in zip(events, json.loads(body), strict=True):
        assert event.account_id == "62515"
        assert event.event_type == sent["subscriptionType"]
        assert event.object_id == str(sent.get("objectId", sent.get("fromObjectId")))
        assert str(sent["eventId"]) in event.event_id
        assert event.payload == sent
    assert len({event.event_id for event in events}) == len(events)


def test_every_sample_is_covered_by_a_test_here():
    """A new sample in the shared folder must get a mapping test."""
    covered = {
        "get-deal-with-associations",
        "batch-read-line-items-response",
        "batch-read-line-items-request",
        "search-deals-response",
        "search-deals-request",
        "associations-v4-batch-read-deal-to-line-items",
        "oauth-v1-token-response",
        "error-429-ten-secondly-rolling",
    }
    webhooks = {path.stem for path in FIXTURES_DIR.glob("webhook-v3-*.json")}
    assert {path.stem for path in FIXTURES_DIR.glob("*.json")} == covered | webhooks


# --- deals ---------------------------------------------------------------------------------


def test_stage_outside_the_won_ids_is_not_won():
    assert not to_deal(won_stage_ids={"80514737"}).is_won


def test_won_stage_ids_must_be_a_collection():
    with pytest.raises(TypeError):
        to_deal(won_stage_ids="closedwon")


def test_a_company_without_the_tin_property_gives_an_empty_tin():
    company = copy.deepcopy(SAMPLE_COMPANY)
    del company["properties"]["tin"]
    assert to_deal(company=company).buyer.tin == ""


def test_the_tin_property_is_configurable():
    company = copy.deepcopy(SAMPLE_COMPANY)
    company["properties"]["firs_tin"] = " 87654321-0001 "
    assert to_deal(company=company, tin_property="firs_tin").buyer.tin == "87654321-0001"


def test_the_contact_is_the_buyer_without_a_company():
    deal = copy.deepcopy(sample_deal())
    del deal["associations"]["companies"]
    buyer = to_deal(deal, company=None).buyer

    assert (buyer.name, buyer.tin, buyer.email) == ("Ada Obi", "", "ada.obi@acme.ng")
    assert buyer.external_id == "501"


def test_an_association_type_the_deal_json_leaves_out_is_not_checked():
    """HubSpot leaves out a type that was not asked for, e.g. a company read through v4."""
    deal = copy.deepcopy(sample_deal())
    del deal["associations"]["companies"]
    assert to_deal(deal, company={**SAMPLE_COMPANY, "id": "1111"}).buyer.external_id == "1111"


def test_no_company_and_no_contact_means_no_buyer():
    assert to_deal(company=None, contact=None).buyer is None


def test_a_company_the_deal_is_not_associated_with_is_refused():
    company = {**SAMPLE_COMPANY, "id": "1111"}
    with pytest.raises(MappingError, match="company 1111 is not associated"):
        to_deal(company=company)


def test_a_missing_associated_line_item_is_refused():
    with pytest.raises(MappingError, match="30551234002 are associated with the deal but"):
        to_deal(line_items=sample_line_items()[:1])


def test_a_line_item_of_another_deal_is_refused():
    with pytest.raises(MappingError, match="not associated with the deal"):
        to_deal(line_items=[*sample_line_items(), line_item("999", price="1")])


def test_without_associations_the_given_line_items_are_the_deals():
    deal = sample_deal()
    del deal["associations"]
    assert len(to_deal(deal, company=None, contact=None).lines) == 2


def test_an_empty_amount_is_the_line_items_total():
    deal = sample_deal()
    deal["properties"]["amount"] = None
    assert to_deal(deal).amount == Decimal("1250000.50")


def test_an_empty_amount_without_line_items_is_refused():
    deal = sample("search-deals-response")["results"][0]
    deal["properties"]["amount"] = ""
    with pytest.raises(MappingError, match="amount is empty"):
        deal_from_hubspot(deal, won_stage_ids=WON)


def test_the_accounts_currency_stands_in_for_a_missing_deal_currency():
    deal = sample("search-deals-response")["results"][0]
    del deal["properties"]["deal_currency_code"]
    assert deal_from_hubspot(deal, won_stage_ids=WON, default_currency="USD").currency == "USD"


def test_no_close_date_is_none_and_ms_timestamps_are_read():
    deal = sample("search-deals-response")["results"][0]
    deal["properties"]["closedate"] = None
    deal["properties"]["hs_lastmodifieddate"] = "1732300000125"
    mapped = deal_from_hubspot(deal, won_stage_ids=WON)

    assert mapped.closed_at is None
    assert mapped.modified_at == datetime(2024, 11, 22, 18, 26, 40, 125000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("properties", "amount"), "1,250,000.50", r"deal\.properties\.amount is '1,250,000\.50'"),
        (("properties", "amount"), 1250000.5, r"deal\.properties\.amount is a float"),
        (("properties", "amount"), "-5", "never negative"),
        (("properties", "closedate"), "20/11/2026", r"deal\.properties\.closedate"),
        (("properties", "hs_lastmodifieddate"), "2026-11-22T18:26:40", "with an offset"),
        (("properties", "dealstage"), None, r"deal\.properties\.dealstage is missing"),
        (("properties", "deal_currency_code"), "naira", "not an ISO 4217 code"),
        (("properties",), None, r"deal\.properties is missing"),
        (("associations", "line items"), [], r"deal\.associations\.line items is a list"),
    ],
)
def test_malformed_deals_name_the_json_path(path, value, message):
    deal = sample_deal()
    container = deal
    for key in path[:-1]:
        container = container[key]
    container[path[-1]] = value
    with pytest.raises(MappingError, match=message):
        to_deal(deal)


def test_a_deal_without_an_id_is_refused():
    deal = sample_deal()
    del deal["id"]
    with pytest.raises(MappingError, match=r"deal\.id is missing"):
        to_deal(deal)


# --- lines ---------------------------------------------------------------------------------


def lines_of(*items, **arguments):
    deal = sample("search-deals-response")["results"][0]
    deal["properties"]["amount"] = None
    return deal_from_hubspot(deal, line_items=items, won_stage_ids=WON, **arguments)


def test_unit_discount_is_per_unit_and_checked_against_the_amount():
    deal = lines_of(line_item(quantity="4", price="2500.00", discount="100", amount="9600.00"))

    [line] = deal.lines
    assert line.discount == Decimal("400")
    assert deal.amount == Decimal("9600.00")


def test_discount_percentage_is_of_the_line():
    [line] = lines_of(
        line_item(quantity="3", price="1000", hs_discount_percentage="12.5", amount="2625.00")
    ).lines
    assert line.discount == Decimal("375")


def test_an_amount_that_disagrees_with_price_and_discount_is_refused():
    with pytest.raises(MappingError, match=r"line_items\[0\]\.properties\.amount is 9900"):
        lines_of(line_item(quantity="4", price="2500", discount="100", amount="9900"))


def test_both_kinds_of_discount_on_one_line_are_refused():
    with pytest.raises(MappingError, match="both a unit discount and a discount percentage"):
        lines_of(line_item(price="10", discount="1", hs_discount_percentage="5"))


def test_a_discount_above_the_line_is_refused():
    with pytest.raises(MappingError, match="more than the line"):
        lines_of(line_item(price="10", discount="11"))


def test_the_line_tax_rate_is_its_own():
    [line] = lines_of(line_item(price="100", hs_tax_rate="7.5000")).lines
    assert line.tax_rate == Decimal("7.5")


def test_percent_tax_objects_give_the_rate_of_lines_without_one():
    taxes = [{"id": "7", "properties": {"hs_type": "PERCENT", "hs_value": "7.5"}}]
    plain, own = lines_of(
        line_item("1", price="100"), line_item("2", price="100", hs_tax_rate="0"), taxes=taxes
    ).lines
    assert (plain.tax_rate, own.tax_rate) == (Decimal("7.5"), Decimal("0"))


def test_a_fixed_tax_has_no_rate_and_is_refused():
    taxes = [{"id": "8", "properties": {"hs_type": "FIXED", "hs_value": "500"}}]
    with pytest.raises(MappingError, match=r"taxes\[0\]\.properties\.hs_type"):
        lines_of(line_item(price="100"), taxes=taxes)


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"quantity": "0", "price": "1"}, r"line_items\[0\]\.properties\.quantity"),
        ({"quantity": "two", "price": "1"}, r"line_items\[0\]\.properties\.quantity is 'two'"),
        ({"price": None}, r"line_items\[0\]\.properties\.price is None"),
        ({"price": "1", "hs_line_item_currency_code": "USD"}, "the deal is in NGN"),
        ({"price": "1", "hs_tax_rate": "175"}, "not a percentage"),
    ],
)
def test_malformed_line_items_name_the_json_path(properties, message):
    with pytest.raises(MappingError, match=message):
        lines_of(line_item(**properties))


def test_a_line_item_given_twice_is_refused():
    with pytest.raises(MappingError, match="given twice"):
        lines_of(line_item("1", price="1"), line_item("1", price="1"))


def test_free_text_countries_and_states():
    company = copy.deepcopy(SAMPLE_COMPANY)
    company["properties"].update(country="ng", state="Federal Capital Territory")
    assert to_deal(company=company).buyer.state == "NG-FC"
    company["properties"].update(country="GH", state="Greater Accra")
    buyer = to_deal(company=company).buyer
    assert (buyer.country, buyer.state) == ("GH", "")
    company["properties"]["country"] = "Ghana"
    with pytest.raises(MappingError, match=r"company\.properties\.country is 'Ghana'"):
        to_deal(company=company)


# --- webhooks ------------------------------------------------------------------------------


def event(**fields) -> dict:
    return {
        "eventId": 100,
        "subscriptionId": 1,
        "portalId": 62515,
        "appId": 54321,
        "occurredAt": 1732300000000,
        "subscriptionType": "deal.propertyChange",
        "attemptNumber": 0,
        "objectId": 18250003411,
        "propertyName": "dealstage",
        "propertyValue": "closedwon",
        **fields,
    }


def keys(*events) -> list[str]:
    return [e.event_id for e in webhook_events(json.dumps(list(events)).encode())]


def test_the_same_event_id_in_two_subscriptions_is_two_events():
    creation = event(subscriptionType="deal.creation", propertyName=None, propertyValue=None)
    first, second = keys(event(), creation)
    assert first != second


def test_a_retry_has_the_same_key():
    first, retry = keys(event(), event(attemptNumber=1, subscriptionId=1))
    assert first == retry


def test_a_change_back_and_forth_at_other_times_is_three_events():
    assert len(set(keys(event(), event(occurredAt=1732300000001), event(propertyValue="x")))) == 3


def test_a_long_property_value_gives_a_hashed_key_that_fits():
    [key] = keys(event(propertyName="description", propertyValue="x" * 500))
    assert key.startswith("sha256:")
    assert len(key) <= 255


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{}", "not an array"),
        (b"[]", "empty array"),
        (b"[1]", r"\[0\] is a int, not an object"),
        (b"not json", "not JSON"),
        (b'[{"eventId": NaN}]', "NaN"),
        (b"\xff", "not JSON"),
        (json.dumps([event(objectId=None)]).encode(), r"\[0\]\.objectId is missing"),
        (json.dumps([event(), event(portalId="62515")]).encode(), r"\[1\]\.portalId is '62515'"),
        (json.dumps([event(eventId=True)]).encode(), r"\[0\]\.eventId is True"),
        (json.dumps([event(propertyValue=5)]).encode(), r"\[0\]\.propertyValue is a int"),
        (json.dumps([event(subscriptionType="")]).encode(), r"\[0\]\.subscriptionType"),
    ],
)
def test_malformed_webhook_bodies_name_the_json_path(body, message):
    with pytest.raises(MappingError, match=message):
        webhook_events(body)


# --- pipelines -----------------------------------------------------------------------------


def test_won_stages_are_the_closed_ones_with_probability_one_in_every_pipeline():
    assert won_stage_ids(PIPELINES) == {"closedwon", "80514737"}


def test_pipeline_stages_are_read_in_order():
    stages = pipeline_stages(PIPELINES)

    assert [stage.stage_id for stage in stages][:3] == [
        "appointmentscheduled",
        "closedwon",
        "closedlost",
    ]
    lost = stages[2]
    assert (lost.is_closed, lost.is_won, lost.probability) == (True, False, Decimal("0.0"))


def test_a_malformed_pipeline_names_the_json_path():
    broken = copy.deepcopy(PIPELINES)
    broken["results"][1]["stages"][0]["metadata"]["isClosed"] = "yes"
    with pytest.raises(MappingError, match=r"results\[1\]\.stages\[0\]\.metadata\.isClosed"):
        won_stage_ids(broken)
