"""Pipedrive's traffic through the kit's sender, as ``make run`` sends it to a demo connection:
deals made, won and reopened in the company, each event delivered as webhooks v2 with the
connection's Basic credentials, accepted and stored by our endpoint over HTTP."""

import pytest

from integrations.base import sandbox_accounts
from integrations.base.models import InboundEvent
from sandboxes.kit.traffic import Receiver, traffic_run
from sandboxes.pipedrive.traffic import PipedriveTraffic
from tests.factories import MembershipFactory
from tests.integrations.crm.pipedrive.support import company_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_demo_connections_traffic_is_accepted_and_stored(live_server):
    owner = MembershipFactory(role="owner")
    ((connection, console),) = [
        pair
        for pair in sandbox_accounts.sandboxes_connect(
            organization=owner.organization, user=owner.user, site_url=live_server.url
        )
        if pair[0].platform == "pipedrive"
    ]
    # Our connect's webhooks are what the developer console lists.
    assert [hook["subscription_url"] for hook in console["webhook_credentials"]["webhooks"]] == [
        connection.webhook_url
    ] * 2
    traffic = PipedriveTraffic(
        company=company_of(connection), signing_key=connection.webhook_secret
    )

    receiver = Receiver(webhook_url=connection.webhook_url)
    summary = traffic_run(traffic, receiver=receiver, count=12, duplicates=2, seed=7)

    assert summary.deliveries_sent > summary.changes == 12
    assert summary.non_2xx == summary.transport_errors == 0
    stored = InboundEvent.objects.filter(connection_id=connection.pk)
    assert stored.count() == summary.events
    assert {row.event_type for row in stored} <= {"create.deal", "change.deal"}
    made = summary.made
    assert made["deals"] + made.get("won", 0) + made.get("reopened", 0) == 12
    first = stored.order_by("id").first().payload
    assert first["meta"]["version"] == "2.0" and first["meta"]["attempt"] == 1
