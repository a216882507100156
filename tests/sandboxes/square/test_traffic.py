import json
import socket
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.utils import timezone

from integrations.pos.square.mappers import sale_from_order
from integrations.pos.square.signatures import SIGNATURE_HEADER, square_signature_valid
from sandboxes.kit.traffic import Receiver, traffic_run
from sandboxes.square import traffic as traffic_module
from sandboxes.square.api import sandbox_merchant_create
from sandboxes.square.models import SquareSandboxOrder, SquareSandboxPayment
from sandboxes.square.traffic import SquareTraffic, orders_backfill
from tests.integrations.pos.square.support import sandbox_call

KEY = "sq-subscription-signature-key-9f3a"
# What the subscription was made with; deliveries arrive on another URL (a proxy's).
NOTIFICATION_URL = "https://taxpoynt.example/webhooks/pos/square/"
ENVELOPE_KEYS = {"merchant_id", "type", "event_id", "created_at", "data"}


class _Receiver(BaseHTTPRequestHandler):
    """Checks each delivery's signature as our receiver must: 200 if valid, else 401."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        valid = square_signature_valid(
            signature_key=KEY,
            notification_url=NOTIFICATION_URL,
            body=body,
            header_value=self.headers.get(SIGNATURE_HEADER),
        )
        self.server.deliveries.append((dict(self.headers), json.loads(body), valid))
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
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    yield server, Receiver(webhook_url=url, notification_url=NOTIFICATION_URL)
    server.shutdown()
    server.server_close()


@pytest.fixture
def merchant(db):
    return sandbox_merchant_create()


def square_traffic(
    merchant, receiver, *, key=KEY, refund_share=0.0, api_order_share=0.5, **options
):
    """Square's sales through the kit's sender."""
    platform = SquareTraffic(
        merchant=merchant,
        signing_key=key,
        refund_share=refund_share,
        api_order_share=api_order_share,
    )
    summary = traffic_run(platform, receiver=receiver, **options)
    return summary, summary.made


def test_traffic_delivers_signed_square_events_for_real_sales(merchant, receiver):
    server, target = receiver

    summary, made = square_traffic(
        merchant,
        target,
        count=10,
        duplicates=2,
        shuffle_window=6,
        refund_share=0.5,
        concurrency=4,
        seed=20260115,
    )

    deliveries = server.deliveries
    bodies = [body for _, body, _ in deliveries]
    event_ids = Counter(body["event_id"] for body in bodies)
    by_type = Counter(body["type"] for body in {b["event_id"]: b for b in bodies}.values())
    assert made["orders_created"] == 10
    assert (summary.deliveries_sent, summary.non_2xx, summary.transport_errors) == (
        len(deliveries),
        0,
        0,
    )
    assert len(summary.ack_latencies) == len(deliveries)
    assert all(valid for _, _, valid in deliveries)
    assert summary.events == len(event_ids) < len(deliveries)  # some sent twice
    assert max(event_ids.values()) == 2
    retries = [headers for headers, _, _ in deliveries if "square-retry-number" in headers]
    assert retries and all(headers["square-retry-number"] == "1" for headers in retries)
    assert by_type["order.updated"] == by_type["payment.created"] == by_type["payment.updated"]
    assert by_type["order.updated"] == 10
    assert 0 < by_type["order.created"] < 10  # POS-rung orders send none
    assert by_type["refund.created"] == by_type["refund.updated"] == made["refunds_created"]
    assert 0 < made["refunds_created"] < 10
    for body in bodies:
        assert set(body) == ENVELOPE_KEYS
        assert set(body["data"]) == {"type", "id", "object"}
        assert body["merchant_id"] == merchant.merchant_id
        assert datetime.fromisoformat(body["created_at"]).tzinfo is not None
        event_object = body["data"]["object"]
        if body["type"].startswith("order."):
            summary_object = event_object[body["data"]["type"]]
            assert body["data"]["type"] == body["type"].replace(".", "_")
            assert summary_object["order_id"] == body["data"]["id"]
            expected_state = "COMPLETED" if body["type"] == "order.updated" else "OPEN"
            assert summary_object["state"] == expected_state
        elif body["type"].startswith("payment."):
            payment = event_object["payment"]
            assert payment["id"] == body["data"]["id"]
            expected = "APPROVED" if body["type"] == "payment.created" else "COMPLETED"
            assert payment["status"] == expected
            assert payment["order_id"] and payment["total_money"]["currency"] == "NGN"
        else:
            refund = event_object["refund"]
            expected = "PENDING" if body["type"] == "refund.created" else "COMPLETED"
            assert refund["status"] == expected
    orders = SquareSandboxOrder.objects.filter(merchant=merchant)
    assert {order.state for order in orders} == {"COMPLETED"}
    for order in orders:
        tip = order.data["total_tip_money"]["amount"]
        sale = sale_from_order(order.data)
        assert sale.total == Decimal(order.data["total_money"]["amount"] - tip) / 100
    refunded = [order for order in orders if order.data.get("refunds")]
    assert len(refunded) == made["refunds_created"]
    assert all(order.data["return_amounts"] for order in refunded)


def test_one_sales_events_arrive_in_squares_order_unless_shuffled(merchant, receiver):
    server, target = receiver

    square_traffic(merchant, target, count=4, api_order_share=1, seed=7)
    in_order = [body["type"] for _, body, _ in server.deliveries]
    server.deliveries.clear()
    square_traffic(merchant, target, count=4, api_order_share=1, shuffle_window=16, seed=7)
    shuffled = [body["type"] for _, body, _ in server.deliveries]

    sale = ["order.created", "payment.created", "order.updated", "payment.updated"]
    assert in_order == sale * 4
    assert sorted(shuffled) == sorted(in_order)
    assert shuffled != in_order


def test_a_wrong_signature_key_sends_deliveries_the_receiver_refuses(merchant, receiver):
    server, target = receiver

    summary, _ = square_traffic(merchant.access_token, target, count=2, key="not-the-key")

    assert summary.deliveries_sent == len(server.deliveries) > 0
    assert summary.non_2xx == summary.deliveries_sent
    assert not any(valid for _, _, valid in server.deliveries)


def test_deliveries_are_paced_by_the_rate(merchant, receiver):
    _, target = receiver

    started = time.monotonic()
    summary, _ = square_traffic(merchant, target, count=2, rate=40, concurrency=2, seed=3)
    elapsed = time.monotonic() - started

    assert elapsed >= (summary.deliveries_sent - 1) / 40


def test_an_unreachable_receiver_counts_as_transport_errors(merchant):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    target = Receiver(webhook_url=f"http://127.0.0.1:{port}/", notification_url=NOTIFICATION_URL)

    summary, _ = square_traffic(merchant, target, count=1, timeout=1)

    assert summary.transport_errors == summary.deliveries_sent > 0
    assert summary.ack_latencies == []


def test_backfill_writes_completed_paid_orders_without_http(merchant, client):
    end = timezone.now()
    start = end - timedelta(days=90)

    made = orders_backfill(merchant=merchant, count=300, start=start, end=end, seed=11)

    orders = SquareSandboxOrder.objects.filter(merchant=merchant)
    assert made == orders.count() == 300
    assert set(orders.values_list("state", flat=True)) == {"COMPLETED"}
    assert all(start <= order.created_at <= order.updated_at <= end for order in orders)
    payments = SquareSandboxPayment.objects.filter(merchant=merchant)
    assert set(payments.values_list("order_id", flat=True)) == {o.order_id for o in orders}
    sample = orders.first().data
    assert sample["tenders"][0]["payment_id"] in set(payments.values_list("payment_id", flat=True))
    assert sale_from_order(sample).total == Decimal(sample["total_money"]["amount"]) / 100
    # The connector's back-fill query finds them all.
    window = {"start_at": start.isoformat(), "end_at": end.isoformat()}
    search = {
        "location_ids": [merchant.locations.get().location_id],
        "limit": 1000,
        "query": {
            "filter": {
                "state_filter": {"states": ["COMPLETED"]},
                "date_time_filter": {"updated_at": window},
            },
            "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"},
        },
    }
    found = sandbox_call(client, "post", "/v2/orders/search", search, token=merchant.access_token)
    assert len(found.json()["orders"]) == 300


@pytest.mark.slow
def test_backfill_writes_a_hundred_thousand_orders(merchant):
    end = timezone.now()

    orders_backfill(merchant=merchant, count=100_000, start=end - timedelta(days=180), end=end)

    assert SquareSandboxOrder.objects.filter(merchant=merchant).count() == 100_000


def test_the_command_runs_traffic_and_prints_a_summary(merchant, receiver, capsys, monkeypatch):
    server, target = receiver
    # The key comes from the environment, never the command line.
    monkeypatch.setenv("SANDBOX_TRAFFIC_SIGNING_KEY", KEY)

    call_command(
        "sandbox_traffic",
        "--platform",
        "square",
        "--account-id",
        merchant.merchant_id,
        "--webhook-url",
        target.webhook_url,
        "--notification-url",
        NOTIFICATION_URL,
        "--count",
        "2",
        "--seed",
        "5",
    )
    summary = json.loads(capsys.readouterr().out)

    assert summary["orders_created"] == summary["changes"] == 2
    assert summary["deliveries_sent"] == len(server.deliveries)
    assert summary["non_2xx"] == 0
    assert all(valid for _, _, valid in server.deliveries)
    assert summary["ack_p50_ms"] <= summary["ack_p99_ms"] <= summary["ack_max_ms"]


def test_the_command_reads_the_signing_key_from_a_file(merchant, receiver, capsys, tmp_path):
    server, target = receiver
    key_file = tmp_path / "signing-key"
    key_file.write_text(KEY + "\n")

    call_command(
        "sandbox_traffic",
        "--platform=square",
        f"--account-id={merchant.merchant_id}",
        f"--webhook-url={target.webhook_url}",
        f"--notification-url={NOTIFICATION_URL}",
        f"--signing-key-file={key_file}",
        "--count=1",
    )

    assert json.loads(capsys.readouterr().out)["non_2xx"] == 0
    assert server.deliveries and all(valid for _, _, valid in server.deliveries)


def test_the_command_backfills(merchant, capsys):
    call_command(
        "sandbox_traffic",
        "--platform",
        "square",
        "--account-id",
        merchant.merchant_id,
        "--backfill",
        "25",
    )

    assert json.loads(capsys.readouterr().out)["changes"] == 25
    assert SquareSandboxOrder.objects.filter(merchant=merchant).count() == 25


@pytest.mark.parametrize(
    "arguments",
    [
        ["--account-id", "NOPE", "--backfill", "1"],
        ["--account-id", "NOPE", "--webhook-url", "http://127.0.0.1:9/", "--count", "1"],
        ["--webhook-url", "http://127.0.0.1:9/", "--count", "1"],
        ["--account-id", "{merchant}", "--count", "1"],
        # No signing key in the environment or a file.
        ["--account-id", "{merchant}", "--webhook-url", "http://127.0.0.1:9/", "--count", "1"],
        ["--account-id", "{merchant}", "--signing-key-file", "/nonexistent/key", "--count", "1"],
    ],
)
def test_the_command_refuses_what_it_cannot_do(merchant, arguments, monkeypatch):
    monkeypatch.delenv("SANDBOX_TRAFFIC_SIGNING_KEY", raising=False)
    arguments = [argument.format(merchant=merchant.merchant_id) for argument in arguments]

    with pytest.raises(CommandError):
        call_command("sandbox_traffic", "--platform", "square", *arguments)


@pytest.mark.django_db(transaction=True)
def test_sales_go_on_after_the_database_fails_to_make_one(receiver, monkeypatch):
    """PostgreSQL restarting under ``make run``: the demo's traffic waits and goes on."""
    server, target = receiver
    merchant = sandbox_merchant_create()
    real_order_create = traffic_module.sandbox_order_create
    calls = []

    def order_create(**kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise OperationalError("terminating connection due to administrator command")
        return real_order_create(**kwargs)

    monkeypatch.setattr(traffic_module, "sandbox_order_create", order_create)
    platform = SquareTraffic(merchant=merchant, signing_key=KEY, api_order_share=0)

    summary = traffic_run(platform, receiver=target, count=3, sleep=lambda seconds: None)

    assert summary.change_errors == 1 and len(calls) == 4
    assert summary.made["orders_created"] == summary.changes == 3
    assert summary.deliveries_sent == len(server.deliveries) == summary.events == 9
    assert all(valid for _, _, valid in server.deliveries)
