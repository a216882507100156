"""Lightspeed end to end, over real HTTP: sales rung up through the sandbox's register_sales
(several lines, VAT and exempt items, discounts, laybys and on-account sales closed after 2-3
saves, returns, voids after closing), ``sale.update`` webhooks this test builds from the
answers and signs itself (each delivered 1-3 times, shuffled), sales whose webhooks never came
found by the version-cursor poll; one invoice per closed sale and one credit note per return or
void, each signed through the FIRS sandbox with its total to the cent.

``LIGHTSPEED_ACCEPTANCE_SALES`` sets the count (the issue's scenario is 200); the figures are
printed (run with ``-s``), never asserted on time. The events are worked in this process as a
worker takes them, one at a time, right after each delivery."""

import json
import os
import random
import time
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlencode

import pytest
import requests
from django.core.cache import cache

from integrations.base import pipeline
from integrations.base.models import InboundEvent
from integrations.base.tasks import family_tasks
from integrations.pos.lightspeed.signatures import SIGNATURE_HEADER, lightspeed_signature
from integrations.pos.models import POSTransaction
from invoices.firs.client import SharedCircuitBreaker
from invoices.models import Invoice
from sandboxes.firs.server import FAULTS_CACHE_KEY
from sandboxes.lightspeed.models import LightspeedSandboxObject, LightspeedSandboxWebhook
from tests.integrations.inline_workers import tasks_captured, tasks_worked
from tests.integrations.pos.lightspeed.support import lightspeed_connection, store_of

SALES = int(os.environ.get("LIGHTSPEED_ACCEPTANCE_SALES", "40"))
CENT = Decimal("0.01")
PLACES = Decimal("0.00001")

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def published(monkeypatch):
    return tasks_captured(monkeypatch, family="pos", also=(family_tasks("pos").sync_connection,))


def _run(published) -> None:
    tasks_worked(published, family="pos", also={family_tasks("pos").sync_connection.name: None})


