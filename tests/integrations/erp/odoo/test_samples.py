"""Every Odoo sample in fixtures/ is read by what it belongs to: moves, lines, taxes, buyers and
states by the mapper; webhook bodies by the hint parser; JSON-2 and /jsonrpc requests are what
our clients send, their answers and errors what our clients read; a sale order line's amounts
are what the sandbox computes as Odoo does. A sample without a check here fails."""

import json
from decimal import Decimal

import pytest
import responses

from integrations.base.errors import PermanentConnectorError
from integrations.erp.odoo import constants, mappers
from integrations.erp.odoo.client import Json2Client, JsonRpcClient
from integrations.erp.odoo.connector import OdooConnector
from sandboxes.odoo.server import line_amounts
from tests.integrations.erp.odoo.support import FIXTURES, as_read, sample, sample_move_map

BASE_URL = "https://acme.odoo.test"
COMMON = {"base_url": BASE_URL, "account": "acme", "database": "acme", "login": "a@acme.ng"}


def _json2(api_key="<api-key>") -> Json2Client:
    return Json2Client(**COMMON, api_key=api_key)


def _json_body(request) -> dict:
    return json.loads(request.body)


def check_moves(name):
    moves = sample(name)
    documents = [sample_move_map(move) for move in moves]
    assert [document.external_id for document in documents] == [str(m["id"]) for m in moves]
    for move, document in zip(moves, documents, strict=True):
        assert document.total == Decimal(str(move["amount_total"])).quantize(Decimal("0.01"))


def check_move_lines(name):
    lines = sample(name)
    moves = {move["id"] for move in sample("json2-search_read-account.move-response")}
    # Every line belongs to a sample move, and the product lines are what its documents keep.
    assert {line["move_id"][0] for line in lines} <= moves
    products = [line for line in lines if line["display_type"] == constants.PRODUCT_LINE]
    kept = sum(
        len(sample_move_map(move).lines)
        for move in sample("json2-search_read-account.move-response")
    )
    assert kept == len(products)


def check_partners(name):
    for partner in sample(name):
        states = {s["id"]: s for s in sample("json2-read-res.country.state-response")}
        party = mappers._party(partner, states=states)
        assert party.name == partner["name"] and party.tin == (partner["vat"] or "")


def check_states(name):
    for state in sample(name):
        assert state["code"] and state["country_id"]


def check_taxes(name):
    for tax in as_read(sample(name)):
        assert mappers._tax({tax["id"]: tax}, tax["id"], path="sample") is tax
        assert isinstance(tax["amount"], Decimal) and isinstance(tax["price_include"], bool)


def check_webhook(name):
    body = (FIXTURES / f"{name}.json").read_bytes()
    payload = json.loads(body)
    [event] = OdooConnector.parse_webhook(body)
    assert (event.event_type, event.object_id) == (payload["_model"], str(payload["_id"]))
    # A rule set on another model than account.move tells of nothing to invoice.
    assert OdooConnector.event_needs_processing(event) == (payload["_model"] == constants.MOVE)
    # Odoo's body: keys sorted, many2one as bare ids.
    assert list(payload) == sorted(payload)
    assert all(not isinstance(value, list) for key, value in payload.items() if key.endswith("_id"))


@responses.activate
def check_json2_error(name):
    error = sample(name)
    assert set(error) == {"name", "message", "arguments", "context", "debug"}
    responses.post(f"{BASE_URL}/json/2/account.move/search_read", json=error, status=422)

    with pytest.raises(PermanentConnectorError) as raised:
        _json2().execute(constants.MOVE, "search_read", badparameter=1)

    assert raised.value.status == 422 and error["message"] in str(raised.value)


