"""Salesforce's samples map: the queried Opportunity with its line items to the cent, Outbound
Messages to events (and unsafe or malformed XML refused), per-connection tax settings."""

import json
from decimal import Decimal

import pytest

from integrations.base.errors import MappingError
from integrations.crm.salesforce import mappers
from tests.integrations.crm.salesforce.support import SAMPLES


def _query(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text(), parse_float=Decimal)


def _opportunity() -> dict:
    return _query("soql-query-won-opportunities-with-line-items.json")["records"][0]


def test_the_won_opportunity_maps_to_the_cent():
    deal = mappers.deal_from_salesforce(_opportunity(), vat_rate=Decimal("7.5"))

    assert (deal.external_id, deal.is_won, deal.currency) == ("0065g00000ExAmPAAA", True, "NGN")
    assert deal.amount == Decimal("1250000.50")
    assert [(line.quantity, line.unit_price, line.discount) for line in deal.lines] == [
        (Decimal("50.0"), Decimal("24000.01"), Decimal("0.00")),
        (Decimal("1.0"), Decimal("50000.0"), Decimal("0.00")),
    ]
    assert [line.sku for line in deal.lines] == ["POS-X", "SRV-INST"]
    assert all(line.tax_rate == Decimal("7.5") for line in deal.lines)
    assert deal.buyer.name == "Acme Ltd" and deal.buyer.city_name == "Lagos"
    assert deal.buyer.country == "NG"
    assert deal.modified_at.isoformat() == "2026-11-22T18:26:40+00:00"


def test_without_a_tin_the_buyer_has_none_and_with_the_field_it_is_read():
    record = _opportunity()
    assert mappers.deal_from_salesforce(record, tin_field="TIN__c").buyer.tin == ""
    record["Account"]["TIN__c"] = " 12345678-0001 "
    assert mappers.deal_from_salesforce(record, tin_field="TIN__c").buyer.tin == "12345678-0001"


def test_discount_percent_and_exempt_lines_and_vat_inclusive_prices():
    record = _opportunity()
    line = record["OpportunityLineItems"]["records"][1]
    line.update(Discount=Decimal("10"), TotalPrice=Decimal("45000.0"), VAT_Exempt__c=True)

    deal = mappers.deal_from_salesforce(
        record, exempt_field="VAT_Exempt__c", prices_include_vat=True
    )

    assert deal.lines[1].discount == Decimal("5000.00")
    assert deal.lines[1].tax_rate == Decimal(0)
    assert deal.lines[0].tax_rate is None
    assert deal.prices_include_tax is True


def test_a_total_price_that_does_not_add_up_is_a_mapping_error():
    record = _opportunity()
    record["OpportunityLineItems"]["records"][0]["TotalPrice"] = Decimal("1.00")
    with pytest.raises(MappingError, match="TotalPrice"):
        mappers.deal_from_salesforce(record)


def test_the_last_page_sample_has_no_records():
    assert _query("soql-query-next-page-last.json")["records"] == []


def test_the_outbound_message_sample_is_one_event_of_the_org():
    (event,) = mappers.webhook_events((SAMPLES / "outbound-message-opportunity.xml").read_bytes())

    assert (event.event_id, event.account_id, event.object_id) == (
        "04l5g00000ExAmPAAR",
        "00D5g000004ExAmEAK",
        "0065g00000ExAmPAAA",
    )
    assert event.payload["type"] == "Opportunity"
    assert event.payload["fields"]["IsWon"] == "true"
    assert mappers.event_names_an_opportunity(event.payload)


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
<soapenv:Body>&lol2;</soapenv:Body></soapenv:Envelope>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>"""


@pytest.mark.parametrize(
    "body",
    [
        BOMB,
        EXTERNAL,
        b"<not-closed>",
        b"",
        b"{}",
        b'<?xml version="1.0"?><a/>',
        (SAMPLES / "outbound-message-ack.xml").read_bytes(),
    ],
)
def test_unsafe_or_malformed_messages_are_mapping_errors(body):
    with pytest.raises(MappingError):
        mappers.webhook_events(body)


def test_more_than_a_hundred_notifications_are_refused():
    sample = (SAMPLES / "outbound-message-opportunity.xml").read_text()
    start, end = sample.index("<Notification>"), sample.index("</Notification>") + 15
    many = sample[:start] + sample[start:end] * 101 + sample[end:]
    with pytest.raises(MappingError, match="at most 100"):
        mappers.webhook_events(many.encode())