class Store:
    """The sandbox store's API, as any client reaches it (its personal token)."""

    def __init__(self, connection):
        self.base = connection.base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {store_of(connection).personal_token}"

    def call(self, method: str, path: str, body=None) -> dict:
        response = self.session.request(method, f"{self.base}{path}", json=body, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _expected(lines: list[dict], products: dict, rates: dict) -> Decimal:
    """What the sale comes to, worked out here as Lightspeed documents it: tax-exclusive unit
    prices after discount, unit tax at the product's rate to 5 places, each total to the cent."""
    net = tax = Decimal(0)
    for line in lines:
        product = products[line["product_id"]]
        price = Decimal(str(product["price_excluding_tax"])) - Decimal(str(line.get("discount", 0)))
        quantity = Decimal(line["quantity"])
        net += price * quantity
        tax += (price * rates[product["tax_id"]]).quantize(PLACES, ROUND_HALF_UP) * quantity
    return abs(_cents(net) + _cents(tax))


def _delivery(store_row, sale_v1: dict) -> bytes:
    """The form body Lightspeed sends about a sale (API 1.0, as register_sales answered it)."""
    body = urlencode(
        {
            "payload": json.dumps(sale_v1, separators=(",", ":")),
            "type": "sale.update",
            "environment": "prod",
            "domain_prefix": store_row.domain_prefix,
            "retailer_id": store_row.retailer_id,
        }
    ).encode("ascii")
    return body


def test_closed_sales_returns_and_voids_make_one_signed_document_each(
    live_server, published, capsys
):
    cache.clear()
    cache.delete(FAULTS_CACHE_KEY)
    SharedCircuitBreaker(name=live_server.url.split("//")[1]).reset()
    connection = lightspeed_connection(site_url=live_server.url)
    store_row = store_of(connection)
    # The store holds our sale.update webhook; this test delivers the events itself.
    hooks = LightspeedSandboxWebhook.objects.filter(store=store_row)
    assert [(hook.url, hook.type) for hook in hooks] == [(connection.webhook_url, "sale.update")]
    hooks.update(active=False)
    # The store's own budget is tested elsewhere: here the script and the connector share one.
    store_row.requests_per_window = 1_000_000
    store_row.save(update_fields=["requests_per_window"])
    store = Store(connection)
    held = LightspeedSandboxObject.objects.filter(store=store_row)
    products = {row.object_id: row.data for row in held.filter(kind="product")}
    rates = {
        row.object_id: Decimal(str(row.data["rates"][0]["rate"])) for row in held.filter(kind="tax")
    }
    registers = [row.object_id for row in held.filter(kind="register")]
    customers = {
        row.data.get("customer_code", "business"): row.object_id
        for row in held.filter(kind="customer")
    }
    rng = random.Random(21)

    expected_invoices, expected_credits, deliveries, lost = {}, {}, [], set()
    laybys = returns = voids = 0
    for number in range(SALES):
        lines = []
        for product_id in rng.sample(sorted(products), rng.randint(1, 4)):
            line = {"product_id": product_id, "quantity": rng.randint(1, 5)}
            if number % 4 == 0:
                price = Decimal(str(products[product_id]["price_excluding_tax"]))
                line["discount"] = float(_cents(price * Decimal("0.125")))
            lines.append(line)
        sale = {
            "register_id": registers[number % len(registers)],
            "customer_id": customers["business" if number % 3 == 0 else "WALKIN"],
            "register_sale_products": lines,
            "register_sale_payments": [{"payment_type_id": "1", "name": "Cash"}],
        }
        saves = []
        if number % 10 in (3, 7):
            opened, closed = (
                ("LAYBY", "LAYBY_CLOSED")
                if number % 10 == 3
                else (
                    "ONACCOUNT",
                    "ONACCOUNT_CLOSED",
                )
            )
            laybys += 1
            first = store.call("POST", "/api/register_sales", {**sale, "status": opened})
            saves.append(first["register_sale"])
            sale_id = first["register_sale"]["id"]
            for status in [opened] * rng.randint(1, 2) + [closed]:
                saves.append(
                    store.call("POST", "/api/register_sales", {"id": sale_id, "status": status})[
                        "register_sale"
                    ]
                )
        else:
            saves.append(
                store.call("POST", "/api/register_sales", {**sale, "status": "CLOSED"})[
                    "register_sale"
                ]
            )
            sale_id = saves[0]["id"]
        expected_invoices[sale_id] = (_expected(lines, products, rates), number % 3 == 0)
        if number % 20 == 5:
            returns += 1
            returned = lines[: max(1, len(lines) - 1)]
            answer = store.call(
                "POST",
                "/api/register_sales",
                {
                    "register_id": sale["register_id"],
                    "customer_id": sale["customer_id"],
                    "return_for": sale_id,
                    "status": "CLOSED",
                    "register_sale_products": [
                        {**line, "quantity": -line["quantity"]} for line in returned
                    ],
                },
            )["register_sale"]
            saves.append(answer)
            expected_credits[answer["id"]] = (_expected(returned, products, rates), sale_id)
        elif number % 40 == 9:
            voids += 1
            saves.append(
                store.call("POST", "/api/register_sales", {"id": sale_id, "status": "VOIDED"})[
                    "register_sale"
                ]
            )
            expected_credits[f"{sale_id}-void"] = (expected_invoices[sale_id][0], sale_id)
        if number % 25 == 11:
            lost.add(sale_id)  # its webhooks never come: the poll must find it
            continue
        for save in saves:
            deliveries += [_delivery(store_row, save)] * rng.randint(1, 3)
    rng.shuffle(deliveries)

    statuses, started = [], time.monotonic()
    for body in deliveries:
        response = requests.post(
            connection.webhook_url,
            data=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                SIGNATURE_HEADER: lightspeed_signature(secret=connection.webhook_secret, body=body),
            },
            timeout=10,
        )
        statuses.append(response.status_code)
        _run(published)  # a worker takes each event as it comes
    delivering = time.monotonic() - started
    assert set(statuses) == {200}
    sales_seen = set(
        POSTransaction.objects.filter(kind="sale").values_list("external_transaction_id", flat=True)
    )
    assert sales_seen == set(expected_invoices) - lost

    # The poll (every minute on the beat) finds the sales whose webhooks never came.
    assert pipeline.connection_sync(family="pos", connection_id=connection.pk) == "synced"
    _run(published)

    rows = {
        row.external_transaction_id: row for row in POSTransaction.objects.select_related("invoice")
    }
    assert set(rows) == set(expected_invoices) | set(expected_credits)
    assert Invoice.objects.count() == len(expected_invoices) + len(expected_credits)
    for sale_id, (total, business) in expected_invoices.items():
        invoice = rows[sale_id].invoice
        assert invoice.status == Invoice.Status.CONFIRMED, (sale_id, invoice.problems)
        assert invoice.payable_amount == total, sale_id
        assert invoice.kind == (Invoice.Kind.B2B if business else Invoice.Kind.B2C)
    for credit_id, (total, original) in expected_credits.items():
        credit = rows[credit_id].invoice
        assert credit.status == Invoice.Status.CONFIRMED, (credit_id, credit.problems)
        assert credit.payable_amount == total, credit_id
        assert credit.is_credit_note, credit_id
        assert credit.billing_reference_irn == rows[original].invoice.irn, credit_id
    kept = InboundEvent.objects.count()
    # Sales delivered by webhook apart from those the poll found: the poll's invoices are
    # queued together and worked here one after another once it has read every page.
    polled = {
        source
        for source in rows
        if source in lost or (expected_credits.get(source, ("", ""))[1] in lost)
    }
    latencies = sorted(
        (rows[source].invoice.signed_at - rows[source].invoice.source_received_at).total_seconds()
        for source in rows
        if source not in polled
    )
    polled_latencies = sorted(
        (rows[source].invoice.signed_at - rows[source].invoice.source_received_at).total_seconds()
        for source in polled
    )
    with capsys.disabled():
        print(
            f"\nlightspeed acceptance: {SALES} sales ({laybys} laybys/on-account, {returns} "
            f"returns, {voids} voids), {len(deliveries)} deliveries ({kept} events kept), "
            f"{len(lost)} sales without webhooks found by the poll, "
            f"{len(expected_invoices)} invoices and {len(expected_credits)} credit notes signed, "
            f"deliveries at {len(deliveries) / delivering:.1f}/s, "
            f"webhook path received->signed p50 {latencies[len(latencies) // 2]:.2f} s, "
            f"p99 {latencies[max(int(len(latencies) * 0.99) - 1, 0)]:.2f} s, "
            f"max {latencies[-1]:.2f} s; "
            f"{len(polled_latencies)} found by the poll, max {polled_latencies[-1]:.2f} s"
        )


