"""Toast's connector against its sandbox over real HTTP: connecting with a machine client's
credentials (one login, kept for the workers; refused credentials store nothing), an event whose
webhook left the guests out fetching the order, and the poll recording the sales no webhook
told of."""

import json
import time

import pytest
import requests
from django.core.cache import cache

from integrations.base import pipeline
from integrations.base.connections import ConnectError, connection_credentials_connect
from integrations.base.connectors import WebhookEvent
from integrations.pos.models import POSConnection, POSTransaction
from integrations.pos.toast.connector import ToastConnector
from sandboxes.toast.api import sandbox_restaurant_create
from sandboxes.toast.models import ToastSandboxLogin
from sandboxes.toast.server import sandbox_order_create
from sandboxes.toast.webhooks import order_webhook
from tests.factories import MembershipFactory
from tests.integrations.pos.toast.connections import restaurant_of, toast_connection

pytestmark = pytest.mark.django_db(transaction=True)

CHECK = {
    "selections": [{"displayName": "Jollof Rice", "price": 2500}],
    "payments": [{"type": "CASH", "tipAmount": 200}],
    "customer": {"firstName": "Amaka", "lastName": "Nwosu", "phone": "8035550199"},
}


def test_connecting_logs_in_once_and_keeps_the_token_for_the_workers(live_server):
    cache.clear()
    owner = MembershipFactory(role="owner")
    restaurant = sandbox_restaurant_create()
    credentials = {
        "client_id": restaurant.client_id,
        "client_secret": restaurant.client_secret,
        "restaurant_guid": restaurant.restaurant_guid,
    }
    arguments = {
        "family": "pos",
        "platform": "toast",
        "organization": owner.organization,
        "user": owner.user,
        "site_url": live_server.url,
    }
    # Our own site's sandbox stands in for ws-api.toasttab.com.
    base_url = f"{live_server.url}/sandbox/toast"
    original = ToastConnector.default_base_url
    ToastConnector.default_base_url = base_url
    try:
        with pytest.raises(ConnectError, match="refused"):
            connection_credentials_connect(
                credentials={**credentials, "client_secret": "wrong"}, **arguments
            )
        assert not POSConnection.objects.exists()

        connection = connection_credentials_connect(credentials=credentials, **arguments)
        ToastConnector(connection).test_connection()
    finally:
        ToastConnector.default_base_url = original

    assert connection.account_id == restaurant.restaurant_guid
    assert connection.sync_every_minutes == 1
    assert json.loads(connection.credentials_encrypted) == credentials
    assert ToastSandboxLogin.objects.filter(restaurant=restaurant).count() == 1


def test_an_event_without_the_guests_fetches_the_order(live_server):
    cache.clear()
    connection = toast_connection(site_url=live_server.url)
    order = sandbox_order_create(restaurant=restaurant_of(connection), body={"checks": [CHECK]})
    envelope = order_webhook(restaurant=restaurant_of(connection), order=order.data)
    event = WebhookEvent(
        event_id="e-1",
        event_type="order_updated",
        account_id=connection.account_id,
        object_id=order.guid,
        payload=envelope,
    )

    (sale,) = ToastConnector(connection).sales_for_event(event)

    assert sale.customer.name == "Amaka Nwosu"
    assert str(sale.total) == "2687.50" and sale.raw["tip_total"] == "200.00"


def test_the_poll_records_the_sales_no_webhook_told_of(live_server):
    cache.clear()
    connection = toast_connection(site_url=live_server.url)
    restaurant = restaurant_of(connection)
    orders = [
        sandbox_order_create(restaurant=restaurant, body={"checks": [CHECK]}) for _ in range(3)
    ]

    assert pipeline.connection_sync(family="pos", connection_id=connection.pk) == "synced"
    assert pipeline.connection_sync(family="pos", connection_id=connection.pk) == "synced"

    rows = POSTransaction.objects.filter(connection=connection)
    assert sorted(rows.values_list("external_transaction_id", flat=True)) == sorted(
        order.data["checks"][0]["guid"] for order in orders
    )


def test_an_order_rung_up_through_the_api_reaches_the_subscription_signed(live_server, monkeypatch):
    from integrations.base import families
    from integrations.base.models import InboundEvent

    monkeypatch.setattr(
        families.get("pos").tasks.process_event, "apply_async", lambda **kwargs: None
    )
    connection = toast_connection(site_url=live_server.url)
    restaurant = restaurant_of(connection)
    session = requests.Session()
    token = session.post(
        f"{connection.base_url}/authentication/v1/authentication/login",
        json={
            "clientId": restaurant.client_id,
            "clientSecret": restaurant.client_secret,
            "userAccessType": "TOAST_MACHINE_CLIENT",
        },
        timeout=10,
    ).json()["token"]["accessToken"]
    session.headers.update(
        {
            "Authorization": f"Bearer {token}",
            "Toast-Restaurant-External-ID": restaurant.restaurant_guid,
        }
    )

    order = session.post(
        f"{connection.base_url}/orders/v2/orders", json={"checks": [CHECK]}, timeout=10
    )

    assert order.status_code == 200
    events = InboundEvent.objects.filter(connection_id=connection.pk)
    deadline = time.monotonic() + 10
    while not events.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    (event,) = events
    assert event.object_id == order.json()["guid"] and event.status == "pending"
