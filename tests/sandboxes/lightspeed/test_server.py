"""The Lightspeed sandbox's own semantics: totals as Lightspeed computes them, the version
cursor, status rules, the store's budget with its headers and an HTTP-date Retry-After, and the
signed form webhooks it sends and retries."""

import threading
import time
from decimal import Decimal
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integrations.pos.lightspeed.mappers import webhook_events
from integrations.pos.lightspeed.signatures import lightspeed_signature_match
from sandboxes.lightspeed import server
from sandboxes.lightspeed.api import sandbox_oauth_client, sandbox_store_create
from sandboxes.lightspeed.models import LightspeedSandboxObject, LightspeedSandboxWebhook

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def store():
    return sandbox_store_create(registers=1)


def _held(store, kind: str) -> list[dict]:
    rows = LightspeedSandboxObject.objects.filter(store=store, kind=kind).order_by("id")
    return [row.data for row in rows]


def _api(client, store, method: str, path: str, **kwargs):
    return getattr(client, method)(
        f"/sandbox/lightspeed/{path}",
        HTTP_AUTHORIZATION=f"Bearer {store.personal_token}",
        **kwargs,
    )


def _sale_body(store, *, status="CLOSED", quantity=3, discount=None, product_index=1) -> dict:
    product = _held(store, "product")[product_index]
    line = {"product_id": product["id"], "quantity": quantity}
    if discount is not None:
        line["discount"] = discount
    return {
        "register_id": _held(store, "register")[0]["id"],
        "status": status,
        "register_sale_products": [line],
        "register_sale_payments": [{"payment_type_id": "1", "name": "Cash"}],
    }


def test_totals_are_tax_exclusive_with_unit_tax_to_five_places(client, store):
    # Sugar at 950.50, 0.50 off each: 950.00 x 7.5 % = 71.25 a unit, three of them.
    body = _sale_body(store, quantity=3, discount=0.5, product_index=9)

    answer = _api(
        client, store, "post", "api/register_sales", data=body, content_type="application/json"
    )

    sale = answer.json()["register_sale"]
    assert answer.status_code == 200 and sale["status"] == "CLOSED"
    assert (sale["total_price"], sale["total_tax"]) == (2850, 213.75)
    [line] = sale["register_sale_products"]
    assert (line["price"], line["discount"], line["tax"], line["tax_total"]) == (
        950,
        0.5,
        71.25,
        213.75,
    )
    assert sale["totals"]["total_payment"] == 3063.75
    api2 = _api(client, store, "get", f"api/2.0/sales/{sale['id']}").json()["data"]
    assert api2["line_items"][0]["discount_total"] == 1.5
    assert api2["line_items"][0]["tax_components"][0]["total_tax"] == 213.75


def test_the_version_cursor_pages_every_change_once_and_a_closed_sale_only_voids(client, store):
    first = server.sandbox_sale_save(
        store=store, body=_sale_body(store, status="LAYBY"), notify=False
    )
    second = server.sandbox_sale_save(store=store, body=_sale_body(store), notify=False)
    server.sandbox_sale_save(
        store=store, body={"id": first.sale_id, "status": "LAYBY_CLOSED"}, notify=False
    )

    page = _api(client, store, "get", "api/2.0/sales", data={"after": 0, "page_size": 1}).json()
    rest = _api(
        client, store, "get", "api/2.0/sales", data={"after": page["version"]["max"]}
    ).json()

    assert [sale["id"] for sale in page["data"]] == [second.sale_id]
    assert [(sale["id"], sale["status"]) for sale in rest["data"]] == [
        (first.sale_id, "LAYBY_CLOSED")
    ]
    assert rest["version"]["min"] > page["version"]["max"]
    refused = _api(
        client,
        store,
        "post",
        "api/register_sales",
        data={"id": second.sale_id, "status": "LAYBY"},
        content_type="application/json",
    )
    assert refused.status_code == 400 and "only be voided" in refused.json()["message"]


def test_the_budget_is_300_a_register_plus_50_with_an_http_date_to_retry(client, store):
    store.requests_per_window = 2
    store.save()

    answers = [_api(client, store, "get", "api/2.0/outlets") for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[0]["X-RateLimit-Limit"] == "2" and answers[1]["X-RateLimit-Remaining"] == "0"
    assert answers[2].json() == {"error": "Too Many Requests", "message": "Rate limiting enforced"}
    retry_at = parsedate_to_datetime(answers[2]["Retry-After"]).timestamp()
    assert time.time() < retry_at <= time.time() + 301
    store.requests_per_window = None
    store.save()
    assert _api(client, store, "get", "api/2.0/taxes")["X-RateLimit-Limit"] == "350"


class _Receiver(BaseHTTPRequestHandler):
    answers: list[int] = []
    received: list[tuple[bytes, dict]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((body, dict(self.headers)))
        self.send_response(type(self).answers.pop(0) if type(self).answers else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_an_oauth_apps_webhook_is_a_signed_form_retried_until_answered(store, monkeypatch):
    monkeypatch.setattr(server, "RETRY_DELAYS_SECONDS", (0.1, 0.1, 0.1))
    _Receiver.answers, _Receiver.received = [500, 503], []
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    client_id, secret = sandbox_oauth_client()
    LightspeedSandboxWebhook.objects.create(
        store=store,
        webhook_id="hook-1",
        url=f"http://127.0.0.1:{receiver.server_port}/hook",
        type="sale.update",
        client_id=client_id,
    )
    try:
        sale = server.sandbox_sale_save(store=store, body=_sale_body(store))
        deadline = time.time() + 10
        while len(_Receiver.received) < 3 and time.time() < deadline:
            time.sleep(0.05)
    finally:
        receiver.shutdown()

    assert len(_Receiver.received) == 3
    bodies = {body for body, _headers in _Receiver.received}
    assert len(bodies) == 1
    body, headers = _Receiver.received[-1]
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert lightspeed_signature_match(secret=secret, body=body, header_value=headers["X-Signature"])
    [event] = webhook_events(body)
    assert event.object_id == sale.sale_id and event.account_id == store.domain_prefix
    assert Decimal(str(event.payload["payload"]["total_price"])) == Decimal(
        sale.data["total_price"]
    )
