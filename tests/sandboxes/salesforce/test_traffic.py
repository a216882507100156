"""Salesforce's traffic through the kit's sender, as ``make run`` sends it to a demo connection:
Opportunities made, won and reopened in the org, each win an Outbound Message posted to the
connection's secret URL, acknowledged with the exact Ack and stored once per notification."""

import pytest

from integrations.base import sandbox_accounts
from integrations.base.models import InboundEvent
from sandboxes.kit.traffic import Receiver, traffic_run
from sandboxes.salesforce.traffic import SalesforceTraffic
from tests.factories import MembershipFactory
from tests.integrations.crm.salesforce.support import org_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_demo_connections_traffic_is_accepted_and_stored(live_server):
    owner = MembershipFactory(role="owner")
    ((connection, console),) = [
        pair
        for pair in sandbox_accounts.sandboxes_connect(
            organization=owner.organization, user=owner.user, site_url=live_server.url
        )
        if pair[0].platform == "salesforce"
    ]
    assert console["webhook_credentials"]["outbound_message_url"] == connection.webhook_url
    traffic = SalesforceTraffic(org=org_of(connection))

    receiver = Receiver(webhook_url=connection.webhook_url)
    summary = traffic_run(traffic, receiver=receiver, count=20, duplicates=2, seed=7)

    assert summary.changes == 20 and summary.made.get("won", 0) > 0
    assert summary.non_2xx == summary.transport_errors == 0
    stored = InboundEvent.objects.filter(connection_id=connection.pk)
    assert stored.count() == summary.events == summary.made["won"]
    assert {row.event_type for row in stored} == {"outbound_message.Opportunity"}
