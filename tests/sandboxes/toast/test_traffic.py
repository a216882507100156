"""Toast's traffic: paid orders in the sandbox announced by signed orders webhooks (the guests'
names left out), retries as the same bytes with the next attempt number, some checks refunded,
and every order one that the connector maps to the cent."""

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integrations.pos.toast import mappers
from integrations.pos.toast.signatures import toast_signature_valid
from sandboxes.kit.traffic import Receiver, traffic_run
from sandboxes.toast.api import sandbox_restaurant_create
from sandboxes.toast.models import ToastSandboxOrder
from sandboxes.toast.traffic import ToastTraffic
from sandboxes.toast.webhooks import webhook_deliver

SECRET = "toast-subscription-secret-4d2"


class _Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        valid = toast_signature_valid(
            secret=SECRET, body=body, header_value=self.headers.get("Toast-Signature")
        )
        self.server.deliveries.append((dict(self.headers), body, valid))
        self.send_response(200 if valid else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.deliveries = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, Receiver(webhook_url=f"http://127.0.0.1:{server.server_address[1]}/hooks")
    server.shutdown()
    server.server_close()


@pytest.mark.django_db(transaction=True)
def test_paid_orders_are_announced_signed_and_map_to_the_cent(receiver):
    server, target = receiver
    restaurant = sandbox_restaurant_create()
    platform = ToastTraffic(restaurant=restaurant, signing_key=SECRET, refund_share=0.3)

    summary = traffic_run(platform, receiver=target, count=30, duplicates=2, seed=3)

    assert summary.changes == 30 and summary.made == {"orders": 23, "refunds": 7}
    assert server.deliveries and all(valid for _, _, valid in server.deliveries)
    attempts = {}
    for headers, body, _ in server.deliveries:
        attempts.setdefault(body, []).append(headers["Toast-Attempt-Number"])
        envelope = json.loads(body)
        assert headers["Toast-Restaurant-External-ID"] == restaurant.restaurant_guid
        assert headers["Toast-Event-Type"] == envelope["eventType"] == "order_updated"
        for check in envelope["details"]["order"]["checks"]:
            assert "firstName" not in check.get("customer", {})
    assert all(
        sorted(tries) == [str(n) for n in range(1, len(tries) + 1)] for tries in attempts.values()
    )
    assert platform.refunds_created > 0
    for row in ToastSandboxOrder.objects.filter(restaurant=restaurant):
        sales = mappers.sales_from_order(mappers.json_loads(json.dumps(row.data)))
        assert sales and all(sale.total > 0 for sale in sales)


class _Flaky(BaseHTTPRequestHandler):
    """Answers each try with the next status of ``server.statuses``."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.attempts.append(self.headers["Toast-Attempt-Number"])
        self.send_response(self.server.statuses.pop(0))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.parametrize(
    ("statuses", "delivered_on", "attempts"),
    [
        ([503, 200], 2, ["1", "2"]),
        ([429, 404, 200], 3, ["1", "2", "3"]),
        ([500, 500, 500], 0, ["1", "2", "3"]),
        ([400], 0, ["1"]),  # other 4xx are not retried
    ],
)
@pytest.mark.django_db
def test_the_subscription_is_tried_as_toast_tries(statuses, delivered_on, attempts):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    server.statuses, server.attempts = list(statuses), []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    restaurant = sandbox_restaurant_create()
    restaurant.webhook_url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    restaurant.webhook_secret = SECRET
    restaurant.save()
    waits = []
    envelope = {"timestamp": "2026-11-22T18:30:02.123Z", "eventType": "order_updated"}
    envelope["eventCategory"] = "order_updated"

    try:
        result = webhook_deliver(restaurant.pk, envelope, sleep=waits.append)
    finally:
        server.shutdown()
        server.server_close()

    assert result == delivered_on
    assert server.attempts == attempts
    assert waits[: len(attempts)] == [0.0, 300.0, 600.0][: len(attempts)]


@pytest.mark.django_db
def test_the_traffic_command_writes_a_restaurants_history():
    from django.core.management import call_command

    restaurant = sandbox_restaurant_create()

    call_command(
        "sandbox_traffic",
        "--platform",
        "toast",
        "--account-id",
        restaurant.restaurant_guid,
        "--backfill",
        "4",
        "--backfill-days",
        "3",
        stdout=open(os.devnull, "w"),  # noqa: SIM115 (the summary is not under test)
    )

    assert ToastSandboxOrder.objects.filter(restaurant=restaurant).count() == 4
