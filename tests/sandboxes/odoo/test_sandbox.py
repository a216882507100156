"""The Odoo sandbox answers as Odoo does: JSON-2 and /jsonrpc with Odoo's errors, amounts
computed per line with price-included and excluded taxes, write_date kept and read to the
second, and the automation rule's deliveries in Odoo's shape; its traffic reaches our
endpoint over HTTP through the kit's sender."""

import json
from decimal import Decimal

import pytest
import requests

from integrations.base.models import InboundEvent
from sandboxes.kit.traffic import Receiver, traffic_run
from sandboxes.odoo import server
from sandboxes.odoo.models import OdooSandboxDatabase, OdooSandboxRecord
from sandboxes.odoo.traffic import OdooTraffic

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def database():
    return server.database_create()


def _json2(live_server, database, model, method, *, key=None, **body):
    return requests.post(
        f"{live_server.url}/sandbox/odoo/json/2/{model}/{method}",
        json=body,
        headers={"Authorization": f"bearer {key or database.api_key}"},
        timeout=10,
    )


def _tax(database, name):
    return OdooSandboxRecord.objects.get(database=database, model="account.tax", values__name=name)


@pytest.mark.parametrize(
    ("tax", "price_unit", "discount", "subtotal", "total"),
    [
        ("VAT 7.5%", "1000.00", "0", "1000.00", "1075.00"),
        ("VAT 7.5%", "10.10", "0", "10.10", "10.86"),
        ("VAT 7.5% (included)", "1000.00", "0", "930.23", "1000.00"),
        ("VAT 7.5% (included)", "1500.00", "10", "1255.81", "1350.00"),
        ("VAT exempt", "333.33", "0", "333.33", "333.33"),
    ],
)
def test_line_amounts_are_odoos_per_line_rounding(
    database, tax, price_unit, discount, subtotal, total
):
    amounts = server.line_amounts(
        quantity=Decimal(1),
        price_unit=Decimal(price_unit),
        discount=Decimal(discount),
        taxes=[_tax(database, tax).values],
    )

    assert (amounts["subtotal"], amounts["total"]) == (Decimal(subtotal), Decimal(total))


def test_an_invoice_is_created_posted_and_read_through_json2(live_server, database):
    tax = _tax(database, "VAT 7.5%")
    created = _json2(
        live_server,
        database,
        "account.move",
        "create",
        vals_list=[
            {
                "move_type": "out_invoice",
                "invoice_line_ids": [
                    [0, 0, {"display_type": "line_note", "name": "Thanks"}],
                    [
                        0,
                        0,
                        {"name": "Hour", "quantity": 3, "price_unit": 10.1, "tax_ids": [tax.pk]},
                    ],
                ],
            }
        ],
    )
    [move_id] = created.json()
    assert (
        _json2(live_server, database, "account.move", "action_post", ids=[move_id]).json() is True
    )

    [move] = _json2(
        live_server,
        database,
        "account.move",
        "search_read",
        domain=[["id", "=", move_id]],
        fields=[
            "name",
            "state",
            "amount_untaxed",
            "amount_tax",
            "amount_total",
            "currency_id",
            "write_date",
        ],
    ).json()
    assert (move["state"], move["amount_untaxed"], move["amount_tax"], move["amount_total"]) == (
        "posted",
        30.3,
        2.27,
        32.57,
    )
    assert move["name"].startswith("INV/") and move["currency_id"][1] == "NGN"
    assert len(move["write_date"]) == len("2026-01-01 00:00:00")


@pytest.mark.parametrize(
    ("call", "status", "name"),
    [
        (("no.model", "search_read", {}), 404, "werkzeug.exceptions.NotFound"),
        (("account.move", "no_method", {}), 404, "werkzeug.exceptions.NotFound"),
        (("account.move", "search_read", {"ids": [1]}), 422, "builtins.TypeError"),
        (("account.move", "search_read", {"badparameter": 1}), 422, "builtins.TypeError"),
    ],
)
def test_json2_errors_are_odoos_object_with_its_status(live_server, database, call, status, name):
    model, method, body = call

    answer = _json2(live_server, database, model, method, **body)

    assert answer.status_code == status
    assert answer.json()["name"] == name and set(answer.json()) == {
        "name",
        "message",
        "arguments",
        "context",
        "debug",
    }