@responses.activate
def check_json2_request(name):
    wanted = sample(name)
    responses.post(f"{BASE_URL}{wanted['_http']['path']}", json=[])

    _json2().execute("sale.order", "search_read", **wanted["body"])

    [call] = responses.calls
    for header, value in wanted["_http"]["headers"].items():
        if header == "Content-Type":
            assert call.request.headers[header].startswith("application/json")
        else:
            assert call.request.headers[header] == value, header
    assert call.request.method == wanted["_http"]["method"]
    assert _json_body(call.request) == wanted["body"]


@responses.activate
def check_json2_sale_orders(name):
    responses.post(f"{BASE_URL}/json/2/sale.order/search_read", json=sample(name))

    [order] = _json2().execute("sale.order", "search_read", domain=[])

    # Read as Decimals, never floats; many2one as [id, name]; naive UTC datetimes.
    assert order["amount_untaxed"] + order["amount_tax"] == order["amount_total"]
    assert isinstance(order["amount_total"], Decimal)
    assert mappers._currency(order["currency_id"], path="sample") == "NGN"
    assert mappers.odoo_datetime(order["write_date"], path="sample").tzinfo is not None


def check_sale_order_lines(name):
    taxes = {tax["id"]: tax for tax in as_read(sample("json2-read-account.tax-response"))}
    for line in as_read(sample(name)):
        amounts = line_amounts(
            quantity=line["product_uom_qty"],
            price_unit=line["price_unit"],
            discount=line["discount"],
            taxes=[taxes[tax_id] for tax_id in line["tax_ids"]],
        )
        assert amounts["subtotal"] == line["price_subtotal"]
        assert amounts["total"] == line["price_total"]
        assert line["price_subtotal"] + line["price_tax"] == line["price_total"]


@responses.activate
def check_jsonrpc_request(name):
    wanted = sample(name)
    db, uid, key, model, method, args, kwargs = wanted["params"]["args"]
    responses.post(f"{BASE_URL}/jsonrpc", json={"jsonrpc": "2.0", "id": 1, "result": []})
    client = JsonRpcClient(**{**COMMON, "database": db}, api_key=key, uid=uid)

    client.execute(model, method, domain=args[0], **kwargs)

    sent = _json_body(responses.calls[0].request)
    assert {k: sent[k] for k in ("jsonrpc", "method")} == {"jsonrpc": "2.0", "method": "call"}
    assert sent["params"]["service"] == wanted["params"]["service"]
    assert sent["params"]["method"] == wanted["params"]["method"]
    # The same call, the domain named rather than positional (execute_kw takes either).
    assert sent["params"]["args"][:5] == [db, uid, key, model, method]
    assert sent["params"]["args"][6] == {"domain": args[0], **kwargs}


@responses.activate
def check_jsonrpc_response(name):
    responses.post(f"{BASE_URL}/jsonrpc", json=sample(name))
    client = JsonRpcClient(**COMMON, api_key="key", uid=2)

    [order] = client.execute("sale.order", "search_read", domain=[])

    assert order["amount_total"] == Decimal("6987.5")


CHECKS = {
    "automation-send-webhook-account.move": check_webhook,
    "automation-send-webhook-sale.order": check_webhook,
    "json2-error-422": check_json2_error,
    "json2-read-account.move.line-response": check_move_lines,
    "json2-read-account.tax-response": check_taxes,
    "json2-read-res.country.state-response": check_states,
    "json2-read-res.partner-response": check_partners,
    "json2-read-sale.order.line-response": check_sale_order_lines,
    "json2-search_read-account.move-response": check_moves,
    "json2-search_read-sale.order-request": check_json2_request,
    "json2-search_read-sale.order-response": check_json2_sale_orders,
    "jsonrpc-legacy-execute_kw-request": check_jsonrpc_request,
    "jsonrpc-legacy-execute_kw-response": check_jsonrpc_response,
}


def test_every_sample_has_a_check():
    assert sorted(path.stem for path in FIXTURES.glob("*.json")) == sorted(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_sample_is_read_by_what_it_belongs_to(name, db):
    CHECKS[name](name)