def test_forged_deliveries_are_refused_and_nothing_is_stored(live_server, published, settings):
    connection = lightspeed_connection(site_url=live_server.url)
    store_row = store_of(connection)
    LightspeedSandboxWebhook.objects.filter(store=store_row).update(active=False)
    sale = Store(connection).call(
        "POST",
        "/api/register_sales",
        {
            "register_id": LightspeedSandboxObject.objects.filter(store=store_row, kind="register")
            .first()
            .object_id,
            "status": "CLOSED",
            "register_sale_products": [
                {
                    "product_id": LightspeedSandboxObject.objects.filter(
                        store=store_row, kind="product"
                    )
                    .first()
                    .object_id,
                    "quantity": 1,
                }
            ],
        },
    )["register_sale"]
    body = _delivery(store_row, sale)
    valid = lightspeed_signature(secret=connection.webhook_secret, body=body)
    digest = valid.split(",")[0].removeprefix("signature=")
    payload_only = lightspeed_signature(
        secret=connection.webhook_secret,
        body=json.dumps(sale, separators=(",", ":")).encode(),
    )
    flipped = bytearray(body)
    flipped[len(body) // 2] ^= 1
    forged = [
        (body, None),
        (body, ""),
        (body, lightspeed_signature(secret="another-apps-secret", body=body)),
        (body, valid.replace("HMAC-SHA256", "HMAC-SHA1")),
        (body, f"signature={digest[:-2]},algorithm=HMAC-SHA256"),
        (body, f"signature={'0' * 64},algorithm=HMAC-SHA256"),
        (body, "signature=,algorithm=HMAC-SHA256"),
        (body, "x" * 5000),
        (bytes(flipped), valid),
        (b"", valid),
        (body + b"&extra=1", valid),
        # The decoded payload's signature, while our settings accept the raw body only.
        (body, payload_only),
    ]
    for forged_body, signature in forged:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signature is not None:
            headers[SIGNATURE_HEADER] = signature

        response = requests.post(
            connection.webhook_url, data=forged_body, headers=headers, timeout=10
        )

        assert response.status_code == 401, signature
    assert not InboundEvent.objects.exists() and published == []
    # The genuine one still goes through.
    response = requests.post(
        connection.webhook_url,
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", SIGNATURE_HEADER: valid},
        timeout=10,
    )
    assert response.status_code == 200 and InboundEvent.objects.count() == 1