def test_a_wrong_or_revoked_key_is_401_invalid_apikey(live_server, database):
    assert _json2(live_server, database, "res.users", "context_get", key="nope").status_code == 401
    OdooSandboxDatabase.objects.filter(pk=database.pk).update(api_key_revoked=True)

    answer = _json2(live_server, database, "res.users", "context_get")
    assert (answer.status_code, answer.json()["message"]) == (401, "Invalid apikey")


def test_odoo_17_has_jsonrpc_only(live_server):
    database = server.database_create(major_version=17)
    base = f"{live_server.url}/sandbox/odoo/17"

    def rpc(service, method, args):
        envelope = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 7,
            "params": {"service": service, "method": method, "args": args},
        }
        return requests.post(f"{base}/jsonrpc", json=envelope, timeout=10).json()

    assert requests.get(f"{base}/web/version", timeout=10).status_code == 404
    assert requests.post(f"{base}/json/2/res.users/context_get", timeout=10).status_code == 404
    assert rpc("common", "version", [])["result"]["server_version"] == "17.0"
    uid = rpc("common", "authenticate", [database.name, database.login, database.api_key, {}])[
        "result"
    ]
    assert (
        rpc("common", "authenticate", [database.name, database.login, "bad", {}])["result"] is False
    )
    taxes = rpc(
        "object",
        "execute_kw",
        [
            database.name,
            uid,
            database.api_key,
            "account.tax",
            "search_read",
            [[["amount", ">", 0]]],
            {"fields": ["name"]},
        ],
    )
    assert len(taxes["result"]) == 2
    refused = rpc(
        "object", "execute_kw", [database.name, uid, "bad", "account.tax", "search_read", [], {}]
    )
    assert refused["error"]["data"]["name"] == "odoo.exceptions.AccessDenied"


def test_the_automation_rule_posts_odoos_shape(database):
    move = OdooSandboxRecord.objects.get(
        pk=server.move_create(database, {"partner_id": 0, "invoice_line_ids": []})
    )
    body = json.loads(server.webhook_body(move))

    assert body["_model"] == "account.move" and body["_id"] == body["id"] == move.pk
    assert body["_action"] == server.WEBHOOK_ACTION and body["state"] == "draft"
    assert list(body) == sorted(body)


def test_the_traffic_reaches_our_endpoint_as_unsigned_hints(live_server):
    from tests.integrations.erp.odoo.support import odoo_connection

    connection = odoo_connection(site_url=live_server.url)
    traffic = OdooTraffic.from_options(
        account_id=connection.account_id,
        signing_key="",
        options={"credit_note_share": 0.0, "payment_share": 0.0},
    )

    summary = traffic_run(
        traffic,
        receiver=Receiver(webhook_url=connection.webhook_url),
        count=3,
        duplicates=2,
        seed=5,
    )

    assert summary.non_2xx == 0 and summary.changes == 3
    assert InboundEvent.objects.filter(connection_id=connection.pk).count() == 3


def test_the_traffic_pays_an_earlier_invoice_and_announces_it(live_server):
    from tests.integrations.erp.odoo.support import invoice_post, odoo_connection

    connection = odoo_connection(site_url=live_server.url)
    move = invoice_post(connection)
    traffic = OdooTraffic.from_options(
        account_id=connection.account_id,
        signing_key="",
        options={"credit_note_share": 0.0, "payment_share": 1.0},
    )

    summary = traffic_run(
        traffic, receiver=Receiver(webhook_url=connection.webhook_url), count=1, seed=5
    )

    move.refresh_from_db()
    assert summary.changes == 1 and traffic.counts()["payments"] == 1
    assert move.values["payment_state"] == "paid" and move.values["amount_residual"] == 0
    [event] = InboundEvent.objects.filter(connection_id=connection.pk)
    assert event.payload["_id"] == move.pk
